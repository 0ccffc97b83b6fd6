//! Produce and Fetch over `odradek-client`, for tests that need to see exact offsets and
//! acknowledgements (the crash test) rather than a client library's view of them.
//!
//! Batches are built with `kafka_protocol`'s `RecordBatchEncoder`, as a producer would: magic 2,
//! no producer id, offsets 0..n-1 relative to the batch (the leader assigns the real ones).

use anyhow::Context;
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use odradek_client::batch::{now_ms, BatchRecord};
use odradek_client::Connection;

/// The Produce version the helpers send (the highest Odradek serves).
pub const PRODUCE_VERSION: i16 = 7;
/// The Fetch version the helpers send (the highest Odradek serves).
pub const FETCH_VERSION: i16 = 12;

/// A record as a test compares it: key, value, and the offset the log gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    pub offset: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// What the leader answered for one partition of a Produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceAck {
    pub error_code: i16,
    pub base_offset: i64,
    pub log_start_offset: i64,
}

/// Encodes one magic-2 batch of `(key, value)` records.
pub fn encode_batch(
    records: &[(Option<Bytes>, Option<Bytes>)],
    compression: Compression,
) -> anyhow::Result<Bytes> {
    let records: Vec<BatchRecord> = records.iter().map(|(k, v)| BatchRecord::new(k.clone(), v.clone())).collect();
    Ok(odradek_client::batch::encode_batch(&records, compression, now_ms())?)
}

/// Sends one Produce with `batch` for `topic`-`partition` and returns the partition's answer.
/// With `acks = 0` the broker sends nothing back; this helper does not support that.
pub async fn produce(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    batch: Bytes,
    acks: i16,
) -> anyhow::Result<ProduceAck> {
    anyhow::ensure!(
        acks != 0,
        "acks=0 gets no response; produce() waits for one"
    );
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch))])]);
    let response = conn
        .send(&request, PRODUCE_VERSION)
        .await
        .context("Produce failed")?;
    let p = response
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition)
        .with_context(|| format!("Produce response has no entry for {topic}-{partition}"))?;
    Ok(ProduceAck {
        error_code: p.error_code,
        base_offset: p.base_offset,
        log_start_offset: p.log_start_offset,
    })
}

/// One Fetch of `topic`-`partition` from `offset`: returns the high watermark and the records of
/// every complete batch (a trailing partial batch, which Fetch may return, is dropped).
/// Records before `offset` inside the first batch are dropped too, as a consumer would.
pub async fn fetch(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    offset: i64,
    max_bytes: i32,
) -> anyhow::Result<(i64, Vec<FetchedRecord>)> {
    let (high_watermark, bytes) = fetch_raw(conn, topic, partition, offset, max_bytes).await?;
    let records = decode_records(&complete_batches(&bytes))?;
    Ok((
        high_watermark,
        records.into_iter().filter(|r| r.offset >= offset).collect(),
    ))
}

/// One Fetch of `topic`-`partition` from `offset`, returning the high watermark and the record
/// bytes exactly as the broker sent them (possibly ending in a partial batch).
pub async fn fetch_raw(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    offset: i64,
    max_bytes: i32,
) -> anyhow::Result<(i64, Bytes)> {
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(-1)
                .with_fetch_offset(offset)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(max_bytes)])]);
    let response = conn
        .send(&request, FETCH_VERSION)
        .await
        .context("Fetch failed")?;
    anyhow::ensure!(
        response.error_code == 0,
        "Fetch: top-level error code {}",
        response.error_code
    );
    let p = response
        .responses
        .iter()
        .filter(|t| t.topic.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .with_context(|| format!("Fetch response has no entry for {topic}-{partition}"))?;
    anyhow::ensure!(
        p.error_code == 0,
        "Fetch {topic}-{partition} at {offset}: error code {}",
        p.error_code
    );
    Ok((p.high_watermark, p.records.clone().unwrap_or_default()))
}

/// Fetches `topic`-`partition` from `from` until the high watermark seen on the first fetch.
pub async fn fetch_all(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    from: i64,
) -> anyhow::Result<Vec<FetchedRecord>> {
    let (high_watermark, mut records) = fetch(conn, topic, partition, from, 1 << 20).await?;
    let mut next = records.last().map_or(from, |r| r.offset + 1);
    while next < high_watermark {
        let (_, more) = fetch(conn, topic, partition, next, 1 << 20).await?;
        anyhow::ensure!(!more.is_empty(), "Fetch {topic}-{partition} at {next} returned nothing below high watermark {high_watermark}");
        next = more.last().map_or(next, |r| r.offset + 1);
        records.extend(more);
    }
    Ok(records)
}

/// The prefix of `bytes` made of whole batches (`BaseOffset i64, BatchLength i32, ...`).
pub fn complete_batches(bytes: &Bytes) -> Bytes {
    let mut end = 0;
    while bytes.len() - end >= 12 {
        let length = i32::from_be_bytes(bytes[end + 8..end + 12].try_into().expect("4 bytes"));
        if length < 0 {
            break;
        }
        let size = 12 + length as usize;
        if bytes.len() - end < size {
            break;
        }
        end += size;
    }
    bytes.slice(..end)
}

/// Decodes every batch in `bytes` (CRCs are verified by the decoder).
pub fn decode_records(bytes: &Bytes) -> anyhow::Result<Vec<FetchedRecord>> {
    let mut buf = bytes.clone();
    let sets = RecordBatchDecoder::decode_all(&mut buf)
        .map_err(|e| anyhow::anyhow!("cannot decode fetched batches: {e:#}"))?;
    Ok(sets
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| FetchedRecord {
            offset: r.offset,
            key: r.key,
            value: r.value,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (Option<Bytes>, Option<Bytes>) {
        (
            Some(Bytes::from(k.to_string())),
            Some(Bytes::from(v.to_string())),
        )
    }

    #[test]
    fn encoded_batches_decode_back() {
        let batch = encode_batch(
            &[kv("a", "1"), kv("b", "2"), (None, None)],
            Compression::None,
        )
        .unwrap();
        let records = decode_records(&batch).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[1],
            FetchedRecord {
                offset: 1,
                key: Some("b".into()),
                value: Some("2".into())
            }
        );
        assert_eq!(records[2].key, None);
        let header = crate::segment_files::BatchHeader::parse(&batch, 0).unwrap();
        assert_eq!(header.record_count, 3, "one batch, not one per record");
        assert_eq!((header.producer_id, header.base_sequence), (-1, -1));
    }

    #[test]
    fn a_partial_trailing_batch_is_dropped() {
        let one = encode_batch(&[kv("a", "1")], Compression::None).unwrap();
        let two = encode_batch(&[kv("b", "2")], Compression::None).unwrap();
        let mut joined = bytes::BytesMut::new();
        joined.extend_from_slice(&one);
        joined.extend_from_slice(&two[..two.len() - 3]);
        let joined = joined.freeze();
        assert_eq!(complete_batches(&joined).len(), one.len());
        assert_eq!(decode_records(&complete_batches(&joined)).unwrap().len(), 1);
    }
}
