//! Fetching records: Kafka's `Fetcher` without sessions. One Fetch per partition leader carries
//! every assigned partition it leads, from the consumer's position; the records come back as
//! record batches, possibly with a truncated batch at the end (the broker cuts at
//! `partition_max_bytes`), which is left for the next fetch. Control records (transaction
//! markers) are skipped, and so are records before the position (a batch can start earlier).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::FetchRequest;
use kafka_protocol::records::{Record, RecordBatchDecoder};
use kafka_protocol::ResponseError;

use crate::admin::{describe_error, topic_name};
use crate::leaders::{PartitionLeaders, TopicPartition};

/// v4 is the first with record batches and isolation levels; the broker serves up to v11.
const VERSIONS: RangeInclusive<i16> = 4..=11;
/// Kafka's `fetch.max.wait.ms` default.
pub const MAX_WAIT: Duration = Duration::from_millis(500);
/// Kafka's `max.partition.fetch.bytes` default.
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;
/// Kafka's `fetch.max.bytes` default.
const MAX_BYTES: i32 = 50 * 1024 * 1024;

/// What one round of fetches returned.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Records per partition, in offset order, all at or after the position.
    pub records: BTreeMap<TopicPartition, Vec<Record>>,
    /// Partitions whose position is out of range (to be reset).
    pub out_of_range: Vec<TopicPartition>,
    /// Whether a leader moved or failed (Metadata should be read again).
    pub stale_metadata: bool,
}

/// Fetches every partition in `positions` from its leader.
pub async fn fetch(
    leaders: &mut PartitionLeaders,
    positions: &BTreeMap<TopicPartition, i64>,
) -> anyhow::Result<Fetched> {
    let partitions: Vec<TopicPartition> = positions.keys().cloned().collect();
    let (by_leader, leaderless) = leaders.by_leader(&partitions);
    let mut fetched = Fetched {
        stale_metadata: !leaderless.is_empty(),
        ..Fetched::default()
    };
    if by_leader.is_empty() {
        tokio::time::sleep(MAX_WAIT).await;
    }
    for (id, partitions) in by_leader {
        if let Err(_e) = fetch_from(leaders, id, &partitions, positions, &mut fetched).await {
            leaders.disconnect(id);
            fetched.stale_metadata = true;
        }
    }
    Ok(fetched)
}

async fn fetch_from(
    leaders: &mut PartitionLeaders,
    id: i32,
    partitions: &[TopicPartition],
    positions: &BTreeMap<TopicPartition, i64>,
    fetched: &mut Fetched,
) -> anyhow::Result<()> {
    let node = leaders.node(id).await?;
    let version = node.version::<FetchRequest>(VERSIONS)?;
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for tp in partitions {
        let offset = positions.get(tp).copied().unwrap_or(0);
        topics.entry(&tp.0).or_default().push(
            FetchPartition::default()
                .with_partition(tp.1)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(PARTITION_MAX_BYTES),
        );
    }
    let request = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(MAX_WAIT.as_millis() as i32)
        .with_min_bytes(1)
        .with_max_bytes(MAX_BYTES)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    FetchTopic::default()
                        .with_topic(topic_name(name))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    let response = node
        .send(&request, version, MAX_WAIT + Duration::from_secs(30))
        .await?;
    anyhow::ensure!(
        response.error_code == 0,
        "Fetch: {}",
        describe_error(response.error_code, None)
    );
    for topic in response.responses {
        let name = topic.topic.0.to_string();
        for partition in topic.partitions {
            let tp = (name.clone(), partition.partition_index);
            let code = partition.error_code;
            if code == ResponseError::OffsetOutOfRange.code() {
                fetched.out_of_range.push(tp);
            } else if code != 0 {
                fetched.stale_metadata = true;
            } else if let Some(bytes) = partition.records {
                let position = positions.get(&tp).copied().unwrap_or(0);
                let records = decode(bytes, position)?;
                if !records.is_empty() {
                    fetched.records.insert(tp, records);
                }
            }
        }
    }
    Ok(())
}

/// The complete batches of `bytes`, their non-control records at or after `position`.
pub fn decode(mut bytes: Bytes, position: i64) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    // Each batch starts with baseOffset (int64) and batchLength (int32, the bytes that follow).
    while bytes.len() >= 12 {
        let length = (&bytes[8..12]).get_i32();
        anyhow::ensure!(length >= 0, "a record batch of negative length {length}");
        let total = 12 + length as usize;
        if bytes.len() < total {
            break; // truncated by the broker at partition_max_bytes
        }
        let mut batch = bytes.split_to(total);
        let set = RecordBatchDecoder::decode(&mut batch)
            .map_err(|e| anyhow::anyhow!("cannot decode a record batch: {e:#}"))?;
        records.extend(
            set.records
                .into_iter()
                .filter(|r| !r.control && r.offset >= position),
        );
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::produce::sender::{encode_batch, ProducerRecord};

    #[test]
    fn truncated_tail_and_earlier_offsets_are_skipped() {
        let records: Vec<ProducerRecord> = (0..3)
            .map(|i| ProducerRecord {
                partition: 0,
                key: None,
                value: Bytes::from(format!("v{i}")),
                headers: vec![],
            })
            .collect();
        let batch = encode_batch(&records).unwrap();
        let mut two = batch.to_vec();
        two.extend_from_slice(&batch[..batch.len() - 5]);
        let got = decode(Bytes::from(two), 1).unwrap();
        let values: Vec<&[u8]> = got.iter().filter_map(|r| r.value.as_deref()).collect();
        assert_eq!(values, [&b"v1"[..], b"v2"]);
    }
}
