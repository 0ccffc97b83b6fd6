//! Creating the topics a Metadata request names but the cluster lacks, Kafka 2.8's
//! `AutoTopicCreationManager` on its ZooKeeper path: any broker (not only the controller) writes
//! the topic through [`ZkAdminManager`] with `num.partitions` and `default.replication.factor`,
//! without waiting for leaders, and tells the client LEADER_NOT_AVAILABLE so it asks again.
//!
//! Before writing, each topic is checked the cheap way (`filterCreatableTopics`): an invalid
//! name is INVALID_TOPIC_EXCEPTION, fewer live brokers than the default replication factor is
//! INVALID_REPLICATION_FACTOR, and a topic this broker is already creating for another request is
//! UNKNOWN_TOPIC_OR_PARTITION (the in-flight set keeps a burst of clients from writing ZooKeeper
//! once each). A topic another broker created first, or one still being deleted, is fine:
//! TOPIC_ALREADY_EXISTS also answers LEADER_NOT_AVAILABLE.
//!
//! `__consumer_offsets` (created by FindCoordinator) gets Kafka's internal-topic settings
//! instead of the defaults: `offsets.topic.num.partitions`, `offsets.topic.replication.factor`,
//! `cleanup.policy=compact`, `offsets.topic.segment.bytes`, `compression.type=producer`. Where
//! Kafka refuses to create it while fewer brokers than its replication factor are alive, the
//! factor is capped at the live brokers with a warning, so a one- or two-broker dev cluster has
//! groups (docs/COMPATIBILITY.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use odradek_protocol::error_codes as codes;

use tracing::warn;

use crate::admin_manager::{is_valid_topic_name, NewTopic, ZkAdminManager};
use crate::config::KafkaConfig;
use crate::errors::AdminError;
use crate::offsets_log::GROUP_METADATA_TOPIC_NAME;

pub struct AutoTopicCreationManager {
    config: Arc<KafkaConfig>,
    admin: Arc<ZkAdminManager>,
    /// `inflightTopics`: topics being created by this broker right now.
    inflight: Mutex<BTreeSet<String>>,
}

/// Why a topic is not even tried (`filterCreatableTopics`), as a Metadata error code.
pub fn creation_refusal(topic: &str, live_brokers: usize, default_replication_factor: i16) -> Option<i16> {
    if !is_valid_topic_name(topic) {
        Some(codes::INVALID_TOPIC_EXCEPTION)
    } else if live_brokers < default_replication_factor.max(0) as usize {
        Some(codes::INVALID_REPLICATION_FACTOR)
    } else {
        None
    }
}

/// The Metadata error code for a creation outcome: created, or created by someone else, means
/// "ask again" (LEADER_NOT_AVAILABLE); anything else is passed on.
pub fn metadata_error<T>(outcome: &Result<T, AdminError>) -> i16 {
    match outcome {
        Ok(_) => codes::LEADER_NOT_AVAILABLE,
        // Also "marked for deletion": Kafka's TopicExistsException either way.
        Err(e) if e.code() == codes::TOPIC_ALREADY_EXISTS => codes::LEADER_NOT_AVAILABLE,
        Err(e) => e.code(),
    }
}

impl AutoTopicCreationManager {
    pub fn new(config: Arc<KafkaConfig>, admin: Arc<ZkAdminManager>) -> AutoTopicCreationManager {
        AutoTopicCreationManager { config, admin, inflight: Mutex::new(BTreeSet::new()) }
    }

    /// Creates what it can of `topics` (unknown to the metadata cache); the Metadata error code
    /// for each.
    pub async fn create_topics(&self, topics: &[String]) -> BTreeMap<String, i16> {
        let live_brokers = self.admin.metadata_cache().snapshot().brokers.len();
        let unique: BTreeSet<&String> = topics.iter().collect();
        let mut answers = BTreeMap::new();
        let mut claimed = InflightClaim { inflight: &self.inflight, topics: Vec::new() };
        for topic in unique {
            let replication_factor = if topic == GROUP_METADATA_TOPIC_NAME { 1 } else { self.config.default_replication_factor };
            if let Some(code) = creation_refusal(topic, live_brokers, replication_factor) {
                answers.insert(topic.clone(), code);
            } else if !claimed.claim(topic) {
                answers.insert(topic.clone(), codes::UNKNOWN_TOPIC_OR_PARTITION);
            }
        }
        let to_create: Vec<NewTopic> = claimed.topics.iter().map(|t| self.new_topic(t, live_brokers)).collect();
        if !to_create.is_empty() {
            let outcomes = self.admin.create_topics(&to_create, false).await;
            for (topic, outcome) in to_create.iter().zip(&outcomes) {
                answers.insert(topic.name.clone(), metadata_error(outcome));
            }
        }
        answers
    }
}

impl AutoTopicCreationManager {
    /// What to create for `topic`: the broker defaults, or the offsets topic's own settings.
    fn new_topic(&self, topic: &str, live_brokers: usize) -> NewTopic {
        if topic != GROUP_METADATA_TOPIC_NAME {
            return NewTopic::with_defaults(topic, &self.config);
        }
        let group = &self.config.group;
        let replication_factor = offsets_topic_replication_factor(group.offsets_topic_replication_factor, live_brokers);
        if replication_factor < group.offsets_topic_replication_factor {
            warn!(
                topic,
                configured = group.offsets_topic_replication_factor,
                live_brokers,
                replication_factor,
                "fewer live brokers than offsets.topic.replication.factor; creating the offsets topic with fewer replicas"
            );
        }
        NewTopic {
            name: topic.to_string(),
            num_partitions: group.offsets_topic_num_partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".to_string(), Some("compact".to_string())),
                ("segment.bytes".to_string(), Some(group.offsets_topic_segment_bytes.to_string())),
                ("compression.type".to_string(), Some("producer".to_string())),
            ],
        }
    }
}

/// `offsets.topic.replication.factor`, capped at the live brokers (at least 1).
pub fn offsets_topic_replication_factor(configured: i16, live_brokers: usize) -> i16 {
    configured.min(live_brokers.min(i16::MAX as usize) as i16).max(1)
}

/// Topics this request put in the in-flight set; taken out again when it ends, even if the
/// request is dropped half-way (its connection closed).
struct InflightClaim<'a> {
    inflight: &'a Mutex<BTreeSet<String>>,
    topics: Vec<String>,
}

impl InflightClaim<'_> {
    fn claim(&mut self, topic: &str) -> bool {
        let fresh = self.inflight.lock().unwrap_or_else(|e| e.into_inner()).insert(topic.to_string());
        if fresh {
            self.topics.push(topic.to_string());
        }
        fresh
    }
}

impl Drop for InflightClaim<'_> {
    fn drop(&mut self) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        for t in &self.topics {
            inflight.remove(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offsets_topic_replication_factor_is_capped_at_the_live_brokers() {
        assert_eq!(offsets_topic_replication_factor(3, 3), 3);
        assert_eq!(offsets_topic_replication_factor(3, 5), 3);
        assert_eq!(offsets_topic_replication_factor(3, 2), 2);
        assert_eq!(offsets_topic_replication_factor(3, 1), 1);
        assert_eq!(offsets_topic_replication_factor(3, 0), 1, "never zero; creation is refused elsewhere");
    }

    #[test]
    fn cheap_refusals_come_before_any_write() {
        assert_eq!(creation_refusal("ok", 1, 1), None);
        assert_eq!(creation_refusal("bad/name", 3, 1), Some(codes::INVALID_TOPIC_EXCEPTION));
        assert_eq!(creation_refusal("ok", 2, 3), Some(codes::INVALID_REPLICATION_FACTOR));
        assert_eq!(creation_refusal("ok", 3, 3), None);
    }

    #[test]
    fn created_or_already_there_means_ask_again() {
        assert_eq!(metadata_error(&Ok(vec![0])), codes::LEADER_NOT_AVAILABLE);
        assert_eq!(metadata_error::<()>(&Err(AdminError::TopicExists("t".into()))), codes::LEADER_NOT_AVAILABLE);
        assert_eq!(metadata_error::<()>(&Err(AdminError::TopicMarkedForDeletion("t".into()))), codes::LEADER_NOT_AVAILABLE);
        assert_eq!(metadata_error::<()>(&Err(AdminError::InvalidReplicationFactor("x".into()))), codes::INVALID_REPLICATION_FACTOR);
        assert_eq!(metadata_error::<()>(&Err(AdminError::InvalidTopic("x".into()))), codes::INVALID_TOPIC_EXCEPTION);
    }

    #[test]
    fn a_claim_is_exclusive_and_released_on_drop() {
        let inflight = Mutex::new(BTreeSet::new());
        {
            let mut first = InflightClaim { inflight: &inflight, topics: Vec::new() };
            assert!(first.claim("t"));
            let mut second = InflightClaim { inflight: &inflight, topics: Vec::new() };
            assert!(!second.claim("t"), "another request is creating it");
            assert!(second.claim("u"));
        }
        assert!(inflight.lock().unwrap().is_empty());
    }
}
