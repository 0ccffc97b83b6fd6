//! Topic creation and deletion requests, Kafka's `ZkAdminManager` with `AdminZkClient`
//! (reference §2.6, §2.8): the broker only validates and writes ZooKeeper; the controller, which
//! watches `/brokers/topics` and `/admin/delete_topics`, does the rest (elects leaders, sends
//! LeaderAndIsr and UpdateMetadata, deletes the logs).
//!
//! Creating a topic is a pure decision, [`plan_topic_creation`], over what the cluster looks like
//! ([`ClusterView`]: live brokers from the metadata cache, topics and pending deletions from
//! ZooKeeper), followed by two writes in Kafka's order: `/config/topics/<topic>` (the overrides,
//! `{"version":1,"config":{}}` when there are none), then `/brokers/topics/<topic>` with a fresh
//! topic id and the assignment. The second write is the one that creates the topic: if another
//! broker won the race it fails with TOPIC_ALREADY_EXISTS.
//!
//! Waiting is Kafka's `DelayedCreatePartitions` / `DelayedDeleteTopics`: until the metadata cache
//! shows a leader for every new partition, or no longer shows the deleted topic
//! ([`MetadataCache::wait_until`], woken by every UpdateMetadata).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use odradek_controller::{assign_replicas_to_brokers, AssignmentStart};
use odradek_zk::zk_data::ConfigType;
use odradek_zk::{BrokerId, KafkaZkClient, ReplicaAssignment, TopicId, ZkError};
use tracing::{debug, info};

use crate::config::KafkaConfig;
use crate::errors::AdminError;
use crate::metadata_cache::{MetadataCache, MetadataSnapshot};
use crate::topic_config;

/// `CreateTopicsRequest.NO_NUM_PARTITIONS`: use the broker's `num.partitions`.
pub const NO_NUM_PARTITIONS: i32 = -1;
/// `CreateTopicsRequest.NO_REPLICATION_FACTOR`: use the broker's `default.replication.factor`.
pub const NO_REPLICATION_FACTOR: i16 = -1;

/// A topic to create, whatever the request version (Kafka's `CreatableTopic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Explicit `(partition, replicas)`, preferred leader first; empty lets the broker assign.
    pub assignments: Vec<(i32, Vec<i32>)>,
    /// `(name, value)` overrides; a null value is refused.
    pub configs: Vec<(String, Option<String>)>,
}

impl NewTopic {
    /// A topic with the broker's defaults (what auto-creation asks for).
    pub fn with_defaults(name: &str, config: &KafkaConfig) -> NewTopic {
        NewTopic {
            name: name.to_string(),
            num_partitions: config.num_partitions,
            replication_factor: config.default_replication_factor,
            assignments: Vec::new(),
            configs: Vec::new(),
        }
    }
}

/// What topic creation is validated against.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// Live broker ids, sorted (the metadata cache's live brokers).
    pub live_brokers: Vec<i32>,
    /// Topics that exist (in ZooKeeper or the metadata cache).
    pub existing_topics: BTreeSet<String>,
    /// Topics queued in `/admin/delete_topics`.
    pub topics_being_deleted: BTreeSet<String>,
    pub default_num_partitions: i32,
    pub default_replication_factor: i16,
}

/// A validated topic: what gets written to ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    /// Partition → replicas, preferred leader first.
    pub assignment: BTreeMap<i32, Vec<i32>>,
    pub configs: BTreeMap<String, String>,
}

/// A topic created, or with `validate_only` one that would be: what CreateTopics v5+ and v7
/// answer about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopic {
    /// The id written to `/brokers/topics/<topic>` (`None` when only validated), which the
    /// controller carries to every broker.
    pub topic_id: Option<TopicId>,
    pub plan: TopicPlan,
}

impl CreatedTopic {
    pub fn partitions(&self) -> Vec<i32> {
        self.plan.assignment.keys().copied().collect()
    }

    /// The replication factor (every partition has as many replicas as the first).
    pub fn replication_factor(&self) -> i16 {
        self.plan.assignment.values().next().map_or(0, |r| r.len() as i16)
    }
}

/// `ZkAdminManager.createTopics` step 1 and `AdminZkClient.validateTopicCreate`, without I/O:
/// the topic's assignment and configs, or the first reason (in Kafka's order, except that the name
/// is checked first) it cannot be created.
pub fn plan_topic_creation(topic: &NewTopic, cluster: &ClusterView, start: AssignmentStart) -> Result<TopicPlan, AdminError> {
    let name = topic.name.as_str();
    validate_topic_name(name)?;
    if cluster.existing_topics.contains(name) {
        return Err(AdminError::TopicExists(name.to_string()));
    }
    let null_configs: Vec<&str> = topic.configs.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k.as_str()).collect();
    if !null_configs.is_empty() {
        return Err(AdminError::InvalidRequest(format!("Null value not supported for topic configs : {}", null_configs.join(","))));
    }
    if (topic.num_partitions != NO_NUM_PARTITIONS || topic.replication_factor != NO_REPLICATION_FACTOR) && !topic.assignments.is_empty() {
        return Err(AdminError::InvalidRequest(
            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".to_string(),
        ));
    }
    let assignment = if topic.assignments.is_empty() {
        let partitions = if topic.num_partitions == NO_NUM_PARTITIONS { cluster.default_num_partitions } else { topic.num_partitions };
        let rf = if topic.replication_factor == NO_REPLICATION_FACTOR { cluster.default_replication_factor } else { topic.replication_factor };
        assign_replicas_to_brokers(&cluster.live_brokers, partitions, rf, start, 0)?
    } else {
        validate_assignment(&topic.assignments, &cluster.live_brokers)?
    };
    if cluster.topics_being_deleted.contains(name) {
        return Err(AdminError::TopicMarkedForDeletion(name.to_string()));
    }
    if has_collision_chars(name) {
        let colliding: Vec<&str> = cluster.existing_topics.iter().map(String::as_str).filter(|t| collides(name, t)).collect();
        if !colliding.is_empty() {
            return Err(AdminError::InvalidTopic(format!("Topic '{name}' collides with existing topics: {}", colliding.join(", "))));
        }
    }
    let configs: BTreeMap<String, String> = topic.configs.iter().filter_map(|(k, v)| Some((k.clone(), v.clone()?))).collect();
    topic_config::validate(&configs).map_err(|e| AdminError::InvalidConfig(e.to_string()))?;
    Ok(TopicPlan { assignment, configs })
}

/// Kafka's `Topic.validate`, with its messages.
pub fn validate_topic_name(name: &str) -> Result<(), AdminError> {
    if is_valid_topic_name(name) {
        return Ok(());
    }
    let message = if name.is_empty() {
        "Topic name is illegal, it can't be empty".to_string()
    } else if name == "." || name == ".." {
        "Topic name cannot be \".\" or \"..\"".to_string()
    } else if name.len() > 249 {
        format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}")
    } else {
        format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'")
    };
    Err(AdminError::InvalidTopic(message))
}

/// Kafka's topic name rule (`Topic.isValid`): 1–249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn is_valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// `Topic.hasCollisionChars`: `.` and `_` map to the same metric name.
fn has_collision_chars(name: &str) -> bool {
    name.contains(['.', '_'])
}

/// `Topic.hasCollision`.
fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

/// An explicit assignment (`validateTopicCreate`'s checks, plus two Kafka 2.8 lacks: every
/// broker must be live and no replica list may be empty).
fn validate_assignment(assignments: &[(i32, Vec<i32>)], live_brokers: &[i32]) -> Result<BTreeMap<i32, Vec<i32>>, AdminError> {
    let invalid = |m: String| AdminError::InvalidReplicaAssignment(m);
    if assignments.iter().any(|(_, replicas)| replicas.is_empty()) {
        return Err(invalid("The manual partition assignment includes an empty replica list.".to_string()));
    }
    let sizes: BTreeSet<usize> = assignments.iter().map(|(_, r)| r.len()).collect();
    if sizes.len() != 1 {
        return Err(invalid("All partitions should have the same number of replicas".to_string()));
    }
    for (partition, replicas) in assignments {
        let distinct: BTreeSet<i32> = replicas.iter().copied().collect();
        if distinct.len() != replicas.len() {
            return Err(invalid(format!("Duplicate replica assignment found: partition {partition} -> {replicas:?}")));
        }
    }
    let assignment: BTreeMap<i32, Vec<i32>> = assignments.iter().cloned().collect();
    if assignment.len() != assignments.len() || !assignment.keys().copied().eq(0..assignment.len() as i32) {
        return Err(invalid("partitions should be a consecutive 0-based integer sequence".to_string()));
    }
    let unknown: BTreeSet<i32> = assignment.values().flatten().copied().filter(|b| live_brokers.binary_search(b).is_err()).collect();
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().map(i32::to_string).collect();
        return Err(invalid(format!("Unknown broker(s) in replica assignment: {}.", list.join(", "))));
    }
    Ok(assignment)
}

/// Kafka's `ZkAdminManager`: topic creation and deletion through ZooKeeper.
pub struct ZkAdminManager {
    config: Arc<KafkaConfig>,
    zk: KafkaZkClient,
    metadata_cache: Arc<MetadataCache>,
}

impl ZkAdminManager {
    pub fn new(config: Arc<KafkaConfig>, zk: KafkaZkClient, metadata_cache: Arc<MetadataCache>) -> ZkAdminManager {
        ZkAdminManager { config, zk, metadata_cache }
    }

    pub fn metadata_cache(&self) -> &Arc<MetadataCache> {
        &self.metadata_cache
    }

    /// Validates each topic and, unless `validate_only`, creates it in ZooKeeper with a fresh
    /// random topic id (a topic deleted and created again gets a new one). One result per topic,
    /// in order: what was created, or why not.
    pub async fn create_topics(&self, topics: &[NewTopic], validate_only: bool) -> Vec<Result<CreatedTopic, AdminError>> {
        if topics.is_empty() {
            return Vec::new();
        }
        let mut cluster = match self.cluster_view().await {
            Ok(view) => view,
            Err(e) => {
                return topics.iter().map(|t| Err(AdminError::ZooKeeper { topic: t.name.clone(), reason: e.to_string() })).collect();
            }
        };
        let mut results = Vec::with_capacity(topics.len());
        for topic in topics {
            let start = AssignmentStart::random(cluster.live_brokers.len());
            let outcome = match plan_topic_creation(topic, &cluster, start) {
                Ok(plan) if validate_only => Ok(CreatedTopic { topic_id: None, plan }),
                Ok(plan) => self.write_topic(&topic.name, &plan).await.map(|id| CreatedTopic { topic_id: Some(id), plan }),
                Err(e) => Err(e),
            };
            match &outcome {
                Ok(_) => {
                    cluster.existing_topics.insert(topic.name.clone());
                }
                Err(AdminError::TopicExists(_)) => debug!(topic = %topic.name, "topic creation failed since the topic already exists"),
                Err(e) => info!(topic = %topic.name, error = %e, "error processing create topic request"),
            }
            results.push(outcome);
        }
        results
    }

    /// The live brokers (sorted), the topics that exist and those queued for deletion.
    async fn cluster_view(&self) -> Result<ClusterView, ZkError> {
        let snapshot = self.metadata_cache.snapshot();
        let mut existing_topics = self.zk.get_all_topics_in_cluster().await?;
        existing_topics.extend(snapshot.topics.keys().cloned());
        Ok(ClusterView {
            live_brokers: snapshot.brokers.keys().copied().collect(),
            existing_topics,
            topics_being_deleted: self.zk.get_topic_deletions().await?,
            default_num_partitions: self.config.num_partitions,
            default_replication_factor: self.config.default_replication_factor,
        })
    }

    /// `AdminZkClient.createTopicWithAssignment`: the config znode first, then the topic znode
    /// (with a new topic id, returned), which is what the controller watches for.
    async fn write_topic(&self, topic: &str, plan: &TopicPlan) -> Result<TopicId, AdminError> {
        let zk_error = |e: ZkError| match e {
            ZkError::TopicAlreadyExists { .. } => AdminError::TopicExists(topic.to_string()),
            e => AdminError::ZooKeeper { topic: topic.to_string(), reason: e.to_string() },
        };
        info!(topic, config = ?plan.configs, assignment = ?plan.assignment, "creating topic");
        self.zk.set_or_create_entity_configs(ConfigType::TOPIC, topic, &plan.configs).await.map_err(zk_error)?;
        let assignment: BTreeMap<i32, ReplicaAssignment> = plan
            .assignment
            .iter()
            .map(|(p, replicas)| (*p, ReplicaAssignment::new(replicas.iter().copied().map(BrokerId).collect())))
            .collect();
        let topic_id = TopicId::random();
        self.zk.create_topic_assignment(topic, Some(topic_id), &assignment).await.map_err(zk_error)?;
        Ok(topic_id)
    }

    /// `AdminZkClient.deleteTopic`: queues `topic` in `/admin/delete_topics` if it exists (in the
    /// metadata cache or ZooKeeper). Asking again for a topic already queued is fine.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), AdminError> {
        let zk_error = |e: ZkError| AdminError::ZooKeeper { topic: topic.to_string(), reason: e.to_string() };
        let known = is_valid_topic_name(topic)
            && (self.metadata_cache.snapshot().topics.contains_key(topic) || self.zk.topic_exists(topic).await.map_err(zk_error)?);
        if !known {
            return Err(AdminError::UnknownTopic(topic.to_string()));
        }
        info!(topic, "marking topic for deletion");
        self.zk.create_delete_topic_path(topic).await.map_err(zk_error)
    }

    /// `DelayedCreatePartitions`: waits until every listed partition has a leader in the metadata
    /// cache, for at most `timeout`. Returns the topics that still miss one.
    pub async fn wait_for_leaders(&self, created: &[(String, Vec<i32>)], timeout: Duration) -> BTreeSet<String> {
        let missing = |s: &MetadataSnapshot| -> BTreeSet<String> {
            created.iter().filter(|(topic, partitions)| partitions.iter().any(|p| !has_leader(s, topic, *p))).map(|(t, _)| t.clone()).collect()
        };
        let last = self.metadata_cache.wait_until(timeout, |s| missing(s).is_empty()).await;
        missing(&last)
    }

    /// `DelayedDeleteTopics`: waits until none of `topics` is in the metadata cache, for at most
    /// `timeout`. Returns the topics still there.
    pub async fn wait_for_deletion(&self, topics: &[String], timeout: Duration) -> BTreeSet<String> {
        let present = |s: &MetadataSnapshot| -> BTreeSet<String> { topics.iter().filter(|t| s.topics.contains_key(*t)).cloned().collect() };
        let last = self.metadata_cache.wait_until(timeout, |s| present(s).is_empty()).await;
        present(&last)
    }
}

/// `DelayedCreatePartitions.isMissingLeader`, inverted.
fn has_leader(snapshot: &MetadataSnapshot, topic: &str, partition: i32) -> bool {
    snapshot.topics.get(topic).and_then(|t| t.partitions.get(&partition)).is_some_and(|p| p.leader >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(brokers: &[i32]) -> ClusterView {
        ClusterView {
            live_brokers: brokers.to_vec(),
            existing_topics: BTreeSet::from(["taken".to_string(), "metrics_a".to_string()]),
            topics_being_deleted: BTreeSet::from(["going".to_string()]),
            default_num_partitions: 2,
            default_replication_factor: 1,
        }
    }

    fn topic(name: &str, partitions: i32, rf: i16) -> NewTopic {
        NewTopic { name: name.into(), num_partitions: partitions, replication_factor: rf, assignments: vec![], configs: vec![] }
    }

    fn plan(t: &NewTopic, brokers: &[i32]) -> Result<TopicPlan, AdminError> {
        plan_topic_creation(t, &cluster(brokers), AssignmentStart::fixed(0))
    }

    #[test]
    fn assigns_over_the_live_brokers_with_defaults_for_minus_one() {
        let p = plan(&topic("orders", 6, 3), &[1, 2, 3]).unwrap();
        assert_eq!(p.assignment.len(), 6);
        for replicas in p.assignment.values() {
            let distinct: BTreeSet<i32> = replicas.iter().copied().collect();
            assert_eq!(distinct.len(), 3, "{replicas:?}");
            assert!(distinct.is_subset(&BTreeSet::from([1, 2, 3])));
        }
        assert_eq!(p.assignment[&0], vec![1, 2, 3], "fixed start 0: AdminUtils' first round");
        // -1 takes num.partitions (2) and default.replication.factor (1).
        let p = plan(&topic("defaults", NO_NUM_PARTITIONS, NO_REPLICATION_FACTOR), &[5, 7]).unwrap();
        assert_eq!(p.assignment, BTreeMap::from([(0, vec![5]), (1, vec![7])]));
        assert!(p.configs.is_empty());
    }

    #[test]
    fn each_refusal_has_its_kafka_error_code_and_message() {
        let cases: Vec<(NewTopic, i16, &str)> = vec![
            (topic("bad name", 1, 1), 17, "Topic name \"bad name\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"),
            (topic("", 1, 1), 17, "Topic name is illegal, it can't be empty"),
            (topic("..", 1, 1), 17, "Topic name cannot be \".\" or \"..\""),
            (topic("taken", 1, 1), 36, "Topic 'taken' already exists."),
            (topic("going", 1, 1), 36, "Topic 'going' is marked for deletion."),
            (topic("metrics.a", 1, 1), 17, "Topic 'metrics.a' collides with existing topics: metrics_a"),
            (topic("t", 0, 1), 37, "Number of partitions must be larger than 0, got 0."),
            (topic("t", -5, 1), 37, "Number of partitions must be larger than 0, got -5."),
            (topic("t", 1, 0), 38, "Replication factor must be larger than 0, got 0."),
            (topic("t", 1, 4), 38, "Replication factor: 4 larger than available brokers: 3."),
        ];
        for (t, code, message) in cases {
            let e = plan(&t, &[1, 2, 3]).unwrap_err();
            assert_eq!((e.code(), e.to_string().as_str()), (code, message), "{t:?}");
        }
        // No live brokers at all: RF 1 is already too large.
        assert_eq!(plan(&topic("t", 1, 1), &[]).unwrap_err().code(), 38);
    }

    #[test]
    fn explicit_assignments_are_checked() {
        let with = |assignments: Vec<(i32, Vec<i32>)>| NewTopic { assignments, ..topic("t", NO_NUM_PARTITIONS, NO_REPLICATION_FACTOR) };
        let ok = plan(&with(vec![(1, vec![3, 1]), (0, vec![1, 2])]), &[1, 2, 3]).unwrap();
        assert_eq!(ok.assignment, BTreeMap::from([(0, vec![1, 2]), (1, vec![3, 1])]), "kept as given, preferred leader first");
        let refused = [
            (vec![(0, vec![1, 2]), (1, vec![3])], "All partitions should have the same number of replicas"),
            (vec![(0, vec![1, 1])], "Duplicate replica assignment found: partition 0 -> [1, 1]"),
            (vec![(0, vec![1]), (2, vec![2])], "partitions should be a consecutive 0-based integer sequence"),
            (vec![(0, vec![1]), (0, vec![2])], "partitions should be a consecutive 0-based integer sequence"),
            (vec![(0, vec![1, 9]), (1, vec![8, 1])], "Unknown broker(s) in replica assignment: 8, 9."),
            (vec![(0, vec![])], "The manual partition assignment includes an empty replica list."),
        ];
        for (assignments, message) in refused {
            let e = plan(&with(assignments.clone()), &[1, 2, 3]).unwrap_err();
            assert_eq!((e.code(), e.to_string().as_str()), (39, message), "{assignments:?}");
        }
        // An assignment together with a partition count or replication factor is a bad request.
        let both = NewTopic { num_partitions: 1, ..with(vec![(0, vec![1])]) };
        let e = plan(&both, &[1]).unwrap_err();
        assert_eq!(e.code(), 42);
        assert!(e.to_string().starts_with("Both numPartitions or replicationFactor and replicasAssignments were set."), "{e}");
    }

    #[test]
    fn configs_must_be_known_valid_and_non_null() {
        let with = |configs: Vec<(&str, Option<&str>)>| NewTopic {
            configs: configs.into_iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect(),
            ..topic("t", 1, 1)
        };
        let ok = plan(&with(vec![("retention.ms", Some("1000")), ("cleanup.policy", Some("compact"))]), &[1]).unwrap();
        assert_eq!(ok.configs.get("retention.ms").map(String::as_str), Some("1000"));
        let e = plan(&with(vec![("retention.mss", Some("1"))]), &[1]).unwrap_err();
        assert_eq!((e.code(), e.to_string()), (40, "Unknown topic config name: retention.mss".to_string()));
        let e = plan(&with(vec![("segment.ms", Some("0"))]), &[1]).unwrap_err();
        assert_eq!(e.code(), 40);
        let e = plan(&with(vec![("retention.ms", None), ("segment.ms", None)]), &[1]).unwrap_err();
        assert_eq!((e.code(), e.to_string()), (42, "Null value not supported for topic configs : retention.ms,segment.ms".to_string()));
    }

    #[test]
    fn topic_names() {
        assert!(is_valid_topic_name("orders.v1_x-2"));
        assert!(is_valid_topic_name(&"x".repeat(249)));
        for bad in ["", ".", "..", "a b", "a/b", "ünï", &"x".repeat(250)] {
            assert!(!is_valid_topic_name(bad), "{bad}");
        }
    }

    #[test]
    fn has_leader_needs_a_leader_not_just_the_partition() {
        use crate::metadata_cache::{PartitionInfo, TopicInfo};
        let info = |leader| PartitionInfo { controller_epoch: 1, leader, leader_epoch: 0, isr: vec![], zk_version: 0, replicas: vec![1], offline_replicas: vec![] };
        let mut s = MetadataSnapshot::default();
        s.topics.insert("t".into(), TopicInfo { id: Default::default(), partitions: BTreeMap::from([(0, info(1)), (1, info(-1))]) });
        assert!(has_leader(&s, "t", 0));
        assert!(!has_leader(&s, "t", 1), "leader -1 (NoLeader) is missing");
        assert!(!has_leader(&s, "t", 2) && !has_leader(&s, "u", 0));
    }
}
