//! The one place where internal errors become Kafka error codes.

use odradek_log::legacy::LegacyError;
use odradek_log::LogError;
use odradek_protocol::error_codes as codes;

/// The Kafka error code a partition gets for a log failure.
pub fn log_error_code(e: &LogError) -> i16 {
    match e {
        LogError::CorruptRecord { .. } => codes::CORRUPT_MESSAGE,
        LogError::InvalidRecord { .. } | LogError::InvalidRecordAt { .. } => codes::INVALID_RECORD,
        LogError::MessageTooLarge { .. } => codes::MESSAGE_TOO_LARGE,
        LogError::RecordListTooLarge { .. } => codes::RECORD_LIST_TOO_LARGE,
        LogError::OffsetOutOfRange { .. } => codes::OFFSET_OUT_OF_RANGE,
        LogError::Io { .. } | LogError::BadLogDir { .. } => codes::KAFKA_STORAGE_ERROR,
    }
}

/// The Kafka error code for a legacy message set that cannot be converted.
pub fn legacy_error_code(e: &LegacyError) -> i16 {
    match e {
        LegacyError::Corrupt(_) => codes::CORRUPT_MESSAGE,
        LegacyError::Invalid { .. } => codes::INVALID_RECORD,
        LegacyError::InvalidTimestamp { .. } => codes::INVALID_TIMESTAMP,
        LegacyError::UnsupportedCompressionType(_) => codes::UNSUPPORTED_COMPRESSION_TYPE,
    }
}

/// Why a partition operation was refused before reaching the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("this broker does not host the partition")]
    UnknownTopicOrPartition,
    #[error("this broker is not the leader of the partition")]
    NotLeaderOrFollower,
    #[error("the request's leader epoch is older than the partition's")]
    FencedLeaderEpoch,
    #[error("the request's leader epoch is newer than the partition's")]
    UnknownLeaderEpoch,
    #[error("the in-sync replicas are fewer than min.insync.replicas")]
    NotEnoughReplicas,
}

impl PartitionError {
    pub fn code(self) -> i16 {
        match self {
            PartitionError::UnknownTopicOrPartition => codes::UNKNOWN_TOPIC_OR_PARTITION,
            PartitionError::NotLeaderOrFollower => codes::NOT_LEADER_OR_FOLLOWER,
            PartitionError::FencedLeaderEpoch => codes::FENCED_LEADER_EPOCH,
            PartitionError::UnknownLeaderEpoch => codes::UNKNOWN_LEADER_EPOCH,
            PartitionError::NotEnoughReplicas => codes::NOT_ENOUGH_REPLICAS,
        }
    }
}

/// Why a topic could not be created or deleted (Kafka's `ApiException`s on the admin path); each
/// message is the one Kafka puts in the response's `error_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    InvalidTopic(String),
    #[error("Topic '{0}' already exists.")]
    TopicExists(String),
    #[error("Topic '{0}' is marked for deletion.")]
    TopicMarkedForDeletion(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Topic `{0}` to delete does not exist")]
    UnknownTopic(String),
    #[error("ZooKeeper failed while handling topic '{topic}': {reason}")]
    ZooKeeper { topic: String, reason: String },
}

impl AdminError {
    pub fn code(&self) -> i16 {
        match self {
            AdminError::InvalidTopic(_) => codes::INVALID_TOPIC_EXCEPTION,
            // Kafka throws TopicExistsException for both.
            AdminError::TopicExists(_) | AdminError::TopicMarkedForDeletion(_) => codes::TOPIC_ALREADY_EXISTS,
            AdminError::InvalidPartitions(_) => codes::INVALID_PARTITIONS,
            AdminError::InvalidReplicationFactor(_) => codes::INVALID_REPLICATION_FACTOR,
            AdminError::InvalidReplicaAssignment(_) => codes::INVALID_REPLICA_ASSIGNMENT,
            AdminError::InvalidConfig(_) => codes::INVALID_CONFIG,
            AdminError::InvalidRequest(_) => codes::INVALID_REQUEST,
            AdminError::UnknownTopic(_) => codes::UNKNOWN_TOPIC_OR_PARTITION,
            AdminError::ZooKeeper { .. } => codes::UNKNOWN_SERVER_ERROR,
        }
    }
}

impl From<odradek_controller::AssignmentError> for AdminError {
    fn from(e: odradek_controller::AssignmentError) -> AdminError {
        use odradek_controller::AssignmentError as A;
        match e {
            A::InvalidPartitions(_) => AdminError::InvalidPartitions(e.to_string()),
            A::ReplicationFactorTooLarge { .. } | A::InvalidReplicationFactor(_) => AdminError::InvalidReplicationFactor(e.to_string()),
        }
    }
}

/// Why one resource of a DescribeConfigs, AlterConfigs or IncrementalAlterConfigs request
/// failed; each message is the one Kafka puts in that resource's `error_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigAdminError {
    #[error("{0}")]
    InvalidRequest(String),
    /// An unknown topic config name (`InvalidConfigurationException`).
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidTopic(String),
    #[error("{0}")]
    UnknownTopic(String),
    #[error("{0}")]
    UnknownServerError(String),
    #[error("ZooKeeper failed: {0}")]
    ZooKeeper(String),
}

impl ConfigAdminError {
    pub fn code(&self) -> i16 {
        match self {
            ConfigAdminError::InvalidRequest(_) => codes::INVALID_REQUEST,
            ConfigAdminError::InvalidConfig(_) => codes::INVALID_CONFIG,
            ConfigAdminError::InvalidTopic(_) => codes::INVALID_TOPIC_EXCEPTION,
            ConfigAdminError::UnknownTopic(_) => codes::UNKNOWN_TOPIC_OR_PARTITION,
            ConfigAdminError::UnknownServerError(_) | ConfigAdminError::ZooKeeper(_) => codes::UNKNOWN_SERVER_ERROR,
        }
    }
}

impl From<odradek_zk::ZkError> for ConfigAdminError {
    fn from(e: odradek_zk::ZkError) -> ConfigAdminError {
        ConfigAdminError::ZooKeeper(e.to_string())
    }
}
