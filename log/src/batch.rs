//! Record batch v2 (magic 2) header: parsing, validation, in-place offset/epoch rewrite.
//! API CONTRACT: the broker uses `BatchHeader::parse` and `RECORD_BATCH_OVERHEAD`.

/// Size of the v2 batch header (`RECORD_BATCH_OVERHEAD`).
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// `LOG_OVERHEAD`: BaseOffset + BatchLength.
pub const LOG_OVERHEAD: usize = 12;

/// The fixed fields of one v2 batch header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `buf` (needs `RECORD_BATCH_OVERHEAD` bytes).
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> { let _ = buf; todo!() }
    /// Total bytes of the batch on disk: `batch_length + LOG_OVERHEAD`.
    pub fn total_size(&self) -> usize { self.batch_length as usize + LOG_OVERHEAD }
    pub fn last_offset(&self) -> i64 { self.base_offset + self.last_offset_delta as i64 }
    /// Compression codec bits 0–2.
    pub fn compression(&self) -> u8 { (self.attributes & 0x7) as u8 }
    pub fn is_control(&self) -> bool { self.attributes & 0x20 != 0 }
    pub fn is_transactional(&self) -> bool { self.attributes & 0x10 != 0 }
}
