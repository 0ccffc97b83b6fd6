//! Building one record batch (magic 2) the way a non-idempotent producer sends it, through the
//! `kafka-protocol` record codec. Offsets start at 0 (the leader assigns the real ones), the
//! producer id, epoch and base sequence are −1, and every record carries the same create time.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
    NO_SEQUENCE,
};

use crate::{ClientError, Result};

/// One record of a batch: key, value (`None` = tombstone) and headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Bytes)>,
}

impl BatchRecord {
    pub fn new(key: Option<Bytes>, value: Option<Bytes>) -> BatchRecord {
        BatchRecord { key, value, headers: Vec::new() }
    }
}

/// One magic-2 batch of `records` with create time `timestamp_ms`.
pub fn encode_batch(records: &[BatchRecord], compression: Compression, timestamp_ms: i64) -> Result<Bytes> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The codec cuts a batch where `offset - sequence` changes; this keeps one batch with
            // base sequence NO_SEQUENCE (−1), as a producer without idempotence sends.
            sequence: NO_SEQUENCE.wrapping_add(i as i32),
            timestamp: timestamp_ms,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), Some(v.clone()))).collect(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression })
        .map_err(|e| ClientError::Encode { what: "record batch", reason: format!("{e:#}") })?;
    Ok(buf.freeze())
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::RecordBatchDecoder;

    use super::*;

    #[test]
    fn records_keys_values_tombstones_and_headers_make_one_batch() {
        let records = vec![
            BatchRecord { key: Some(Bytes::from_static(b"k")), value: Some(Bytes::from_static(b"v")), headers: vec![("h".into(), Bytes::from_static(b"1"))] },
            BatchRecord::new(None, None),
            BatchRecord::new(Some(Bytes::from_static(b"k2")), Some(Bytes::from_static(b"v2"))),
        ];
        for compression in [Compression::None, Compression::Gzip] {
            let mut batch = encode_batch(&records, compression, 42).expect("encode");
            // base sequence −1 at bytes 53..57, record count 3 at 57..61.
            assert_eq!(&batch[53..61], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3]);
            let set = RecordBatchDecoder::decode(&mut batch).expect("decode");
            assert!(batch.is_empty(), "exactly one batch");
            let got: Vec<_> = set.records.iter().map(|r| (r.offset, r.timestamp, r.key.clone(), r.value.clone(), r.headers.len())).collect();
            assert_eq!(
                got,
                vec![
                    (0, 42, Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")), 1),
                    (1, 42, None, None, 0),
                    (2, 42, Some(Bytes::from_static(b"k2")), Some(Bytes::from_static(b"v2")), 0),
                ]
            );
        }
    }
}
