//! Kafka's `TopicConfigHandler`: a topic's effective config (its `/config/topics/<t>` overrides
//! laid over the broker's effective defaults) reaches every local partition of the topic.
//!
//! Three things apply a topic's config to a partition: the first read when the partition is
//! created ([`TopicConfigHandler::load`], retried with backoff until it succeeds, since the
//! partition refuses acks=all until then), a change notification for the topic, and a change of
//! the dynamic broker defaults. All three go through [`TopicConfigHandler`]'s one lock, and a
//! read is applied only if its znode `mzxid` is at least the one already applied to that
//! partition. A notification whose read fails is retried here in the background
//! ([`TopicConfigHandler::reread`]), so one unreadable topic never holds up the others.
//!
//! Invariant: an older read of `/config/topics/<t>` never overwrites a newer one on a
//! partition (reads are ordered by the znode's mzxid, compared and applied under one lock).
//! Invariant: a partition gets its first topic config only from a successful read of the topic's
//! node; until then it refuses acks=all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use odradek_log::{LogConfig, TopicPartition};
use odradek_zk::zk_data::ConfigType;
use odradek_zk::{EntityConfigs, KafkaZkClient};
use tracing::{debug, warn};

use super::broker_configs::DynamicBrokerConfig;
use crate::config::KafkaConfig;
use crate::partition::Partition;

/// The first retry of a failed read waits this long, doubling up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// `min.insync.replicas` and the `LogConfig` a partition runs with: the topic's overrides over
/// the broker's effective defaults (Kafka's `LogConfig.fromProps(brokerDefaults, overrides)`).
pub fn effective_topic_config(broker: &KafkaConfig, overrides: &BTreeMap<String, String>) -> (i32, LogConfig) {
    let min_insync = overrides.get("min.insync.replicas").and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(broker.min_insync_replicas);
    (min_insync, LogConfig::from_props(&broker.log, overrides))
}

/// What was last applied to one partition.
struct Applied {
    partition: Weak<Partition>,
    /// mzxid of the read applied (0 = the node did not exist); `None` before the first.
    mzxid: Option<i64>,
    overrides: BTreeMap<String, String>,
}

/// Whether a read with `read_mzxid` may replace what is applied (`applied`, `None` = nothing yet).
pub fn is_newer_or_same(applied: Option<i64>, read_mzxid: i64) -> bool {
    applied.is_none_or(|applied| read_mzxid >= applied)
}

pub struct TopicConfigHandler {
    zk: KafkaZkClient,
    broker_config: Arc<DynamicBrokerConfig>,
    partitions: Mutex<HashMap<TopicPartition, Applied>>,
    /// Topics being re-read by [`TopicConfigHandler::reread`], each with whether another read
    /// was asked for since its current one began. Never locked together with `partitions`.
    rereads: Mutex<HashMap<String, bool>>,
}

impl TopicConfigHandler {
    pub fn new(zk: KafkaZkClient, broker_config: Arc<DynamicBrokerConfig>) -> TopicConfigHandler {
        TopicConfigHandler { zk, broker_config, partitions: Mutex::new(HashMap::new()), rereads: Mutex::new(HashMap::new()) }
    }

    /// Registers a new partition and reads its topic's config in the background, retrying with
    /// backoff until a read succeeds or the partition is gone (dropped or replaced).
    pub fn load(self: &Arc<Self>, partition: &Arc<Partition>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(partition = %partition.tp, "no runtime to read the topic's config on");
            return;
        };
        self.lock().insert(partition.tp.clone(), Applied { partition: Arc::downgrade(partition), mzxid: None, overrides: BTreeMap::new() });
        let (handler, weak) = (Arc::clone(self), Arc::downgrade(partition));
        runtime.spawn(async move {
            let mut backoff = INITIAL_BACKOFF;
            loop {
                let Some(partition) = weak.upgrade().filter(|p| handler.is_registered(p)) else { return };
                let topic = partition.tp.topic.clone();
                drop(partition);
                match handler.zk.get_entity_configs_and_stat(ConfigType::TOPIC, &topic).await {
                    Ok(read) => {
                        if let Some(partition) = weak.upgrade() {
                            handler.apply(&partition, &read);
                        }
                        return;
                    }
                    Err(e) => {
                        warn!(topic = %topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot read the topic's config; acks=all waits for it");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
    }

    /// A read of `topic`'s node failed (for a change notification or a resync): reads it again
    /// in the background, with backoff, until a read succeeds or no local partition of the topic
    /// is left, and applies it to every local partition. One task per topic; asking while it
    /// runs makes it read once more, so a change made after its read began is never missed.
    pub fn reread(self: &Arc<Self>, topic: &str) {
        {
            let mut rereads = self.rereads();
            if let Some(again) = rereads.get_mut(topic) {
                *again = true;
                return;
            }
            rereads.insert(topic.to_string(), false);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(topic, "no runtime to read the topic's config on");
            self.rereads().remove(topic);
            return;
        };
        let (handler, topic) = (Arc::clone(self), topic.to_string());
        runtime.spawn(async move {
            let mut backoff = INITIAL_BACKOFF;
            loop {
                if handler.live_partitions(|tp| tp.topic == topic).is_empty() {
                    handler.rereads().remove(&topic);
                    return;
                }
                handler.rereads().insert(topic.clone(), false);
                match handler.zk.get_entity_configs_and_stat(ConfigType::TOPIC, &topic).await {
                    Ok(read) => {
                        handler.topic_changed(&topic, &read);
                        let mut rereads = handler.rereads();
                        if rereads.get(&topic) != Some(&true) {
                            rereads.remove(&topic);
                            return;
                        }
                        backoff = INITIAL_BACKOFF;
                    }
                    Err(e) => {
                        warn!(topic = %topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot read the topic's config; its partitions keep their current one");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
    }

    /// Applies a read of the topic's node to one partition, unless a newer read is applied.
    /// Returns whether it was applied.
    pub fn apply(&self, partition: &Arc<Partition>, read: &EntityConfigs) -> bool {
        let mut partitions = self.lock();
        let Some(applied) = partitions.get_mut(&partition.tp).filter(|a| Weak::ptr_eq(&a.partition, &Arc::downgrade(partition))) else {
            return false;
        };
        if !is_newer_or_same(applied.mzxid, read.mzxid()) {
            debug!(partition = %partition.tp, read = read.mzxid(), applied = ?applied.mzxid, "ignoring an older read of the topic's config");
            return false;
        }
        applied.mzxid = Some(read.mzxid());
        applied.overrides = read.configs.clone();
        let (min_insync, log_config) = effective_topic_config(&self.broker_config.effective(), &read.configs);
        partition.apply_topic_config(min_insync, log_config);
        true
    }

    /// A change notification for `topic`: applies the read to every local partition of it.
    pub fn topic_changed(&self, topic: &str, read: &EntityConfigs) {
        for partition in self.live_partitions(|tp| tp.topic == topic) {
            self.apply(&partition, read);
        }
    }

    /// The broker's dynamic defaults changed: every partition that has its topic config
    /// re-applies its overrides over the new defaults (Kafka's `DynamicLogConfig`).
    pub fn broker_defaults_changed(&self) {
        let broker = self.broker_config.effective();
        let mut partitions = self.lock();
        partitions.retain(|_, a| a.partition.strong_count() > 0);
        for applied in partitions.values().filter(|a| a.mzxid.is_some()) {
            if let Some(partition) = applied.partition.upgrade() {
                let (min_insync, log_config) = effective_topic_config(&broker, &applied.overrides);
                partition.apply_topic_config(min_insync, log_config);
            }
        }
    }

    /// The topics with a local partition.
    pub fn local_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.live_partitions(|_| true).iter().map(|p| p.tp.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        topics
    }

    fn live_partitions(&self, filter: impl Fn(&TopicPartition) -> bool) -> Vec<Arc<Partition>> {
        let mut partitions = self.lock();
        partitions.retain(|_, a| a.partition.strong_count() > 0);
        partitions.iter().filter(|(tp, _)| filter(tp)).filter_map(|(_, a)| a.partition.upgrade()).collect()
    }

    fn is_registered(&self, partition: &Arc<Partition>) -> bool {
        self.lock().get(&partition.tp).is_some_and(|a| Weak::ptr_eq(&a.partition, &Arc::downgrade(partition)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Applied>> {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rereads(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.rereads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        assert!(is_newer_or_same(None, 0), "the first read, even of a missing node, applies");
        assert!(is_newer_or_same(Some(5), 7));
        assert!(is_newer_or_same(Some(7), 7), "the same read again is harmless");
        assert!(!is_newer_or_same(Some(7), 5));
        assert!(!is_newer_or_same(Some(7), 0), "a read from before the node existed");
    }

    #[test]
    fn topic_overrides_lie_over_the_broker_defaults() {
        let mut props = BTreeMap::from([("broker.id".to_string(), "1".to_string()), ("min.insync.replicas".to_string(), "2".to_string())]);
        props.insert("log.retention.ms".into(), "1000".into());
        let broker = KafkaConfig::from_props(&props).unwrap();
        let (min_insync, log) = effective_topic_config(&broker, &BTreeMap::new());
        assert_eq!((min_insync, log.retention_ms), (2, 1000));
        let overrides = BTreeMap::from([("min.insync.replicas".to_string(), "3".to_string()), ("retention.ms".to_string(), "5".to_string())]);
        let (min_insync, log) = effective_topic_config(&broker, &overrides);
        assert_eq!((min_insync, log.retention_ms), (3, 5));
    }
}
