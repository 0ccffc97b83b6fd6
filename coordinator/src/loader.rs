//! Becoming and ceasing to be coordinator for a `__consumer_offsets` partition.
//!
//! When this broker becomes leader of an offsets partition it reads the partition from log start to
//! log end and replays it: the last value per key wins and a tombstone deletes. Until that finishes,
//! requests for its groups get COORDINATOR_LOAD_IN_PROGRESS (clients retry). A group whose record has
//! members comes back Stable with its assignment, and its members' session timers restart, so a
//! consumer that keeps heartbeating across a coordinator failover never notices; one whose members
//! do not come back is rebalanced by expiry as usual. Losing leadership drops the groups, answering
//! parked requests with NOT_COORDINATOR so clients go find the new coordinator.

use std::collections::HashMap;
use std::time::Duration;

use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::{GroupMetadata, GroupState};
use crate::member::{JoinGroupResult, MemberMetadata, SyncGroupResult};
use crate::offset::{OffsetAndMetadata, TopicPartition};
use crate::offsets_log::OffsetsRecord;
use crate::records::{self, GroupMetadataValue, OffsetCommitValue, RecordKey};

/// How long to wait before re-reading a partition whose read failed.
const LOAD_RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// The state of one offsets partition after replay.
#[derive(Debug, Default)]
pub(crate) struct ReplayedPartition {
    pub groups: HashMap<String, GroupMetadataValue>,
    pub offsets: HashMap<String, HashMap<TopicPartition, OffsetCommitValue>>,
}

/// Replays records in offset order: last value per key wins, tombstones delete, undecodable records
/// are skipped with a warning.
pub(crate) fn replay(records: Vec<OffsetsRecord>) -> ReplayedPartition {
    let mut out = ReplayedPartition::default();
    for record in records {
        let key = match records::decode_key(&record.key) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(error = %e, "skipping undecodable __consumer_offsets key");
                continue;
            }
        };
        match (key, record.value) {
            (
                RecordKey::OffsetCommit {
                    group,
                    topic,
                    partition,
                },
                None,
            ) => {
                if let Some(offsets) = out.offsets.get_mut(&group) {
                    offsets.remove(&TopicPartition::new(topic, partition));
                    if offsets.is_empty() {
                        out.offsets.remove(&group);
                    }
                }
            }
            (
                RecordKey::OffsetCommit {
                    group,
                    topic,
                    partition,
                },
                Some(value),
            ) => match records::decode_offset_commit_value(&value, &group) {
                Ok(v) => {
                    out.offsets
                        .entry(group)
                        .or_default()
                        .insert(TopicPartition::new(topic, partition), v);
                }
                Err(e) => tracing::warn!(error = %e, "skipping undecodable offset commit value"),
            },
            (RecordKey::GroupMetadata { group }, None) => {
                out.groups.remove(&group);
            }
            (RecordKey::GroupMetadata { group }, Some(value)) => {
                match records::decode_group_metadata_value(&value, &group) {
                    Ok(v) => {
                        out.groups.insert(group, v);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping undecodable group metadata value")
                    }
                }
            }
        }
    }
    out
}

/// Kafka's `GroupMetadata.loadGroup`: Stable with the stored members and assignments, or Empty.
pub(crate) fn load_group(
    group_id: String,
    incarnation: u64,
    value: Option<GroupMetadataValue>,
    now_ms: i64,
) -> GroupMetadata {
    let mut group = GroupMetadata::new(group_id, incarnation, now_ms);
    let Some(value) = value else { return group };
    group.generation_id = value.generation;
    group.protocol_type = Some(value.protocol_type.clone());
    group.protocol_name = value.protocol.clone();
    let timestamp = (value.current_state_timestamp >= 0).then_some(value.current_state_timestamp);
    for m in value.members {
        let protocols = vec![(value.protocol.clone().unwrap_or_default(), m.subscription)];
        let mut member = MemberMetadata::new(
            m.member_id,
            m.group_instance_id,
            m.client_id,
            m.client_host,
            m.rebalance_timeout,
            m.session_timeout,
            value.protocol_type.clone(),
            protocols,
        );
        member.assignment = m.assignment;
        group.add(member);
    }
    group.set_leader(
        value
            .leader
            .filter(|l| group.has(l))
            .or_else(|| group.members.keys().next().cloned()),
    );
    let state = if group.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    group.set_loaded_state(state, timestamp);
    group
}

/// Kafka's `onGroupUnloaded`: the group is Dead; parked requests learn to look elsewhere.
pub(crate) fn mark_unloaded(group: &mut GroupMetadata, now_ms: i64) {
    let previous = group.state();
    group.transition_to(GroupState::Dead, now_ms);
    for member in group.members.values_mut() {
        match previous {
            GroupState::PreparingRebalance => member.invoke_join(JoinGroupResult::error(
                &member.member_id.clone(),
                ec::NOT_COORDINATOR,
            )),
            GroupState::Stable | GroupState::CompletingRebalance => {
                member.invoke_sync(SyncGroupResult::error(ec::NOT_COORDINATOR))
            }
            GroupState::Empty | GroupState::Dead => {}
        }
    }
}

impl GroupCoordinator {
    /// This broker became leader of __consumer_offsets partition `partition` (LeaderAndIsr): load it in the background
    /// (COORDINATOR_LOAD_IN_PROGRESS for its groups meanwhile).
    pub fn on_elected(&self, partition: i32, leader_epoch: i32) {
        self.ensure_expiry_task();
        let load_id = {
            let mut mgr = self.lock();
            if !mgr.maybe_update_epoch(partition, Some(leader_epoch)) {
                tracing::info!(
                    broker = self.broker_id,
                    partition,
                    leader_epoch,
                    "ignoring stale election for __consumer_offsets partition"
                );
                return;
            }
            if mgr.partition_state(partition).is_some() {
                return;
            }
            mgr.begin_loading(partition)
        };
        tracing::info!(target: "state_change", broker = self.broker_id, partition, leader_epoch, "loading group metadata from __consumer_offsets");
        let Some(me) = self.arc() else { return };
        self.spawn(async move { me.load_partition(partition, load_id).await });
    }

    /// This broker is no longer leader of it (became follower, stopped, deleted): unload its groups (they become Dead for
    /// parked requests); requests for them get NOT_COORDINATOR.
    pub fn on_resigned(&self, partition: i32, leader_epoch: Option<i32>) {
        let mut mgr = self.lock();
        if !mgr.maybe_update_epoch(partition, leader_epoch) {
            tracing::info!(
                broker = self.broker_id,
                partition,
                ?leader_epoch,
                "ignoring stale resignation for __consumer_offsets partition"
            );
            return;
        }
        let now = self.now_ms();
        let groups = mgr.unload(partition, self.config.offsets_topic_num_partitions);
        let count = groups.len();
        for mut group in groups {
            mark_unloaded(&mut group, now);
        }
        tracing::info!(target: "state_change", broker = self.broker_id, partition, ?leader_epoch, groups = count, "unloaded group metadata");
    }

    async fn load_partition(&self, partition: i32, load_id: u64) {
        loop {
            let read = self.log.read(partition).await;
            match read {
                Ok(records) => {
                    let count = records.len();
                    let replayed = replay(records);
                    self.install(partition, load_id, replayed);
                    tracing::info!(
                        broker = self.broker_id,
                        partition,
                        records = count,
                        "finished loading __consumer_offsets partition"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(broker = self.broker_id, partition, error = %e, "reading __consumer_offsets partition failed; retrying");
                    if !self.lock().is_current_load(partition, load_id)
                        || !self.sleep_unless_shutdown(LOAD_RETRY_BACKOFF).await
                    {
                        return;
                    }
                }
            }
        }
    }

    fn install(&self, partition: i32, load_id: u64, replayed: ReplayedPartition) {
        let now = self.now_ms();
        let mut mgr = self.lock();
        if !mgr.is_current_load(partition, load_id) {
            return;
        }
        let ReplayedPartition {
            mut groups,
            mut offsets,
        } = replayed;
        let mut ids: Vec<String> = groups.keys().chain(offsets.keys()).cloned().collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            if mgr.groups.contains_key(&id) {
                continue;
            }
            let incarnation = mgr.next_id();
            let mut group = load_group(id.clone(), incarnation, groups.remove(&id), now);
            for (tp, v) in offsets.remove(&id).unwrap_or_default() {
                let append_sequence = mgr.next_id();
                group.offsets.insert(
                    tp,
                    OffsetAndMetadata {
                        offset: v.offset,
                        leader_epoch: v.leader_epoch,
                        metadata: v.metadata,
                        commit_timestamp: v.commit_timestamp,
                        expire_timestamp: v.expire_timestamp,
                        append_sequence,
                    },
                );
            }
            let members: Vec<(String, i32)> = group
                .members
                .values()
                .map(|m| (m.member_id.clone(), m.session_timeout_ms))
                .collect();
            for (member_id, session) in members {
                self.schedule_heartbeat(&mut group, &member_id, session);
            }
            mgr.groups.insert(id, group);
        }
        mgr.finish_loading(partition, load_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager;
    use bytes::Bytes;

    fn commit(group: &str, topic: &str, partition: i32, offset: i64) -> OffsetsRecord {
        let v = OffsetCommitValue {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 1,
            expire_timestamp: None,
        };
        manager::offset_record(group, &TopicPartition::new(topic, partition), &v)
    }

    #[test]
    fn replay_last_value_wins_and_tombstones_delete() {
        let tp = |p| TopicPartition::new("t", p);
        let records = vec![
            commit("g", "t", 0, 5),
            commit("g", "t", 0, 9),
            commit("g", "t", 1, 3),
            manager::offset_tombstone("g", &tp(1)),
            commit("h", "t", 0, 1),
            OffsetsRecord {
                key: Bytes::from_static(&[0, 9]),
                value: None,
            },
        ];
        let r = replay(records);
        assert_eq!(r.offsets["g"][&tp(0)].offset, 9);
        assert!(!r.offsets["g"].contains_key(&tp(1)));
        assert_eq!(r.offsets["h"][&tp(0)].offset, 1);
        let r = replay(vec![
            commit("g", "t", 0, 5),
            manager::offset_tombstone("g", &tp(0)),
        ]);
        assert!(
            r.offsets.is_empty(),
            "a group whose offsets are all deleted is not resurrected"
        );
    }

    #[test]
    fn loaded_group_with_members_is_stable() {
        let mut g = GroupMetadata::new("g".into(), 1, 0);
        g.add(MemberMetadata::new(
            "m1".into(),
            None,
            "c".into(),
            "h".into(),
            1000,
            6000,
            "consumer".into(),
            vec![("range".into(), Bytes::from_static(b"sub"))],
        ));
        g.protocol_name = Some("range".into());
        g.generation_id = 4;
        let assignment = HashMap::from([("m1".to_string(), Bytes::from_static(b"asg"))]);
        let record = manager::group_record(&g, &assignment);
        let r = replay(vec![record.clone()]);
        let loaded = load_group("g".into(), 2, r.groups.get("g").cloned(), 0);
        assert_eq!(loaded.state(), GroupState::Stable);
        assert_eq!(loaded.generation_id, 4);
        assert_eq!(loaded.leader_id(), Some("m1"));
        assert_eq!(loaded.members["m1"].assignment, Bytes::from_static(b"asg"));
        assert_eq!(
            loaded.members["m1"].metadata("range"),
            Bytes::from_static(b"sub")
        );

        let r = replay(vec![record, manager::group_tombstone("g")]);
        assert!(r.groups.is_empty());
        assert_eq!(
            load_group("g".into(), 3, None, 0).state(),
            GroupState::Empty
        );
    }
}
