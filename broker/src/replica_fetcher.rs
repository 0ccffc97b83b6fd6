//! Followers pull: Kafka's `ReplicaFetcherManager` and `ReplicaFetcherThread` (reference §4.1,
//! §4.6). One fetcher task per source broker carries every partition this broker follows there.
//!
//! A partition enters *truncating*: the fetcher asks the leader for the end offset of its latest
//! local epoch (OffsetForLeaderEpoch) and cuts its log where the logs diverge, asking again while
//! its own epoch at that point differs from the leader's answer (KIP-279: several quick leader
//! changes). Then it *fetches* from its log end (Fetch with its broker id as replica id, which
//! reads to the leader's log end): the batches are appended verbatim, the follower's HW becomes
//! the leader's capped at its own log end. A fetch below the leader's log start restarts the
//! log there; a fenced epoch drops the partition until the next LeaderAndIsr; other errors back
//! off and retry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest};
use odradek_client::Connection;
use odradek_log::TopicPartition;
use odradek_protocol::error_codes as codes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::api::{now_ms, topic_name};
use crate::partition::Partition;

/// The Fetch version followers send: the highest served (v12, flexible with diverging epochs, is
/// not served); truncation goes through OffsetForLeaderEpoch instead.
const FETCH_VERSION: i16 = 11;
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 3;
/// `UNDEFINED_EPOCH_OFFSET` / `UNDEFINED_EPOCH` in OffsetForLeaderEpoch answers.
const UNDEFINED: i64 = -1;

/// The follower's fetch settings (`replica.fetch.*`).
#[derive(Clone, Copy, Debug)]
pub struct FetcherConfig {
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    pub backoff_ms: u64,
    pub socket_timeout_ms: u64,
}

/// Where a fetched partition stands.
#[derive(Clone)]
struct FetchState {
    partition: Arc<Partition>,
    leader_epoch: i32,
    truncating: bool,
    /// Backing off after an error until then.
    delayed_until: Option<Instant>,
}

type Partitions = Arc<Mutex<BTreeMap<TopicPartition, FetchState>>>;

struct Fetcher {
    endpoint: (String, i32),
    partitions: Partitions,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `ReplicaFetcherManager`: which fetcher carries which partition.
pub struct ReplicaFetcherManager {
    broker_id: i32,
    config: FetcherConfig,
    fetchers: Mutex<HashMap<i32, Fetcher>>,
}

impl ReplicaFetcherManager {
    pub fn new(broker_id: i32, config: FetcherConfig) -> ReplicaFetcherManager {
        ReplicaFetcherManager { broker_id, config, fetchers: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Fetcher>> {
        self.fetchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `addFetcherForPartitions`: follow `partitions` from `leader` at `endpoint`, each starting
    /// with truncation. A partition followed elsewhere moves here.
    pub fn add_partitions(&self, leader: i32, endpoint: (String, i32), partitions: Vec<(Arc<Partition>, i32)>) {
        if partitions.is_empty() {
            return;
        }
        let tps: Vec<TopicPartition> = partitions.iter().map(|(p, _)| p.tp.clone()).collect();
        self.remove_partitions(&tps);
        let mut fetchers = self.lock();
        if fetchers.get(&leader).is_some_and(|f| f.endpoint != endpoint) {
            // The leader restarted on another address: start over there, keeping its partitions.
            if let Some(old) = fetchers.remove(&leader) {
                let kept = std::mem::take(&mut *old.partitions.lock().unwrap_or_else(|e| e.into_inner()));
                let fetcher = self.start_fetcher(leader, endpoint.clone());
                fetcher.partitions.lock().unwrap_or_else(|e| e.into_inner()).extend(kept);
                fetchers.insert(leader, fetcher);
            }
        }
        let fetcher = fetchers.entry(leader).or_insert_with(|| self.start_fetcher(leader, endpoint));
        {
            let mut map = fetcher.partitions.lock().unwrap_or_else(|e| e.into_inner());
            for (partition, leader_epoch) in partitions {
                info!(partition = %partition.tp, leader, leader_epoch, log_end_offset = partition.log().log_end_offset(), "following");
                map.insert(partition.tp.clone(), FetchState { partition, leader_epoch, truncating: true, delayed_until: None });
            }
        }
        fetcher.wake.notify_one();
    }

    /// `removeFetcherForPartitions`; a fetcher left with nothing stops.
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let mut fetchers = self.lock();
        for fetcher in fetchers.values() {
            let mut map = fetcher.partitions.lock().unwrap_or_else(|e| e.into_inner());
            for tp in tps {
                map.remove(tp);
            }
        }
        fetchers.retain(|_, f| !f.partitions.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
    }

    pub fn shutdown(&self) {
        self.lock().clear();
    }

    fn start_fetcher(&self, leader: i32, endpoint: (String, i32)) -> Fetcher {
        let partitions: Partitions = Arc::default();
        let wake = Arc::new(Notify::new());
        let run = FetcherLoop { broker_id: self.broker_id, leader, addr: format!("{}:{}", endpoint.0, endpoint.1), config: self.config, partitions: Arc::clone(&partitions), wake: Arc::clone(&wake) };
        info!(leader, address = %run.addr, "starting a replica fetcher");
        Fetcher { endpoint, partitions, wake, task: tokio::spawn(run.run()) }
    }
}

/// One `ReplicaFetcherThread`.
struct FetcherLoop {
    broker_id: i32,
    leader: i32,
    addr: String,
    config: FetcherConfig,
    partitions: Partitions,
    wake: Arc<Notify>,
}

impl FetcherLoop {
    fn snapshot(&self) -> BTreeMap<TopicPartition, FetchState> {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies `f` to the partition's state if it is still the one fetched at `leader_epoch`.
    fn update(&self, tp: &TopicPartition, leader_epoch: i32, f: impl FnOnce(&mut FetchState)) {
        if let Some(state) = self.partitions.lock().unwrap_or_else(|e| e.into_inner()).get_mut(tp).filter(|s| s.leader_epoch == leader_epoch) {
            f(state);
        }
    }

    fn drop_partition(&self, tp: &TopicPartition, leader_epoch: i32) {
        let mut map = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(tp).is_some_and(|s| s.leader_epoch == leader_epoch) {
            map.remove(tp);
        }
    }

    /// The leader has a newer epoch than this fetcher knows: wait for the LeaderAndIsr that
    /// says so (`onPartitionFenced`).
    fn fenced(&self, tp: &TopicPartition, leader_epoch: i32) {
        info!(partition = %tp, leader = self.leader, "fenced by the leader's epoch; waiting for LeaderAndIsr");
        self.drop_partition(tp, leader_epoch);
    }

    fn back_off(&self, tp: &TopicPartition, leader_epoch: i32) {
        let until = Instant::now() + Duration::from_millis(self.config.backoff_ms);
        self.update(tp, leader_epoch, |s| s.delayed_until = Some(until));
    }

    async fn run(self) {
        let mut conn: Option<Connection> = None;
        loop {
            let now = Instant::now();
            let all = self.snapshot();
            let ready: BTreeMap<TopicPartition, FetchState> = all.into_iter().filter(|(_, s)| s.delayed_until.is_none_or(|t| t <= now)).collect();
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
            let (truncating, fetching): (BTreeMap<_, _>, BTreeMap<_, _>) = ready.into_iter().partition(|(_, s)| s.truncating);
            let outcome = if !truncating.is_empty() { self.truncate(c, truncating).await } else { self.fetch(c, fetching).await };
            if let Err(e) = outcome {
                debug!(leader = self.leader, address = %self.addr, error = %e, "replica fetch failed; reconnecting");
                conn = None;
                tokio::time::sleep(Duration::from_millis(self.config.backoff_ms)).await;
            }
        }
    }

    /// The truncation step (`maybeTruncate` through OffsetForLeaderEpoch).
    async fn truncate(&self, conn: &mut Connection, partitions: BTreeMap<TopicPartition, FetchState>) -> anyhow::Result<()> {
        let mut topics: BTreeMap<&str, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
        for (tp, state) in &partitions {
            let epoch = state.partition.log().latest_epoch().unwrap_or(-1);
            topics.entry(tp.topic.as_str()).or_default().push(OffsetForLeaderPartition::default().with_partition(tp.partition).with_current_leader_epoch(state.leader_epoch).with_leader_epoch(epoch));
        }
        let request = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(self.broker_id))
            .with_topics(topics.into_iter().map(|(t, ps)| OffsetForLeaderTopic::default().with_topic(topic_name(t)).with_partitions(ps)).collect());
        let response = tokio::time::timeout(Duration::from_millis(self.config.socket_timeout_ms), conn.send(&request, OFFSET_FOR_LEADER_EPOCH_VERSION)).await??;
        for topic in &response.topics {
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.as_str(), p.partition);
                let Some(state) = partitions.get(&tp) else { continue };
                match p.error_code {
                    codes::NONE => self.truncate_partition(&tp, state, p.leader_epoch, p.end_offset),
                    codes::FENCED_LEADER_EPOCH => self.fenced(&tp, state.leader_epoch),
                    code => {
                        debug!(partition = %tp, leader = self.leader, error_code = code, "OffsetForLeaderEpoch failed; backing off");
                        self.back_off(&tp, state.leader_epoch);
                    }
                }
            }
        }
        Ok(())
    }

    /// KIP-101/279's rule, with the leader's answer `(leader_epoch, end_offset)` for our latest
    /// epoch: truncate where the logs diverge; ask again while our epoch there differs.
    fn truncate_partition(&self, tp: &TopicPartition, state: &FetchState, leader_epoch: i32, end_offset: i64) {
        let partition = &state.partition;
        let log = partition.log();
        let leo = log.log_end_offset();
        let (target, done) = if end_offset == UNDEFINED {
            // The leader knows no epoch this old: fall back to our high watermark.
            (partition.high_watermark(), true)
        } else if leader_epoch == -1 {
            (end_offset.min(leo), true)
        } else {
            let (local_epoch, local_end) = log.end_offset_for_epoch(leader_epoch);
            if local_epoch == -1 {
                (end_offset.min(leo), true)
            } else if local_epoch != leader_epoch {
                (local_end.min(leo), false)
            } else {
                (local_end.min(end_offset).min(leo), true)
            }
        };
        let now = now_ms();
        match partition.truncate_to(target, now) {
            Ok(truncated) => {
                if truncated {
                    info!(partition = %tp, leader = self.leader, leader_epoch, end_offset, truncated_to = target, "truncated to the leader's epoch boundary");
                }
                // Nothing left to cut means the next answer cannot differ: fetch.
                let done = done || !truncated;
                self.update(tp, state.leader_epoch, |s| s.truncating = !done);
            }
            Err(e) => {
                warn!(partition = %tp, error = %e, "cannot truncate; backing off");
                self.back_off(tp, state.leader_epoch);
            }
        }
    }

    /// One Fetch for every partition ready to fetch.
    async fn fetch(&self, conn: &mut Connection, partitions: BTreeMap<TopicPartition, FetchState>) -> anyhow::Result<()> {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        let mut offsets = HashMap::new();
        for (tp, state) in &partitions {
            let log = state.partition.log();
            let fetch_offset = log.log_end_offset();
            offsets.insert(tp.clone(), fetch_offset);
            topics.entry(tp.topic.as_str()).or_default().push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_current_leader_epoch(state.leader_epoch)
                    .with_fetch_offset(fetch_offset)
                    .with_log_start_offset(log.log_start_offset())
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
        for topic in &response.responses {
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.as_str(), p.partition_index);
                let Some(state) = partitions.get(&tp) else { continue };
                let partition = &state.partition;
                match p.error_code {
                    codes::NONE => {
                        let records = complete_batches(p.records.as_deref().unwrap_or_default());
                        if !records.is_empty() {
                            // The partition may have been truncated or re-added meanwhile.
                            if partition.log().log_end_offset() != offsets[&tp] {
                                continue;
                            }
                            if let Err(e) = partition.append_records_as_follower(records, now_ms()) {
                                warn!(partition = %tp, leader = self.leader, error = %e, "cannot append fetched records; truncating again");
                                self.update(&tp, state.leader_epoch, |s| s.truncating = true);
                                continue;
                            }
                        }
                        partition.set_follower_high_watermark(p.high_watermark);
                    }
                    codes::OFFSET_OUT_OF_RANGE if offsets[&tp] < p.log_start_offset => {
                        info!(partition = %tp, leader = self.leader, fetch_offset = offsets[&tp], leader_log_start = p.log_start_offset, "behind the leader's log start; restarting the log there");
                        if let Err(e) = partition.truncate_fully_and_start_at(p.log_start_offset, now_ms()) {
                            warn!(partition = %tp, error = %e, "cannot restart the log");
                            self.back_off(&tp, state.leader_epoch);
                        }
                    }
                    codes::OFFSET_OUT_OF_RANGE => self.update(&tp, state.leader_epoch, |s| s.truncating = true),
                    codes::FENCED_LEADER_EPOCH => self.fenced(&tp, state.leader_epoch),
                    code => {
                        debug!(partition = %tp, leader = self.leader, error_code = code, "fetch failed; backing off");
                        self.back_off(&tp, state.leader_epoch);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The prefix of `records` made of whole batches (a fetch may end inside one).
fn complete_batches(records: &[u8]) -> &[u8] {
    const LENGTH_END: usize = 12;
    let mut end = 0;
    while records.len() - end >= LENGTH_END {
        let length = i32::from_be_bytes([records[end + 8], records[end + 9], records[end + 10], records[end + 11]]);
        let Ok(length) = usize::try_from(length) else { break };
        let next = end + LENGTH_END + length;
        if next > records.len() {
            break;
        }
        end = next;
    }
    &records[..end]
}

#[cfg(test)]
mod tests {
    use super::complete_batches;

    #[test]
    fn a_partial_trailing_batch_is_dropped() {
        let mut batch = vec![0u8; 70];
        batch[8..12].copy_from_slice(&58i32.to_be_bytes());
        let mut two = batch.clone();
        two.extend_from_slice(&batch[..40]);
        assert_eq!(complete_batches(&two).len(), 70);
        assert_eq!(complete_batches(&batch[..11]).len(), 0);
        let mut whole = batch.clone();
        whole.extend_from_slice(&batch);
        assert_eq!(complete_batches(&whole).len(), 140);
    }
}
