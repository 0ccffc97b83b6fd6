//! `Partition`: one replica of a topic partition on this broker, Kafka's `kafka.cluster.Partition`.
//!
//! It holds the leader/ISR state the controller sent (LeaderAndIsr), the local `Log`, the high
//! watermark, and, on the leader, what it knows of each follower (reference §4.2–4.3). The rules
//! themselves are pure functions in [`rules`]:
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
//!   after), and only while the leader epoch of the append is still current.
//!
//! A follower's HW is the leader's HW capped at its own log end.
//!
//! Concurrency (Kafka's `leaderIsrUpdateLock`): `state` is one `RwLock` over everything that
//! must be true together: leader/ISR state, the follower set, the pending ISR change and the
//! epoch's start offset. Leader and follower transitions (`make_leader`, `make_follower`) take it
//! for writing and change all of it, the HW's initialisation included, in one critical section.
//! Appends (leader and follower), HW updates and truncation take it for reading, so they see
//! either the old state or the new one, never a mix. The HW itself is an atomic, written only
//! while the lock is held (readers need no lock). Lock order: a replica fetcher's partition map,
//! then `state`, then the log's own locks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use odradek_log::{FetchDataInfo, Log, LogAppendInfo, LogConfig, LogError, TopicPartition};
use odradek_protocol::error_codes as codes;
use tracing::info;
use uuid::Uuid;

use crate::errors::{log_error_code, PartitionError};
use crate::purgatory::DelayedOperations;

pub mod rules;

use rules::{FetchDivergence, FollowerState};

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

/// Why a replica operation (an append, a read, a truncation) did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The replica is not in the role (or leader epoch) the append needs.
    #[error(transparent)]
    Refused(#[from] PartitionError),
    /// The log refused the records or could not write them.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl ReplicaError {
    pub fn code(&self) -> i16 {
        match self {
            ReplicaError::Refused(e) => e.code(),
            ReplicaError::Log(e) => log_error_code(e),
        }
    }
}

/// A leader append that was written, with the leader epoch it was written in (the acks=all wait
/// completes only while that epoch is current).
#[derive(Clone, Debug)]
pub struct LeaderAppend {
    pub info: LogAppendInfo,
    pub leader_epoch: i32,
}

/// Which log end a read may reach (Kafka's `FetchIsolation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchIsolation {
    /// Followers read to the log end.
    LogEnd,
    /// Consumers read below the high watermark (read_committed reads below the last stable
    /// offset, which is the HW while there are no transactions).
    HighWatermark,
}

/// One partition's read (Kafka's `LogReadInfo`): the records and the offsets the answer carries.
#[derive(Clone, Debug)]
pub struct LogReadInfo {
    pub data: FetchDataInfo,
    /// `(epoch, end offset)` when the fetch's last fetched epoch shows the reader's log diverging
    /// from this one ([`rules::fetch_divergence`]); `data` is then empty.
    pub diverging_epoch: Option<(i32, i64)>,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// The leader's log end when the read happened (a follower fetching from it is caught up).
    pub log_end_offset: i64,
}

/// A consistent view of a partition's leadership (ListOffsets' inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leadership {
    pub leader_epoch: i32,
    pub is_leader: bool,
    /// Where the current epoch began on this leader (`None` on a follower).
    pub leader_epoch_start_offset: Option<i64>,
    pub high_watermark: i64,
}

/// Everything the state lock guards.
struct ReplicaState {
    state: LeaderAndIsrState,
    /// What the leader knows about each other replica (empty on a follower).
    followers: HashMap<i32, FollowerState>,
    /// The ISR proposed to the controller and not answered yet.
    pending_isr: Option<Vec<i32>>,
    /// Log end offset at the moment this broker became leader for the current epoch.
    leader_epoch_start_offset: i64,
    /// The leader epoch this broker's current, uninterrupted leadership began in (−1 while it
    /// follows). Records appended since then cannot have been truncated.
    leadership_start_epoch: i32,
}

impl ReplicaState {
    fn maximal_isr(&self) -> Vec<i32> {
        rules::maximal_isr(&self.state.isr, self.pending_isr.as_deref())
    }
}

pub struct Partition {
    pub tp: TopicPartition,
    local_broker_id: i32,
    log: Arc<Log>,
    state: RwLock<ReplicaState>,
    /// Written only while `state` is held; read without it.
    high_watermark: AtomicI64,
    replica_lag_time_max_ms: i64,
    /// The topic's `min.insync.replicas`; 0 until the topic's config is loaded.
    min_insync_replicas: AtomicI32,
    /// The purgatories this partition's changes may complete.
    delayed: DelayedOperations,
    /// Set once StopReplica deleted the partition: waiters answer NOT_LEADER_OR_FOLLOWER.
    deleted: AtomicBool,
}

/// How a LeaderAndIsr transition went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Applied,
    /// The request's leader epoch is not newer than the partition's: nothing changed.
    StaleLeaderEpoch { local: i32 },
}

impl Partition {
    /// A replica in the state LeaderAndIsr first gave it (leader or follower).
    pub fn new(tp: TopicPartition, local_broker_id: i32, log: Arc<Log>, initial: LeaderAndIsrState, settings: PartitionSettings, delayed: DelayedOperations, now_ms: i64) -> Partition {
        let hw = settings.initial_high_watermark.clamp(log.log_start_offset(), log.log_end_offset());
        let PartitionSettings { replica_lag_time_max_ms, min_insync_replicas, .. } = settings;
        let as_follower = LeaderAndIsrState { leader: -1, leader_epoch: -1, ..initial.clone() };
        let p = Partition {
            tp,
            local_broker_id,
            high_watermark: AtomicI64::new(hw),
            state: RwLock::new(ReplicaState { state: as_follower, followers: HashMap::new(), pending_isr: None, leader_epoch_start_offset: log.log_end_offset(), leadership_start_epoch: -1 }),
            log,
            replica_lag_time_max_ms,
            min_insync_replicas: AtomicI32::new(min_insync_replicas.map_or(0, |n| n.max(1))),
            delayed,
            deleted: AtomicBool::new(false),
        };
        if initial.leader == local_broker_id {
            p.make_leader(initial, now_ms);
        } else {
            p.make_follower(initial, now_ms);
        }
        p
    }

    /// The log end offset at which this broker's current leadership epoch began (meaningful on
    /// the leader only).
    pub fn leader_epoch_start_offset(&self) -> i64 {
        self.read().leader_epoch_start_offset
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// The leader epoch, leadership, epoch start and HW, read together under the state lock.
    pub fn leadership(&self) -> Leadership {
        let s = self.read();
        let is_leader = s.state.leader == self.local_broker_id;
        Leadership { leader_epoch: s.state.leader_epoch, is_leader, leader_epoch_start_offset: is_leader.then_some(s.leader_epoch_start_offset), high_watermark: self.high_watermark() }
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
    pub fn apply_topic_config(&self, min_insync_replicas: i32, log_config: LogConfig) {
        self.log.set_config(log_config);
        let previous = self.min_insync_replicas.swap(min_insync_replicas.max(1), Ordering::AcqRel);
        if previous != min_insync_replicas.max(1) {
            info!(partition = %self.tp, min_insync_replicas, "topic config applied");
        }
        // Parked acks=all produces re-check against the new minimum.
        self.delayed.produce.check_and_complete(&self.tp);
    }

    fn read(&self) -> RwLockReadGuard<'_, ReplicaState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, ReplicaState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// `makeLeader`: in one critical section, takes the new state, starts the epoch at the log
    /// end (recorded in the leader epoch cache), rebuilds the follower set and advances the HW
    /// if the ISR allows. No append, follower fetch or HW update sees the new leader state
    /// without its followers.
    pub fn make_leader(&self, next: LeaderAndIsrState, now_ms: i64) -> Transition {
        let mut s = self.write();
        let was_leader = s.state.leader == self.local_broker_id;
        if next.leader_epoch <= s.state.leader_epoch {
            return Transition::StaleLeaderEpoch { local: s.state.leader_epoch };
        }
        let leo = self.log.log_end_offset();
        s.leader_epoch_start_offset = leo;
        if let Err(e) = self.log.assign_epoch_start_offset(next.leader_epoch, leo) {
            tracing::warn!(partition = %self.tp, error = %e, "cannot record the new leader epoch in leader-epoch-checkpoint");
        }
        s.followers = rules::followers_on_becoming_leader(&s.followers, was_leader, &next.replicas, &next.isr, self.local_broker_id, leo, now_ms);
        if !was_leader {
            s.leadership_start_epoch = next.leader_epoch;
        }
        s.state = next;
        s.pending_isr = None;
        info!(target: "state_change", partition = %self.tp, leader_epoch = s.state.leader_epoch, isr = ?s.state.isr, replicas = ?s.state.replicas, log_end_offset = leo, high_watermark = self.high_watermark(), "became leader");
        self.maybe_increment_high_watermark(&s, now_ms);
        drop(s);
        // Parked fetches and produces re-check: the new epoch, or NOT_LEADER_OR_FOLLOWER.
        self.delayed.check_and_complete_all(&self.tp);
        Transition::Applied
    }

    /// `makeFollower`: takes the new state and forgets the followers, in one critical section.
    /// The HW stays; the fetcher caps it at the log end after truncating.
    pub fn make_follower(&self, next: LeaderAndIsrState, _now_ms: i64) -> Transition {
        let mut s = self.write();
        if next.leader_epoch <= s.state.leader_epoch {
            return Transition::StaleLeaderEpoch { local: s.state.leader_epoch };
        }
        s.state = next;
        s.followers.clear();
        s.pending_isr = None;
        s.leadership_start_epoch = -1;
        info!(target: "state_change", partition = %self.tp, leader = s.state.leader, leader_epoch = s.state.leader_epoch, "became follower");
        drop(s);
        self.delayed.check_and_complete_all(&self.tp);
        Transition::Applied
    }

    /// `maybeIncrementLeaderHW`, with `state` held by the caller (read or write): returns
    /// whether the HW moved. The HW never moves backwards.
    fn maybe_increment_high_watermark(&self, s: &ReplicaState, now_ms: i64) -> bool {
        if s.state.leader != self.local_broker_id {
            return false;
        }
        let candidate = rules::high_watermark_candidate(self.log.log_end_offset(), &s.followers, &s.maximal_isr(), now_ms, self.replica_lag_time_max_ms);
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

    /// `appendRecordsToLeader`: appends a producer's batches, stamping the current leader epoch,
    /// and advances the HW if the ISR allows, all under the state lock (read). With
    /// `required_acks == -1` the ISR must have at least `min.insync.replicas` members first.
    pub fn append_records_to_leader(&self, records: &[u8], required_acks: i16, now_ms: i64) -> Result<LeaderAppend, ReplicaError> {
        let s = self.read();
        if s.state.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower.into());
        }
        if required_acks == -1 && self.min_insync_replicas().is_none_or(|min| (s.state.isr.len() as i32) < min) {
            return Err(PartitionError::NotEnoughReplicas.into());
        }
        let info = self.log.append_as_leader(records, s.state.leader_epoch, now_ms)?;
        let leader_epoch = s.state.leader_epoch;
        let hw_moved = self.maybe_increment_high_watermark(&s, now_ms);
        drop(s);
        // New data for parked fetches; a moved HW may complete produces (an ISR of one).
        self.delayed.fetch.check_and_complete(&self.tp);
        if hw_moved {
            self.delayed.produce.check_and_complete(&self.tp);
        }
        Ok(LeaderAppend { info, leader_epoch })
    }

    /// `checkEnoughReplicasReachOffset` for an acks=all produce written in `append_leader_epoch`:
    /// `None` while the HW is below `required_offset`; then NONE, or
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is below `min.insync.replicas`;
    /// NOT_LEADER_OR_FOLLOWER once this replica has stopped leading since that epoch (even if it
    /// leads again: as a follower in between it may have truncated the record, and another one
    /// may hold its offset now). A leader that stayed leader across new epochs (an ISR change
    /// through LeaderAndIsr) keeps its waiters: it never truncates.
    pub fn check_enough_replicas_reach_offset(&self, required_offset: i64, append_leader_epoch: i32) -> Option<i16> {
        let s = self.read();
        if s.state.leader != self.local_broker_id || s.leadership_start_epoch > append_leader_epoch || self.deleted.load(Ordering::Acquire) {
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

    /// `readRecords`: reads from `fetch_offset` as leader, fenced on the client's view of the
    /// leader epoch, up to the log end (followers) or the HW (consumers). A fetch carrying the
    /// epoch of the reader's last fetched batch (`last_fetched_epoch`, Fetch v12+) is first
    /// checked against this log's epochs: a diverging reader gets the diverging epoch and no
    /// records, one whose epoch this log cannot place gets OFFSET_OUT_OF_RANGE. The check and the
    /// offsets are read under the state lock, so they belong to one leader epoch.
    pub fn read_records(&self, last_fetched_epoch: Option<i32>, fetch_offset: i64, current_leader_epoch: i32, max_bytes: u32, isolation: FetchIsolation, min_one_message: bool) -> Result<LogReadInfo, ReplicaError> {
        let s = self.read();
        check_epoch(s.state.leader_epoch, current_leader_epoch)?;
        if s.state.leader != self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower.into());
        }
        // Read the offsets before the records (Kafka's `initial*` offsets): the answer's HW never
        // exceeds what was read.
        let high_watermark = self.high_watermark();
        let log_start_offset = self.log.log_start_offset();
        let log_end_offset = self.log.log_end_offset();
        if let Some(epoch) = last_fetched_epoch {
            match rules::fetch_divergence(epoch, fetch_offset, self.log.end_offset_for_epoch(epoch)) {
                FetchDivergence::Consistent => {}
                FetchDivergence::Diverging { epoch, end_offset } => {
                    let data = FetchDataInfo { records: None };
                    return Ok(LogReadInfo { data, diverging_epoch: Some((epoch, end_offset)), high_watermark, log_start_offset, log_end_offset });
                }
                FetchDivergence::Unknown => {
                    return Err(LogError::OffsetOutOfRange { partition: self.tp.to_string(), offset: fetch_offset, log_start: log_start_offset, log_end: log_end_offset }.into());
                }
            }
        }
        let max_offset = match isolation {
            FetchIsolation::LogEnd => log_end_offset,
            FetchIsolation::HighWatermark => high_watermark,
        };
        let data = self.log.read(fetch_offset, max_bytes, max_offset, min_one_message)?;
        Ok(LogReadInfo { data, diverging_epoch: None, high_watermark, log_start_offset, log_end_offset })
    }

    /// `updateFollowerFetchState`: follower `replica_id` fetched from `fetch_offset` while this
    /// leader's log ended at `leader_log_end_offset`. Updates what the leader knows of it,
    /// advances the HW (completing parked produces and fetches) and returns an ISR expansion to
    /// propose, if it now qualifies.
    pub fn update_follower_fetch_state(&self, replica_id: i32, fetch_offset: i64, follower_log_start_offset: i64, leader_log_end_offset: i64, now_ms: i64) -> Option<IsrChange> {
        let mut s = self.write();
        if s.state.leader != self.local_broker_id {
            return None;
        }
        let f = s.followers.get_mut(&replica_id)?;
        *f = f.on_fetch(fetch_offset, follower_log_start_offset, leader_log_end_offset, now_ms);
        let hw_moved = self.maybe_increment_high_watermark(&s, now_ms);
        let change = self.maybe_expand_isr(&mut s, replica_id);
        drop(s);
        if hw_moved {
            self.delayed.check_and_complete_all(&self.tp);
        }
        change
    }

    /// `maybeExpandIsr`: a follower outside the ISR that reached the HW and the current epoch's
    /// start joins it (proposed to the controller; one change at a time).
    fn maybe_expand_isr(&self, s: &mut ReplicaState, replica_id: i32) -> Option<IsrChange> {
        if s.pending_isr.is_some() || s.state.isr.contains(&replica_id) || !s.state.replicas.contains(&replica_id) {
            return None;
        }
        let f = s.followers.get(&replica_id)?;
        if !rules::can_join_isr(f.log_end_offset, self.high_watermark(), s.leader_epoch_start_offset) {
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
        let out_of_sync = rules::out_of_sync_replicas(&s.state.isr, self.local_broker_id, &s.followers, leader_leo, now_ms, self.replica_lag_time_max_ms);
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
        let mut s = self.write();
        if s.state.leader_epoch != leader_epoch || s.pending_isr.is_none() {
            return;
        }
        s.pending_isr = None;
        match outcome {
            IsrChangeOutcome::Committed { leader_epoch: committed_epoch, isr, zk_version } => {
                if committed_epoch == s.state.leader_epoch && zk_version >= s.state.zk_version {
                    info!(target: "state_change", partition = %self.tp, leader_epoch, zk_version, "ISR is now {isr:?}");
                    s.state.isr = isr;
                    s.state.zk_version = zk_version;
                }
            }
            IsrChangeOutcome::Refused(code) => {
                info!(target: "state_change", partition = %self.tp, leader_epoch, error_code = code, "the controller refused the ISR change; waiting for LeaderAndIsr");
            }
            IsrChangeOutcome::Retry => {}
        }
        self.maybe_increment_high_watermark(&s, now_ms);
        drop(s);
        // Parked produces re-check: the HW, or an ISR now below min.insync.replicas.
        self.delayed.check_and_complete_all(&self.tp);
    }

    /// Checks that this replica follows the partition in `leader_epoch`, with `state` held.
    fn check_follower(&self, s: &ReplicaState, leader_epoch: i32) -> Result<(), PartitionError> {
        if s.state.leader == self.local_broker_id {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        check_epoch(s.state.leader_epoch, leader_epoch)
    }

    /// `appendRecordsToFollowerOrFutureReplica`: appends batches a fetcher got from the leader
    /// of `leader_epoch`, verbatim, and takes the leader's HW capped at the new log end; refused
    /// unless this replica still follows in that epoch.
    pub fn append_records_as_follower(&self, records: &[u8], leader_high_watermark: i64, leader_epoch: i32, now_ms: i64) -> Result<Option<LogAppendInfo>, ReplicaError> {
        let s = self.read();
        self.check_follower(&s, leader_epoch)?;
        let info = if records.is_empty() { None } else { Some(self.log.append_as_follower(records, now_ms)?) };
        let hw = leader_high_watermark.min(self.log.log_end_offset()).max(self.log.log_start_offset());
        self.high_watermark.store(hw, Ordering::Release);
        Ok(info)
    }

    /// A follower in `leader_epoch` cutting its log back (divergence found through leader
    /// epochs). Returns whether records were removed.
    pub fn truncate_to(&self, offset: i64, leader_epoch: i32, now_ms: i64) -> Result<bool, ReplicaError> {
        let s = self.read();
        self.check_follower(&s, leader_epoch)?;
        let truncated = self.log.truncate_to(offset, now_ms)?;
        self.high_watermark.fetch_min(self.log.log_end_offset(), Ordering::AcqRel);
        Ok(truncated)
    }

    /// A follower in `leader_epoch` restarting empty at the leader's log start.
    pub fn truncate_fully_and_start_at(&self, offset: i64, leader_epoch: i32, now_ms: i64) -> Result<(), ReplicaError> {
        let s = self.read();
        self.check_follower(&s, leader_epoch)?;
        self.log.truncate_fully_and_start_at(offset, now_ms)?;
        self.high_watermark.store(offset, Ordering::Release);
        Ok(())
    }

    /// The partition stopped being served here (StopReplica), and was deleted if `deleted`:
    /// parked requests re-check (a deleted partition's acks=all waiters answer
    /// NOT_LEADER_OR_FOLLOWER, as Kafka's `DelayedProduce` does for a partition that is gone).
    pub fn stopped(&self, deleted: bool) {
        if deleted {
            self.deleted.store(true, Ordering::Release);
        }
        self.delayed.check_and_complete_all(&self.tp);
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
mod tests;
