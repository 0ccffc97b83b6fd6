//! Record batch v2 (magic 2) header: parsing, validation, in-place offset/epoch rewrite.
//! API CONTRACT: the broker uses `BatchHeader::parse` and `RECORD_BATCH_OVERHEAD`.
//!
//! Why the log never decodes records: every fact the log needs (offsets, sizes, timestamps,
//! producer fields, the CRC) sits in the fixed 61-byte header, and the two fields the leader
//! must assign, BaseOffset (bytes 0..8) and PartitionLeaderEpoch (bytes 12..16), lie *before*
//! the CRC range `[21, end)`. So a produced batch is checked once (header + one CRC-32C pass) and
//! then written with a patched copy of its first [`STAMP_LEN`] bytes followed by the untouched
//! payload (see [`stamp_header`]): no payload copy, no CRC recomputation.

/// Size of the v2 batch header (`RECORD_BATCH_OVERHEAD`).
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// `LOG_OVERHEAD`: BaseOffset + BatchLength.
pub const LOG_OVERHEAD: usize = 12;
/// The only record format this log stores.
pub const MAGIC_VALUE_V2: i8 = 2;
/// `RecordBatch.NO_TIMESTAMP`.
pub const NO_TIMESTAMP: i64 = -1;

pub(crate) const BATCH_LENGTH_OFFSET: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
/// First byte covered by the CRC (Attributes).
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const FIRST_TIMESTAMP_OFFSET: usize = 27;
pub(crate) const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
pub(crate) const RECORDS_COUNT_OFFSET: usize = 57;
/// Bytes of the header the leader may rewrite without touching the CRC: everything before it.
pub const STAMP_LEN: usize = CRC_OFFSET;

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

fn be_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([buf[at], buf[at + 1]])
}
fn be_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}
fn be_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_be_bytes(b)
}

impl BatchHeader {
    /// Parses the header at the start of `buf` (needs `RECORD_BATCH_OVERHEAD` bytes).
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < RECORD_BATCH_OVERHEAD {
            return None;
        }
        Some(BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, BATCH_LENGTH_OFFSET),
            partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH_OFFSET),
            magic: buf[MAGIC_OFFSET] as i8,
            crc: be_i32(buf, CRC_OFFSET) as u32,
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA_OFFSET),
            first_timestamp: be_i64(buf, FIRST_TIMESTAMP_OFFSET),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: be_i64(buf, PRODUCER_ID_OFFSET),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH_OFFSET),
            base_sequence: be_i32(buf, BASE_SEQUENCE_OFFSET),
            record_count: be_i32(buf, RECORDS_COUNT_OFFSET),
        })
    }
    /// Total bytes of the batch on disk: `batch_length + LOG_OVERHEAD`.
    pub fn total_size(&self) -> usize { self.batch_length as usize + LOG_OVERHEAD }
    pub fn last_offset(&self) -> i64 { self.base_offset + self.last_offset_delta as i64 }
    /// Offset following this batch.
    pub fn next_offset(&self) -> i64 { self.last_offset() + 1 }
    /// Compression codec bits 0–2.
    pub fn compression(&self) -> u8 { (self.attributes & 0x7) as u8 }
    pub fn is_control(&self) -> bool { self.attributes & 0x20 != 0 }
    pub fn is_transactional(&self) -> bool { self.attributes & 0x10 != 0 }
    /// Attribute bit 3: the timestamps are the broker's LogAppendTime, not the producer's CreateTime.
    pub fn is_log_append_time(&self) -> bool { self.attributes & 0x08 != 0 }
    /// Idempotent or transactional producers set a producer id ≥ 0.
    pub fn has_producer_id(&self) -> bool { self.producer_id >= 0 }
}

/// Reads BatchLength from the first `LOG_OVERHEAD` bytes of a batch and returns the batch's total
/// on-disk size, or `None` when the length field is too small to hold a v2 header or negative.
pub(crate) fn framed_size(log_overhead: &[u8]) -> Option<usize> {
    let batch_length = be_i32(log_overhead, BATCH_LENGTH_OFFSET);
    let total = batch_length as i64 + LOG_OVERHEAD as i64;
    if total < RECORD_BATCH_OVERHEAD as i64 {
        None
    } else {
        Some(total as usize)
    }
}

/// CRC-32C of a whole batch's CRC range `[21, end)`.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..])
}

/// Whether the stored CRC of `batch` (exactly one whole batch) matches its content.
pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= RECORD_BATCH_OVERHEAD && be_i32(batch, CRC_OFFSET) as u32 == compute_crc(batch)
}

/// The first [`STAMP_LEN`] bytes of `batch` with BaseOffset and PartitionLeaderEpoch replaced
/// (bytes 0..8 and 12..16); BatchLength and Magic are copied. Written in front of
/// `batch[STAMP_LEN..]` this yields the stamped batch with its CRC still valid.
pub fn stamp_header(batch: &[u8], base_offset: i64, partition_leader_epoch: i32) -> [u8; STAMP_LEN] {
    let mut header = [0u8; STAMP_LEN];
    header.copy_from_slice(&batch[..STAMP_LEN]);
    header[..8].copy_from_slice(&base_offset.to_be_bytes());
    header[PARTITION_LEADER_EPOCH_OFFSET..MAGIC_OFFSET].copy_from_slice(&partition_leader_epoch.to_be_bytes());
    header
}

/// Walks the batches of a buffer already validated (every batch framed and ≥ 61 bytes),
/// yielding `(position in buffer, header, batch bytes)`.
pub(crate) struct Batches<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Batches<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self { Batches { buf, pos: 0 } }
}

impl<'a> Iterator for Batches<'a> {
    type Item = (usize, BatchHeader, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let header = BatchHeader::parse(&self.buf[self.pos..])?;
        let start = self.pos;
        let end = start.checked_add(header.total_size())?;
        let bytes = self.buf.get(start..end)?;
        self.pos = end;
        Some((start, header, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::batch;

    #[test]
    fn parses_header_fields_written_by_a_real_encoder() {
        let bytes = batch(3, 10, 1_000);
        let h = BatchHeader::parse(&bytes).expect("61 bytes");
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.total_size(), bytes.len());
        assert_eq!(h.magic, MAGIC_VALUE_V2);
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.first_timestamp, 1_000);
        assert_eq!(h.max_timestamp, 1_002);
        assert_eq!(h.producer_id, -1);
        assert_eq!(h.base_sequence, -1);
        assert!(!h.is_control() && !h.is_transactional() && h.compression() == 0);
        assert!(crc_is_valid(&bytes));
        assert_eq!(BatchHeader::parse(&bytes[..60]), None);
    }

    #[test]
    fn stamping_offset_and_epoch_keeps_the_crc_valid() {
        let original = batch(5, 20, 7);
        let stamped_header = stamp_header(&original, 1_234_567, 42);
        let mut stamped = stamped_header.to_vec();
        stamped.extend_from_slice(&original[STAMP_LEN..]);
        let h = BatchHeader::parse(&stamped).expect("header");
        assert_eq!(h.base_offset, 1_234_567);
        assert_eq!(h.partition_leader_epoch, 42);
        assert_eq!(h.batch_length as usize + LOG_OVERHEAD, original.len());
        assert_eq!(h.magic, 2);
        assert_eq!(&stamped[STAMP_LEN..], &original[STAMP_LEN..]);
        assert!(crc_is_valid(&stamped), "offset and epoch are outside the CRC range");

        // ... whereas any byte inside the CRC range breaks it.
        stamped[40] ^= 1;
        assert!(!crc_is_valid(&stamped));
    }

    #[test]
    fn batches_iterator_walks_back_to_back_batches() {
        let mut buf = batch(2, 5, 0);
        let first_len = buf.len();
        buf.extend_from_slice(&batch(4, 5, 0));
        let seen: Vec<(usize, i32)> = Batches::new(&buf).map(|(pos, h, _)| (pos, h.record_count)).collect();
        assert_eq!(seen, vec![(0, 2), (first_len, 4)]);
    }

    #[test]
    fn framed_size_rejects_lengths_smaller_than_a_header() {
        let mut b = batch(1, 1, 0);
        assert_eq!(framed_size(&b), Some(b.len()));
        b[8..12].copy_from_slice(&48i32.to_be_bytes());
        assert_eq!(framed_size(&b), None);
        b[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(framed_size(&b), None);
    }
}
