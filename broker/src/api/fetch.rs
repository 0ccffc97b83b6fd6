//! Fetch (key 1), v4–11, answered zero-copy.
//!
//! Reading (Kafka's `ReplicaManager.readFromLocalLog`): partitions are read in request order;
//! each read is bounded by the partition's `partition_max_bytes` and what is left of the
//! request's `max_bytes`; until some partition has returned data the next one may return its
//! whole first batch even if that exceeds both limits (KIP-74 `minOneMessage`). Consumers read
//! below the high watermark (for read_committed: the last stable offset, which equals the HW
//! while there are no transactions); follower replicas read to the log end.
//!
//! Waiting (`DelayedFetch`): if fewer than `min_bytes` are available and no partition failed,
//! the request is parked on every partition's watch list until an append brings enough bytes or
//! `max_wait_ms` passes; a fetch that has data answers at once.
//!
//! Fetch sessions (KIP-227) are not kept: every answer carries `session_id = 0`, which tells the
//! client to send full fetches, a valid answer to any session request.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::FetchRequest;
use odradek_log::LogError;
use odradek_protocol::error_codes as codes;
use odradek_protocol::fetch::{FetchPartition, FetchTopic, ZeroCopyFetchResponse};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{now_ms, KafkaApis};
use crate::errors::log_error_code;
use crate::network::{PendingResponse, Response, SegmentRegion};
use crate::partition::Partition;

/// The outcome of one pass over the requested partitions.
struct FetchRead {
    response: ZeroCopyFetchResponse<SegmentRegion>,
    bytes: usize,
    any_error: bool,
    partitions: Vec<Arc<Partition>>,
}

impl KafkaApis {
    pub(super) fn handle_fetch(self: &Arc<Self>, request: FetchRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let first = self.read_fetch(&request);
        let min_bytes = request.min_bytes.max(0) as usize;
        if request.max_wait_ms <= 0 || first.bytes >= min_bytes || first.any_error || first.partitions.is_empty() {
            return PendingResponse::Ready(fetch_response(first, version, correlation_id));
        }
        drop(first);
        let apis = Arc::clone(self);
        let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms as u64);
        PendingResponse::Later(Box::pin(async move {
            loop {
                // Register before reading so an append in between still wakes us.
                let waiter = Arc::new(Notify::new());
                let read = apis.read_fetch(&request);
                for p in &read.partitions {
                    p.watchers.watch(&waiter);
                }
                if read.bytes >= min_bytes || read.any_error || Instant::now() >= deadline {
                    return fetch_response(read, version, correlation_id);
                }
                drop(read);
                tokio::select! {
                    _ = waiter.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => {
                        return fetch_response(apis.read_fetch(&request), version, correlation_id);
                    }
                }
            }
        }))
    }

    fn read_fetch(&self, request: &FetchRequest) -> FetchRead {
        let from_follower = request.replica_id.0 >= 0;
        let read_committed = request.isolation_level == 1;
        let mut budget = request.max_bytes.max(0) as usize;
        let mut min_one_message = true;
        let mut read = FetchRead {
            response: ZeroCopyFetchResponse { throttle_time_ms: 0, error_code: codes::NONE, session_id: 0, topics: Vec::with_capacity(request.topics.len()) },
            bytes: 0,
            any_error: false,
            partitions: Vec::new(),
        };
        for topic in &request.topics {
            let name = topic.topic.0.as_str();
            let mut out = FetchTopic { name: name.to_string(), partitions: Vec::with_capacity(topic.partitions.len()) };
            for fp in &topic.partitions {
                let mut part = FetchPartition {
                    partition_index: fp.partition,
                    error_code: codes::NONE,
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    aborted_transactions: None,
                    preferred_read_replica: -1,
                    records: None,
                };
                let Some(partition) = self.replica_manager.partition(name, fp.partition) else {
                    part.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
                    read.any_error = true;
                    out.partitions.push(part);
                    continue;
                };
                if let Err(e) = partition.check_leader(fp.current_leader_epoch) {
                    part.error_code = e.code();
                    read.any_error = true;
                    out.partitions.push(part);
                    continue;
                }
                let log = partition.log();
                // A follower fetching beyond our log end has diverged: it learns so from the read
                // (OFFSET_OUT_OF_RANGE) and is not counted as caught up.
                if from_follower && fp.fetch_offset <= log.log_end_offset() {
                    // `updateFollowerFetchState`: the fetch offset is the follower's log end.
                    if let Some(change) = partition.update_follower_fetch_state(request.replica_id.0, fp.fetch_offset, fp.log_start_offset, now_ms()) {
                        self.replica_manager.submit_isr_change(change);
                    }
                }
                let high_watermark = partition.high_watermark();
                let max_offset = if from_follower { log.log_end_offset() } else { high_watermark };
                let max_bytes = (fp.partition_max_bytes.max(0) as usize).min(budget) as u32;
                match log.read(fp.fetch_offset, max_bytes, max_offset, min_one_message) {
                    Ok(info) => {
                        part.high_watermark = high_watermark;
                        part.last_stable_offset = high_watermark;
                        part.log_start_offset = log.log_start_offset();
                        if read_committed {
                            part.aborted_transactions = Some(Vec::new());
                        }
                        if let Some(slice) = info.records.filter(|s| s.len > 0) {
                            let n = slice.len as usize;
                            read.bytes += n;
                            budget = budget.saturating_sub(n);
                            min_one_message = false;
                            part.records = Some(SegmentRegion(slice));
                        }
                    }
                    Err(e) => {
                        part.error_code = log_error_code(&e);
                        if matches!(e, LogError::OffsetOutOfRange { .. }) {
                            part.high_watermark = high_watermark;
                            part.log_start_offset = log.log_start_offset();
                        }
                        read.any_error = true;
                    }
                }
                read.partitions.push(partition);
                out.partitions.push(part);
            }
            read.response.topics.push(out);
        }
        read
    }
}

fn fetch_response(read: FetchRead, version: i16, correlation_id: i32) -> Response {
    Response::ZeroCopy(read.response.into_parts(version, correlation_id))
}
