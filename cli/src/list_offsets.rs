//! ListOffsets to partition leaders: the log end offset (`LATEST`, −1) for `groups describe`'s
//! LOG-END-OFFSET and LAG, and where a consumer without a committed offset starts
//! (`auto.offset.reset`: `EARLIEST` −2 or `LATEST`).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::ListOffsetsRequest;

use crate::admin::{describe_error, topic_name, REQUEST_TIMEOUT};
use crate::leaders::{PartitionLeaders, TopicPartition};

/// Kafka's `ListOffsetsRequest.LATEST_TIMESTAMP`.
pub const LATEST: i64 = -1;
/// Kafka's `ListOffsetsRequest.EARLIEST_TIMESTAMP`.
pub const EARLIEST: i64 = -2;
/// v1 is the first with one offset per partition (v0 returned a list).
const VERSIONS: RangeInclusive<i16> = 1..=5;

/// The offset at `timestamp` of each of `partitions`, asking each leader once.
pub async fn list_offsets(
    leaders: &mut PartitionLeaders,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
    let (by_leader, leaderless) = leaders.by_leader(partitions);
    if let Some((topic, partition)) = leaderless.first() {
        anyhow::bail!("partition {topic}-{partition} has no leader");
    }
    let mut offsets = BTreeMap::new();
    for (id, partitions) in by_leader {
        let node = leaders.node(id).await?;
        let version = node.version::<ListOffsetsRequest>(VERSIONS)?;
        let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
        for (topic, partition) in &partitions {
            topics.entry(topic).or_default().push(
                ListOffsetsPartition::default()
                    .with_partition_index(*partition)
                    .with_timestamp(timestamp),
            );
        }
        let request = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        ListOffsetsTopic::default()
                            .with_name(topic_name(name))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let response = node.send(&request, version, REQUEST_TIMEOUT).await?;
        for topic in &response.topics {
            for partition in &topic.partitions {
                let name = topic.name.0.to_string();
                anyhow::ensure!(
                    partition.error_code == 0,
                    "ListOffsets for {name}-{}: {}",
                    partition.partition_index,
                    describe_error(partition.error_code, None)
                );
                offsets.insert((name, partition.partition_index), partition.offset);
            }
        }
    }
    Ok(offsets)
}
