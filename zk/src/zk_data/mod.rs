//! Kafka 2.8's ZooKeeper data model, `kafka.zk.ZkData`: one type per znode family, each with its
//! path function and the exact JSON Kafka writes there, so `zkCli.sh get` on an Odradek cluster
//! shows what a Kafka operator expects (reference `kafka-classic.md` §1.2).
//!
//! The types keep Kafka's object names (`BrokerIdZNode`, `TopicZNode`,
//! `TopicPartitionStateZNode`, ...): a unit struct per znode with `PATH` or `path(..)`, and where
//! the znode has data an `encode` and a `decode`. Everything here is pure (bytes in, bytes out);
//! [`crate::KafkaZkClient`] does the I/O.
//!
//! Decoding rules, the same for every znode (Jackson wrote these from maps):
//! - field order is irrelevant and unknown fields are ignored;
//! - `version` is checked against the versions this crate reads, and a mismatch is a
//!   [`ZkDataError::UnsupportedVersion`] naming the path;
//! - timestamps, producer-id block bounds and `/cluster/id`'s version are JSON strings.
//!
//! Encoding writes the version Kafka 2.8 (IBP 2.8-IV1) writes: broker registration v5, topic
//! assignment v3 (v2 when there is no topic id), everything else v1, config changes v2.

mod admin;
mod broker;
mod cluster;
mod config;
mod controller;
mod feature;
mod ids;
mod isr_change;
mod json;
mod partition_state;
mod producer_id;
mod topic;

pub use admin::{AdminZNode, DeleteTopicsTopicZNode, DeleteTopicsZNode};
pub use broker::{
    BrokerIdZNode, BrokerIdsZNode, BrokerInfo, BrokerSequenceIdZNode, BrokersZNode, EndPoint,
    SecurityProtocol, SupportedVersionRange,
};
pub use cluster::{ClusterIdZNode, ClusterZNode};
pub use config::{
    ConfigEntityChangeNotificationSequenceZNode, ConfigEntityChangeNotificationZNode,
    ConfigEntityName, ConfigEntityTypeZNode, ConfigEntityZNode, ConfigType, ConfigZNode,
};
pub use controller::{ControllerEpochZNode, ControllerInfo, ControllerZNode};
pub use feature::{FeatureZNode, FeatureZNodeStatus, FinalizedVersionRange};
pub use ids::{
    generate_cluster_id, BrokerId, ControllerEpoch, LeaderEpoch, TopicId, TopicPartition, ZkVersion,
};
pub use isr_change::{IsrChangeNotificationSequenceZNode, IsrChangeNotificationZNode};
pub use partition_state::{LeaderIsrAndControllerEpoch, TopicPartitionStateZNode};
pub use producer_id::{ProducerIdBlock, ProducerIdBlockZNode};
pub use topic::{
    ReplicaAssignment, TopicIdReplicaAssignment, TopicPartitionZNode, TopicPartitionsZNode,
    TopicZNode, TopicsZNode,
};

/// `/consumers`, the pre-0.9 consumer's root, still created on every broker start.
pub struct ConsumerPathZNode;

impl ConsumerPathZNode {
    pub const PATH: &'static str = "/consumers";
}

/// `/log_dir_event_notification`: brokers whose log dir failed leave sequential children here.
pub struct LogDirEventNotificationZNode;

impl LogDirEventNotificationZNode {
    pub const PATH: &'static str = "/log_dir_event_notification";
}

/// `ZkData.PersistentZkPaths`: the persistent paths every broker creates (empty, if missing) right
/// after connecting, before anything else (`KafkaZkClient.createTopLevelPaths`).
pub const PERSISTENT_ZK_PATHS: [&str; 14] = [
    ConsumerPathZNode::PATH,
    BrokerIdsZNode::PATH,
    TopicsZNode::PATH,
    ConfigEntityChangeNotificationZNode::PATH,
    DeleteTopicsZNode::PATH,
    BrokerSequenceIdZNode::PATH,
    IsrChangeNotificationZNode::PATH,
    ProducerIdBlockZNode::PATH,
    LogDirEventNotificationZNode::PATH,
    // ConfigType.all.map(ConfigEntityTypeZNode.path)
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

/// A znode's data could not be read as what Kafka writes there. Every message starts with the
/// znode's path.
#[derive(Debug, thiserror::Error)]
pub enum ZkDataError {
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: unsupported version {version} (this broker reads versions {supported})")]
    UnsupportedVersion {
        path: String,
        version: String,
        supported: String,
    },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl ZkDataError {
    /// The znode the bad data came from.
    pub fn path(&self) -> &str {
        match self {
            ZkDataError::Json { path, .. }
            | ZkDataError::UnsupportedVersion { path, .. }
            | ZkDataError::Invalid { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistent_paths_are_kafkas() {
        let expected = [
            "/consumers",
            "/brokers/ids",
            "/brokers/topics",
            "/config/changes",
            "/admin/delete_topics",
            "/brokers/seqid",
            "/isr_change_notification",
            "/latest_producer_id_block",
            "/log_dir_event_notification",
            "/config/topics",
            "/config/clients",
            "/config/users",
            "/config/brokers",
            "/config/ips",
        ];
        assert_eq!(PERSISTENT_ZK_PATHS, expected);
        let config_types: Vec<String> = ConfigType::ALL
            .iter()
            .map(|t| ConfigEntityTypeZNode::path(t))
            .collect();
        assert_eq!(&PERSISTENT_ZK_PATHS[9..], config_types.as_slice());
    }
}
