//! Produce (key 0), v0–9: the wire side of `ReplicaManager::append_records`.
//!
//! Before the append, each partition's records pass Kafka's request-level checks:
//! - v3+ (`ProduceRequest.validateRecords`): exactly one record batch, magic 2
//!   (INVALID_RECORD), and no zstd before v7 (UNSUPPORTED_COMPRESSION_TYPE).
//! - v0–2 may carry a legacy magic-0/1 message set, which Kafka's `LogValidator` up-converts to
//!   the topic's format (magic 2 at `message.format.version` 2.8): `odradek_log::legacy::up_convert`
//!   validates it (CRC, magic, wrapper rules) and rebuilds it as one v2 batch, which then takes
//!   the normal append path (offsets, leader epoch, size limits, compacted keys). A magic-2 batch
//!   at v0–2 must be the only one, as `LogValidator` requires.
//! - The rest (acks, leadership, `min.insync.replicas`, the batch itself, waiting for acks=all)
//!   is the replica manager's.
//!
//! v8 (KIP-467) adds `record_errors` and `error_message`: as in Kafka they are filled only for a
//! `RecordValidationException`, a record-level refusal naming the record's index within its
//! batch: a keyless record on a compacted topic (the log's `InvalidRecordAt`), and while
//! up-converting (only below v3, so never visible at v8) a non-incremental inner offset, an inner
//! message of another magic, LogAppendTime from a producer. Other refusals carry only the
//! code. v9 is the flexible form of v8.
//!
//! acks=0 gets no response; if any partition failed, the connection is closed so the client
//! notices (Kafka's behaviour).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_log::legacy::{self, LegacyError};
use odradek_log::{BatchHeader, TopicPartition};
use odradek_protocol::error_codes as codes;

use super::{now_ms, respond, KafkaApis};
use crate::errors::legacy_error_code;
use crate::network::{PendingResponse, Response};
use crate::purgatory::Delayed;
use crate::replica_manager::PartitionResponse;

/// A partition refused before the append: the code, and for a record-level refusal
/// (`RecordValidationException`) the record's index and the message Produce v8+ reports.
fn refusal(e: LegacyError) -> PartitionResponse {
    let batch_index = match &e {
        LegacyError::Invalid { batch_index, .. } => *batch_index,
        LegacyError::InvalidTimestamp { batch_index, .. } => Some(*batch_index),
        LegacyError::Corrupt(_) | LegacyError::UnsupportedCompressionType(_) => None,
    };
    match batch_index {
        Some(index) => PartitionResponse::record_error(legacy_error_code(&e), index, e.to_string()),
        None => PartitionResponse::error(legacy_error_code(&e)),
    }
}

impl KafkaApis {
    pub(super) fn handle_produce(self: &Arc<Self>, request: ProduceRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let acks = request.acks;
        // Per partition: the records to append, or why the request's validation refused them.
        let mut partitions: Vec<(TopicPartition, Result<Bytes, PartitionResponse>)> = Vec::new();
        for topic in request.topic_data {
            for data in topic.partition_data {
                let tp = TopicPartition::new(topic.name.0.as_str(), data.index);
                let checked = checked_records(version, data.records.unwrap_or_default());
                if let Err(refusal) = &checked {
                    tracing::debug!(partition = %tp, version, error_code = refusal.error_code, message = ?refusal.error_message, "produce records refused");
                }
                partitions.push((tp, checked));
            }
        }
        let entries: Vec<(TopicPartition, Bytes)> = partitions.iter().filter_map(|(tp, r)| r.as_ref().ok().map(|b| (tp.clone(), b.clone()))).collect();
        let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
        let appended = self.replica_manager.append_records(timeout, acks, entries, now_ms());
        let answer = move |appended: Vec<(TopicPartition, PartitionResponse)>| {
            // `append_records` answers every entry, in order: the n-th answer is the n-th
            // partition that passed the request's validation.
            let mut appended = appended.into_iter();
            let responses: Vec<(TopicPartition, PartitionResponse)> = partitions
                .into_iter()
                .map(|(tp, checked)| match checked {
                    Ok(_) => appended.next().unwrap_or((tp, PartitionResponse::error(codes::UNKNOWN_SERVER_ERROR))),
                    Err(refusal) => (tp, refusal),
                })
                .collect();
            if acks == 0 {
                let any_error = responses.iter().any(|(_, r)| r.error_code != codes::NONE);
                return if any_error { Response::Close } else { Response::NoResponse };
            }
            respond(ApiKey::Produce, version, correlation_id, &ResponseKind::Produce(produce_response(responses, version)))
        };
        match appended {
            Delayed::Ready(appended) => PendingResponse::Ready(answer(appended)),
            Delayed::Later(pending) => PendingResponse::Later(Box::pin(async move { answer(pending.await) })),
        }
    }
}

/// The wire answer, topics in the order they first appear; record errors from v8.
fn produce_response(responses: Vec<(TopicPartition, PartitionResponse)>, version: i16) -> ProduceResponse {
    let mut response = ProduceResponse::default();
    for (tp, r) in responses {
        let mut part = PartitionProduceResponse::default();
        part.index = tp.partition;
        part.error_code = r.error_code;
        part.base_offset = r.base_offset;
        part.log_append_time_ms = r.log_append_time_ms;
        part.log_start_offset = r.log_start_offset;
        if version >= 8 {
            // The fields exist from v8; the codec refuses them earlier.
            part.record_errors = r.record_errors.into_iter().map(|batch_index| BatchIndexAndErrorMessage::default().with_batch_index(batch_index)).collect();
            part.error_message = r.error_message.map(StrBytes::from_string);
        }
        match response.responses.last_mut().filter(|t| t.name.0.as_str() == tp.topic.as_str()) {
            Some(t) => t.partition_responses.push(part),
            None => {
                let mut t = TopicProduceResponse::default();
                t.name = super::topic_name(&tp.topic);
                t.partition_responses.push(part);
                response.responses.push(t);
            }
        }
    }
    response
}

/// The records to append for a produce at `version`, or why they are refused.
fn checked_records(version: i16, records: Bytes) -> Result<Bytes, PartitionResponse> {
    if legacy::is_legacy(&records) {
        if version >= 3 {
            return Err(PartitionResponse::error(codes::INVALID_RECORD));
        }
        return legacy::up_convert(&records).map(Bytes::from).map_err(refusal);
    }
    if (3..7).contains(&version) && BatchHeader::parse(&records).is_some_and(|h| h.compression() == legacy::ZSTD) {
        return Err(PartitionResponse::error(codes::UNSUPPORTED_COMPRESSION_TYPE));
    }
    exactly_one_batch(&records).map(|()| records).map_err(PartitionResponse::error)
}

/// Kafka's rule for magic-2 produce data: exactly one record batch. A truncated or garbled
/// single batch is left to the log's validation (CORRUPT_MESSAGE).
fn exactly_one_batch(records: &[u8]) -> Result<(), i16> {
    if records.is_empty() {
        return Err(codes::INVALID_RECORD);
    }
    match BatchHeader::parse(records) {
        Some(h) if h.batch_length >= 0 && h.total_size() < records.len() => Err(codes::INVALID_RECORD),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC_OFFSET: usize = 16;

    fn v2_batch() -> Vec<u8> {
        let mut batch = vec![0u8; 70];
        batch[8..12].copy_from_slice(&58i32.to_be_bytes()); // 70 - 12
        batch[MAGIC_OFFSET] = 2;
        batch
    }

    /// A one-message magic-1 set, CRC and all.
    fn legacy_message() -> Vec<u8> {
        let mut body = vec![1u8, 0];
        body.extend_from_slice(&5i64.to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        body.push(b'v');
        let mut out = 0i64.to_be_bytes().to_vec();
        out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        out.extend_from_slice(&kafka_protocol::records::IEEE.checksum(&body).to_be_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn more_than_one_batch_or_nothing_is_invalid_record() {
        assert_eq!(exactly_one_batch(&[]), Err(codes::INVALID_RECORD));
        let batch = v2_batch();
        assert_eq!(exactly_one_batch(&batch), Ok(()));
        let mut two = batch.clone();
        two.extend_from_slice(&batch);
        assert_eq!(exactly_one_batch(&two), Err(codes::INVALID_RECORD));
        assert_eq!(exactly_one_batch(&batch[..30]), Ok(()), "left to the log to call corrupt");
    }

    #[test]
    fn legacy_sets_are_up_converted_below_v3_and_invalid_from_v3() {
        let legacy = Bytes::from(legacy_message());
        for version in 0..=2 {
            let converted = checked_records(version, legacy.clone()).expect("converted");
            let header = BatchHeader::parse(&converted).expect("a v2 batch");
            assert_eq!((header.magic, header.record_count, header.max_timestamp), (2, 1, 5), "v{version}");
        }
        for version in 3..=9 {
            assert_eq!(checked_records(version, legacy.clone()), Err(PartitionResponse::error(codes::INVALID_RECORD)), "v{version}");
        }
    }

    #[test]
    fn zstd_needs_v7_from_v3_on() {
        let mut zstd = v2_batch();
        zstd[22] = legacy::ZSTD; // attributes, low byte
        for (version, refused) in [(2, false), (3, true), (6, true), (7, false), (9, false)] {
            let code = checked_records(version, Bytes::from(zstd.clone())).err().map(|r| r.error_code);
            assert_eq!(code, refused.then_some(codes::UNSUPPORTED_COMPRESSION_TYPE), "v{version}");
        }
    }

    #[test]
    fn record_level_refusals_carry_their_index_and_message() {
        let mut corrupt = legacy_message();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert_eq!(checked_records(2, Bytes::from(corrupt)), Err(PartitionResponse::error(codes::CORRUPT_MESSAGE)));

        let r = refusal(LegacyError::InvalidTimestamp { message: "LogAppendTime".into(), batch_index: 0 });
        assert_eq!((r.error_code, r.record_errors, r.error_message.as_deref()), (codes::INVALID_TIMESTAMP, vec![0], Some("LogAppendTime")));
        let r = refusal(LegacyError::Invalid { message: "more than one batch".into(), batch_index: None });
        assert_eq!(r, PartitionResponse::error(codes::INVALID_RECORD), "no record error without an index, as in Kafka");
    }

    #[test]
    fn the_answer_groups_partitions_by_topic_and_reports_record_errors_from_v8() {
        let r = |code| PartitionResponse::error(code);
        let refused = PartitionResponse::record_error(codes::INVALID_RECORD, 1, "bad".into());
        let responses = || vec![(TopicPartition::new("a", 0), r(0)), (TopicPartition::new("a", 1), refused.clone()), (TopicPartition::new("b", 0), r(0))];
        let response = produce_response(responses(), 8);
        let shape: Vec<(String, Vec<(i32, i16)>)> = response.responses.iter().map(|t| (t.name.0.to_string(), t.partition_responses.iter().map(|p| (p.index, p.error_code)).collect())).collect();
        assert_eq!(shape, vec![("a".to_string(), vec![(0, 0), (1, 87)]), ("b".to_string(), vec![(0, 0)])]);
        let refused_part = &response.responses[0].partition_responses[1];
        assert_eq!(refused_part.record_errors.iter().map(|e| e.batch_index).collect::<Vec<_>>(), vec![1]);
        assert_eq!(refused_part.error_message.as_deref(), Some("bad"));
        let v7 = produce_response(responses(), 7);
        assert!(v7.responses[0].partition_responses[1].record_errors.is_empty() && v7.responses[0].partition_responses[1].error_message.is_none());
    }
}
