//! The coordinator's only window on storage: the `__consumer_offsets` partitions it leads.
//!
//! Kafka's `GroupMetadataManager` calls `ReplicaManager.appendRecords` and reads the log directly. Here the
//! broker implements [`OffsetsLog`] so that this crate knows nothing about logs, replication or
//! ZooKeeper, and tests can drive the whole coordinator against an in-memory fake.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

/// One record of `__consumer_offsets`: key bytes and value bytes (None = tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetsRecord {
    pub key: Bytes,
    pub value: Option<Bytes>,
}

/// What the coordinator needs from the broker (implemented by the broker; tests use an in-memory fake).
pub trait OffsetsLog: Send + Sync + 'static {
    /// Appends `records` to partition `partition` of __consumer_offsets as one record batch with
    /// acks=-1 and resolves when the high watermark passes it or `timeout` expires. Err is the Kafka error code of
    /// the failed append (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    /// REQUEST_TIMED_OUT, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR ...).
    fn append(
        &self,
        partition: i32,
        records: Vec<OffsetsRecord>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), i16>> + Send>>;

    /// Every record of the local replica of `partition`, from its log start to its log end, in offset order.
    fn read(
        &self,
        partition: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<OffsetsRecord>, String>> + Send>>;

    /// Whether the topic partition exists (OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION for one that does not).
    fn topic_partition_exists(&self, topic: &str, partition: i32) -> bool;
}

use odradek_protocol::error_codes as ec;

/// How Kafka maps a failed append of committed offsets to the OffsetCommit error
/// (`GroupMetadataManager.storeOffsets`).
pub(crate) fn commit_append_error(code: i16) -> i16 {
    match code {
        ec::UNKNOWN_TOPIC_OR_PARTITION
        | ec::NOT_ENOUGH_REPLICAS
        | ec::NOT_ENOUGH_REPLICAS_AFTER_APPEND => ec::COORDINATOR_NOT_AVAILABLE,
        ec::NOT_LEADER_OR_FOLLOWER | ec::KAFKA_STORAGE_ERROR => ec::NOT_COORDINATOR,
        ec::MESSAGE_TOO_LARGE | ec::RECORD_LIST_TOO_LARGE | ec::INVALID_FETCH_SIZE => {
            ec::INVALID_COMMIT_OFFSET_SIZE
        }
        other => other,
    }
}

/// How Kafka maps a failed append of group metadata to the SyncGroup / JoinGroup error
/// (`GroupMetadataManager.storeGroup`).
pub(crate) fn store_group_append_error(code: i16) -> i16 {
    match code {
        ec::UNKNOWN_TOPIC_OR_PARTITION
        | ec::NOT_ENOUGH_REPLICAS
        | ec::NOT_ENOUGH_REPLICAS_AFTER_APPEND => ec::COORDINATOR_NOT_AVAILABLE,
        ec::NOT_LEADER_OR_FOLLOWER | ec::KAFKA_STORAGE_ERROR => ec::NOT_COORDINATOR,
        ec::REQUEST_TIMED_OUT => ec::REBALANCE_IN_PROGRESS,
        ec::MESSAGE_TOO_LARGE | ec::RECORD_LIST_TOO_LARGE | ec::INVALID_FETCH_SIZE => {
            ec::UNKNOWN_SERVER_ERROR
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_error_mapping() {
        let table = [
            (
                ec::UNKNOWN_TOPIC_OR_PARTITION,
                ec::COORDINATOR_NOT_AVAILABLE,
                ec::COORDINATOR_NOT_AVAILABLE,
            ),
            (
                ec::NOT_ENOUGH_REPLICAS,
                ec::COORDINATOR_NOT_AVAILABLE,
                ec::COORDINATOR_NOT_AVAILABLE,
            ),
            (
                ec::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                ec::COORDINATOR_NOT_AVAILABLE,
                ec::COORDINATOR_NOT_AVAILABLE,
            ),
            (
                ec::NOT_LEADER_OR_FOLLOWER,
                ec::NOT_COORDINATOR,
                ec::NOT_COORDINATOR,
            ),
            (
                ec::KAFKA_STORAGE_ERROR,
                ec::NOT_COORDINATOR,
                ec::NOT_COORDINATOR,
            ),
            (
                ec::MESSAGE_TOO_LARGE,
                ec::INVALID_COMMIT_OFFSET_SIZE,
                ec::UNKNOWN_SERVER_ERROR,
            ),
            (
                ec::RECORD_LIST_TOO_LARGE,
                ec::INVALID_COMMIT_OFFSET_SIZE,
                ec::UNKNOWN_SERVER_ERROR,
            ),
            (
                ec::REQUEST_TIMED_OUT,
                ec::REQUEST_TIMED_OUT,
                ec::REBALANCE_IN_PROGRESS,
            ),
        ];
        for (append, commit, store) in table {
            assert_eq!(commit_append_error(append), commit, "commit {append}");
            assert_eq!(store_group_append_error(append), store, "store {append}");
        }
    }
}
