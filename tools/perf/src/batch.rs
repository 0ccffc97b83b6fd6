//! Record batches (magic 2) as the benchmark sees them: built once up front for the producer,
//! and only *counted* on the consumer side.
//!
//! The producer encodes its batches with `kafka_protocol`'s `RecordBatchEncoder`, exactly what a
//! non-idempotent Java producer would send: base offset 0, offset deltas `0..n-1`, producer id,
//! epoch and base sequence −1, keyless records with a value of `record_size` bytes and no headers.
//! The same bytes are sent again and again; the broker rewrites BaseOffset and
//! PartitionLeaderEpoch in its own copy, both of which lie outside the CRC (reference §6.1).
//!
//! The consumer never decodes records — the point is to measure the broker, not our decoder. It
//! reads three fields of each batch header (reference §6.1): BatchLength at byte 8 (total size is
//! BatchLength + 12), LastOffsetDelta at byte 23 and RecordCount at byte 57. A Fetch response may
//! end in the middle of a batch (reference §7); that trailing fragment is ignored and fetched again
//! from its base offset.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType, NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

/// `RECORD_BATCH_OVERHEAD`: the fixed v2 batch header, up to and including RecordCount.
pub const BATCH_HEADER_BYTES: usize = 61;
/// `LOG_OVERHEAD`: BaseOffset + BatchLength, the bytes not counted by BatchLength.
pub const LOG_OVERHEAD: usize = 12;

const BATCH_LENGTH_OFFSET: usize = 8;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const RECORD_COUNT_OFFSET: usize = 57;

/// The header fields the benchmark reads from a v2 batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub magic: i8,
    pub last_offset_delta: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the first [`BATCH_HEADER_BYTES`] of `buf`; `None` if fewer bytes are present.
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < BATCH_HEADER_BYTES {
            return None;
        }
        Some(BatchHeader {
            base_offset: i64::from_be_bytes(array(buf, 0)),
            batch_length: i32::from_be_bytes(array(buf, BATCH_LENGTH_OFFSET)),
            magic: buf[MAGIC_OFFSET] as i8,
            last_offset_delta: i32::from_be_bytes(array(buf, LAST_OFFSET_DELTA_OFFSET)),
            record_count: i32::from_be_bytes(array(buf, RECORD_COUNT_OFFSET)),
        })
    }

    /// Size of the whole batch on the wire: BatchLength + [`LOG_OVERHEAD`].
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// The offset after this batch's last record: where the next fetch starts.
    pub fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }
}

fn array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&buf[at..at + N]);
    a
}

/// What a run of complete batches in a Fetch response's record set adds up to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchScan {
    pub batches: u64,
    pub records: u64,
    /// Bytes of the complete batches (the trailing fragment excluded).
    pub bytes: u64,
    /// Offset after the last complete batch, or `None` if there was none.
    pub next_offset: Option<i64>,
    /// Bytes of an incomplete batch at the end, dropped as a client does.
    pub partial_tail: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    #[error("batch at byte {at} has magic {magic}; only v2 record batches are counted")]
    UnsupportedMagic { at: usize, magic: i8 },
    #[error("batch at byte {at} has BatchLength {length}, shorter than a v2 header")]
    CorruptLength { at: usize, length: i32 },
}

/// Counts the complete batches in `records` without decoding a single record.
pub fn scan_batches(records: &[u8]) -> Result<BatchScan, ScanError> {
    let mut scan = BatchScan::default();
    let mut at = 0;
    while let Some(header) = BatchHeader::parse(&records[at..]) {
        if header.batch_length < (BATCH_HEADER_BYTES - LOG_OVERHEAD) as i32 {
            return Err(ScanError::CorruptLength { at, length: header.batch_length });
        }
        if header.magic != 2 {
            return Err(ScanError::UnsupportedMagic { at, magic: header.magic });
        }
        let size = header.total_size();
        if records.len() - at < size {
            break;
        }
        scan.batches += 1;
        scan.records += header.record_count.max(0) as u64;
        scan.bytes += size as u64;
        scan.next_offset = Some(header.next_offset());
        at += size;
    }
    scan.partial_tail = records.len() - at;
    Ok(scan)
}

/// Bytes a zig-zag varint of `n` takes.
fn varint_len(n: i64) -> usize {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    let mut len = 1;
    while z >= 0x80 {
        z >>= 7;
        len += 1;
    }
    len
}

/// Encoded size of a keyless, headerless record with `value_len` bytes at `offset_delta`
/// (timestamp delta 0), length prefix included (reference §6.2).
pub fn record_size_on_wire(offset_delta: i64, value_len: usize) -> usize {
    let body = 1 // attributes
        + varint_len(0) // timestamp delta
        + varint_len(offset_delta)
        + varint_len(-1) // null key
        + varint_len(value_len as i64)
        + value_len
        + varint_len(0); // header count
    varint_len(body as i64) + body
}

/// How many records of `value_len` bytes fit in a batch of at most `batch_size` bytes (at least 1).
pub fn records_per_batch(batch_size: usize, value_len: usize) -> usize {
    let mut size = BATCH_HEADER_BYTES;
    let mut n = 0;
    loop {
        let next = record_size_on_wire(n as i64, value_len);
        if size + next > batch_size {
            return n.max(1);
        }
        size += next;
        n += 1;
    }
}

/// Exact encoded size of a batch of `count` records of `value_len` bytes.
pub fn batch_size_on_wire(count: usize, value_len: usize) -> usize {
    BATCH_HEADER_BYTES + (0..count as i64).map(|d| record_size_on_wire(d, value_len)).sum::<usize>()
}

/// Random uppercase letters, as kafka-producer-perf-test fills its payload; values are windows of
/// this pool so consecutive records differ.
pub struct PayloadPool {
    pool: Bytes,
    record_size: usize,
}

impl PayloadPool {
    pub fn new(record_size: usize, seed: u64) -> PayloadPool {
        let len = (record_size * 2).max(64 * 1024);
        let mut state = seed | 1;
        let pool: Vec<u8> = (0..len)
            .map(|_| {
                // xorshift64: deterministic, no dependency, plenty for filler bytes.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b'A' + (state % 26) as u8
            })
            .collect();
        PayloadPool { pool: Bytes::from(pool), record_size }
    }

    /// The value of record `i`: a window of the pool.
    pub fn value(&self, i: usize) -> Bytes {
        let span = self.pool.len() - self.record_size + 1;
        let start = i.wrapping_mul(7919) % span;
        self.pool.slice(start..start + self.record_size)
    }
}

/// Encodes one v2 batch of `count` records taken from `payload`, stamped with `timestamp_ms`.
///
/// Invariant (checked here, once, outside any timed loop): the result is exactly one batch, of the
/// size [`batch_size_on_wire`] predicts, carrying `count` records and a valid CRC-32C.
pub fn build_batch(count: usize, payload: &PayloadPool, timestamp_ms: i64) -> anyhow::Result<Bytes> {
    build_batch_of((0..count).map(|i| payload.value(i)).collect(), timestamp_ms)
}

/// Encodes one v2 batch of keyless records with the given `values`, stamped with `timestamp_ms`,
/// with the same checks as [`build_batch`]. For records whose content matters (the end-to-end
/// benchmark embeds a send time and a sequence number in each value).
pub fn build_batch_of(values: Vec<Bytes>, timestamp_ms: i64) -> anyhow::Result<Bytes> {
    let count = values.len();
    anyhow::ensure!(count > 0 && count <= i32::MAX as usize, "a batch needs 1..=i32::MAX records, not {count}");
    let size = BATCH_HEADER_BYTES + values.iter().enumerate().map(|(i, v)| record_size_on_wire(i as i64, v.len())).sum::<usize>();
    let records: Vec<Record> = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever `offset - sequence` changes, and derives
            // BaseSequence from the first record: sequence = offset - 1 keeps one batch and
            // yields BaseSequence -1 (NO_SEQUENCE), as a non-idempotent producer sends.
            sequence: i as i32 - 1,
            timestamp: timestamp_ms,
            key: None,
            value: Some(value),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::with_capacity(size);
    let options = RecordEncodeOptions { version: 2, compression: Compression::None };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
        .map_err(|e| anyhow::anyhow!("cannot encode a batch of {count} records: {e:#}"))?;
    let batch = buf.freeze();
    check_batch(&batch, count)?;
    Ok(batch)
}

/// Verifies that `batch` is one complete v2 batch of `count` records with a correct CRC-32C.
pub fn check_batch(batch: &[u8], count: usize) -> anyhow::Result<()> {
    let header = BatchHeader::parse(batch).ok_or_else(|| anyhow::anyhow!("batch shorter than its header"))?;
    anyhow::ensure!(header.total_size() == batch.len(), "encoder produced {} bytes, header says {}", batch.len(), header.total_size());
    anyhow::ensure!(header.magic == 2, "magic {}", header.magic);
    anyhow::ensure!(header.base_offset == 0, "base offset {}", header.base_offset);
    anyhow::ensure!(header.record_count as usize == count, "record count {} != {count}", header.record_count);
    anyhow::ensure!(header.last_offset_delta as usize == count - 1, "last offset delta {}", header.last_offset_delta);
    anyhow::ensure!(i16::from_be_bytes(array(batch, ATTRIBUTES_OFFSET)) == 0, "attributes should be 0");
    let stored = u32::from_be_bytes(array(batch, CRC_OFFSET));
    let computed = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    anyhow::ensure!(stored == computed, "CRC-32C {stored:#010x} != computed {computed:#010x}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(count: usize, value_len: usize) -> Bytes {
        build_batch(count, &PayloadPool::new(value_len, 42), 1_700_000_000_000).unwrap()
    }

    #[test]
    fn built_batch_is_one_v2_batch_with_the_predicted_size() {
        for (count, len) in [(1, 0), (1, 100), (3, 100), (200, 100), (70, 1000), (10, 20_000)] {
            let batch = batch_of(count, len);
            assert_eq!(batch.len(), batch_size_on_wire(count, len), "{count} x {len}");
            let h = BatchHeader::parse(&batch).unwrap();
            assert_eq!((h.record_count, h.last_offset_delta, h.base_offset), (count as i32, count as i32 - 1, 0));
            // producer id -1, epoch -1, base sequence -1
            assert_eq!(i64::from_be_bytes(array(&batch, 43)), -1);
            assert_eq!(i16::from_be_bytes(array(&batch, 51)), -1);
            assert_eq!(i32::from_be_bytes(array(&batch, 53)), -1);
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_crc_check() {
        let mut batch = batch_of(5, 100).to_vec();
        let last = batch.len() - 1;
        batch[last] ^= 1;
        assert!(check_batch(&batch, 5).unwrap_err().to_string().contains("CRC"));
    }

    #[test]
    fn records_per_batch_fills_but_never_exceeds_the_batch_size() {
        for (batch_size, len) in [(1 << 20, 100), (16_384, 100), (1 << 20, 1000), (100, 1000), (61 + 108, 100)] {
            let n = records_per_batch(batch_size, len);
            let size = batch_size_on_wire(n, len);
            if n > 1 || size <= batch_size {
                assert!(size <= batch_size, "{n} records of {len} = {size} > {batch_size}");
                assert!(batch_size_on_wire(n + 1, len) > batch_size);
            }
        }
        // 100-byte values take 109-111 bytes on the wire (offset deltas grow to 3-byte varints).
        assert_eq!(records_per_batch(1 << 20, 100), 9520);
        assert_eq!(records_per_batch(10, 100), 1, "always at least one record");
    }

    #[test]
    fn varints_are_zigzag() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(-1), 1);
        assert_eq!(varint_len(63), 1);
        assert_eq!(varint_len(64), 2);
        assert_eq!(varint_len(8191), 2);
        assert_eq!(varint_len(8192), 3);
    }

    #[test]
    fn scan_counts_complete_batches_and_drops_a_partial_tail() {
        let a = batch_of(10, 100);
        let b = batch_of(7, 100);
        let mut set = Vec::new();
        set.extend_from_slice(&a);
        // The broker would have rewritten base offsets: the second batch starts at 10.
        let mut b2 = b.to_vec();
        b2[..8].copy_from_slice(&10i64.to_be_bytes());
        set.extend_from_slice(&b2);
        let whole = scan_batches(&set).unwrap();
        assert_eq!(
            whole,
            BatchScan { batches: 2, records: 17, bytes: (a.len() + b.len()) as u64, next_offset: Some(17), partial_tail: 0 }
        );

        for cut in [1, 12, 60, 61, 62, b.len() - 1] {
            let partial = scan_batches(&set[..set.len() - cut]).unwrap();
            assert_eq!(partial.batches, 1, "cut {cut}");
            assert_eq!(partial.records, 10);
            assert_eq!(partial.next_offset, Some(10));
            assert_eq!(partial.partial_tail, b.len() - cut);
        }
    }

    #[test]
    fn scan_of_nothing_or_a_fragment_advances_nothing() {
        assert_eq!(scan_batches(&[]).unwrap(), BatchScan::default());
        let a = batch_of(3, 100);
        let s = scan_batches(&a[..30]).unwrap();
        assert_eq!((s.batches, s.next_offset, s.partial_tail), (0, None, 30));
    }

    #[test]
    fn scan_rejects_old_magic_and_impossible_lengths() {
        let mut a = batch_of(3, 100).to_vec();
        a[MAGIC_OFFSET] = 1;
        assert_eq!(scan_batches(&a), Err(ScanError::UnsupportedMagic { at: 0, magic: 1 }));
        let mut a = batch_of(3, 100).to_vec();
        a[8..12].copy_from_slice(&5i32.to_be_bytes());
        assert_eq!(scan_batches(&a), Err(ScanError::CorruptLength { at: 0, length: 5 }));
    }

    #[test]
    fn next_offset_uses_last_offset_delta_not_record_count() {
        // After compaction a batch can hold fewer records than its offset span.
        let mut a = batch_of(5, 10).to_vec();
        a[..8].copy_from_slice(&100i64.to_be_bytes());
        a[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&2i32.to_be_bytes());
        let s = scan_batches(&a).unwrap();
        assert_eq!((s.records, s.next_offset), (2, Some(105)));
    }
}
