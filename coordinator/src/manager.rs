//! `GroupMetadataManager`: the coordinator's cache of groups and which offsets partitions it owns.
//!
//! Everything here is guarded by one mutex in `GroupCoordinator` (Kafka uses a lock per group plus
//! concurrent maps; one lock is simpler and a coordinator's work per request is tiny). It is never
//! held across an `.await`: appends and reads of `__consumer_offsets` happen with the lock released,
//! and their completions re-take it and re-check that the group is still the same object
//! (`incarnation`) in the same generation.
//!
//! Invariant: `groups` only holds groups of partitions in `Owned` state.

use std::collections::HashMap;

use bytes::Bytes;

use crate::group::GroupMetadata;
use crate::offset::TopicPartition;
use crate::offsets_log::OffsetsRecord;
use crate::partitioner::partition_for;
use crate::records::{self, GroupMetadataValue, MemberRecord, OffsetCommitValue};

/// Ownership of one `__consumer_offsets` partition by this broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionState {
    /// Being read and replayed; `load_id` identifies the load so a stale one cannot install itself.
    Loading {
        load_id: u64,
    },
    Owned,
}

#[derive(Debug, Default)]
pub(crate) struct GroupMetadataManager {
    pub groups: HashMap<String, GroupMetadata>,
    partitions: HashMap<i32, PartitionState>,
    /// Leader epoch of the last election/resignation seen per partition (Kafka's `epochForPartitionId`).
    epochs: HashMap<i32, i32>,
    next_id: u64,
}

impl GroupMetadataManager {
    /// A fresh id for incarnations, loads, timers and append sequences.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn partition_state(&self, partition: i32) -> Option<PartitionState> {
        self.partitions.get(&partition).copied()
    }

    pub fn any_loading(&self) -> bool {
        self.partitions
            .values()
            .any(|s| matches!(s, PartitionState::Loading { .. }))
    }

    /// Kafka's `maybeUpdateCoordinatorEpoch`: remember the highest epoch seen; an event carrying an
    /// older epoch is stale and ignored. `None` (deletion, StopReplica without epoch) always applies.
    pub fn maybe_update_epoch(&mut self, partition: i32, epoch: Option<i32>) -> bool {
        let current = self.epochs.get(&partition).copied();
        let updated = match (current, epoch) {
            (None, e) => e,
            (Some(c), Some(e)) if e > c => Some(e),
            (c, _) => c,
        };
        if let Some(u) = updated {
            self.epochs.insert(partition, u);
        }
        epoch.is_none_or(|e| Some(e) == updated)
    }

    pub fn begin_loading(&mut self, partition: i32) -> u64 {
        let load_id = self.next_id();
        self.partitions
            .insert(partition, PartitionState::Loading { load_id });
        load_id
    }

    /// Marks the partition owned if `load_id` is still the current load.
    pub fn finish_loading(&mut self, partition: i32, load_id: u64) -> bool {
        if self.partitions.get(&partition) == Some(&PartitionState::Loading { load_id }) {
            self.partitions.insert(partition, PartitionState::Owned);
            true
        } else {
            false
        }
    }

    pub fn is_current_load(&self, partition: i32, load_id: u64) -> bool {
        self.partitions.get(&partition) == Some(&PartitionState::Loading { load_id })
    }

    /// Forgets the partition and hands back its groups (for the caller to mark Dead).
    pub fn unload(&mut self, partition: i32, num_partitions: i32) -> Vec<GroupMetadata> {
        self.partitions.remove(&partition);
        let ids: Vec<String> = self
            .groups
            .keys()
            .filter(|g| partition_for(g, num_partitions) == partition)
            .cloned()
            .collect();
        ids.into_iter()
            .filter_map(|id| self.groups.remove(&id))
            .collect()
    }

    /// The group with this id if it is still the same object.
    pub fn group_mut(&mut self, group_id: &str, incarnation: u64) -> Option<&mut GroupMetadata> {
        self.groups
            .get_mut(group_id)
            .filter(|g| g.incarnation == incarnation)
    }
}

/// The GroupMetadata record for `group` with `assignment` (Kafka's `groupMetadataValue`).
pub(crate) fn group_record(
    group: &GroupMetadata,
    assignment: &HashMap<String, Bytes>,
) -> OffsetsRecord {
    let protocol = group.protocol_name.clone();
    let value = GroupMetadataValue {
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation_id,
        protocol: protocol.clone(),
        leader: group.leader_id().map(str::to_string),
        current_state_timestamp: group.current_state_timestamp.unwrap_or(-1),
        members: group
            .members
            .values()
            .map(|m| MemberRecord {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout: m.rebalance_timeout_ms,
                session_timeout: m.session_timeout_ms,
                subscription: m.metadata(protocol.as_deref().unwrap_or_default()),
                assignment: assignment.get(&m.member_id).cloned().unwrap_or_default(),
            })
            .collect(),
    };
    OffsetsRecord {
        key: records::group_metadata_key(&group.group_id),
        value: Some(records::group_metadata_value(&value)),
    }
}

pub(crate) fn group_tombstone(group_id: &str) -> OffsetsRecord {
    OffsetsRecord {
        key: records::group_metadata_key(group_id),
        value: None,
    }
}

pub(crate) fn offset_record(
    group_id: &str,
    tp: &TopicPartition,
    value: &OffsetCommitValue,
) -> OffsetsRecord {
    OffsetsRecord {
        key: records::offset_commit_key(group_id, &tp.topic, tp.partition),
        value: Some(records::offset_commit_value(value)),
    }
}

pub(crate) fn offset_tombstone(group_id: &str, tp: &TopicPartition) -> OffsetsRecord {
    OffsetsRecord {
        key: records::offset_commit_key(group_id, &tp.topic, tp.partition),
        value: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_fencing() {
        let mut m = GroupMetadataManager::default();
        assert!(m.maybe_update_epoch(0, Some(3)));
        assert!(!m.maybe_update_epoch(0, Some(2)), "older epoch is stale");
        assert!(m.maybe_update_epoch(0, Some(3)), "same epoch applies");
        assert!(m.maybe_update_epoch(0, None), "no epoch always applies");
        assert!(m.maybe_update_epoch(0, Some(4)));
        assert!(!m.maybe_update_epoch(0, Some(3)));
    }

    #[test]
    fn stale_load_cannot_finish() {
        let mut m = GroupMetadataManager::default();
        let first = m.begin_loading(7);
        m.unload(7, 50);
        let second = m.begin_loading(7);
        assert!(!m.finish_loading(7, first));
        assert!(m.finish_loading(7, second));
        assert_eq!(m.partition_state(7), Some(PartitionState::Owned));
    }
}
