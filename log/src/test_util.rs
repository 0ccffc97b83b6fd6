//! Record batches for unit tests, built with `kafka-protocol`'s encoder (the same bytes a Rust
//! Kafka client would send), plus helpers to tamper with them.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use crate::batch::compute_crc;

fn record(i: usize, timestamp: i64, value_len: usize) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i as i64,
        // BaseSequence -1 like a non-idempotent producer; the encoder groups records whose
        // `offset - sequence` is constant, so keep it at 1.
        sequence: i as i32 - 1,
        timestamp,
        key: Some(Bytes::from(format!("key-{i}"))),
        value: Some(Bytes::from(vec![b'v'; value_len])),
        headers: Default::default(),
    }
}

fn encode(records: &[Record], compression: Compression) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression }).expect("encode");
    buf.to_vec()
}

/// A record with this key and value (`None` = no key / tombstone) for cleaner tests.
pub(crate) fn keyed(offset: i64, timestamp: i64, key: Option<&str>, value: Option<&str>) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: offset as i32 - 1,
        timestamp,
        key: key.map(|k| Bytes::from(k.to_string())),
        value: value.map(|v| Bytes::from(v.to_string())),
        headers: Default::default(),
    }
}

/// One batch of exactly these records.
pub(crate) fn encode_records(records: &[Record], compression: Compression) -> Vec<u8> {
    encode(records, compression)
}

/// One uncompressed batch of `count` records with timestamps `first_ts, first_ts + 1, ...`.
pub(crate) fn batch(count: usize, value_len: usize, first_ts: i64) -> Vec<u8> {
    let records: Vec<Record> = (0..count).map(|i| record(i, first_ts + i as i64, value_len)).collect();
    encode(&records, Compression::None)
}

/// One uncompressed batch whose records carry exactly these timestamps.
pub(crate) fn batch_with_timestamps(timestamps: &[i64]) -> Vec<u8> {
    let records: Vec<Record> = timestamps.iter().enumerate().map(|(i, &ts)| record(i, ts, 8)).collect();
    encode(&records, Compression::None)
}

/// One gzip batch.
pub(crate) fn compressed_batch(count: usize, value_len: usize, first_ts: i64) -> Vec<u8> {
    let records: Vec<Record> = (0..count).map(|i| record(i, first_ts + i as i64, value_len)).collect();
    encode(&records, Compression::Gzip)
}

/// Recomputes the CRC after a test edited bytes inside the CRC range.
pub(crate) fn set_crc(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Sets BaseOffset in place (outside the CRC range).
pub(crate) fn stamp(batch: &mut [u8], base_offset: i64) {
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// A fresh temp dir for one log or log dir.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The partition every log test uses.
pub(crate) fn tp() -> crate::TopicPartition {
    crate::TopicPartition::new("orders", 0)
}

/// Opens (or reopens as cleanly shut down) a log at time 0.
pub(crate) fn open_log(dir: &std::path::Path, config: crate::LogConfig) -> crate::Log {
    crate::Log::open(dir, tp(), config, None, 0).expect("open log")
}

/// The bytes a `FileSlice` would send.
pub(crate) fn slice_bytes(slice: &crate::FileSlice) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; slice.len as usize];
    slice.file.read_exact_at(&mut buf, slice.position).expect("read slice");
    buf
}

/// The whole batches at the start of `bytes` (a trailing partial batch is dropped, as clients
/// do), checking each one's CRC.
pub(crate) fn whole_batches(bytes: &[u8]) -> Vec<crate::BatchHeader> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = crate::BatchHeader::parse(&bytes[pos..]) {
        if pos + h.total_size() > bytes.len() {
            break;
        }
        assert!(crate::batch::crc_is_valid(&bytes[pos..pos + h.total_size()]), "batch at {pos} has a bad crc");
        out.push(h);
        pos += h.total_size();
    }
    out
}

/// Base offsets of the `.log` files in `dir`, from their names.
pub(crate) fn segment_bases(dir: &std::path::Path) -> Vec<i64> {
    let mut bases: Vec<i64> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".log")?.parse().ok())
        .collect();
    bases.sort();
    bases
}
