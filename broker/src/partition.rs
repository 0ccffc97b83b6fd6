//! `Partition`: one replica of a topic partition on this broker, Kafka's `kafka.cluster.Partition`.
//!
//! It holds the leader/ISR state the controller sent (LeaderAndIsr), the local `Log`, the high
//! watermark, and, on the leader, what it knows of each follower (reference §4.2–4.3):
//!
//! - a follower's fetch offset is its log end; a fetch at the leader's log end makes it caught up
//!   now, a fetch at the leader's log end *of its previous fetch* makes it caught up then;
//! - the HW is the smallest log end among the leader and the followers that are in the *maximal*
//!   ISR (the ISR plus an expansion in flight) or caught up within `replica.lag.time.max.ms`; it
//!   never moves backwards on a leader;
//! - the ISR expands when a follower reaches the HW and the current epoch's start offset, and
//!   shrinks when a follower has not been caught up for `replica.lag.time.max.ms`; either change
//!   is proposed to the controller (AlterIsr, KIP-497), one at a time, and committed only when the
//!   controller answers;
//! - acks=all completes when the HW passes the request's last offset, with the ISR at least
//!   `min.insync.replicas` (NOT_ENOUGH_REPLICAS before the append, NOT_ENOUGH_REPLICAS_AFTER_APPEND
//!   after).
//!
//! A follower's HW is the leader's HW capped at its own log end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use odradek_log::{Log, LogAppendInfo, LogError, TopicPartition};
use odradek_protocol::error_codes as codes;
use tracing::info;
use uuid::Uuid;

use crate::errors::PartitionError;
use crate::purgatory::Watchers;

/// The controller-assigned state of a partition, from LeaderAndIsr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderAndIsrState {
    pub topic_id: Uuid,
    pub controller_epoch: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
    pub replicas: Vec<i32>,
    pub is_new: bool,
}

/// How a new replica starts: the broker's replication settings and the high watermark
/// `replication-offset-checkpoint` remembered.
#[derive(Clone, Copy, Debug)]
pub struct PartitionSettings {
    pub replica_lag_time_max_ms: i64,
    /// The topic's `min.insync.replicas` when already known; `None` until the topic's config has
    /// been read (acks=all writes are refused meanwhile).
    pub min_insync_replicas: Option<i32>,
    pub initial_high_watermark: i64,
}

/// A proposed ISR change, for the controller (one AlterIsr partition entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsrChange {
    pub tp: TopicPartition,
    pub leader_epoch: i32,
    pub new_isr: Vec<i32>,
    pub zk_version: i32,
}

/// The controller's answer to an [`IsrChange`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsrChangeOutcome {
    /// Written: the ISR, leader epoch and zkVersion now in ZooKeeper.
    Committed { leader_epoch: i32, isr: Vec<i32>, zk_version: i32 },
    /// Refused for good (fenced epoch, stale zkVersion, unknown partition): wait for the next
    /// LeaderAndIsr.
    Refused(i16),
    /// Not answered (controller moved, connection lost): propose again later.
    Retry,
}

/// What the leader knows about one follower (Kafka's `Replica`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct FollowerState {
    log_end_offset: i64,
    log_start_offset: i64,
    last_fetch_time_ms: i64,
    last_fetch_leader_log_end_offset: i64,
    last_caught_up_time_ms: i64,
}

/// The leader/ISR state plus what only the leader tracks.
struct ReplicaState {
    state: LeaderAndIsrState,
    followers: HashMap<i32, FollowerState>,
    /// The ISR proposed to the controller and not answered yet.
    pending_isr: Option<Vec<i32>>,
}

impl ReplicaState {
    /// The ISR assumed for the HW: the committed ISR plus the members a pending change adds (a
    /// pending shrink is not assumed until committed).
    fn maximal_isr(&self) -> Vec<i32> {
        let mut isr = self.state.isr.clone();
        if let Some(pending) = &self.pending_isr {
            isr.extend(pending.iter().filter(|r| !self.state.isr.contains(r)));
        }
        isr
    }
}

pub struct Partition {
    pub tp: TopicPartition,
    local_broker_id: i32,
    log: Arc<Log>,
    state: RwLock<ReplicaState>,
    /// Log end offset at the moment this broker became leader for the current epoch.
    leader_epoch_start_offset: AtomicI64,
    high_watermark: AtomicI64,
    replica_lag_time_max_ms: i64,
    /// The topic's `min.insync.replicas`; 0 until the topic's config is loaded.
    min_insync_replicas: AtomicI32,
    /// Long-polling fetches and acks=all produces waiting for appends or the HW.
    pub watchers: Watchers,
}

impl Partition {
    pub fn new(tp: TopicPartition, local_broker_id: i32, log: Arc<Log>, state: LeaderAndIsrState, settings: PartitionSettings, now_ms: i64) -> Partition {
        let hw = settings.initial_high_watermark.clamp(log.log_start_offset(), log.log_end_offset());
        let PartitionSettings { replica_lag_time_max_ms, min_insync_replicas, .. } = settings;
        let p = Partition {
            tp,
            local_broker_id,
            leader_epoch_start_offset: AtomicI64::new(log.log_end_offset()),
            high_watermark: AtomicI64::new(hw),
            log,
            state: RwLock::new(ReplicaState { state, followers: HashMap::new(), pending_isr: None }),
            replica_lag_time_max_ms,
            min_insync_replicas: AtomicI32::new(min_insync_replicas.map_or(0, |n| n.max(1))),
            watchers: Watchers::default(),
        };
        p.apply_state_transition(now_ms);
        p
    }

    /// The log end offset at which this broker's current leadership epoch began (meaningful on
    /// the leader only).
    pub fn leader_epoch_start_offset(&self) -> i64 {
        self.leader_epoch_start_offset.load(Ordering::Acquire)
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub fn state(&self) -> LeaderAndIsrState {
        self.read().state.clone()
    }

    pub fn leader_epoch(&self) -> i32 {
        self.read().state.leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        self.read().state.leader == self.local_broker_id
    }

    pub fn leader_id(&self) -> i32 {
        self.read().state.leader
    }

    /// The topic's `min.insync.replicas`, `None` while the topic's config is not loaded yet.
    pub fn min_insync_replicas(&self) -> Option<i32> {
        Some(self.min_insync_replicas.load(Ordering::Acquire)).filter(|n| *n > 0)
    }

    /// Applies the topic's effective config (its overrides over the broker's defaults): the
    /// partition's `min.insync.replicas` and the log's settings. Until the first call on a
    /// partition created without a known `min.insync.replicas`, acks=all writes are refused.
    pub fn apply_topic_config(&self, min_insync_replicas: i32, log_config: odradek_log::LogConfig) {
        self.log.set_config(log_config);
        let previous = self.min_insync_replicas.swap(min_insync_replicas.max(1), Ordering::AcqRel);
        if previous != min_insync_replicas.max(1) {
            info!(partition = %self.tp, min_insync_replicas, "topic config applied");
        }
        // Parked acks=all produces re-check against the new minimum.
        self.watchers.wake_all();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ReplicaState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ReplicaState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a LeaderAndIsr state whose leader epoch is newer (checked by the caller):
    /// `makeLeader` or `makeFollower`.
    pub fn update_state(&self, next: LeaderAndIsrState, now_ms: i64) {
        {
            let mut s = self.write();
            s.state = next;
            s.pending_isr = None;
        }
        self.apply_state_transition(now_ms);
        // Parked fetches and produces re-check: NOT_LEADER_OR_FOLLOWER, or the new epoch.
        self.watchers.wake_all();
    }

    fn apply_state_transition(&self, now_ms: i64) {
        let leo = self.log.log_end_offset();
        let mut s = self.write();
        if s.state.leader == self.local_broker_id {
            // `makeLeader`: the epoch starts at our log end; followers start unknown, and only
            // ISR members count as caught up (so an outsider does not hold the HW back).
            self.leader_epoch_start_offset.store(leo, Ordering::Release);
            if let Err(e) = self.log.assign_epoch_start_offset(s.state.leader_epoch, leo) {
                tracing::warn!(partition = %self.tp, error = %e, "cannot record the new leader epoch in leader-epoch-checkpoint");
            }
            let isr = s.state.isr.clone();
            let followers = s.state.replicas.iter().filter(|r| **r != self.local_broker_id).map(|&r| {
                let caught_up = if isr.contains(&r) { now_ms } else { 0 };
                (r, FollowerState { log_end_offset: -1, log_start_offset: -1, last_fetch_time_ms: 0, last_fetch_leader_log_end_offset: -1, last_caught_up_time_ms: caught_up })
            });
            s.followers = followers.collect();
            info!(target: "state_change", partition = %self.tp, leader_epoch = s.state.leader_epoch, isr = ?s.state.isr, replicas = ?s.state.replicas, log_end_offset = leo, high_watermark = self.high_watermark(), "became leader");
            drop(s);
            self.maybe_increment_high_watermark(now_ms);
        } else {
            s.followers.clear();
            info!(target: "state_change", partition = %self.tp, leader = s.state.leader, leader_epoch = s.state.leader_epoch, "became follower");
        }
    }

    /// `maybeIncrementLeaderHW`: returns whether the HW moved.
    fn maybe_increment_high_watermark(&self, now_ms: i64) -> bool {
        let s = self.read();
        if s.state.leader != self.local_broker_id {
            return false;
        }
        let maximal = s.maximal_isr();
        let mut candidate = self.log.log_end_offset();
        for (id, f) in &s.followers {
            if maximal.contains(id) || now_ms - f.last_caught_up_time_ms <= self.replica_lag_time_max_ms {
                candidate = candidate.min(f.log_end_offset.max(0));
            }
        }
        let previous = self.high_watermark.fetch_max(candidate, Ordering::AcqRel);
        candidate > previous
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire).min(self.log.log_end_offset())
    }

    /// Checks that this replica leads the partition and that the client's view of the leader
    /// epoch (−1 = unknown, skip) matches: older ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH.
    pub fn check_leader(&self, current_leader_epoch: i32) -> Result<(), PartitionError> {
        let s = self.read();
        check_epoch(s.state.leader_epoch, current_leader_epoch)?;
        if s.state.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        Ok(())
    }

    /// Appends a producer's batches as leader, stamping the current leader epoch. With
    /// `required_acks == -1` the ISR must have at least `min.insync.replicas` members first.
    pub fn append_records_to_leader(&self, records: &[u8], required_acks: i16, now_ms: i64) -> Result<Result<LogAppendInfo, LogError>, PartitionError> {
        let s = self.read();
        if s.state.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        if required_acks == -1 && self.min_insync_replicas().is_none_or(|min| (s.state.isr.len() as i32) < min) {
            return Err(PartitionError::NotEnoughReplicas);
        }
        let result = self.log.append_as_leader(records, s.state.leader_epoch, now_ms);
        drop(s);
        if result.is_ok() {
            self.maybe_increment_high_watermark(now_ms);
            self.watchers.wake_all();
        }
        Ok(result)
    }

    /// `checkEnoughReplicasReachOffset` for an acks=all produce: `None` while the HW is below
    /// `required_offset`; then NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
    /// `min.insync.replicas`; NOT_LEADER_OR_FOLLOWER if leadership moved meanwhile.
    pub fn check_enough_replicas_reach_offset(&self, required_offset: i64) -> Option<i16> {
        let s = self.read();
        if s.state.leader != self.local_broker_id {
            return Some(codes::NOT_LEADER_OR_FOLLOWER);
        }
        if self.high_watermark() < required_offset {
            return None;
        }
        if self.min_insync_replicas().is_none_or(|min| (s.state.isr.len() as i32) < min) {
            return Some(codes::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
        }
        Some(codes::NONE)
    }

    /// `updateFollowerFetchState`: a follower fetched from `fetch_offset`. Updates what the
    /// leader knows of it, advances the HW (waking waiters) and returns an ISR expansion to
    /// propose, if it now qualifies.
    pub fn update_follower_fetch_state(&self, replica_id: i32, fetch_offset: i64, follower_log_start_offset: i64, now_ms: i64) -> Option<IsrChange> {
        let leader_leo = self.log.log_end_offset();
        {
            let mut s = self.write();
            if s.state.leader != self.local_broker_id {
                return None;
            }
            let f = s.followers.get_mut(&replica_id)?;
            if fetch_offset >= leader_leo {
                f.last_caught_up_time_ms = now_ms;
            } else if fetch_offset >= f.last_fetch_leader_log_end_offset && f.last_fetch_leader_log_end_offset >= 0 {
                f.last_caught_up_time_ms = f.last_caught_up_time_ms.max(f.last_fetch_time_ms);
            }
            f.log_end_offset = fetch_offset;
            f.log_start_offset = follower_log_start_offset;
            f.last_fetch_time_ms = now_ms;
            f.last_fetch_leader_log_end_offset = leader_leo;
        }
        if self.maybe_increment_high_watermark(now_ms) {
            self.watchers.wake_all();
        }
        self.maybe_expand_isr(replica_id)
    }

    /// `maybeExpandIsr`: a follower outside the ISR that reached the HW and the current epoch's
    /// start joins it (proposed to the controller; one change at a time).
    fn maybe_expand_isr(&self, replica_id: i32) -> Option<IsrChange> {
        let mut s = self.write();
        if s.pending_isr.is_some() || s.state.isr.contains(&replica_id) || !s.state.replicas.contains(&replica_id) {
            return None;
        }
        let f = s.followers.get(&replica_id)?;
        if f.log_end_offset < self.high_watermark() || f.log_end_offset < self.leader_epoch_start_offset.load(Ordering::Acquire) {
            return None;
        }
        let mut new_isr = s.state.isr.clone();
        new_isr.push(replica_id);
        info!(target: "state_change", partition = %self.tp, "expanding the ISR from {:?} to {new_isr:?}: broker {replica_id} caught up to offset {}", s.state.isr, f.log_end_offset);
        s.pending_isr = Some(new_isr.clone());
        Some(IsrChange { tp: self.tp.clone(), leader_epoch: s.state.leader_epoch, new_isr, zk_version: s.state.zk_version })
    }

    /// `maybeShrinkIsr`: followers not caught up for `replica.lag.time.max.ms` leave the ISR
    /// (proposed to the controller). The leader never removes itself.
    pub fn maybe_shrink_isr(&self, now_ms: i64) -> Option<IsrChange> {
        let leader_leo = self.log.log_end_offset();
        let mut s = self.write();
        if s.state.leader != self.local_broker_id || s.pending_isr.is_some() {
            return None;
        }
        let out_of_sync: Vec<i32> = s
            .state
            .isr
            .iter()
            .copied()
            .filter(|r| *r != self.local_broker_id)
            .filter(|r| s.followers.get(r).is_none_or(|f| f.log_end_offset != leader_leo && now_ms - f.last_caught_up_time_ms > self.replica_lag_time_max_ms))
            .collect();
        if out_of_sync.is_empty() {
            return None;
        }
        let new_isr: Vec<i32> = s.state.isr.iter().copied().filter(|r| !out_of_sync.contains(r)).collect();
        info!(target: "state_change", partition = %self.tp, "shrinking the ISR from {:?} to {new_isr:?}: out of sync {out_of_sync:?} (leader log end {leader_leo}, high watermark {})", s.state.isr, self.high_watermark());
        s.pending_isr = Some(new_isr.clone());
        Some(IsrChange { tp: self.tp.clone(), leader_epoch: s.state.leader_epoch, new_isr, zk_version: s.state.zk_version })
    }

    /// The controller answered an ISR change proposed at `leader_epoch`.
    pub fn isr_change_completed(&self, leader_epoch: i32, outcome: IsrChangeOutcome, now_ms: i64) {
        {
            let mut s = self.write();
            if s.state.leader_epoch != leader_epoch || s.pending_isr.is_none() {
                return;
            }
            s.pending_isr = None;
            match outcome {
                IsrChangeOutcome::Committed { leader_epoch: committed_epoch, isr, zk_version } => {
                    if committed_epoch != s.state.leader_epoch || zk_version < s.state.zk_version {
                        return;
                    }
                    info!(target: "state_change", partition = %self.tp, leader_epoch, zk_version, "ISR is now {isr:?}");
                    s.state.isr = isr;
                    s.state.zk_version = zk_version;
                }
                IsrChangeOutcome::Refused(code) => {
                    info!(target: "state_change", partition = %self.tp, leader_epoch, error_code = code, "the controller refused the ISR change; waiting for LeaderAndIsr");
                }
                IsrChangeOutcome::Retry => {}
            }
        }
        if self.maybe_increment_high_watermark(now_ms) {
            self.watchers.wake_all();
        }
        // A refused change may leave produces waiting on an ISR that no longer holds: re-check.
        self.watchers.wake_all();
    }

    /// Appends batches fetched from the leader, verbatim.
    pub fn append_records_as_follower(&self, records: &[u8], now_ms: i64) -> Result<LogAppendInfo, LogError> {
        let info = self.log.append_as_follower(records, now_ms)?;
        self.watchers.wake_all();
        Ok(info)
    }

    /// A follower's HW: the leader's, capped at the local log end.
    pub fn set_follower_high_watermark(&self, leader_high_watermark: i64) {
        if self.is_leader() {
            return;
        }
        let hw = leader_high_watermark.min(self.log.log_end_offset()).max(self.log.log_start_offset());
        self.high_watermark.store(hw, Ordering::Release);
    }

    /// A follower cutting its log back (divergence found through leader epochs).
    pub fn truncate_to(&self, offset: i64, now_ms: i64) -> Result<bool, LogError> {
        let truncated = self.log.truncate_to(offset, now_ms)?;
        self.high_watermark.fetch_min(self.log.log_end_offset(), Ordering::AcqRel);
        Ok(truncated)
    }

    /// A follower restarting empty at the leader's log start.
    pub fn truncate_fully_and_start_at(&self, offset: i64, now_ms: i64) -> Result<(), LogError> {
        self.log.truncate_fully_and_start_at(offset, now_ms)?;
        self.high_watermark.store(offset, Ordering::Release);
        Ok(())
    }
}

/// Leader-epoch fencing of KIP-320: `request` is the client's current leader epoch.
pub fn check_epoch(local: i32, request: i32) -> Result<(), PartitionError> {
    match request {
        -1 => Ok(()),
        e if e < local => Err(PartitionError::FencedLeaderEpoch),
        e if e > local => Err(PartitionError::UnknownLeaderEpoch),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_fencing_table() {
        assert_eq!(check_epoch(5, -1), Ok(()));
        assert_eq!(check_epoch(5, 5), Ok(()));
        assert_eq!(check_epoch(5, 4), Err(PartitionError::FencedLeaderEpoch));
        assert_eq!(check_epoch(5, 6), Err(PartitionError::UnknownLeaderEpoch));
    }
}
