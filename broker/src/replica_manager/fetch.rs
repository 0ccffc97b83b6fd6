//! `ReplicaManager.fetchMessages`: the one read path, for consumers and follower replicas.
//!
//! Partitions are read in request order (`readFromLocalLog`); each read is bounded by the
//! partition's `partition_max_bytes` and what is left of the request's `max_bytes`; until some
//! partition has returned data the next one may return its whole first batch even if that
//! exceeds both limits (KIP-74 `minOneMessage`; not for Fetch v0–2, whose limits are hard). Consumers read below the high watermark,
//! followers to the log end. A follower's fetch then updates what the leader knows of it
//! (`updateFollowerFetchState`: its log end, the HW, maybe an ISR expansion for the controller).
//! If fewer than `min_bytes` are ready and nothing failed, a [`DelayedFetch`] waits in the fetch
//! purgatory.
//!
//! Followers truncate on fetch (Fetch v12, reference §4.6): each partition of a follower's fetch
//! carries the epoch of the last batch it holds, and a partition whose `(last fetched epoch,
//! fetch offset)` the leader's epochs contradict is answered at once with the diverging epoch and
//! no records (`Partition::read_records`). Such a read is not a fetch at the follower's log end:
//! it does not update the follower's fetch state (its fetch offset counts records the leader does
//! not have, which must not move the HW nor admit it to the ISR; Kafka 2.8.1+, KAFKA-13141).

use std::sync::Arc;
use std::time::Duration;

use odradek_log::{FileSlice, LogError, TopicPartition};
use odradek_protocol::error_codes as codes;
use tokio::time::Instant;

use super::ReplicaManager;
use crate::delayed_fetch::DelayedFetch;
use crate::partition::{FetchIsolation, Partition, ReplicaError};
use crate::purgatory::Delayed;

/// The request-wide part of a fetch (Kafka's `FetchParams`).
#[derive(Clone, Copy, Debug)]
pub struct FetchParams {
    /// ≥ 0 for a follower replica, −1 for a consumer.
    pub replica_id: i32,
    pub max_wait_ms: i32,
    pub min_bytes: usize,
    pub max_bytes: usize,
    /// Kafka's `hardMaxBytesLimit`, set for Fetch v0–2: the limits hold even for the first
    /// batch (no KIP-74 `minOneMessage`); a batch too large to fit comes back cut short.
    pub hard_max_bytes_limit: bool,
}

impl FetchParams {
    pub fn is_from_follower(&self) -> bool {
        self.replica_id >= 0
    }

    fn isolation(&self) -> FetchIsolation {
        if self.is_from_follower() { FetchIsolation::LogEnd } else { FetchIsolation::HighWatermark }
    }
}

/// One partition of a fetch (Kafka's `FetchRequest.PartitionData`).
#[derive(Clone, Debug)]
pub struct FetchPartitionRequest {
    pub tp: TopicPartition,
    /// The epoch of the last batch the follower holds (Fetch v12+; `None` when absent or −1).
    pub last_fetched_epoch: Option<i32>,
    pub fetch_offset: i64,
    /// The follower's log start (−1 from consumers).
    pub log_start_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
}

/// One partition's answer (Kafka's `FetchPartitionData`); offsets are −1 where unknown.
#[derive(Clone, Debug)]
pub struct FetchPartitionData {
    pub error_code: i16,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// `(epoch, end offset)` for a follower whose log diverges from the leader's; no records.
    pub diverging_epoch: Option<(i32, i64)>,
    pub records: Option<FileSlice>,
}

/// A pass over the requested partitions, in request order.
pub struct LogReadResults {
    pub partitions: Vec<FetchPartitionData>,
    pub bytes: usize,
    pub any_error: bool,
    /// Some partition answered with a diverging epoch: the follower must truncate before it
    /// can use more data, so the answer goes out at once.
    pub any_diverging: bool,
    /// Per partition, the partition read and the leader's log end at the read, when it
    /// succeeded (for the follower's fetch state, without looking the partition up again).
    read_from: Vec<Option<(Arc<Partition>, i64)>>,
}

impl LogReadResults {
    /// Whether the fetch is answered now rather than waiting for `min_bytes`.
    pub(crate) fn complete(&self, min_bytes: usize) -> bool {
        self.bytes >= min_bytes || self.any_error || self.any_diverging
    }

    fn push_error(&mut self, error_code: i16) {
        self.any_error = true;
        self.partitions.push(FetchPartitionData { error_code, high_watermark: -1, log_start_offset: -1, diverging_epoch: None, records: None });
        self.read_from.push(None);
    }
}

impl ReplicaManager {
    /// `fetchMessages`: reads the partitions now; answers at once if there are `min_bytes`, an
    /// error, or no wait is allowed; otherwise waits in the fetch purgatory.
    pub fn fetch_messages(self: &Arc<Self>, params: FetchParams, partitions: Vec<FetchPartitionRequest>, now_ms: i64) -> Delayed<Vec<FetchPartitionData>> {
        let read = self.read_from_local_log(&params, &partitions);
        if params.is_from_follower() {
            self.update_follower_fetch_state(params.replica_id, &partitions, &read, now_ms);
        }
        if params.max_wait_ms <= 0 || read.complete(params.min_bytes) || partitions.is_empty() {
            return Delayed::Ready(read.partitions);
        }
        let deadline = Instant::now() + Duration::from_millis(params.max_wait_ms as u64);
        let delayed = DelayedFetch { replica_manager: Arc::clone(self), params, partitions, completed: None };
        self.delayed.fetch.try_complete_else_watch(delayed, deadline).map(|read| read.partitions)
    }

    /// `readFromLocalLog`.
    pub(crate) fn read_from_local_log(&self, params: &FetchParams, partitions: &[FetchPartitionRequest]) -> LogReadResults {
        let mut budget = params.max_bytes;
        let mut min_one_message = !params.hard_max_bytes_limit;
        let mut read = LogReadResults { partitions: Vec::with_capacity(partitions.len()), bytes: 0, any_error: false, any_diverging: false, read_from: Vec::with_capacity(partitions.len()) };
        for p in partitions {
            let max_bytes = (p.partition_max_bytes.max(0) as usize).min(budget) as u32;
            let Some(partition) = self.get_partition(&p.tp) else {
                read.push_error(codes::UNKNOWN_TOPIC_OR_PARTITION);
                continue;
            };
            match partition.read_records(p.last_fetched_epoch, p.fetch_offset, p.current_leader_epoch, max_bytes, params.isolation(), min_one_message) {
                Ok(info) if info.diverging_epoch.is_some() => {
                    read.any_diverging = true;
                    read.partitions.push(FetchPartitionData { error_code: codes::NONE, high_watermark: info.high_watermark, log_start_offset: info.log_start_offset, diverging_epoch: info.diverging_epoch, records: None });
                    read.read_from.push(None);
                }
                Ok(info) => {
                    let records = info.data.records.filter(|s| s.len > 0);
                    if let Some(slice) = &records {
                        let n = slice.len as usize;
                        read.bytes += n;
                        budget = budget.saturating_sub(n);
                        min_one_message = false;
                    }
                    read.partitions.push(FetchPartitionData { error_code: codes::NONE, high_watermark: info.high_watermark, log_start_offset: info.log_start_offset, diverging_epoch: None, records });
                    read.read_from.push(Some((Arc::clone(&partition), info.log_end_offset)));
                }
                Err(ReplicaError::Log(LogError::OffsetOutOfRange { .. })) => {
                    // The client learns the valid range from the answer's offsets. A follower
                    // beyond our log end has diverged and is not counted as caught up.
                    read.any_error = true;
                    read.partitions.push(FetchPartitionData { error_code: codes::OFFSET_OUT_OF_RANGE, high_watermark: partition.high_watermark(), log_start_offset: partition.log().log_start_offset(), diverging_epoch: None, records: None });
                    read.read_from.push(None);
                }
                Err(e) => read.push_error(e.code()),
            }
        }
        read
    }

    /// `updateFollowerFetchState`: every partition read without error or divergence records the
    /// follower's fetch; ISR expansions go to the controller.
    fn update_follower_fetch_state(&self, replica_id: i32, partitions: &[FetchPartitionRequest], read: &LogReadResults, now_ms: i64) {
        for (p, read_from) in partitions.iter().zip(&read.read_from) {
            let Some((partition, log_end_offset)) = read_from else { continue };
            if let Some(change) = partition.update_follower_fetch_state(replica_id, p.fetch_offset, p.log_start_offset, *log_end_offset, now_ms) {
                self.submit_isr_change(change);
            }
        }
    }
}
