//! One `ReplicaFetcherThread`: a task that truncates and fetches every partition its leader
//! carries. Requests are built from a copy of the partition states; answers are applied under
//! the partition-map lock, each only if its partition's state is still the one the request was
//! built from (see the module's invariant in `replica_fetcher`). A fetch answer with a diverging
//! epoch truncates under that same check (`truncateOnFetchResponse`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest};
use odradek_client::Connection;
use odradek_log::TopicPartition;
use odradek_protocol::error_codes as codes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::truncation::offset_truncation_state;
use super::{complete_batches, FetcherConfig, PartitionFetchState, PartitionStates, ReplicaFetchState};
use odradek_log::now_ms;
use odradek_protocol::topic_name;
use crate::partition::ReplicaError;

/// The Fetch version followers send, Kafka 2.8's (inter-broker protocol ≥ 2.7): v12 carries each
/// partition's `LastFetchedEpoch` and answers `DivergingEpoch`, so followers truncate on fetch.
const FETCH_VERSION: i16 = 12;
/// The OffsetForLeaderEpoch version a 2.8 follower sends (inter-broker protocol ≥ 2.8-IV0), flexible.
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 4;

type Snapshot = BTreeMap<TopicPartition, PartitionFetchState>;

/// Whether an answer showed the partition fenced: the leader has a newer epoch than this fetcher
/// knows, or this replica no longer follows in it. It waits for the LeaderAndIsr that says so
/// (`onPartitionFenced`), which re-adds it.
enum Fenced {
    Yes,
    No,
}

pub(super) struct FetcherThread {
    pub broker_id: i32,
    pub leader: i32,
    pub addr: String,
    pub config: FetcherConfig,
    pub partitions: PartitionStates,
    pub wake: Arc<Notify>,
}

impl FetcherThread {
    /// Applies `f` to the partition's state if it is still `sent` (same partition, epoch, state
    /// and fetch offset), with the partition-map lock held throughout; the partition is dropped
    /// from this fetcher if `f` says it is fenced.
    fn with_current(&self, tp: &TopicPartition, sent: &PartitionFetchState, f: impl FnOnce(&mut PartitionFetchState) -> Fenced) {
        let mut map = self.partitions.lock();
        match map.get_mut(tp) {
            Some(current) if sent.same_as(current) => {
                if let Fenced::Yes = f(current) {
                    info!(partition = %tp, leader = self.leader, leader_epoch = current.current_leader_epoch, "fenced; waiting for LeaderAndIsr");
                    map.remove(tp);
                }
            }
            _ => debug!(partition = %tp, leader = self.leader, "ignoring an answer for a partition that moved on"),
        }
    }

    fn back_off(&self, state: &mut PartitionFetchState) {
        state.delayed_until = Some(Instant::now() + Duration::from_millis(self.config.backoff_ms));
    }

    pub(super) async fn run(self) {
        let mut conn: Option<Connection> = None;
        loop {
            let now = Instant::now();
            let ready: Snapshot = self.partitions.lock().iter().filter(|(_, s)| s.delayed_until.is_none_or(|t| t <= now)).map(|(tp, s)| (tp.clone(), s.clone())).collect();
            if ready.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(self.config.backoff_ms.min(200))) => {}
                }
                continue;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match tokio::time::timeout(Duration::from_millis(self.config.socket_timeout_ms), Connection::connect(self.addr.as_str())).await {
                    Ok(Ok(c)) => conn.insert(c),
                    other => {
                        let error = match other {
                            Ok(Err(e)) => e.to_string(),
                            _ => "timed out".to_string(),
                        };
                        debug!(leader = self.leader, address = %self.addr, %error, "cannot connect to the leader; backing off");
                        tokio::time::sleep(Duration::from_millis(self.config.backoff_ms)).await;
                        continue;
                    }
                },
            };
            let (truncating, fetching): (Snapshot, Snapshot) = ready.into_iter().partition(|(_, s)| s.state == ReplicaFetchState::Truncating);
            let outcome = if !truncating.is_empty() { self.truncate(c, truncating).await } else { self.fetch(c, fetching).await };
            if let Err(e) = outcome {
                debug!(leader = self.leader, address = %self.addr, error = %e, "replica fetch failed; reconnecting");
                conn = None;
                tokio::time::sleep(Duration::from_millis(self.config.backoff_ms)).await;
            }
        }
    }

    /// The truncation step (`maybeTruncate` through OffsetForLeaderEpoch).
    async fn truncate(&self, conn: &mut Connection, partitions: Snapshot) -> anyhow::Result<()> {
        let mut topics: BTreeMap<&str, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
        for (tp, state) in &partitions {
            let epoch = state.partition.log().latest_epoch().unwrap_or(-1);
            topics.entry(tp.topic.as_str()).or_default().push(OffsetForLeaderPartition::default().with_partition(tp.partition).with_current_leader_epoch(state.current_leader_epoch).with_leader_epoch(epoch));
        }
        let request = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(self.broker_id))
            .with_topics(topics.into_iter().map(|(t, ps)| OffsetForLeaderTopic::default().with_topic(topic_name(t)).with_partitions(ps)).collect());
        let response = tokio::time::timeout(Duration::from_millis(self.config.socket_timeout_ms), conn.send(&request, OFFSET_FOR_LEADER_EPOCH_VERSION)).await??;
        for topic in &response.topics {
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.as_str(), p.partition);
                let Some(sent) = partitions.get(&tp) else { continue };
                self.with_current(&tp, sent, |state| self.apply_epoch_end_offset(&tp, state, p));
            }
        }
        Ok(())
    }

    /// One partition's OffsetForLeaderEpoch answer, under the partition-map lock.
    fn apply_epoch_end_offset(&self, tp: &TopicPartition, state: &mut PartitionFetchState, answer: &EpochEndOffset) -> Fenced {
        match answer.error_code {
            codes::NONE => self.truncate_to_epoch_end(tp, state, answer.leader_epoch, answer.end_offset),
            codes::FENCED_LEADER_EPOCH => Fenced::Yes,
            code => {
                debug!(partition = %tp, leader = self.leader, error_code = code, "OffsetForLeaderEpoch failed; backing off");
                self.back_off(state);
                Fenced::No
            }
        }
    }

    /// Cuts the log where the leader's `(leader_epoch, end_offset)` (an OffsetForLeaderEpoch
    /// answer or a fetch answer's diverging epoch) says it diverges, under the partition-map lock
    /// (`maybeTruncateToEpochEndOffsets`). The next request starts at the new log end with the
    /// new latest epoch. A completed truncation moves the partition to fetching; an incomplete
    /// one (KIP-279) asks again the way it asked: truncating through OffsetForLeaderEpoch,
    /// fetching through its next fetch's last fetched epoch.
    fn truncate_to_epoch_end(&self, tp: &TopicPartition, state: &mut PartitionFetchState, leader_epoch: i32, end_offset: i64) -> Fenced {
        let partition = Arc::clone(&state.partition);
        let log = partition.log();
        let local = log.end_offset_for_epoch(leader_epoch);
        let truncation = offset_truncation_state(leader_epoch, end_offset, local, log.log_end_offset(), partition.high_watermark());
        match partition.truncate_to(truncation.offset, state.current_leader_epoch, now_ms()) {
            Ok(truncated) => {
                if truncated {
                    info!(partition = %tp, leader = self.leader, leader_epoch, end_offset, truncated_to = truncation.offset, "truncated to the leader's epoch boundary");
                }
                state.fetch_offset = log.log_end_offset();
                state.last_fetched_epoch = log.latest_epoch();
                if truncation.truncation_completed {
                    state.state = ReplicaFetchState::Fetching;
                }
                Fenced::No
            }
            Err(ReplicaError::Refused(_)) => Fenced::Yes,
            Err(e) => {
                warn!(partition = %tp, error = %e, "cannot truncate; backing off");
                self.back_off(state);
                Fenced::No
            }
        }
    }

    /// One Fetch for every partition ready to fetch.
    async fn fetch(&self, conn: &mut Connection, partitions: Snapshot) -> anyhow::Result<()> {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, state) in &partitions {
            topics.entry(tp.topic.as_str()).or_default().push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_current_leader_epoch(state.current_leader_epoch)
                    .with_fetch_offset(state.fetch_offset)
                    .with_last_fetched_epoch(state.last_fetched_epoch.unwrap_or(-1))
                    .with_log_start_offset(state.partition.log().log_start_offset())
                    .with_partition_max_bytes(self.config.partition_max_bytes),
            );
        }
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(self.broker_id))
            .with_max_wait_ms(self.config.max_wait_ms)
            .with_min_bytes(self.config.min_bytes)
            .with_max_bytes(self.config.max_bytes)
            .with_session_epoch(-1)
            .with_topics(topics.into_iter().map(|(t, ps)| FetchTopic::default().with_topic(topic_name(t)).with_partitions(ps)).collect());
        let timeout = Duration::from_millis(self.config.socket_timeout_ms + self.config.max_wait_ms.max(0) as u64);
        let response = tokio::time::timeout(timeout, conn.send(&request, FETCH_VERSION)).await??;
        let mut answers: HashMap<TopicPartition, &PartitionData> = HashMap::new();
        for topic in &response.responses {
            for p in &topic.partitions {
                answers.insert(TopicPartition::new(topic.topic.0.as_str(), p.partition_index), p);
            }
        }
        for (tp, sent) in &partitions {
            let Some(answer) = answers.get(tp) else { continue };
            self.with_current(tp, sent, |state| self.apply_fetched(tp, state, answer));
        }
        Ok(())
    }

    /// One partition's Fetch answer, under the partition-map lock (`processPartitionData`, and
    /// `truncateOnFetchResponse` for a diverging epoch). A diverging answer only truncates: its
    /// high watermark is not taken before the log is cut, which would expose the follower's
    /// diverging records to its readers (KAFKA-14704).
    fn apply_fetched(&self, tp: &TopicPartition, state: &mut PartitionFetchState, answer: &PartitionData) -> Fenced {
        let partition = Arc::clone(&state.partition);
        match answer.error_code {
            codes::NONE if answer.diverging_epoch.epoch >= 0 => {
                let diverging = &answer.diverging_epoch;
                info!(partition = %tp, leader = self.leader, fetch_offset = state.fetch_offset, last_fetched_epoch = ?state.last_fetched_epoch, diverging_epoch = diverging.epoch, end_offset = diverging.end_offset, "the leader's log diverges from ours");
                return self.truncate_to_epoch_end(tp, state, diverging.epoch, diverging.end_offset);
            }
            codes::NONE => {
                let records = complete_batches(answer.records.as_deref().unwrap_or_default());
                match partition.append_records_as_follower(records, answer.high_watermark, state.current_leader_epoch, now_ms()) {
                    Ok(_) => {
                        state.fetch_offset = partition.log().log_end_offset();
                        state.last_fetched_epoch = partition.log().latest_epoch();
                    }
                    Err(ReplicaError::Refused(_)) => return Fenced::Yes,
                    Err(e) => {
                        warn!(partition = %tp, leader = self.leader, error = %e, "cannot append fetched records; truncating again");
                        state.state = ReplicaFetchState::Truncating;
                    }
                }
            }
            codes::OFFSET_OUT_OF_RANGE if state.fetch_offset < answer.log_start_offset => {
                info!(partition = %tp, leader = self.leader, fetch_offset = state.fetch_offset, leader_log_start = answer.log_start_offset, "behind the leader's log start; restarting the log there");
                match partition.truncate_fully_and_start_at(answer.log_start_offset, state.current_leader_epoch, now_ms()) {
                    Ok(()) => {
                        state.fetch_offset = answer.log_start_offset;
                        state.last_fetched_epoch = partition.log().latest_epoch();
                    }
                    Err(ReplicaError::Refused(_)) => return Fenced::Yes,
                    Err(e) => {
                        warn!(partition = %tp, error = %e, "cannot restart the log");
                        self.back_off(state);
                    }
                }
            }
            codes::OFFSET_OUT_OF_RANGE => state.state = ReplicaFetchState::Truncating,
            codes::FENCED_LEADER_EPOCH => return Fenced::Yes,
            code => {
                debug!(partition = %tp, leader = self.leader, error_code = code, "fetch failed; backing off");
                self.back_off(state);
            }
        }
        Fenced::No
    }
}
