//! Fetch (key 1), v0–12, answered zero-copy from v4: the wire side of `ReplicaManager::fetch_messages`.
//!
//! The replica manager reads (consumers below the high watermark, followers to the log end),
//! records a follower's fetch, and waits for `min_bytes` in the fetch purgatory; this handler
//! lays the answer out as `[bytes, file region, bytes, ...]` for the connection's writer, at the
//! request's version. v12 is flexible: the codec has already decoded its request (compact fields,
//! unknown tags skipped), and the encoder writes each partition's tagged fields after its records,
//! so a v12 answer has bytes after every file region and its records still go by `sendfile(2)`.
//! A v12 request's `LastFetchedEpoch` goes to the replica manager, and a partition it finds
//! diverging is answered with the leader's `DivergingEpoch` (tagged field 0) and no records.
//!
//! v0–3 cannot carry magic-2 batches: as Kafka 2.8 does (`KafkaApis.maybeConvertFetchedData`),
//! the records read are down-converted in memory to magic 0 (v0–1) or magic 1 (v2–3) by
//! `odradek_log::legacy::down_convert`, which also bounds them as Kafka's
//! `LazyDownConversionRecords` does; those bytes are copied to the socket, not sent with
//! `sendfile(2)`. v0–2 have hard byte limits (`hardMaxBytesLimit`: no KIP-74 first-batch
//! exception), so a batch larger than `partition_max_bytes` is read cut short and converts to
//! nothing: the partition comes back empty, as from Kafka. A zstd batch cannot be expressed at
//! magic 0/1: UNSUPPORTED_COMPRESSION_TYPE for that partition.
//!
//! read_committed answers carry an empty aborted-transactions list and LSO = HW (no
//! transactions).
//!
//! Fetch sessions (KIP-227) are not kept: every answer carries `session_id = 0`, which tells the
//! client to send full fetches, a valid answer to any session request.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::FetchRequest;
use odradek_log::legacy::{self, LegacyError, MAGIC_VALUE_V0, MAGIC_VALUE_V1};
use odradek_log::{FileSlice, TopicPartition};
use odradek_protocol::error_codes as codes;
use odradek_protocol::fetch::{FetchPartition, FetchTopic, ZeroCopyFetchResponse};

use super::{now_ms, KafkaApis};
use crate::errors::legacy_error_code;
use crate::network::{FetchRecords, PendingResponse, Response};
use crate::purgatory::Delayed;
use crate::replica_manager::{FetchParams, FetchPartitionData, FetchPartitionRequest};

impl KafkaApis {
    pub(super) fn handle_fetch(self: &Arc<Self>, request: FetchRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let params = FetchParams {
            replica_id: request.replica_id.0,
            max_wait_ms: request.max_wait_ms,
            min_bytes: request.min_bytes.max(0) as usize,
            max_bytes: request.max_bytes.max(0) as usize,
            hard_max_bytes_limit: version <= 2,
        };
        let read_committed = request.isolation_level == 1;
        let partitions: Vec<FetchPartitionRequest> = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| FetchPartitionRequest {
                    tp: TopicPartition::new(t.topic.0.as_str(), p.partition),
                    // −1 (and every version below 12, which decodes as −1) means none.
                    last_fetched_epoch: (p.last_fetched_epoch >= 0).then_some(p.last_fetched_epoch),
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
            let mut d = data.next().unwrap_or(FetchPartitionData { error_code: codes::UNKNOWN_SERVER_ERROR, high_watermark: -1, log_start_offset: -1, diverging_epoch: None, records: None });
            let records = match (d.records.take(), down_conversion_magic(version)) {
                (None, _) => None,
                (Some(slice), None) => Some(FetchRecords::Segment(slice)),
                (Some(slice), Some(magic)) => match down_converted(&slice, magic, p.fetch_offset) {
                    Ok(converted) => Some(FetchRecords::Converted(converted)),
                    Err(code) => {
                        tracing::debug!(topic = %topic.topic.0, partition = p.partition, version, error_code = code, "down-conversion failed");
                        d = FetchPartitionData { error_code: code, high_watermark: -1, log_start_offset: -1, diverging_epoch: None, records: None };
                        None
                    }
                },
            };
            out.partitions.push(FetchPartition {
                partition_index: p.partition,
                error_code: d.error_code,
                high_watermark: d.high_watermark,
                last_stable_offset: if d.error_code == codes::NONE { d.high_watermark } else { -1 },
                log_start_offset: d.log_start_offset,
                aborted_transactions: (read_committed && d.error_code == codes::NONE).then(Vec::new),
                preferred_read_replica: -1,
                diverging_epoch: d.diverging_epoch,
                records,
            });
        }
        response.topics.push(out);
    }
    Response::ZeroCopy(response.into_parts(version, correlation_id))
}

/// The message format a Fetch at `version` can carry, when it is not the stored magic 2.
fn down_conversion_magic(version: i16) -> Option<i8> {
    match version {
        0..=1 => Some(MAGIC_VALUE_V0),
        2..=3 => Some(MAGIC_VALUE_V1),
        _ => None,
    }
}

/// Reads `slice` and converts its batches to `magic`; the error code for the partition if the
/// segment cannot be read or a batch cannot be expressed at `magic`.
fn down_converted(slice: &FileSlice, magic: i8, fetch_offset: i64) -> Result<Bytes, i16> {
    use std::os::unix::fs::FileExt;
    let mut stored = vec![0u8; slice.len as usize];
    slice.file.read_exact_at(&mut stored, slice.position).map_err(|e| {
        tracing::warn!(error = %e, "cannot read a segment region to down-convert");
        codes::KAFKA_STORAGE_ERROR
    })?;
    legacy::down_convert(&stored, magic, fetch_offset).map(Bytes::from).map_err(|e: LegacyError| legacy_error_code(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_fetch_versions_get_the_message_format_they_can_carry() {
        let magics: Vec<Option<i8>> = (0..=12).map(down_conversion_magic).collect();
        assert_eq!(&magics[..4], &[Some(0), Some(0), Some(1), Some(1)]);
        assert!(magics[4..].iter().all(Option::is_none));
    }
}
