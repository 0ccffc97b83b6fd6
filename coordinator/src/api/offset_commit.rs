//! OffsetCommit (API key 8): store consumer positions in `__consumer_offsets`.
//!
//! A member of a group managed by this coordinator must commit in its current generation (a zombie
//! from an older generation gets ILLEGAL_GENERATION and must not overwrite the new owner's
//! progress). A client that manages partitions itself commits with generation -1 into an Empty or
//! unknown group. The records are appended as one batch with acks=-1; the cache that OffsetFetch
//! reads changes only once the append is acknowledged, so a fetch never returns an offset a
//! coordinator failover could lose.

use std::collections::HashMap;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::{GroupMetadata, GroupState};
use crate::manager;
use crate::offset::{OffsetAndMetadata, TopicPartition};
use crate::offsets_log::commit_append_error;
use crate::records::OffsetCommitValue;

/// Per-partition outcome: decided now, or decided by the pending append.
type Errors = HashMap<TopicPartition, i16>;

impl GroupCoordinator {
    pub async fn offset_commit(
        &self,
        request: OffsetCommitRequest,
        version: i16,
    ) -> OffsetCommitResponse {
        let now = self.now_ms();
        let group_id = request.group_id.0.to_string();
        let generation = if version >= 1 {
            request.generation_id_or_member_epoch
        } else {
            -1
        };
        let member_id = if version >= 1 {
            request.member_id.to_string()
        } else {
            String::new()
        };
        let instance = if version >= 7 {
            request.group_instance_id.as_ref().map(|s| s.to_string())
        } else {
            None
        };
        let expire_timestamp = ((2..=4).contains(&version) && request.retention_time_ms != -1)
            .then(|| now + request.retention_time_ms);

        let mut errors: Errors = HashMap::new();
        let mut offsets = Vec::new();
        for topic in &request.topics {
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.name.0.as_str(), p.partition_index);
                if !self.log.topic_partition_exists(&tp.topic, tp.partition) {
                    errors.insert(tp, ec::UNKNOWN_TOPIC_OR_PARTITION);
                    continue;
                }
                let value = OffsetCommitValue {
                    offset: p.committed_offset,
                    leader_epoch: if version >= 6 {
                        p.committed_leader_epoch
                    } else {
                        -1
                    },
                    metadata: p
                        .committed_metadata
                        .as_deref()
                        .unwrap_or_default()
                        .to_string(),
                    commit_timestamp: if version == 1 && p.commit_timestamp != -1 {
                        p.commit_timestamp
                    } else {
                        now
                    },
                    expire_timestamp,
                };
                offsets.push((tp, value));
            }
        }
        if !offsets.is_empty() {
            errors.extend(
                self.commit_offsets(
                    &group_id,
                    generation,
                    &member_id,
                    instance.as_deref(),
                    offsets,
                )
                .await,
            );
        }

        let topics = request
            .topics
            .iter()
            .map(|topic| {
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(topic.name.0.as_str(), p.partition_index);
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(
                                errors.get(&tp).copied().unwrap_or(ec::UNKNOWN_SERVER_ERROR),
                            )
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(topic.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    }

    /// Kafka's `handleCommitOffsets` + `doCommitOffsets` + `storeOffsets`.
    async fn commit_offsets(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        offsets: Vec<(TopicPartition, OffsetCommitValue)>,
    ) -> Errors {
        let all = |offsets: &[(TopicPartition, OffsetCommitValue)], e: i16| -> Errors {
            offsets.iter().map(|(tp, _)| (tp.clone(), e)).collect()
        };
        let now = self.now_ms();
        let (mut errors, pending) = {
            let mut mgr = self.lock();
            if let Some(error) = self.validate_group_status(&mgr, group_id, true) {
                return all(&offsets, error);
            }
            if !mgr.groups.contains_key(group_id) {
                if generation >= 0 {
                    // An older generation of a group this coordinator no longer knows: reject.
                    return all(&offsets, ec::ILLEGAL_GENERATION);
                }
                let incarnation = mgr.next_id();
                mgr.groups.insert(
                    group_id.to_string(),
                    GroupMetadata::new(group_id.to_string(), incarnation, now),
                );
            }
            let first_sequence = mgr.next_id();
            for _ in 1..offsets.len() {
                mgr.next_id();
            }
            let Some(group) = mgr.groups.get_mut(group_id) else {
                return all(&offsets, ec::COORDINATOR_NOT_AVAILABLE);
            };
            let check = if group.is(GroupState::Dead) {
                Some(ec::COORDINATOR_NOT_AVAILABLE)
            } else if group.is_static_member_fenced(member_id, instance) {
                Some(ec::FENCED_INSTANCE_ID)
            } else if generation < 0 && group.is(GroupState::Empty) {
                None
            } else if !group.has(member_id) {
                Some(ec::UNKNOWN_MEMBER_ID)
            } else if generation != group.generation_id {
                Some(ec::ILLEGAL_GENERATION)
            } else {
                match group.state() {
                    GroupState::Stable | GroupState::PreparingRebalance => {
                        let session = group
                            .members
                            .get(member_id)
                            .map(|m| m.session_timeout_ms)
                            .unwrap_or_default();
                        self.schedule_heartbeat(group, member_id, session);
                        None
                    }
                    GroupState::CompletingRebalance => Some(ec::REBALANCE_IN_PROGRESS),
                    GroupState::Empty | GroupState::Dead => Some(ec::UNKNOWN_MEMBER_ID),
                }
            };
            if let Some(error) = check {
                return all(&offsets, error);
            }
            let max = self.config.offset_metadata_max_bytes;
            let (valid, too_large): (Vec<_>, Vec<_>) = offsets
                .into_iter()
                .partition(|(_, v)| v.metadata.encode_utf16().count() <= max);
            let errors = all(&too_large, ec::OFFSET_METADATA_TOO_LARGE);
            if valid.is_empty() {
                return errors;
            }
            group.prepare_offset_commit(valid.iter().map(|(tp, _)| tp.clone()));
            let records = valid
                .iter()
                .map(|(tp, v)| manager::offset_record(group_id, tp, v))
                .collect();
            (
                errors,
                Some((group.incarnation, valid, records, first_sequence)),
            )
        };
        let Some((incarnation, valid, records, first_sequence)) = pending else {
            return errors;
        };
        let Some(me) = self.arc() else {
            return all(&valid, ec::COORDINATOR_NOT_AVAILABLE);
        };
        let partition = self.partition_for(group_id);
        let group_id = group_id.to_string();
        // The append and the cache update run in their own task: a client that disconnects must not
        // leave a durable commit out of the cache.
        let task = tokio::spawn(async move {
            let result = me.append(partition, records).await;
            let mut mgr = me.lock();
            let group = mgr
                .group_mut(&group_id, incarnation)
                .filter(|g| !g.is(GroupState::Dead));
            let error = match result {
                Ok(()) => ec::NONE,
                Err(code) => commit_append_error(code),
            };
            if let Some(group) = group {
                for (i, (tp, v)) in valid.iter().enumerate() {
                    if error == ec::NONE {
                        let offset = OffsetAndMetadata {
                            offset: v.offset,
                            leader_epoch: v.leader_epoch,
                            metadata: v.metadata.clone(),
                            commit_timestamp: v.commit_timestamp,
                            expire_timestamp: v.expire_timestamp,
                            append_sequence: first_sequence + i as u64,
                        };
                        group.on_offset_commit_append(tp.clone(), offset);
                    } else {
                        group.fail_pending_offset_commit(tp);
                    }
                }
            }
            valid
                .into_iter()
                .map(|(tp, _)| (tp, error))
                .collect::<Errors>()
        });
        match task.await {
            Ok(result) => errors.extend(result),
            Err(e) => tracing::error!(error = %e, "offset commit task failed"),
        }
        errors
    }
}
