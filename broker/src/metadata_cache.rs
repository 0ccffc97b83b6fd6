//! `MetadataCache`: what the controller last told this broker through UpdateMetadata — live
//! brokers, the controller id, and every partition's leader, replicas and ISR. Metadata requests
//! are answered purely from here, as in Kafka (reference §3.4).
//!
//! Brokers are kept with every endpoint they advertise, by listener name (Kafka's
//! `aliveNodes: Map[BrokerId, Map[ListenerName, Node]]`): a request is answered with the endpoints
//! of the listener it arrived on, and a broker without that listener is left out.
//!
//! Readers take an `Arc` snapshot; an update builds a new snapshot and swaps it in, so a Metadata
//! response is always consistent with one UpdateMetadata.
//!
//! Every update also wakes [`MetadataCache::wait_until`]: CreateTopics waits there for the new
//! partitions' leaders and DeleteTopics for the topic to leave, Kafka's `DelayedCreatePartitions`
//! and `DelayedDeleteTopics`, which `handleUpdateMetadataRequest` completes.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

/// A live broker as one listener sees it, Kafka's `Node`: what Metadata and FindCoordinator
/// answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerEndpoint {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// One advertised endpoint of a live broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerEndpoint {
    /// Upper case, as Kafka's `ListenerName.normalised`.
    pub listener: String,
    pub host: String,
    pub port: i32,
}

/// A live broker with all its endpoints, Kafka's `Broker` (UpdateMetadata's `LiveBrokers` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveBroker {
    pub id: i32,
    pub endpoints: Vec<ListenerEndpoint>,
    pub rack: Option<String>,
}

impl LiveBroker {
    /// The broker as seen through `listener` (`Broker.node(listenerName)`), if it has one.
    pub fn node(&self, listener: &str) -> Option<BrokerEndpoint> {
        let e = self.endpoints.iter().find(|e| e.listener == listener)?;
        Some(BrokerEndpoint { id: self.id, host: e.host.clone(), port: e.port, rack: self.rack.clone() })
    }
}

/// One partition's state as the controller decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub controller_epoch: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
    pub replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

/// Leader value that marks a partition of a topic being deleted (`LeaderAndIsr.LeaderDuringDelete`).
pub const LEADER_DURING_DELETE: i32 = -2;

#[derive(Clone, Debug, Default)]
pub struct TopicInfo {
    pub id: Uuid,
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

#[derive(Clone, Debug, Default)]
pub struct MetadataSnapshot {
    /// -1 until an UpdateMetadata names it.
    pub controller_id: i32,
    /// The live brokers by id.
    pub brokers: BTreeMap<i32, LiveBroker>,
    pub topics: BTreeMap<String, TopicInfo>,
}

/// The content of one UpdateMetadata request, version-independent.
#[derive(Clone, Debug, Default)]
pub struct MetadataDelta {
    pub controller_id: i32,
    /// The full live-broker list (UpdateMetadata always carries all of them).
    pub live_brokers: Vec<LiveBroker>,
    /// `(topic, topic id, partition, state)`; leader −2 removes the partition.
    pub partitions: Vec<(String, Uuid, i32, PartitionInfo)>,
}

impl MetadataSnapshot {
    /// Every live broker that has `listener`, by id (`getAliveBrokerNodes(listenerName)`).
    pub fn alive_nodes(&self, listener: &str) -> Vec<BrokerEndpoint> {
        self.brokers.values().filter_map(|b| b.node(listener)).collect()
    }

    /// Broker `id` through `listener`, if it is alive and has that listener.
    pub fn alive_node(&self, id: i32, listener: &str) -> Option<BrokerEndpoint> {
        self.brokers.get(&id)?.node(listener)
    }

    /// The topic with id `id` (`MetadataCache.getTopicName`); the zero id names no topic.
    pub fn topic_name(&self, id: Uuid) -> Option<&str> {
        if id.is_nil() {
            return None;
        }
        self.topics.iter().find(|(_, t)| t.id == id).map(|(name, _)| name.as_str())
    }

    /// Applies a delta, Kafka's `MetadataCache.updateMetadata`.
    pub fn apply(&self, delta: MetadataDelta) -> MetadataSnapshot {
        let mut next = self.clone();
        next.controller_id = delta.controller_id;
        next.brokers = delta.live_brokers.into_iter().map(|b| (b.id, b)).collect();
        for (topic, id, partition, state) in delta.partitions {
            if state.leader == LEADER_DURING_DELETE {
                if let Some(t) = next.topics.get_mut(&topic) {
                    t.partitions.remove(&partition);
                    if t.partitions.is_empty() {
                        next.topics.remove(&topic);
                    }
                }
                continue;
            }
            let t = next.topics.entry(topic).or_default();
            if !id.is_nil() {
                t.id = id;
            }
            t.partitions.insert(partition, state);
        }
        next
    }
}

pub struct MetadataCache {
    current: RwLock<Arc<MetadataSnapshot>>,
    /// Bumped after every update; waiters watch it.
    updates: watch::Sender<u64>,
}

impl Default for MetadataCache {
    fn default() -> MetadataCache {
        MetadataCache::new()
    }
}

impl MetadataCache {
    pub fn new() -> MetadataCache {
        MetadataCache {
            current: RwLock::new(Arc::new(MetadataSnapshot { controller_id: -1, ..Default::default() })),
            updates: watch::Sender::new(0),
        }
    }

    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        // A poisoned lock only means another thread panicked mid-swap; the Arc inside is intact.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn update(&self, delta: MetadataDelta) {
        {
            let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
            let next = guard.apply(delta);
            *guard = Arc::new(next);
        }
        self.updates.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits until `done` holds for the current snapshot, re-checking after every update, for at
    /// most `timeout`. Returns the last snapshot checked, whether or not `done` held for it.
    pub async fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&MetadataSnapshot) -> bool) -> Arc<MetadataSnapshot> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut updates = self.updates.subscribe();
        loop {
            // Subscribed before reading: an update in between still wakes the wait below.
            updates.borrow_and_update();
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return snapshot;
            }
            tokio::select! {
                changed = updates.changed() => {
                    if changed.is_err() {
                        return self.snapshot();
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return self.snapshot(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32) -> PartitionInfo {
        PartitionInfo { controller_epoch: 1, leader, leader_epoch: 0, isr: vec![leader], zk_version: 0, replicas: vec![leader], offline_replicas: vec![] }
    }

    pub(crate) fn plaintext(id: i32, host: &str, port: i32) -> LiveBroker {
        LiveBroker { id, endpoints: vec![ListenerEndpoint { listener: "PLAINTEXT".into(), host: host.into(), port }], rack: None }
    }

    fn two_listeners(id: i32, external: bool) -> LiveBroker {
        let e = |listener: &str, port| ListenerEndpoint { listener: listener.into(), host: format!("{}-{id}", listener.to_lowercase()), port };
        let mut endpoints = vec![e("INTERNAL", 19090 + id)];
        if external {
            endpoints.push(e("EXTERNAL", 9090 + id));
        }
        LiveBroker { id, endpoints, rack: Some("r1".into()) }
    }

    #[test]
    fn each_listener_sees_its_own_endpoints_and_brokers_without_it_are_left_out() {
        let cache = MetadataCache::new();
        cache.update(MetadataDelta { controller_id: 1, live_brokers: vec![two_listeners(1, true), two_listeners(2, false), two_listeners(3, true)], partitions: vec![] });
        let s = cache.snapshot();
        let node = |id: i32, host: &str, port| BrokerEndpoint { id, host: host.into(), port, rack: Some("r1".into()) };
        assert_eq!(s.alive_nodes("INTERNAL"), vec![node(1, "internal-1", 19091), node(2, "internal-2", 19092), node(3, "internal-3", 19093)]);
        assert_eq!(s.alive_nodes("EXTERNAL"), vec![node(1, "external-1", 9091), node(3, "external-3", 9093)]);
        assert_eq!(s.alive_nodes("PLAINTEXT"), vec![]);
        assert_eq!(s.alive_node(3, "EXTERNAL"), Some(node(3, "external-3", 9093)));
        assert_eq!(s.alive_node(2, "EXTERNAL"), None, "alive, but without the listener");
        assert_eq!(s.alive_node(4, "INTERNAL"), None, "not alive");
        assert_eq!(s.brokers.len(), 3, "every live broker is kept, whatever its listeners");
    }

    #[test]
    fn brokers_are_replaced_partitions_are_merged_and_deleted() {
        let cache = MetadataCache::new();
        assert_eq!(cache.snapshot().controller_id, -1);
        let b = |id| plaintext(id, "h", 9092 + id);
        let id = Uuid::new_v4();
        cache.update(MetadataDelta {
            controller_id: 1,
            live_brokers: vec![b(1), b(2)],
            partitions: vec![("t".into(), id, 0, state(1)), ("t".into(), id, 1, state(2))],
        });
        cache.update(MetadataDelta { controller_id: 2, live_brokers: vec![b(2)], partitions: vec![("t".into(), Uuid::nil(), 1, state(LEADER_DURING_DELETE))] });
        let s = cache.snapshot();
        assert_eq!(s.controller_id, 2);
        assert_eq!(s.brokers.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(s.topics["t"].partitions.keys().copied().collect::<Vec<_>>(), vec![0]);
        assert_eq!(s.topics["t"].id, id);
        assert_eq!(s.topic_name(id), Some("t"));
        assert_eq!(s.topic_name(Uuid::nil()), None, "the zero id names no topic");
    }

    #[test]
    fn a_topic_deleted_and_created_again_carries_its_new_id() {
        let cache = MetadataCache::new();
        let (old, new) = (Uuid::new_v4(), Uuid::new_v4());
        let live = vec![plaintext(1, "h", 9092)];
        let states = |id, partitions: i32, leader| (0..partitions).map(|p| ("t".to_string(), id, p, state(leader))).collect::<Vec<_>>();
        cache.update(MetadataDelta { controller_id: 1, live_brokers: live.clone(), partitions: states(old, 4, 1) });
        cache.update(MetadataDelta { controller_id: 1, live_brokers: live.clone(), partitions: states(old, 4, LEADER_DURING_DELETE) });
        assert!(cache.snapshot().topic_name(old).is_none());
        cache.update(MetadataDelta { controller_id: 1, live_brokers: live, partitions: states(new, 2, 1) });
        let s = cache.snapshot();
        assert_eq!((s.topics["t"].id, s.topics["t"].partitions.len()), (new, 2));
        assert_eq!(s.topic_name(new), Some("t"));
    }

    #[tokio::test]
    async fn waiters_wake_on_updates_and_give_up_at_the_deadline() {
        let cache = Arc::new(MetadataCache::new());
        let b = plaintext(1, "h", 9092);
        let waiter = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.wait_until(Duration::from_secs(30), |s| s.topics.contains_key("t")).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = tokio::time::Instant::now();
        cache.update(MetadataDelta { controller_id: 1, live_brokers: vec![b], partitions: vec![("t".into(), Uuid::new_v4(), 0, state(1))] });
        let seen = waiter.await.unwrap();
        assert!(seen.topics.contains_key("t"));
        assert!(started.elapsed() < Duration::from_secs(5), "woken by the update, not a timeout");

        let started = tokio::time::Instant::now();
        let last = cache.wait_until(Duration::from_millis(200), |s| s.topics.contains_key("never")).await;
        assert!(!last.topics.contains_key("never"));
        assert!(started.elapsed() >= Duration::from_millis(200), "gives up at the timeout, not before");
    }
}
