//! Sending records: Kafka's `Sender` reduced to what a console producer needs. Records are
//! grouped per partition into one record batch (magic v2, uncompressed, no producer id), the
//! batches grouped per leader into one Produce request each. A partition whose leader moved
//! (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, ...) is retried after reading Metadata again,
//! as Kafka's producer does with its `retries`; any other error is final.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;
use odradek_client::batch::{now_ms, BatchRecord};

use crate::admin::{describe_error, topic_name, AdminClient};
use crate::leaders::PartitionLeaders;

/// v3 is the first with record batches (magic v2); 2.8 speaks up to v9, the broker up to v7.
const VERSIONS: RangeInclusive<i16> = 3..=7;
/// Kafka's `delivery.timeout.ms` is 120 s; five attempts over fresh Metadata suffice here.
const ATTEMPTS: u32 = 5;
const RETRY_BACKOFF: Duration = Duration::from_millis(300);
/// The broker-side wait for acks=-1 (Kafka's `request.timeout.ms`).
const ACK_TIMEOUT_MS: i32 = 30_000;

/// One record to send.
#[derive(Debug, Clone)]
pub struct ProducerRecord {
    pub partition: i32,
    pub key: Option<Bytes>,
    pub value: Bytes,
    pub headers: Vec<(String, Bytes)>,
}

/// Sends `records` to `topic` with `acks`, retrying partitions whose leader moved.
pub async fn send(
    admin: &mut AdminClient,
    leaders: &mut PartitionLeaders,
    topic: &str,
    records: Vec<ProducerRecord>,
    acks: i16,
) -> anyhow::Result<()> {
    let mut pending: BTreeMap<i32, Vec<ProducerRecord>> = BTreeMap::new();
    for record in records {
        pending.entry(record.partition).or_default().push(record);
    }
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        if attempt > 0 {
            tokio::time::sleep(RETRY_BACKOFF).await;
            leaders.refresh(admin).await?;
        }
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for &partition in pending.keys() {
            match leaders.leader(&(topic.to_string(), partition)) {
                Some(id) => by_leader.entry(id).or_default().push(partition),
                None => last = format!("partition {topic}-{partition} has no leader"),
            }
        }
        for (id, partitions) in by_leader {
            let batches = partitions
                .iter()
                .map(|p| {
                    Ok((
                        *p,
                        encode_batch(pending.get(p).map(Vec::as_slice).unwrap_or_default())?,
                    ))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            match produce(leaders, id, topic, batches, acks).await {
                Err(e) => {
                    leaders.disconnect(id);
                    last = format!("{e:#}");
                }
                Ok(errors) => {
                    for (partition, code) in errors {
                        if code == 0 {
                            pending.remove(&partition);
                        } else if retriable(code) {
                            last = format!("{topic}-{partition}: {}", describe_error(code, None));
                        } else {
                            anyhow::bail!(
                                "producing to {topic}-{partition}: {}",
                                describe_error(code, None)
                            );
                        }
                    }
                }
            }
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} partition(s) of {topic} not written after {ATTEMPTS} attempts (last: {last})",
        pending.len()
    )
}

/// Errors after which Metadata is read again and the batch resent (Kafka's retriable ones
/// that mean "wrong or no leader").
fn retriable(code: i16) -> bool {
    [
        ResponseError::NotLeaderOrFollower,
        ResponseError::LeaderNotAvailable,
        ResponseError::UnknownTopicOrPartition,
        ResponseError::NotEnoughReplicas,
        ResponseError::NotEnoughReplicasAfterAppend,
        ResponseError::RequestTimedOut,
    ]
    .iter()
    .any(|e| e.code() == code)
}

/// One Produce to broker `id`; the error code per partition (all 0 for acks=0, which gets no
/// answer).
async fn produce(
    leaders: &mut PartitionLeaders,
    id: i32,
    topic: &str,
    batches: Vec<(i32, Bytes)>,
    acks: i16,
) -> anyhow::Result<Vec<(i32, i16)>> {
    let node = leaders.node(id).await?;
    let version = node.version::<ProduceRequest>(VERSIONS)?;
    let partitions: Vec<i32> = batches.iter().map(|(p, _)| *p).collect();
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(ACK_TIMEOUT_MS)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(
                batches
                    .into_iter()
                    .map(|(p, records)| {
                        PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(records))
                    })
                    .collect(),
            )]);
    if acks == 0 {
        node.send_without_response(&request, version).await?;
        return Ok(partitions.into_iter().map(|p| (p, 0)).collect());
    }
    let response = node
        .send(
            &request,
            version,
            Duration::from_millis(ACK_TIMEOUT_MS as u64 + 5_000),
        )
        .await?;
    let mut errors = Vec::new();
    for topic_response in &response.responses {
        for partition in &topic_response.partition_responses {
            errors.push((partition.index, partition.error_code));
        }
    }
    // A partition the response left out was not written.
    for p in partitions {
        if !errors.iter().any(|(q, _)| *q == p) {
            errors.push((p, ResponseError::UnknownServerError.code()));
        }
    }
    Ok(errors)
}

/// One uncompressed magic-v2 batch of `records`, offsets 0.. (the leader assigns the real ones).
pub fn encode_batch(records: &[ProducerRecord]) -> anyhow::Result<Bytes> {
    let records: Vec<BatchRecord> = records
        .iter()
        .map(|r| BatchRecord { key: r.key.clone(), value: Some(r.value.clone()), headers: r.headers.clone() })
        .collect();
    Ok(odradek_client::batch::encode_batch(&records, Compression::None, now_ms())?)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::RecordBatchDecoder;

    use super::*;

    #[test]
    fn batches_decode_back() {
        let records = vec![
            ProducerRecord {
                partition: 0,
                key: Some(Bytes::from("k")),
                value: Bytes::from("v"),
                headers: vec![("h".into(), Bytes::from("1"))],
            },
            ProducerRecord {
                partition: 0,
                key: None,
                value: Bytes::from("w"),
                headers: vec![],
            },
        ];
        let mut bytes = encode_batch(&records).unwrap();
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        assert_eq!(set.version, 2);
        assert_eq!(set.records.len(), 2);
        assert_eq!(set.records[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(
            set.records[0].headers.get(&kafka_protocol::protocol::StrBytes::from_static_str("h")),
            Some(&Some(Bytes::from("1")))
        );
        assert_eq!(set.records[1].offset, 1);
        assert_eq!(set.records[1].value.as_deref(), Some(&b"w"[..]));
    }
}
