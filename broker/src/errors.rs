//! The one place where internal errors become Kafka error codes.

use odradek_log::LogError;
use odradek_protocol::error_codes as codes;

/// The Kafka error code a partition gets for a log failure.
pub fn log_error_code(e: &LogError) -> i16 {
    match e {
        LogError::CorruptRecord { .. } => codes::CORRUPT_MESSAGE,
        LogError::InvalidRecord { .. } => codes::INVALID_RECORD,
        LogError::MessageTooLarge { .. } => codes::MESSAGE_TOO_LARGE,
        LogError::RecordListTooLarge { .. } => codes::RECORD_LIST_TOO_LARGE,
        LogError::OffsetOutOfRange { .. } => codes::OFFSET_OUT_OF_RANGE,
        LogError::Io { .. } | LogError::BadLogDir { .. } => codes::KAFKA_STORAGE_ERROR,
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
}

impl PartitionError {
    pub fn code(self) -> i16 {
        match self {
            PartitionError::UnknownTopicOrPartition => codes::UNKNOWN_TOPIC_OR_PARTITION,
            PartitionError::NotLeaderOrFollower => codes::NOT_LEADER_OR_FOLLOWER,
            PartitionError::FencedLeaderEpoch => codes::FENCED_LEADER_EPOCH,
            PartitionError::UnknownLeaderEpoch => codes::UNKNOWN_LEADER_EPOCH,
        }
    }
}
