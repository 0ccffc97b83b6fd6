//! The leader's replication rules as pure functions over plain data: what Kafka's `Partition`
//! decides in `maybeIncrementLeaderHW`, `getOutOfSyncReplicas`, `isFollowerAtHighwatermark`,
//! `makeLeader`, `readRecords`' diverging-epoch check and `Replica.updateFetchState` (reference
//! §4.2–4.3, §4.6). `Partition` calls them under its lock; here they are tested with tables.

use std::collections::HashMap;

use odradek_log::epoch::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};

/// A follower's log end the leader has not heard yet (Kafka's `UnknownOffset`).
pub const UNKNOWN_OFFSET: i64 = -1;

/// What the leader knows about one follower (Kafka's `Replica`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end: the offset of its last fetch (`UNKNOWN_OFFSET` until it fetches
    /// from this leader).
    pub log_end_offset: i64,
    pub log_start_offset: i64,
    pub last_fetch_time_ms: i64,
    /// The leader's log end at the follower's previous fetch.
    pub last_fetch_leader_log_end_offset: i64,
    pub last_caught_up_time_ms: i64,
}

impl FollowerState {
    /// A follower the leader has not heard from, caught up at `last_caught_up_time_ms`.
    pub fn unknown(last_caught_up_time_ms: i64) -> FollowerState {
        FollowerState { log_end_offset: UNKNOWN_OFFSET, log_start_offset: UNKNOWN_OFFSET, last_fetch_time_ms: 0, last_fetch_leader_log_end_offset: UNKNOWN_OFFSET, last_caught_up_time_ms }
    }

    /// `Replica.updateFetchState`: the follower fetched from `fetch_offset` while the leader's
    /// log ended at `leader_log_end_offset`. A fetch at the leader's log end makes it caught up
    /// now; a fetch at the leader's log end *of its previous fetch* makes it caught up then.
    pub fn on_fetch(self, fetch_offset: i64, log_start_offset: i64, leader_log_end_offset: i64, now_ms: i64) -> FollowerState {
        let last_caught_up_time_ms = if fetch_offset >= leader_log_end_offset {
            now_ms.max(self.last_caught_up_time_ms)
        } else if self.last_fetch_leader_log_end_offset >= 0 && fetch_offset >= self.last_fetch_leader_log_end_offset {
            self.last_caught_up_time_ms.max(self.last_fetch_time_ms)
        } else {
            self.last_caught_up_time_ms
        };
        FollowerState { log_end_offset: fetch_offset, log_start_offset, last_fetch_time_ms: now_ms, last_fetch_leader_log_end_offset: leader_log_end_offset, last_caught_up_time_ms }
    }
}

/// The ISR assumed for the high watermark while an ISR change is in flight (KIP-497's *maximal*
/// ISR): the committed ISR plus the members a pending change adds; a pending shrink is not
/// assumed until committed.
pub fn maximal_isr(isr: &[i32], pending: Option<&[i32]>) -> Vec<i32> {
    let mut maximal = isr.to_vec();
    if let Some(pending) = pending {
        maximal.extend(pending.iter().filter(|r| !isr.contains(r)));
    }
    maximal
}

/// `maybeIncrementLeaderHW`'s candidate: the smallest log end among the leader and every
/// follower that is in the maximal ISR or was caught up within `replica_lag_time_max_ms` (the
/// second clause holds the HW back for a follower about to join). A follower not heard from
/// yields `UNKNOWN_OFFSET`, below any HW, so the caller's "never move backwards" keeps the HW.
pub fn high_watermark_candidate(leader_log_end_offset: i64, followers: &HashMap<i32, FollowerState>, maximal_isr: &[i32], now_ms: i64, replica_lag_time_max_ms: i64) -> i64 {
    followers
        .iter()
        .filter(|(id, f)| maximal_isr.contains(id) || now_ms - f.last_caught_up_time_ms <= replica_lag_time_max_ms)
        .map(|(_, f)| f.log_end_offset)
        .fold(leader_log_end_offset, i64::min)
}

/// `getOutOfSyncReplicas`: the ISR members (never the leader) whose log end differs from the
/// leader's and that have not been caught up for `replica_lag_time_max_ms`.
pub fn out_of_sync_replicas(isr: &[i32], leader: i32, followers: &HashMap<i32, FollowerState>, leader_log_end_offset: i64, now_ms: i64, replica_lag_time_max_ms: i64) -> Vec<i32> {
    isr.iter()
        .copied()
        .filter(|r| *r != leader)
        .filter(|r| followers.get(r).is_none_or(|f| f.log_end_offset != leader_log_end_offset && now_ms - f.last_caught_up_time_ms > replica_lag_time_max_ms))
        .collect()
}

/// `isFollowerAtHighwatermark`: a follower may join the ISR once its log end reaches both the
/// high watermark and the start of the leader's current epoch.
pub fn can_join_isr(follower_log_end_offset: i64, high_watermark: i64, leader_epoch_start_offset: i64) -> bool {
    follower_log_end_offset >= high_watermark && follower_log_end_offset >= leader_epoch_start_offset
}

/// `makeLeader`'s follower set for a new leader epoch. A broker that was not leader starts with
/// every follower unknown (their log ends are learnt from their next fetches); one that stays
/// leader keeps the log ends it knows. Caught-up times restart: ISR members count as caught up
/// now, the others never were, and each fetch is measured against the epoch's start offset.
pub fn followers_on_becoming_leader(
    previous: &HashMap<i32, FollowerState>,
    was_leader: bool,
    replicas: &[i32],
    isr: &[i32],
    local: i32,
    leader_epoch_start_offset: i64,
    now_ms: i64,
) -> HashMap<i32, FollowerState> {
    replicas
        .iter()
        .filter(|r| **r != local)
        .map(|&r| {
            let caught_up = if isr.contains(&r) { now_ms } else { 0 };
            let mut f = previous.get(&r).copied().filter(|_| was_leader).unwrap_or(FollowerState::unknown(caught_up));
            f.last_fetch_leader_log_end_offset = leader_epoch_start_offset;
            f.last_fetch_time_ms = now_ms;
            f.last_caught_up_time_ms = caught_up;
            (r, f)
        })
        .collect()
}

/// What the leader's log says of a fetch that carries the follower's `LastFetchedEpoch` (Fetch
/// v12+, KIP-595's truncation on fetch as Kafka 2.7+ brokers use it between themselves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchDivergence {
    /// The follower's log agrees with the leader's up to the fetch offset: read as usual.
    Consistent,
    /// The follower's records from `end_offset` on (or its epochs after `epoch`) are not the
    /// leader's: the answer carries this `DivergingEpoch` and no records, and the follower
    /// truncates as it would for an OffsetForLeaderEpoch answer.
    Diverging { epoch: i32, end_offset: i64 },
    /// The leader cannot say where that epoch ends (it has no epochs, or none that old and
    /// later): OFFSET_OUT_OF_RANGE.
    Unknown,
}

/// `Partition.readRecords`' check: `leader_end` is the leader's `endOffsetForEpoch(last_fetched_epoch)`,
/// the largest epoch it knows at or below the follower's and the offset where that epoch ends
/// in its log. The follower diverges if the leader never had its epoch (the answer is an older
/// one) or if that epoch ends in the leader's log before the follower's fetch offset.
pub fn fetch_divergence(last_fetched_epoch: i32, fetch_offset: i64, leader_end: (i32, i64)) -> FetchDivergence {
    let (epoch, end_offset) = leader_end;
    if epoch == UNDEFINED_EPOCH || end_offset == UNDEFINED_EPOCH_OFFSET {
        FetchDivergence::Unknown
    } else if epoch < last_fetched_epoch || end_offset < fetch_offset {
        FetchDivergence::Diverging { epoch, end_offset }
    } else {
        FetchDivergence::Consistent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG: i64 = 30_000;

    fn follower(log_end_offset: i64, last_caught_up_time_ms: i64) -> FollowerState {
        FollowerState { log_end_offset, log_start_offset: 0, last_fetch_time_ms: 0, last_fetch_leader_log_end_offset: -1, last_caught_up_time_ms }
    }

    #[test]
    fn high_watermark_candidate_table() {
        let now = 100_000;
        // (leader log end, followers (id, log end, caught up at), maximal ISR, expected)
        let cases: &[(i64, &[(i32, i64, i64)], &[i32], i64)] = &[
            (10, &[], &[1], 10),                                       // alone in the ISR
            (10, &[(2, 7, now), (3, 9, now)], &[1, 2, 3], 7),          // smallest ISR member
            (10, &[(2, 7, 0), (3, 9, now)], &[1, 3], 9),               // 2 is out and lagging: ignored
            (10, &[(2, 7, now - 1_000), (3, 9, now)], &[1, 3], 7),     // 2 is out but caught up recently: held back
            (10, &[(2, 7, 0)], &[1, 2], 7),                            // in the maximal ISR though lagging
            (10, &[(2, UNKNOWN_OFFSET, now), (3, 10, now)], &[1, 2, 3], UNKNOWN_OFFSET), // unknown follower: no advance
            (10, &[(2, 12, now)], &[1, 2], 10),                        // never above the leader's log end
        ];
        for (leader_leo, fs, maximal, expected) in cases {
            let followers = fs.iter().map(|&(id, leo, t)| (id, follower(leo, t))).collect();
            assert_eq!(high_watermark_candidate(*leader_leo, &followers, maximal, now, LAG), *expected, "{leader_leo} {fs:?} {maximal:?}");
        }
    }

    #[test]
    fn fetch_state_table() {
        // (previous leader log end, previous fetch time, caught up at, fetch offset, leader log end now, expected caught up)
        let cases: &[(i64, i64, i64, i64, i64, i64)] = &[
            (-1, 0, 0, 10, 10, 500),    // at the leader's log end: caught up now
            (-1, 0, 0, 5, 10, 0),       // behind, nothing to compare with
            (8, 400, 0, 8, 10, 400),    // reached what the leader had at the previous fetch
            (8, 400, 0, 7, 10, 0),      // not even that
            (8, 400, 450, 7, 10, 450),  // never goes backwards
        ];
        for &(prev_leo, prev_time, caught_up, fetch_offset, leader_leo, expected) in cases {
            let before = FollowerState { log_end_offset: 0, log_start_offset: 0, last_fetch_time_ms: prev_time, last_fetch_leader_log_end_offset: prev_leo, last_caught_up_time_ms: caught_up };
            let after = before.on_fetch(fetch_offset, 0, leader_leo, 500);
            assert_eq!(after.last_caught_up_time_ms, expected, "{before:?} fetch {fetch_offset} leader {leader_leo}");
            assert_eq!((after.log_end_offset, after.last_fetch_time_ms, after.last_fetch_leader_log_end_offset), (fetch_offset, 500, leader_leo));
        }
    }

    #[test]
    fn out_of_sync_table() {
        let now = 100_000;
        let followers: HashMap<i32, FollowerState> = [(2, follower(10, 0)), (3, follower(7, 0)), (4, follower(7, now - 10)), (5, follower(7, 0))].into();
        // 2 is at the leader's log end, 4 caught up recently, 3 and 5 lag; 6 was never heard of.
        assert_eq!(out_of_sync_replicas(&[1, 2, 3, 4, 6], 1, &followers, 10, now, LAG), vec![3, 6]);
        assert_eq!(out_of_sync_replicas(&[1], 1, &followers, 10, now, LAG), Vec::<i32>::new(), "the leader never leaves");
    }

    #[test]
    fn joining_the_isr_needs_the_high_watermark_and_the_epoch_start() {
        // (follower log end, HW, epoch start, joins)
        for &(leo, hw, start, joins) in &[(10, 10, 10, true), (9, 10, 5, false), (10, 8, 12, false), (12, 8, 12, true)] {
            assert_eq!(can_join_isr(leo, hw, start), joins, "{leo} {hw} {start}");
        }
    }

    #[test]
    fn maximal_isr_assumes_expansions_not_shrinks() {
        assert_eq!(maximal_isr(&[1, 2], None), vec![1, 2]);
        assert_eq!(maximal_isr(&[1, 2], Some(&[1, 2, 3])), vec![1, 2, 3]);
        assert_eq!(maximal_isr(&[1, 2, 3], Some(&[1, 2])), vec![1, 2, 3]);
    }

    #[test]
    fn becoming_leader_resets_followers_as_kafka_does() {
        let known: HashMap<i32, FollowerState> = [(2, follower(40, 10)), (3, follower(35, 10))].into();
        // A new leader knows nothing of its followers; ISR members count as caught up now.
        let fresh = followers_on_becoming_leader(&known, false, &[1, 2, 3], &[1, 2], 1, 50, 900);
        assert_eq!(fresh[&2], FollowerState { last_fetch_leader_log_end_offset: 50, last_fetch_time_ms: 900, ..FollowerState::unknown(900) });
        assert_eq!(fresh[&3].last_caught_up_time_ms, 0);
        assert_eq!(fresh.len(), 2, "only the other replicas");
        // A leader staying leader in a new epoch keeps the log ends it knows.
        let kept = followers_on_becoming_leader(&known, true, &[1, 2, 3, 4], &[1, 2, 3], 1, 50, 900);
        assert_eq!((kept[&2].log_end_offset, kept[&3].log_end_offset, kept[&4].log_end_offset), (40, 35, UNKNOWN_OFFSET));
        assert_eq!(kept[&3].last_caught_up_time_ms, 900);
    }

    #[test]
    fn fetch_divergence_table() {
        use FetchDivergence::*;
        // The leader's epochs are [(3, 0), (5, 100)] with log end 150; each case gives the
        // follower's (last fetched epoch, fetch offset) and the leader's end for that epoch.
        let cases: &[(i32, i64, (i32, i64), FetchDivergence)] = &[
            (5, 150, (5, 150), Consistent),                                   // caught up
            (5, 120, (5, 150), Consistent),                                   // behind in the same epoch
            (5, 160, (5, 150), Diverging { epoch: 5, end_offset: 150 }),      // ahead of the leader's log end
            (3, 90, (3, 100), Consistent),                                    // behind in an older epoch
            (3, 100, (3, 100), Consistent),                                   // exactly at the epoch's end
            (3, 105, (3, 100), Diverging { epoch: 3, end_offset: 100 }),      // kept writing epoch 3 past it
            (4, 110, (3, 100), Diverging { epoch: 3, end_offset: 100 }),      // led epoch 4, which the leader never had
            (4, 90, (3, 100), Diverging { epoch: 3, end_offset: 100 }),       // even below the end: its epoch 4 is unknown
            (1, 60, (1, 0), Diverging { epoch: 1, end_offset: 0 }),           // older than any epoch the leader has
            (7, 150, (-1, -1), Unknown),                                      // newer than the leader's: cannot be placed
        ];
        for &(epoch, offset, leader_end, expected) in cases {
            assert_eq!(fetch_divergence(epoch, offset, leader_end), expected, "{epoch} {offset} {leader_end:?}");
        }
    }
}
