//! Followers pull: Kafka's `ReplicaFetcherManager` and `ReplicaFetcherThread` (reference §4.1,
//! §4.6). One fetcher task per source broker carries every partition this broker follows there.
//!
//! Followers truncate on fetch, as Kafka's do from inter-broker protocol 2.7: a partition whose
//! log has a leader epoch starts *fetching* at its log end at once (Fetch v12 with its broker id
//! as replica id, which reads to the leader's log end), each fetch carrying the epoch of the
//! last batch it holds (`LastFetchedEpoch`). If the leader's epochs contradict that epoch at
//! that offset, the answer carries the leader's `DivergingEpoch` instead of records, and the
//! follower cuts its log exactly as for an OffsetForLeaderEpoch answer ([`truncation`]) and
//! fetches again with its new last epoch, which asks again if the cut was not the last
//! (KIP-279). No round trip is spent on truncation when the logs agree. A partition without
//! epochs starts *truncating* instead: it asks the leader through OffsetForLeaderEpoch and cuts
//! where the answer says (its high watermark, when the leader cannot tell), as does a partition
//! whose fetched batches could not be appended or whose fetch offset is past the leader's log end.
//!
//! Fetched batches are appended verbatim, and the follower's HW becomes the leader's capped at
//! its own log end. A fetch below the leader's log start restarts the log there; a fenced epoch
//! drops the partition until the next LeaderAndIsr; other errors back off and retry.
//!
//! Invariant: an answer is applied only if, when it is applied, the partition is still carried
//! by this fetcher in the same leader epoch, in the same state, at the same fetch offset and
//! last fetched epoch as when the request was sent (a diverging epoch included: a stale one would
//! cut a log that already moved on). The check and the append happen under the fetcher's partition-map lock,
//! which [`ReplicaFetcherManager::remove_partitions`] also takes: once it returns, no answer from
//! that leader is applied to those partitions, even one already on its way (Kafka's
//! `partitionMapLock` in `AbstractFetcherThread.processFetchRequest`). The partition itself
//! refuses follower appends and truncations in any other leader epoch, a second fence.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use odradek_log::TopicPartition;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::info;

use crate::partition::Partition;

mod fetcher_thread;
pub mod truncation;

use fetcher_thread::FetcherThread;

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

/// What a fetched partition is doing (Kafka's `ReplicaState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReplicaFetchState {
    Truncating,
    Fetching,
}

/// Where a fetched partition stands (Kafka's `PartitionFetchState`).
#[derive(Clone)]
struct PartitionFetchState {
    partition: Arc<Partition>,
    current_leader_epoch: i32,
    /// The offset the next fetch starts at: the follower's log end.
    fetch_offset: i64,
    /// The latest epoch in the follower's log, sent as the next fetch's `LastFetchedEpoch`
    /// (`None` with no epochs). Kept up to date on every append and truncation.
    last_fetched_epoch: Option<i32>,
    state: ReplicaFetchState,
    /// Backing off after an error until then.
    delayed_until: Option<Instant>,
}

impl PartitionFetchState {
    /// Whether `current` is still the state a request built from `self` was for.
    fn same_as(&self, current: &PartitionFetchState) -> bool {
        Arc::ptr_eq(&self.partition, &current.partition)
            && self.current_leader_epoch == current.current_leader_epoch
            && self.fetch_offset == current.fetch_offset
            && self.last_fetched_epoch == current.last_fetched_epoch
            && self.state == current.state
    }
}

/// The partitions one fetcher carries, behind the lock that answers are applied under.
#[derive(Clone, Default)]
struct PartitionStates(Arc<Mutex<BTreeMap<TopicPartition, PartitionFetchState>>>);

impl PartitionStates {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<TopicPartition, PartitionFetchState>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Fetcher {
    endpoint: (String, i32),
    partitions: PartitionStates,
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

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Fetcher>> {
        self.fetchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `addFetcherForPartitions`: follow `partitions` (each with the leader epoch it follows
    /// in) from `leader` at `endpoint`, each from its log end: fetching with its latest epoch
    /// if its log has one, else truncating first (`AbstractFetcherThread.partitionFetchState`).
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
                let kept = std::mem::take(&mut *old.partitions.lock());
                let fetcher = self.start_fetcher(leader, endpoint.clone());
                fetcher.partitions.lock().extend(kept);
                fetchers.insert(leader, fetcher);
            }
        }
        let fetcher = fetchers.entry(leader).or_insert_with(|| self.start_fetcher(leader, endpoint));
        {
            let mut map = fetcher.partitions.lock();
            for (partition, leader_epoch) in partitions {
                let fetch_offset = partition.log().log_end_offset();
                let last_fetched_epoch = partition.log().latest_epoch();
                let state = if last_fetched_epoch.is_some() { ReplicaFetchState::Fetching } else { ReplicaFetchState::Truncating };
                info!(partition = %partition.tp, leader, leader_epoch, fetch_offset, ?last_fetched_epoch, ?state, "following");
                map.insert(partition.tp.clone(), PartitionFetchState { partition, current_leader_epoch: leader_epoch, fetch_offset, last_fetched_epoch, state, delayed_until: None });
            }
        }
        fetcher.wake.notify_one();
    }

    /// `removeFetcherForPartitions`: once this returns, no fetcher applies anything more to
    /// `tps` (see the module's invariant). A fetcher left with nothing stops.
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let mut fetchers = self.lock();
        for fetcher in fetchers.values() {
            let mut map = fetcher.partitions.lock();
            for tp in tps {
                map.remove(tp);
            }
        }
        fetchers.retain(|_, f| !f.partitions.lock().is_empty());
    }

    /// The partitions followed from `leader` (tests and diagnostics).
    pub fn partitions_of(&self, leader: i32) -> Vec<TopicPartition> {
        self.lock().get(&leader).map(|f| f.partitions.lock().keys().cloned().collect()).unwrap_or_default()
    }

    pub fn shutdown(&self) {
        self.lock().clear();
    }

    fn start_fetcher(&self, leader: i32, endpoint: (String, i32)) -> Fetcher {
        let partitions = PartitionStates::default();
        let wake = Arc::new(Notify::new());
        let thread = FetcherThread { broker_id: self.broker_id, leader, addr: format!("{}:{}", endpoint.0, endpoint.1), config: self.config, partitions: partitions.clone(), wake: Arc::clone(&wake) };
        info!(leader, address = %thread.addr, "starting a replica fetcher");
        Fetcher { endpoint, partitions, wake, task: tokio::spawn(thread.run()) }
    }
}

/// The prefix of `records` made of whole batches (a fetch may end inside one).
pub(crate) fn complete_batches(records: &[u8]) -> &[u8] {
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
