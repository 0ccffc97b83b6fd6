//! Fetch (key 1), v4–12, answered zero-copy: the wire side of `ReplicaManager::fetch_messages`.
//!
//! The replica manager reads (consumers below the high watermark, followers to the log end),
//! records a follower's fetch, and waits for `min_bytes` in the fetch purgatory; this handler
//! lays the answer out as `[bytes, file region, bytes, ...]` for the connection's writer, at the
//! request's version. v12 is flexible: the codec has already decoded its request (compact fields,
//! unknown tags skipped), and the encoder writes each partition's tagged fields after its records,
//! so a v12 answer has bytes after every file region and its records still go by `sendfile(2)`.
//! read_committed answers carry an empty aborted-transactions list and LSO = HW (no
//! transactions).
//!
//! Fetch sessions (KIP-227) are not kept: every answer carries `session_id = 0`, which tells the
//! client to send full fetches, a valid answer to any session request.

use std::sync::Arc;

use kafka_protocol::messages::FetchRequest;
use odradek_log::TopicPartition;
use odradek_protocol::error_codes as codes;
use odradek_protocol::fetch::{FetchPartition, FetchTopic, ZeroCopyFetchResponse};

use super::{now_ms, KafkaApis};
use crate::network::{PendingResponse, Response, SegmentRegion};
use crate::purgatory::Delayed;
use crate::replica_manager::{FetchParams, FetchPartitionData, FetchPartitionRequest};

impl KafkaApis {
    pub(super) fn handle_fetch(self: &Arc<Self>, request: FetchRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let params = FetchParams {
            replica_id: request.replica_id.0,
            max_wait_ms: request.max_wait_ms,
            min_bytes: request.min_bytes.max(0) as usize,
            max_bytes: request.max_bytes.max(0) as usize,
        };
        let read_committed = request.isolation_level == 1;
        let partitions: Vec<FetchPartitionRequest> = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| FetchPartitionRequest {
                    tp: TopicPartition::new(t.topic.0.as_str(), p.partition),
                    fetch_offset: p.fetch_offset,
                    log_start_offset: p.log_start_offset,
                    partition_max_bytes: p.partition_max_bytes,
                    current_leader_epoch: p.current_leader_epoch,
                })
            })
            .collect();
        let answer = move |data: Vec<FetchPartitionData>| fetch_response(&request, data, read_committed, version, correlation_id);
        match self.replica_manager.fetch_messages(params, partitions, now_ms()) {
            Delayed::Ready(data) => PendingResponse::Ready(answer(data)),
            Delayed::Later(pending) => PendingResponse::Later(Box::pin(async move { answer(pending.await) })),
        }
    }
}

/// Lays the partitions' data out in the request's topic order.
fn fetch_response(request: &FetchRequest, data: Vec<FetchPartitionData>, read_committed: bool, version: i16, correlation_id: i32) -> Response {
    let mut data = data.into_iter();
    let mut response = ZeroCopyFetchResponse { throttle_time_ms: 0, error_code: codes::NONE, session_id: 0, topics: Vec::with_capacity(request.topics.len()) };
    for topic in &request.topics {
        let mut out = FetchTopic { name: topic.topic.0.to_string(), partitions: Vec::with_capacity(topic.partitions.len()) };
        for p in &topic.partitions {
            let d = data.next().unwrap_or(FetchPartitionData { error_code: codes::UNKNOWN_SERVER_ERROR, high_watermark: -1, log_start_offset: -1, records: None });
            out.partitions.push(FetchPartition {
                partition_index: p.partition,
                error_code: d.error_code,
                high_watermark: d.high_watermark,
                last_stable_offset: if d.error_code == codes::NONE { d.high_watermark } else { -1 },
                log_start_offset: d.log_start_offset,
                aborted_transactions: (read_committed && d.error_code == codes::NONE).then(Vec::new),
                preferred_read_replica: -1,
                diverging_epoch: None,
                records: d.records.map(SegmentRegion),
            });
        }
        response.topics.push(out);
    }
    Response::ZeroCopy(response.into_parts(version, correlation_id))
}
