//! Produce (key 0), v3–7: the wire side of `ReplicaManager::append_records`.
//!
//! - v0–2 are served (librdkafka's compression feature checks need v0 in range) but only with
//!   magic-2 batches: a legacy magic-0/1 message set gets UNSUPPORTED_FOR_MESSAGE_FORMAT, where
//!   Kafka would up-convert it (no client in scope sends one).
//! - Magic-2 produce data must be exactly one batch per partition (INVALID_RECORD otherwise,
//!   Kafka's `ProduceRequest` validation); the rest (acks, leadership, `min.insync.replicas`,
//!   the batch itself, waiting for acks=all) is the replica manager's.
//! - acks=0 gets no response; if any partition failed, the connection is closed so the client
//!   notices (Kafka's behaviour).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, ResponseKind};
use odradek_log::{BatchHeader, TopicPartition};
use odradek_protocol::error_codes as codes;

use super::{now_ms, respond, KafkaApis};
use crate::network::{PendingResponse, Response};
use crate::purgatory::Delayed;
use crate::replica_manager::PartitionResponse;

impl KafkaApis {
    pub(super) fn handle_produce(self: &Arc<Self>, request: ProduceRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let acks = request.acks;
        // Per partition: the records to append, or the error the request's validation gave.
        let mut partitions: Vec<(TopicPartition, Result<Bytes, i16>)> = Vec::new();
        for topic in request.topic_data {
            for data in topic.partition_data {
                let records = data.records.unwrap_or_default();
                let checked = exactly_one_batch(&records).map(|()| records);
                partitions.push((TopicPartition::new(topic.name.0.as_str(), data.index), checked));
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
                    Err(code) => (tp, PartitionResponse::error(code)),
                })
                .collect();
            if acks == 0 {
                let any_error = responses.iter().any(|(_, r)| r.error_code != codes::NONE);
                return if any_error { Response::Close } else { Response::NoResponse };
            }
            respond(ApiKey::Produce, version, correlation_id, &ResponseKind::Produce(produce_response(responses)))
        };
        match appended {
            Delayed::Ready(appended) => PendingResponse::Ready(answer(appended)),
            Delayed::Later(pending) => PendingResponse::Later(Box::pin(async move { answer(pending.await) })),
        }
    }
}

/// The wire answer, topics in the order they first appear.
fn produce_response(responses: Vec<(TopicPartition, PartitionResponse)>) -> ProduceResponse {
    let mut response = ProduceResponse::default();
    for (tp, r) in responses {
        let mut part = PartitionProduceResponse::default();
        part.index = tp.partition;
        part.error_code = r.error_code;
        part.base_offset = r.base_offset;
        part.log_append_time_ms = r.log_append_time_ms;
        part.log_start_offset = r.log_start_offset;
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

const MAGIC_OFFSET: usize = 16;

/// Kafka's rule for magic-2 produce data: exactly one record batch. A truncated or garbled
/// single batch is left to the log's validation (CORRUPT_MESSAGE).
fn exactly_one_batch(records: &[u8]) -> Result<(), i16> {
    if records.is_empty() {
        return Err(codes::INVALID_RECORD);
    }
    // The magic byte sits at offset 16 in both legacy message sets and v2 batches.
    if records.len() > MAGIC_OFFSET && records[MAGIC_OFFSET] < 2 {
        return Err(codes::UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
    match BatchHeader::parse(records) {
        Some(h) if h.batch_length >= 0 && h.total_size() < records.len() => Err(codes::INVALID_RECORD),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_one_batch_or_nothing_is_invalid_record() {
        assert_eq!(exactly_one_batch(&[]), Err(codes::INVALID_RECORD));
        let mut batch = vec![0u8; 70];
        batch[8..12].copy_from_slice(&58i32.to_be_bytes()); // 70 - 12
        batch[16] = 2;
        assert_eq!(exactly_one_batch(&batch), Ok(()));
        let mut two = batch.clone();
        two.extend_from_slice(&batch);
        assert_eq!(exactly_one_batch(&two), Err(codes::INVALID_RECORD));
        assert_eq!(exactly_one_batch(&batch[..30]), Ok(()), "left to the log to call corrupt");
        let mut legacy = batch.clone();
        legacy[16] = 1;
        assert_eq!(exactly_one_batch(&legacy), Err(codes::UNSUPPORTED_FOR_MESSAGE_FORMAT));
    }

    #[test]
    fn the_answer_groups_partitions_by_topic_in_request_order() {
        let r = |code| PartitionResponse::error(code);
        let response = produce_response(vec![(TopicPartition::new("a", 0), r(0)), (TopicPartition::new("a", 1), r(3)), (TopicPartition::new("b", 0), r(0))]);
        let shape: Vec<(String, Vec<(i32, i16)>)> = response.responses.iter().map(|t| (t.name.0.to_string(), t.partition_responses.iter().map(|p| (p.index, p.error_code)).collect())).collect();
        assert_eq!(shape, vec![("a".to_string(), vec![(0, 0), (1, 3)]), ("b".to_string(), vec![(0, 0)])]);
    }
}
