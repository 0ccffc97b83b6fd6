//! KIP-101/279's truncation rule as a pure function (Kafka's `AbstractFetcherThread
//! .getOffsetTruncationState`), reference §4.6.
//!
//! The follower tells the leader its latest epoch L, in an OffsetForLeaderEpoch request or as
//! the `LastFetchedEpoch` of a fetch; the leader answers `(E, O)`: the largest epoch it knows
//! ≤ L and where that epoch ends in its log (a fetch gets it as its `DivergingEpoch`, only when
//! it contradicts the follower's log, see `partition::rules::fetch_divergence`). The same rule
//! applies to both answers. The follower looks E up in its own cache
//! (`(local epoch, local end)`: its largest epoch ≤ E and where that ends) and cuts its log:
//!
//! - O undefined (the leader has no epochs): to the high watermark, done;
//! - E undefined (an old leader): to min(O, log end), done;
//! - no local epoch ≤ E: to min(O, log end), done;
//! - local epoch ≠ E: to min(local end, log end), **not done**: the cut removes the follower's
//!   epochs above E (its log end included, see `Log::truncate_to`), so the next question (the
//!   next OffsetForLeaderEpoch, or the next fetch's last fetched epoch) is about an older epoch,
//!   and the loop ends (KIP-279);
//! - local epoch = E: to min(local end, O, log end), done.

/// `UNDEFINED_EPOCH` / `UNDEFINED_EPOCH_OFFSET` in OffsetForLeaderEpoch answers.
pub const UNDEFINED: i64 = -1;

/// Where to cut, and whether the follower may fetch afterwards (Kafka's
/// `OffsetTruncationState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetTruncationState {
    pub offset: i64,
    pub truncation_completed: bool,
}

/// The follower's truncation for the leader's answer `(leader_epoch, leader_end_offset)`, given
/// its own `end_offset_for_epoch(leader_epoch)` = `local`, its log end and its high watermark.
pub fn offset_truncation_state(leader_epoch: i32, leader_end_offset: i64, local: (i32, i64), log_end_offset: i64, high_watermark: i64) -> OffsetTruncationState {
    let (local_epoch, local_end) = local;
    let (offset, truncation_completed) = if leader_end_offset == UNDEFINED {
        (high_watermark, true)
    } else if leader_epoch == UNDEFINED as i32 || local_epoch == UNDEFINED as i32 {
        (leader_end_offset.min(log_end_offset), true)
    } else if local_epoch != leader_epoch {
        (local_end.min(log_end_offset), false)
    } else {
        (local_end.min(leader_end_offset).min(log_end_offset), true)
    };
    OffsetTruncationState { offset, truncation_completed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::rules::{fetch_divergence, FetchDivergence};

    /// `end_offset_for_epoch` over a cache `[(epoch, start)]` with log end `leo` (the follower's
    /// side of the lookup, as `LeaderEpochFileCache::end_offset_for` computes it).
    fn end_offset_for(cache: &[(i32, i64)], leo: i64, requested: i32) -> (i32, i64) {
        match cache.iter().rposition(|(e, _)| *e <= requested) {
            None => (-1, -1),
            Some(i) if i + 1 == cache.len() => (cache[i].0, leo),
            Some(i) => (cache[i].0, cache[i + 1].1),
        }
    }

    /// Runs the follower's whole loop against a leader cache, truncating the follower's cache
    /// as `Log::truncate_to` does (entries at or after the cut go, the log end included), and
    /// returns the final log end.
    fn converge(mut follower: Vec<(i32, i64)>, mut leo: i64, leader: &[(i32, i64)], leader_leo: i64) -> (i64, Vec<(i32, i64)>) {
        for _ in 0..10 {
            let latest = follower.last().map_or(-1, |(e, _)| *e);
            let (e, o) = end_offset_for(leader, leader_leo, latest);
            let state = offset_truncation_state(e, o, end_offset_for(&follower, leo, e), leo, 0);
            leo = leo.min(state.offset);
            follower.retain(|(_, start)| *start < leo);
            if state.truncation_completed {
                return (leo, follower);
            }
        }
        panic!("truncation did not converge");
    }

    /// Runs the follower's truncation on fetch against a leader cache: each fetch carries the
    /// follower's latest epoch and log end, the leader answers with `fetch_divergence`, the
    /// follower truncates as `Log::truncate_to` does, until a fetch is consistent. Returns the
    /// final log end and cache, and how many diverging answers it took.
    fn converge_on_fetch(mut follower: Vec<(i32, i64)>, mut leo: i64, leader: &[(i32, i64)], leader_leo: i64) -> (i64, Vec<(i32, i64)>, usize) {
        for round in 0..10 {
            let Some(latest) = follower.last().map(|(e, _)| *e) else { return (leo, follower, round) };
            let (e, o) = match fetch_divergence(latest, leo, end_offset_for(leader, leader_leo, latest)) {
                FetchDivergence::Consistent => return (leo, follower, round),
                FetchDivergence::Diverging { epoch, end_offset } => (epoch, end_offset),
                FetchDivergence::Unknown => panic!("the leader cannot place epoch {latest}"),
            };
            let state = offset_truncation_state(e, o, end_offset_for(&follower, leo, e), leo, 0);
            leo = leo.min(state.offset);
            follower.retain(|(_, start)| *start < leo);
        }
        panic!("truncation on fetch did not converge");
    }

    #[test]
    fn truncation_table() {
        // (leader (E, O), local (epoch, end), log end, HW) → (offset, completed)
        let cases: &[((i32, i64), (i32, i64), i64, i64, (i64, bool))] = &[
            ((5, -1), (5, 90), 90, 40, (40, true)),     // leader has no epochs: to the HW
            ((-1, 70), (5, 90), 90, 40, (70, true)),    // old leader without epochs in answers
            ((3, 70), (-1, -1), 90, 40, (70, true)),    // nothing local that old
            ((5, 120), (5, 90), 90, 40, (90, true)),    // same epoch, leader longer: keep all
            ((5, 80), (5, 90), 90, 40, (80, true)),     // same epoch, leader shorter: cut there
            ((4, 120), (3, 100), 100, 40, (100, false)), // epochs differ: cut and ask again
            ((4, 120), (3, 100), 95, 40, (95, false)),  // never past the log end
            // Diverging epochs from fetch answers (always defined):
            ((3, 100), (3, 150), 150, 40, (100, true)), // kept writing epoch 3 past its end on the leader
            ((4, 130), (3, 100), 150, 40, (100, false)), // led epoch 5 from 100, unknown to the leader: cut, ask again
            ((5, 150), (5, 160), 160, 40, (150, true)), // ahead of the leader in the same epoch
        ];
        for &((e, o), local, leo, hw, (offset, done)) in cases {
            assert_eq!(offset_truncation_state(e, o, local, leo, hw), OffsetTruncationState { offset, truncation_completed: done }, "{e} {o} {local:?} {leo}");
        }
    }

    /// Review finding 3: the follower became leader at epoch 5 on log end 100 and wrote nothing
    /// (`[(3,0),(5,100)]`); the leader has `[(3,0),(4,80),(6,120)]`. The follower's records
    /// 80..100 are epoch 3 where the leader's are epoch 4: it must end at 80.
    #[test]
    fn a_trailing_epoch_without_records_still_leads_to_the_divergence() {
        let (leo, cache) = converge(vec![(3, 0), (5, 100)], 100, &[(3, 0), (4, 80), (6, 120)], 130);
        assert_eq!((leo, cache), (80, vec![(3, 0)]));
    }

    /// Truncation on fetch reaches the same cut as the OffsetForLeaderEpoch loop, and a follower
    /// whose log agrees with the leader's is never told to truncate.
    #[test]
    fn truncation_on_fetch_converges_to_the_same_cut() {
        let cases: &[(&[(i32, i64)], i64, &[(i32, i64)], i64, i64, usize)] = &[
            // (follower cache, follower log end, leader cache, leader log end, final log end, diverging answers)
            (&[(3, 0), (5, 100)], 100, &[(3, 0), (4, 80), (6, 120)], 130, 80, 2), // review finding 3 above
            (&[(1, 0), (2, 50)], 60, &[(1, 0), (3, 40)], 90, 40, 1),              // several quick leader changes
            (&[(1, 0), (3, 40)], 60, &[(1, 0), (3, 40)], 90, 60, 0),              // identical histories: behind only
            (&[(1, 0), (3, 40)], 70, &[(1, 0), (3, 40), (4, 65)], 90, 65, 1),     // ahead inside the same epoch
            (&[(0, 0)], 15, &[(0, 0), (1, 10)], 13, 10, 1),                       // a deposed leader's zombie tail
        ];
        for &(follower, leo, leader, leader_leo, end, answers) in cases {
            let (on_fetch, cache, rounds) = converge_on_fetch(follower.to_vec(), leo, leader, leader_leo);
            assert_eq!((on_fetch, rounds), (end, answers), "{follower:?} {leo} against {leader:?} {leader_leo}");
            assert_eq!((on_fetch, cache), converge(follower.to_vec(), leo, leader, leader_leo), "same cut as OffsetForLeaderEpoch");
        }
    }

    #[test]
    fn several_quick_leader_changes_converge_kip_279() {
        // Follower wrote epochs 1, 2 (unreplicated); the leader went 1 → 3.
        assert_eq!(converge(vec![(1, 0), (2, 50)], 60, &[(1, 0), (3, 40)], 90).0, 40);
        // Identical histories: nothing to cut.
        assert_eq!(converge(vec![(1, 0), (3, 40)], 60, &[(1, 0), (3, 40)], 90).0, 60);
        // Follower ahead inside the same epoch (it was leader, then lost unacknowledged records).
        assert_eq!(converge(vec![(1, 0), (3, 40)], 70, &[(1, 0), (3, 40), (4, 65)], 90).0, 65);
    }
}
