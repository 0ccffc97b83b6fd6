//! Produce (key 0), v3–7: append each partition's batch on the leader.
//!
//! - `acks` must be −1, 0 or 1 (else INVALID_REQUIRED_ACKS for every partition).
//! - v0–2 are served (librdkafka's compression feature checks need v0 in range) but only with
//!   magic-2 batches: a legacy magic-0/1 message set gets UNSUPPORTED_FOR_MESSAGE_FORMAT, where
//!   Kafka would up-convert it (no client in scope sends one).
//! - Magic-2 produce data must be exactly one batch per partition (INVALID_RECORD otherwise);
//!   the log validates the batch (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, ...) and assigns offsets.
//! - acks=1 is answered after the local append. acks=−1 first needs an ISR of at least
//!   `min.insync.replicas` (NOT_ENOUGH_REPLICAS, nothing written), then waits (`DelayedProduce`)
//!   until the high watermark passes the batch: NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if the
//!   ISR shrank below `min.insync.replicas` meanwhile, NOT_LEADER_OR_FOLLOWER if leadership moved,
//!   REQUEST_TIMED_OUT after the request's `timeout_ms`.
//! - acks=0 gets no response; if any partition failed, the connection is closed so the client
//!   notices (Kafka's behaviour).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, ResponseKind};
use odradek_log::BatchHeader;
use odradek_protocol::error_codes as codes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::debug;

use super::{now_ms, respond, KafkaApis};
use crate::errors::log_error_code;
use crate::network::{PendingResponse, Response};
use crate::partition::Partition;

/// An acks=all partition waiting for its high watermark: where its answer goes in the response,
/// and the offset the HW must reach.
struct Waiting {
    topic: usize,
    partition: usize,
    replica: Arc<Partition>,
    required_offset: i64,
}

impl KafkaApis {
    pub(super) fn handle_produce(&self, request: ProduceRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let timeout_ms = request.timeout_ms;
        let mut waiting = Vec::new();
        let acks = request.acks;
        let valid_acks = matches!(acks, -1..=1);
        let now = now_ms();
        let mut any_error = false;
        let mut response = ProduceResponse::default();
        for topic in request.topic_data {
            let name = topic.name.0.as_str();
            let mut topic_response = TopicProduceResponse::default();
            topic_response.name = topic.name.clone();
            for data in topic.partition_data {
                let mut part = PartitionProduceResponse::default();
                part.index = data.index;
                part.base_offset = -1;
                part.log_append_time_ms = -1;
                part.log_start_offset = -1;
                let records = data.records.unwrap_or_default();
                part.error_code = if !valid_acks {
                    codes::INVALID_REQUIRED_ACKS
                } else if let Err(code) = exactly_one_batch(&records) {
                    code
                } else {
                    match self.replica_manager.partition(name, data.index) {
                        None => codes::UNKNOWN_TOPIC_OR_PARTITION,
                        Some(partition) => match partition.append_records_to_leader(&records, acks, now) {
                            Err(e) => e.code(),
                            Ok(Err(e)) => {
                                debug!(partition = %partition.tp, error = %e, "produce rejected");
                                log_error_code(&e)
                            }
                            Ok(Ok(info)) => {
                                part.base_offset = info.first_offset;
                                part.log_start_offset = info.log_start_offset;
                                if acks == -1 {
                                    let (topic, index) = (response.responses.len(), topic_response.partition_responses.len());
                                    waiting.push(Waiting { topic, partition: index, replica: Arc::clone(&partition), required_offset: info.last_offset + 1 });
                                }
                                codes::NONE
                            }
                        },
                    }
                };
                any_error |= part.error_code != codes::NONE;
                topic_response.partition_responses.push(part);
            }
            response.responses.push(topic_response);
        }
        if acks == 0 {
            return PendingResponse::Ready(if any_error { Response::Close } else { Response::NoResponse });
        }
        complete_ready(&mut response, &mut waiting);
        if waiting.is_empty() {
            return PendingResponse::Ready(respond(ApiKey::Produce, version, correlation_id, &ResponseKind::Produce(response)));
        }
        let deadline = Instant::now() + Duration::from_millis(timeout_ms.max(0) as u64);
        PendingResponse::Later(Box::pin(async move {
            loop {
                // Register before checking so a HW move in between still wakes us.
                let waiter = Arc::new(Notify::new());
                for w in &waiting {
                    w.replica.watchers.watch(&waiter);
                }
                complete_ready(&mut response, &mut waiting);
                if waiting.is_empty() {
                    break;
                }
                tokio::select! {
                    _ = waiter.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => {
                        complete_ready(&mut response, &mut waiting);
                        for w in waiting.drain(..) {
                            response.responses[w.topic].partition_responses[w.partition].error_code = codes::REQUEST_TIMED_OUT;
                        }
                        break;
                    }
                }
            }
            respond(ApiKey::Produce, version, correlation_id, &ResponseKind::Produce(response))
        }))
    }
}

/// Answers every waiting partition whose HW has reached its offset (or that can no longer wait).
fn complete_ready(response: &mut ProduceResponse, waiting: &mut Vec<Waiting>) {
    waiting.retain(|w| match w.replica.check_enough_replicas_reach_offset(w.required_offset) {
        None => true,
        Some(code) => {
            response.responses[w.topic].partition_responses[w.partition].error_code = code;
            false
        }
    });
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
}
