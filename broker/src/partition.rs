//! `Partition`: one replica of a topic partition on this broker, Kafka's `kafka.cluster.Partition`.
//!
//! It holds the leader/ISR state the controller sent (LeaderAndIsr), the local `Log`, and the
//! high watermark. In this release a leader's HW follows its own log end only while it is the sole
//! ISR member; followers' fetch state and the ISR/HW rules of reference §4.2–4.3 come with
//! replication (next issue), so with other ISR members the HW does not advance yet.
//!
//! Invariant: the HW never moves backwards on a leader and never exceeds the log end.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use odradek_log::{Log, LogAppendInfo, LogError, TopicPartition};
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

pub struct Partition {
    pub tp: TopicPartition,
    local_broker_id: i32,
    log: Arc<Log>,
    state: RwLock<LeaderAndIsrState>,
    /// Log end offset at the moment this broker became leader for the current epoch.
    leader_epoch_start_offset: AtomicI64,
    high_watermark: AtomicI64,
    /// Long-polling fetches waiting for appends.
    pub watchers: Watchers,
}

impl Partition {
    pub fn new(tp: TopicPartition, local_broker_id: i32, log: Arc<Log>, state: LeaderAndIsrState) -> Partition {
        let p = Partition {
            tp,
            local_broker_id,
            leader_epoch_start_offset: AtomicI64::new(log.log_end_offset()),
            high_watermark: AtomicI64::new(log.log_start_offset()),
            log,
            state: RwLock::new(state),
            watchers: Watchers::default(),
        };
        p.apply_state_transition();
        p
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub fn state(&self) -> LeaderAndIsrState {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn leader_epoch(&self) -> i32 {
        self.state.read().unwrap_or_else(|e| e.into_inner()).leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        self.state.read().unwrap_or_else(|e| e.into_inner()).leader == self.local_broker_id
    }

    /// Applies a LeaderAndIsr state whose leader epoch is newer (checked by the caller):
    /// `makeLeader` or `makeFollower`.
    pub fn update_state(&self, next: LeaderAndIsrState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = next;
        self.apply_state_transition();
        // Parked fetches re-check: they fail with NOT_LEADER_OR_FOLLOWER or see the new epoch.
        self.watchers.wake_all();
    }

    fn apply_state_transition(&self) {
        let s = self.state();
        let leo = self.log.log_end_offset();
        if s.leader == self.local_broker_id {
            self.leader_epoch_start_offset.store(leo, Ordering::Release);
            info!(target: "state_change", partition = %self.tp, leader_epoch = s.leader_epoch, isr = ?s.isr, replicas = ?s.replicas, log_end_offset = leo, "became leader");
            self.maybe_increment_high_watermark();
        } else {
            info!(target: "state_change", partition = %self.tp, leader = s.leader, leader_epoch = s.leader_epoch, "became follower");
        }
    }

    /// The HW on a leader advances to the smallest log end among ISR members; only the local
    /// replica's is known in this release, so it advances only when the ISR is just this broker.
    fn maybe_increment_high_watermark(&self) {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        if s.leader != self.local_broker_id || s.isr.iter().any(|&r| r != self.local_broker_id) {
            return;
        }
        let leo = self.log.log_end_offset();
        self.high_watermark.fetch_max(leo, Ordering::AcqRel);
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire).min(self.log.log_end_offset())
    }

    /// Checks that this replica leads the partition and that the client's view of the leader
    /// epoch (−1 = unknown, skip) matches: older ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH.
    pub fn check_leader(&self, current_leader_epoch: i32) -> Result<(), PartitionError> {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        check_epoch(s.leader_epoch, current_leader_epoch)?;
        if s.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        Ok(())
    }

    /// Appends a producer's batches as leader, stamping the current leader epoch.
    pub fn append_records_to_leader(&self, records: &[u8], now_ms: i64) -> Result<Result<LogAppendInfo, LogError>, PartitionError> {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        if s.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        let result = self.log.append_as_leader(records, s.leader_epoch, now_ms);
        drop(s);
        if result.is_ok() {
            self.maybe_increment_high_watermark();
            self.watchers.wake_all();
        }
        Ok(result)
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
