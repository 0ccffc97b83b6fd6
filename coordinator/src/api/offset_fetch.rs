//! OffsetFetch (API key 9): read committed positions from the cache.
//!
//! Partitions with no committed offset answer offset -1 and no error. From v2 a null topic list
//! means every partition the group has offsets for, and group-level errors move from each partition
//! to the top-level error code.
//!
//! From v7 a client may ask for stable offsets only (`require_stable`, KIP-447): a partition with a
//! commit still being appended answers UNSTABLE_OFFSET_COMMIT and offset -1 instead of the older
//! committed offset, and the client retries. Kafka 2.8 counts both plain commits awaiting their
//! append and open transactional commits as pending; Odradek has no transactions, so only the
//! former exist here. With nothing pending, the answer is the same as without the flag.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;
use crate::offset::{OffsetAndMetadata, TopicPartition};

/// offset, leader epoch, metadata, error
type PartitionData = (i64, i32, String, i16);

impl GroupCoordinator {
    pub async fn offset_fetch(
        &self,
        request: OffsetFetchRequest,
        version: i16,
    ) -> OffsetFetchResponse {
        let requested: Option<Vec<TopicPartition>> = request.topics.as_ref().map(|topics| {
            topics
                .iter()
                .flat_map(|t| {
                    t.partition_indexes
                        .iter()
                        .map(move |p| TopicPartition::new(t.name.0.as_str(), *p))
                })
                .collect()
        });
        let require_stable = version >= 7 && request.require_stable;
        let (error, data) = self.handle_offset_fetch(
            request.group_id.0.as_str(),
            requested.as_deref(),
            require_stable,
        );
        let data = match (error, requested) {
            // v0–1 have no top-level error: every requested partition carries it.
            (e, Some(tps)) if e != ec::NONE && version < 2 => tps
                .into_iter()
                .map(|tp| (tp, (-1, -1, String::new(), e)))
                .collect(),
            _ => data,
        };
        let mut by_topic: BTreeMap<String, Vec<OffsetFetchResponsePartition>> = BTreeMap::new();
        for (tp, (offset, leader_epoch, metadata, error)) in data {
            by_topic.entry(tp.topic).or_default().push(
                OffsetFetchResponsePartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(offset)
                    .with_committed_leader_epoch(if version >= 5 { leader_epoch } else { -1 })
                    .with_metadata(Some(StrBytes::from_string(metadata)))
                    .with_error_code(error),
            );
        }
        let topics = by_topic
            .into_iter()
            .map(|(name, partitions)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions)
            })
            .collect();
        OffsetFetchResponse::default()
            .with_topics(topics)
            .with_error_code(if version >= 2 { error } else { ec::NONE })
    }

    /// Kafka's `handleFetchOffsets` / `getOffsets`. `requested` None = all partitions.
    fn handle_offset_fetch(
        &self,
        group_id: &str,
        requested: Option<&[TopicPartition]>,
        require_stable: bool,
    ) -> (i16, Vec<(TopicPartition, PartitionData)>) {
        let none = |tp: &TopicPartition| (tp.clone(), (-1i64, -1i32, String::new(), ec::NONE));
        let unstable = |tp: &TopicPartition| {
            (
                tp.clone(),
                (-1i64, -1i32, String::new(), ec::UNSTABLE_OFFSET_COMMIT),
            )
        };
        let found = |tp: &TopicPartition, o: &OffsetAndMetadata| {
            (
                tp.clone(),
                (o.offset, o.leader_epoch, o.metadata.clone(), ec::NONE),
            )
        };
        let mgr = self.lock();
        if let Some(error) = self.validate_group_status(&mgr, group_id, true) {
            return (error, Vec::new());
        }
        let group = mgr.groups.get(group_id).filter(|g| !g.is(GroupState::Dead));
        let data = match (group, requested) {
            (None, Some(tps)) => tps.iter().map(none).collect(),
            (None, None) => Vec::new(),
            (Some(group), requested) => {
                let tps: Vec<&TopicPartition> = match requested {
                    Some(tps) => tps.iter().collect(),
                    None => {
                        let mut committed: Vec<&TopicPartition> = group.offsets.keys().collect();
                        committed.sort();
                        committed
                    }
                };
                tps.into_iter()
                    .map(|tp| {
                        if require_stable && group.pending_offset_commits.contains_key(tp) {
                            return unstable(tp);
                        }
                        group
                            .offsets
                            .get(tp)
                            .map(|o| found(tp, o))
                            .unwrap_or_else(|| none(tp))
                    })
                    .collect()
            }
        };
        (ec::NONE, data)
    }
}
