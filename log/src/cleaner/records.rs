//! Looking inside a batch for the cleaner: each record's offset, timestamp, key and whether it
//! has a value, and rebuilding a batch from the records it keeps (Kafka's
//! `MemoryRecords.filterTo`).
//!
//! A v2 record is `Length varint · Attributes int8 · TimestampDelta varlong · OffsetDelta varint ·
//! KeyLength varint · Key · ValueLength varint · Value · Headers`, and its deltas are relative to
//! the batch header's BaseOffset and FirstTimestamp. A rewritten batch keeps both of those (and
//! LastOffsetDelta, the producer fields, the leader epoch and the attributes), so a kept record's
//! bytes stay valid as they are: the rebuilt batch is the original header with BatchLength,
//! RecordCount, MaxTimestamp and the CRC recomputed, followed by the kept records, recompressed
//! with the batch's own codec. Kafka's builder instead re-bases FirstTimestamp on the first kept
//! record; every record's absolute timestamp is the same either way. Keeping LastOffsetDelta is
//! Kafka's rule too (`overrideLastOffset`): the producer's last sequence must survive.

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor, Gzip, Lz4, Snappy, Zstd};

use crate::batch::{compute_crc, BatchHeader, BATCH_LENGTH_OFFSET, CRC_OFFSET, LOG_OVERHEAD, MAX_TIMESTAMP_OFFSET, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD};
use crate::record::{read_varint, read_varlong};

/// What the cleaner needs to know about one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordView<'a> {
    pub offset: i64,
    pub timestamp: i64,
    /// `None` for a record without a key.
    pub key: Option<&'a [u8]>,
    /// `false` for a tombstone (null value).
    pub has_value: bool,
}

/// The outcome of filtering one batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Filtered {
    /// Every record was kept: write the original bytes.
    Unchanged,
    /// Some were dropped: the rebuilt batch.
    Rewritten(Vec<u8>),
    /// None was kept: the batch disappears.
    Empty,
}

/// The records section of `batch` (after the 61-byte header), decompressed if needed.
pub(crate) fn record_bytes(header: &BatchHeader, batch: &[u8]) -> Result<Vec<u8>, String> {
    let payload = batch.get(RECORD_BATCH_OVERHEAD..).ok_or("batch shorter than its header")?;
    let mut input = Bytes::copy_from_slice(payload);
    let take = |b: &mut Bytes| Ok(b.to_vec());
    let decoded = match header.compression() {
        0 => Ok(payload.to_vec()),
        1 => <Gzip as Decompressor<Bytes>>::decompress(&mut input, take),
        2 => <Snappy as Decompressor<Bytes>>::decompress(&mut input, take),
        3 => <Lz4 as Decompressor<Bytes>>::decompress(&mut input, take),
        4 => <Zstd as Decompressor<Bytes>>::decompress(&mut input, take),
        other => return Err(format!("unknown compression codec {other}")),
    };
    decoded.map_err(|e| format!("cannot decompress: {e}"))
}

fn compress(codec: u8, records: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = BytesMut::new();
    let fill = |tmp: &mut BytesMut| {
        tmp.extend_from_slice(records);
        Ok(())
    };
    let done = match codec {
        0 => return Ok(records.to_vec()),
        1 => <Gzip as Compressor<BytesMut>>::compress(&mut out, fill),
        2 => <Snappy as Compressor<BytesMut>>::compress(&mut out, fill),
        3 => <Lz4 as Compressor<BytesMut>>::compress(&mut out, fill),
        4 => <Zstd as Compressor<BytesMut>>::compress(&mut out, fill),
        other => return Err(format!("unknown compression codec {other}")),
    };
    done.map_err(|e| format!("cannot compress: {e}"))?;
    Ok(out.to_vec())
}

/// Walks the records of a decompressed records section, yielding each record's view and its
/// raw bytes (length prefix included). Fails on the first malformed record.
pub(crate) fn for_each_record<'a>(header: &BatchHeader, records: &'a [u8], mut f: impl FnMut(RecordView<'a>, &'a [u8])) -> Result<(), String> {
    let mut pos = 0;
    for i in 0..header.record_count {
        let malformed = || format!("record {i} of the batch at offset {} is malformed", header.base_offset);
        let rest = records.get(pos..).ok_or_else(malformed)?;
        let (length, n_len) = read_varint(rest).ok_or_else(malformed)?;
        let end = usize::try_from(length).ok().and_then(|l| l.checked_add(n_len)).ok_or_else(malformed)?;
        let raw = rest.get(..end).ok_or_else(malformed)?;
        let body = &raw[n_len..];
        let mut at = 1; // attributes
        let (timestamp_delta, n) = read_varlong(body.get(at..).ok_or_else(malformed)?).ok_or_else(malformed)?;
        at += n;
        let (offset_delta, n) = read_varint(body.get(at..).ok_or_else(malformed)?).ok_or_else(malformed)?;
        at += n;
        let (key_len, n) = read_varint(body.get(at..).ok_or_else(malformed)?).ok_or_else(malformed)?;
        at += n;
        let key = if key_len < 0 {
            None
        } else {
            let key = body.get(at..at + key_len as usize).ok_or_else(malformed)?;
            at += key_len as usize;
            Some(key)
        };
        let (value_len, _) = read_varint(body.get(at..).ok_or_else(malformed)?).ok_or_else(malformed)?;
        let timestamp = if header.is_log_append_time() { header.max_timestamp } else { header.first_timestamp + timestamp_delta };
        f(RecordView { offset: header.base_offset + offset_delta as i64, timestamp, key, has_value: value_len >= 0 }, raw);
        pos += end;
    }
    Ok(())
}

/// Keeps the records of `batch` for which `keep` says so. Control batches are never passed in
/// (the caller keeps them whole). An error means the batch could not be read or rebuilt; the
/// caller then keeps it untouched.
pub(crate) fn filter_batch(batch: &[u8], mut keep: impl FnMut(&RecordView<'_>) -> bool) -> Result<Filtered, String> {
    let header = BatchHeader::parse(batch).ok_or("batch shorter than its header")?;
    let records = record_bytes(&header, batch)?;
    let mut kept = Vec::with_capacity(records.len());
    let mut kept_count = 0i32;
    let mut max_timestamp = i64::MIN;
    for_each_record(&header, &records, |record, raw| {
        if keep(&record) {
            kept.extend_from_slice(raw);
            kept_count += 1;
            max_timestamp = max_timestamp.max(record.timestamp);
        }
    })?;
    if kept_count == header.record_count {
        return Ok(Filtered::Unchanged);
    }
    if kept_count == 0 {
        return Ok(Filtered::Empty);
    }
    let payload = compress(header.compression(), &kept)?;
    let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + payload.len());
    out.extend_from_slice(&batch[..RECORD_BATCH_OVERHEAD]);
    out.extend_from_slice(&payload);
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| "rebuilt batch too large".to_string())?;
    out[BATCH_LENGTH_OFFSET..BATCH_LENGTH_OFFSET + 4].copy_from_slice(&batch_length.to_be_bytes());
    out[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&kept_count.to_be_bytes());
    if !header.is_log_append_time() {
        out[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    }
    let crc = compute_crc(&out);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(Filtered::Rewritten(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::crc_is_valid;
    use crate::test_util::{encode_records as encode, keyed};
    use kafka_protocol::records::{Compression, RecordBatchDecoder};

    /// `(offset, timestamp, value)` of each record, as a client decodes them.
    fn decode(batch: &[u8]) -> Vec<(i64, i64, Option<Bytes>)> {
        let mut buf = Bytes::copy_from_slice(batch);
        let set = RecordBatchDecoder::decode(&mut buf).expect("decodes");
        set.records.into_iter().map(|r| (r.offset, r.timestamp, r.value)).collect()
    }

    #[test]
    fn views_show_offsets_timestamps_keys_and_tombstones() {
        let b = encode(&[keyed(10, 100, Some("a"), Some("1")), keyed(11, 105, None, Some("2")), keyed(12, 101, Some("a"), None)], Compression::None);
        let header = BatchHeader::parse(&b).expect("header");
        let records = record_bytes(&header, &b).expect("records");
        let mut seen = Vec::new();
        for_each_record(&header, &records, |r, _| seen.push((r.offset, r.timestamp, r.key.map(<[u8]>::to_vec), r.has_value))).expect("walk");
        assert_eq!(seen, vec![(10, 100, Some(b"a".to_vec()), true), (11, 105, None, true), (12, 101, Some(b"a".to_vec()), false)]);
        assert!(for_each_record(&header, &records[..records.len() - 1], |_, _| {}).is_err(), "a cut record is an error");
    }

    #[test]
    fn filtering_keeps_header_fields_and_recomputes_the_crc() {
        for compression in [Compression::None, Compression::Gzip, Compression::Lz4, Compression::Zstd, Compression::Snappy] {
            let b = encode(&[keyed(20, 100, Some("a"), Some("1")), keyed(21, 300, Some("b"), Some("2")), keyed(22, 200, Some("c"), Some("3"))], compression);
            let before = BatchHeader::parse(&b).expect("header");
            let Filtered::Rewritten(out) = filter_batch(&b, |r| r.offset != 21).expect("filter") else { panic!("{compression:?}: expected a rewrite") };
            let after = BatchHeader::parse(&out).expect("header");
            assert!(crc_is_valid(&out), "{compression:?}");
            assert_eq!(after.total_size(), out.len());
            assert_eq!((after.base_offset, after.last_offset_delta, after.first_timestamp), (20, 2, 100), "{compression:?}");
            assert_eq!((after.producer_id, after.producer_epoch, after.base_sequence), (before.producer_id, before.producer_epoch, before.base_sequence));
            assert_eq!((after.attributes, after.partition_leader_epoch), (before.attributes, before.partition_leader_epoch));
            assert_eq!((after.record_count, after.max_timestamp), (2, 200), "{compression:?}");
            let records = decode(&out);
            assert_eq!(records.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), vec![(20, 100), (22, 200)], "{compression:?}");
            assert_eq!(records[1].2.as_deref(), Some(&b"3"[..]));
        }
    }

    #[test]
    fn all_kept_is_unchanged_and_none_kept_is_empty() {
        let b = encode(&[keyed(0, 1, Some("a"), Some("1")), keyed(1, 2, Some("b"), Some("2"))], Compression::Gzip);
        assert_eq!(filter_batch(&b, |_| true), Ok(Filtered::Unchanged));
        assert_eq!(filter_batch(&b, |_| false), Ok(Filtered::Empty));
    }
}
