//! ListOffsets (key 2), v0–6. From v1, Kafka's `Partition.fetchOffsetForTimestamp`: −2 =
//! earliest (the log start), −1 = latest, any other timestamp = the first offset whose record
//! timestamp is at or after it, through the time index. v6 is the flexible form of v5.
//!
//! v0 is the pre-KIP-79 request, answered as 2.8's `handleListOffsetRequestV0`: up to
//! `max_num_offsets` offsets in `old_style_offsets`, newest first, from
//! `Log.legacyFetchOffsetsBefore` (segment boundaries and the log end, found by the segments'
//! modification times, not by record timestamps). A consumer's list is capped at the high
//! watermark: offsets above it are replaced by the HW itself (`legacyFetchOffsetsForTimestamp`).
//! The KAFKA-9807 fencing below is not applied to v0, as in Kafka. A negative `max_num_offsets`
//! fails as in Kafka (UNKNOWN_SERVER_ERROR, its array allocation throws).
//!
//! What a caller may be told depends on who asks (`replicaId`). A consumer (−1) reads only up to
//! its *last fetchable offset*: the high watermark for read_uncommitted, the last stable offset
//! for read_committed (equal to the HW without transactions). So "latest" is that offset, and a
//! timestamp lookup that lands at or beyond it finds nothing. A replica (≥ 0) or the debugging
//! tool (−2) reads up to the log end and is never refused; the debugging tool may also ask a
//! follower.
//!
//! KAFKA-9807: a new leader's HW can sit below the offset its epoch started at until the
//! followers fetch again. Offsets between the two may have been committed under the previous
//! leader, so a consumer asking for "latest" — or for a timestamp the leader cannot answer below
//! the HW — gets the retriable OFFSET_NOT_AVAILABLE instead of an offset that could move
//! backwards.

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};
use odradek_log::{now_ms, TimestampOffset};
use odradek_protocol::error_codes as codes;

use super::KafkaApis;
use crate::errors::log_error_code;
use crate::partition::{check_epoch, Partition};

pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const LATEST_TIMESTAMP: i64 = -1;
/// `ListOffsetsRequest.CONSUMER_REPLICA_ID`.
pub const CONSUMER_REPLICA_ID: i32 = -1;
/// `ListOffsetsRequest.DEBUGGING_REPLICA_ID`: may be answered by a follower.
pub const DEBUGGING_REPLICA_ID: i32 = -2;
/// `RecordBatch.NO_TIMESTAMP`, also the "no offset" answer's offset.
const NO_TIMESTAMP: i64 = -1;

/// Who asks, from the request's `replicaId` and `isolationLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// A client (−1): bounded by its isolation level, fenced while the HW lags the epoch start.
    Consumer { read_committed: bool },
    /// A replica or the debugging tool: bounded by the log end.
    Replica,
}

impl Requester {
    pub fn of(replica_id: i32, isolation_level: i8) -> Requester {
        if replica_id == CONSUMER_REPLICA_ID {
            Requester::Consumer { read_committed: isolation_level == 1 }
        } else {
            Requester::Replica
        }
    }
}

/// The partition's offsets an answer is decided from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    /// The read_committed bound: the HW, as Odradek has no transactions.
    pub last_stable_offset: i64,
    /// Where the current leader epoch began (Kafka's `leaderEpochStartOffsetOpt`, leader only).
    pub leader_epoch_start_offset: Option<i64>,
    pub leader_epoch: i32,
}

impl PartitionOffsets {
    fn of(partition: &Partition) -> PartitionOffsets {
        let log = partition.log();
        let leadership = partition.leadership();
        PartitionOffsets {
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            high_watermark: leadership.high_watermark,
            last_stable_offset: leadership.high_watermark,
            leader_epoch_start_offset: leadership.leader_epoch_start_offset,
            leader_epoch: leadership.leader_epoch,
        }
    }
}

/// One partition's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetAnswer {
    /// `leader_epoch` is set for "latest" only (the current epoch).
    Found { timestamp: i64, offset: i64, leader_epoch: Option<i32> },
    /// No record at or after the timestamp below the last fetchable offset: −1/−1, no error.
    NotFound,
    /// KAFKA-9807: the HW lags the start of the leader's epoch; retry later.
    OffsetNotAvailable,
}

/// `Partition.fetchOffsetForTimestamp`: decides the answer for `timestamp`; `lookup` is the
/// log's time-index search, run only for a real timestamp.
pub fn fetch_offset_for_timestamp<E>(
    timestamp: i64,
    requester: Requester,
    offsets: &PartitionOffsets,
    lookup: impl FnOnce(i64) -> Result<Option<TimestampOffset>, E>,
) -> Result<OffsetAnswer, E> {
    let last_fetchable_offset = match requester {
        Requester::Consumer { read_committed: true } => offsets.last_stable_offset,
        Requester::Consumer { read_committed: false } => offsets.high_watermark,
        Requester::Replica => offsets.log_end_offset,
    };
    let hw_lags_epoch_start = matches!(requester, Requester::Consumer { .. })
        && offsets.leader_epoch_start_offset.is_some_and(|start| start > offsets.high_watermark);
    let unavailable_or = |otherwise| if hw_lags_epoch_start { OffsetAnswer::OffsetNotAvailable } else { otherwise };
    Ok(match timestamp {
        LATEST_TIMESTAMP => unavailable_or(OffsetAnswer::Found {
            timestamp: NO_TIMESTAMP,
            offset: last_fetchable_offset,
            leader_epoch: Some(offsets.leader_epoch),
        }),
        EARLIEST_TIMESTAMP => OffsetAnswer::Found { timestamp: NO_TIMESTAMP, offset: offsets.log_start_offset, leader_epoch: None },
        ts => match lookup(ts)? {
            Some(found) if found.offset < last_fetchable_offset => {
                OffsetAnswer::Found { timestamp: found.timestamp, offset: found.offset, leader_epoch: None }
            }
            _ => unavailable_or(OffsetAnswer::NotFound),
        },
    })
}

/// `Partition.legacyFetchOffsetsForTimestamp` for a consumer: `offsets` (newest first) never
/// name anything above the high watermark; if some did, the HW takes their place.
pub fn capped_at_high_watermark(offsets: Vec<i64>, high_watermark: i64) -> Vec<i64> {
    if !offsets.iter().any(|&o| o > high_watermark) {
        return offsets;
    }
    std::iter::once(high_watermark).chain(offsets.into_iter().skip_while(|&o| o > high_watermark)).collect()
}

impl KafkaApis {
    pub(super) fn handle_list_offsets(&self, request: ListOffsetsRequest, version: i16) -> ResponseKind {
        let requester = Requester::of(request.replica_id.0, request.isolation_level);
        let only_from_leader = request.replica_id.0 != DEBUGGING_REPLICA_ID;
        let mut response = ListOffsetsResponse::default();
        for topic in request.topics {
            let name = topic.name.0.as_str();
            let mut out = ListOffsetsTopicResponse::default();
            out.name = topic.name.clone();
            for p in topic.partitions {
                let mut part = ListOffsetsPartitionResponse::default();
                part.partition_index = p.partition_index;
                part.timestamp = NO_TIMESTAMP;
                part.offset = -1;
                part.leader_epoch = -1;
                let Some(partition) = self.replica_manager.partition(name, p.partition_index) else {
                    part.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
                    out.partitions.push(part);
                    continue;
                };
                let checked = if only_from_leader {
                    partition.check_leader(p.current_leader_epoch)
                } else {
                    check_epoch(partition.leader_epoch(), p.current_leader_epoch)
                };
                if let Err(e) = checked {
                    part.error_code = e.code();
                    out.partitions.push(part);
                    continue;
                }
                if version == 0 {
                    match usize::try_from(p.max_num_offsets) {
                        Ok(max_num_offsets) => {
                            let all = partition.log().legacy_fetch_offsets_before(p.timestamp, max_num_offsets, now_ms());
                            part.old_style_offsets = match requester {
                                Requester::Consumer { .. } => capped_at_high_watermark(all, partition.high_watermark()),
                                Requester::Replica => all,
                            };
                        }
                        Err(_) => part.error_code = codes::UNKNOWN_SERVER_ERROR,
                    }
                    out.partitions.push(part);
                    continue;
                }
                let offsets = PartitionOffsets::of(&partition);
                match fetch_offset_for_timestamp(p.timestamp, requester, &offsets, |ts| partition.log().fetch_offset_by_timestamp(ts)) {
                    Ok(OffsetAnswer::Found { timestamp, offset, leader_epoch }) => {
                        part.timestamp = timestamp;
                        part.offset = offset;
                        if version >= 4 {
                            // The field exists from v4; the codec refuses it earlier.
                            part.leader_epoch = leader_epoch.unwrap_or(-1);
                        }
                    }
                    Ok(OffsetAnswer::NotFound) => {}
                    Ok(OffsetAnswer::OffsetNotAvailable) => part.error_code = codes::OFFSET_NOT_AVAILABLE,
                    Err(e) => part.error_code = log_error_code(&e),
                }
                out.partitions.push(part);
            }
            response.topics.push(out);
        }
        ResponseKind::ListOffsets(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSUMER: Requester = Requester::Consumer { read_committed: false };
    const COMMITTED: Requester = Requester::Consumer { read_committed: true };
    const REPLICA: Requester = Requester::Replica;

    /// Log 2..10, HW 6; `epoch_start` where the current leader epoch (5) began.
    fn offsets(epoch_start: Option<i64>) -> PartitionOffsets {
        PartitionOffsets { log_start_offset: 2, log_end_offset: 10, high_watermark: 6, last_stable_offset: 6, leader_epoch_start_offset: epoch_start, leader_epoch: 5 }
    }

    fn found(timestamp: i64, offset: i64, leader_epoch: Option<i32>) -> OffsetAnswer {
        OffsetAnswer::Found { timestamp, offset, leader_epoch }
    }

    #[test]
    fn answers_follow_fetch_offset_for_timestamp() {
        use OffsetAnswer::{NotFound, OffsetNotAvailable};
        // (timestamp, requester, epoch start, what the time index finds, answer)
        let table = [
            (LATEST_TIMESTAMP, CONSUMER, Some(4), None, found(-1, 6, Some(5))),
            (LATEST_TIMESTAMP, COMMITTED, Some(6), None, found(-1, 6, Some(5))),
            (LATEST_TIMESTAMP, CONSUMER, Some(8), None, OffsetNotAvailable),
            (LATEST_TIMESTAMP, COMMITTED, Some(8), None, OffsetNotAvailable),
            (LATEST_TIMESTAMP, REPLICA, Some(8), None, found(-1, 10, Some(5))),
            (LATEST_TIMESTAMP, CONSUMER, None, None, found(-1, 6, Some(5))),
            (EARLIEST_TIMESTAMP, CONSUMER, Some(8), None, found(-1, 2, None)),
            (EARLIEST_TIMESTAMP, REPLICA, Some(4), None, found(-1, 2, None)),
            (100, CONSUMER, Some(4), Some((150, 5)), found(150, 5, None)),
            (100, CONSUMER, Some(4), Some((150, 6)), NotFound),
            (100, CONSUMER, Some(8), Some((150, 5)), found(150, 5, None)),
            (100, CONSUMER, Some(8), Some((150, 7)), OffsetNotAvailable),
            (100, CONSUMER, Some(8), None, OffsetNotAvailable),
            (100, CONSUMER, Some(4), None, NotFound),
            (100, REPLICA, Some(8), Some((150, 9)), found(150, 9, None)),
            (100, REPLICA, Some(8), None, NotFound),
        ];
        for (i, (timestamp, requester, epoch_start, indexed, expected)) in table.into_iter().enumerate() {
            let lookup = |ts: i64| {
                assert_eq!(ts, timestamp, "row {i}: looked up another timestamp");
                Ok::<_, ()>(indexed.map(|(timestamp, offset)| TimestampOffset { timestamp, offset }))
            };
            let answer = fetch_offset_for_timestamp(timestamp, requester, &offsets(epoch_start), lookup);
            assert_eq!(answer, Ok(expected), "row {i}: {timestamp} asked by {requester:?} with the epoch starting at {epoch_start:?}");
        }
    }

    #[test]
    fn latest_and_earliest_never_search_the_time_index() {
        for timestamp in [LATEST_TIMESTAMP, EARLIEST_TIMESTAMP] {
            let answer = fetch_offset_for_timestamp(timestamp, CONSUMER, &offsets(None), |_| Err("searched"));
            assert!(answer.is_ok(), "{timestamp}: {answer:?}");
        }
    }

    #[test]
    fn v0_offsets_above_the_high_watermark_become_the_high_watermark() {
        assert_eq!(capped_at_high_watermark(vec![250, 200, 100, 0], 220), vec![220, 200, 100, 0]);
        assert_eq!(capped_at_high_watermark(vec![250], 220), vec![220]);
        assert_eq!(capped_at_high_watermark(vec![200, 0], 220), vec![200, 0]);
        assert_eq!(capped_at_high_watermark(vec![], 220), Vec::<i64>::new());
    }

    #[test]
    fn the_requester_comes_from_the_replica_id_and_isolation_level() {
        assert_eq!(Requester::of(-1, 0), CONSUMER);
        assert_eq!(Requester::of(-1, 1), COMMITTED);
        assert_eq!(Requester::of(-2, 0), REPLICA);
        assert_eq!(Requester::of(3, 0), REPLICA);
    }
}
