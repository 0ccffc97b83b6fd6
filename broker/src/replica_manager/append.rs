//! `ReplicaManager.appendRecords`: the one write path, for client produces and the group
//! coordinator's `__consumer_offsets` records alike.
//!
//! Each partition's records are appended on its leader (`Partition::append_records_to_leader`:
//! validated whole, then written; NOT_ENOUGH_REPLICAS for acks=all below `min.insync.replicas`,
//! nothing written). acks 0 and 1 are answered from the append; acks=all parks a
//! [`DelayedProduce`] in the produce purgatory until every written partition is replicated to
//! its ISR, the leader epoch of the append ends, or the timeout passes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use odradek_log::{LogError, TopicPartition};
use odradek_protocol::error_codes as codes;
use tokio::time::Instant;
use tracing::debug;

use super::ReplicaManager;
use crate::delayed_produce::{AcksWait, DelayedProduce, ProducePartitionStatus};
use crate::errors::PartitionError;
use crate::partition::ReplicaError;
use crate::purgatory::{Delayed, DelayedOperation};

/// One partition's answer to a produce (Kafka's `ProduceResponse.PartitionResponse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResponse {
    pub error_code: i16,
    /// −1 unless written.
    pub base_offset: i64,
    pub log_start_offset: i64,
    /// −1: the batch keeps its create time (no `LogAppendTime` topics).
    pub log_append_time_ms: i64,
    /// Kafka's `RecordError` batch indexes, for a record-level refusal (Produce v8+).
    pub record_errors: Vec<i32>,
    /// The refusal's message, set with `record_errors` (Produce v8+).
    pub error_message: Option<String>,
}

impl PartitionResponse {
    pub fn error(error_code: i16) -> PartitionResponse {
        PartitionResponse { error_code, base_offset: -1, log_start_offset: -1, log_append_time_ms: -1, record_errors: Vec::new(), error_message: None }
    }

    /// A record-level refusal (`RecordValidationException`): the code, the record's index in
    /// its batch and the message Produce v8+ reports.
    pub fn record_error(error_code: i16, batch_index: i32, message: String) -> PartitionResponse {
        PartitionResponse { record_errors: vec![batch_index], error_message: Some(message), ..PartitionResponse::error(error_code) }
    }
}

/// Kafka's `isValidRequiredAcks`.
pub fn is_valid_required_acks(acks: i16) -> bool {
    matches!(acks, -1..=1)
}

impl ReplicaManager {
    /// `appendRecords`: appends each partition's records as leader and answers, for acks=all
    /// once replicated. The answers come in the order of `entries`.
    pub fn append_records(self: &Arc<Self>, timeout: Duration, required_acks: i16, entries: Vec<(TopicPartition, Bytes)>, now_ms: i64) -> Delayed<Vec<(TopicPartition, PartitionResponse)>> {
        if !is_valid_required_acks(required_acks) {
            return Delayed::Ready(entries.into_iter().map(|(tp, _)| (tp, PartitionResponse::error(codes::INVALID_REQUIRED_ACKS))).collect());
        }
        let statuses: Vec<ProducePartitionStatus> = entries.into_iter().map(|(tp, records)| self.append_to_local_log(tp, &records, required_acks, now_ms)).collect();
        let delayed = DelayedProduce { statuses };
        if required_acks != -1 {
            return Delayed::Ready(delayed.on_complete());
        }
        let deadline = Instant::now() + timeout;
        self.delayed.produce.try_complete_else_watch(delayed, deadline)
    }

    /// `appendToLocalLog` for one partition.
    fn append_to_local_log(&self, tp: TopicPartition, records: &[u8], required_acks: i16, now_ms: i64) -> ProducePartitionStatus {
        let outcome = match self.get_partition(&tp) {
            None => Err(PartitionError::UnknownTopicOrPartition.into()),
            Some(partition) => partition.append_records_to_leader(records, required_acks, now_ms).map(|append| (partition, append)),
        };
        match outcome {
            Ok((partition, append)) => {
                let response = PartitionResponse { error_code: codes::NONE, base_offset: append.info.first_offset, log_start_offset: append.info.log_start_offset, ..PartitionResponse::error(codes::NONE) };
                let wait = AcksWait { partition, required_offset: append.info.last_offset + 1, leader_epoch: append.leader_epoch };
                ProducePartitionStatus { tp, response, acks_pending: required_acks == -1, wait: Some(wait) }
            }
            Err(e) => {
                debug!(partition = %tp, error = %e, "append refused");
                let response = match &e {
                    ReplicaError::Log(LogError::InvalidRecordAt { batch_index, reason, .. }) => {
                        PartitionResponse::record_error(e.code(), *batch_index as i32, format!("{reason} in topic partition {tp}."))
                    }
                    _ => PartitionResponse::error(e.code()),
                };
                ProducePartitionStatus { tp, response, acks_pending: false, wait: None }
            }
        }
    }
}
