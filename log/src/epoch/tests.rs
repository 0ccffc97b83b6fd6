//! The cases of Kafka's `LeaderEpochFileCacheTest` and `LeaderEpochCheckpointFileTest`, plus the
//! file format byte for byte.

use super::*;
use crate::test_util::{temp_dir, tp};

const UNDEFINED: (i32, i64) = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);

fn e(epoch: i32, start_offset: i64) -> EpochEntry {
    EpochEntry::new(epoch, start_offset)
}

/// An in-memory cache after assigning `entries` in order.
fn cache_of(entries: &[(i32, i64)]) -> LeaderEpochFileCache {
    let mut cache = LeaderEpochFileCache::in_memory(tp());
    for &(epoch, offset) in entries {
        cache.assign(epoch, offset).expect("in memory");
    }
    cache
}

fn entries_of(cache: &LeaderEpochFileCache) -> Vec<(i32, i64)> {
    cache.entries().iter().map(|e| (e.epoch, e.start_offset)).collect()
}

#[test]
fn end_offset_for_follows_kafka() {
    // (assigned entries, requested epoch, log end offset, expected answer)
    type Case = (&'static [(i32, i64)], i32, i64, (i32, i64));
    let cases: &[Case] = &[
        // Requested epoch is the latest: the log end.
        (&[(2, 10)], 2, 11, (2, 11)),
        (&[(2, 11), (2, 12)], 2, 14, (2, 14)),
        // An earlier epoch ends where the next one starts.
        (&[(1, 11), (1, 12), (2, 13), (2, 14), (3, 15), (3, 16)], 2, 17, (2, 15)),
        (&[(0, 0), (1, 3), (2, 6)], 0, 9, (0, 3)),
        (&[(0, 0), (1, 3), (2, 6)], 1, 9, (1, 6)),
        // An unknown epoch between known ones: the largest known epoch below it.
        (&[(0, 10), (2, 13), (4, 17)], 1, 0, (0, 13)),
        (&[(0, 10), (2, 13), (4, 17)], 3, 0, (2, 17)),
        // Below every known epoch: the requested epoch and the first start offset.
        (&[(5, 11), (6, 12), (7, 13)], 4, 0, (4, 11)),
        // Above the latest, undefined, or nothing known.
        (&[(2, 100)], 3, 100, UNDEFINED),
        (&[(2, 11), (3, 12)], UNDEFINED_EPOCH, 0, UNDEFINED),
        (&[], UNDEFINED_EPOCH, 73, UNDEFINED),
        (&[], 0, 0, UNDEFINED),
        // Several elections with no records in between: each epoch ends where the next starts.
        (&[(0, 0), (1, 0)], 0, 0, (0, 0)),
        (&[(0, 0), (1, 0)], 1, 5, (1, 5)),
    ];
    for (assigned, requested, leo, expected) in cases {
        let cache = cache_of(assigned);
        assert_eq!(cache.end_offset_for(*requested, *leo), *expected, "entries {assigned:?} requested {requested} leo {leo}");
    }
}

#[test]
fn two_quick_elections_keep_only_the_later_epoch_at_that_offset() {
    // Kafka's shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes: (0, 0) then (1, 0).
    let cache = cache_of(&[(0, 0), (1, 0)]);
    assert_eq!(entries_of(&cache), vec![(1, 0)]);
    assert_eq!(cache.end_offset_for(0, 5), (0, 0), "epoch 0 is below every entry: it ends at the first start");
}

#[test]
fn assign_keeps_an_epochs_first_start_offset() {
    let mut cache = cache_of(&[(2, 6)]);
    assert!(!cache.assign(2, 7).expect("assign"), "same epoch, later offset: no-op");
    assert!(!cache.assign(2, 10).expect("assign"));
    assert_eq!(entries_of(&cache), vec![(2, 6)]);
    // Same epoch at an earlier offset moves its start back (shouldTruncateIfMatchingEpochButEarlierStartingOffset).
    let mut cache = cache_of(&[(5, 11), (6, 12), (7, 13)]);
    assert!(cache.assign(7, 12).expect("assign"));
    assert_eq!(entries_of(&cache), vec![(5, 11), (7, 12)]);
    assert_eq!(cache.end_offset_for(5, 0), (5, 12));
    assert_eq!(cache.end_offset_for(6, 0), (5, 12));
}

#[test]
fn assign_keeps_entries_strictly_monotonic() {
    // A newer epoch at the same offset replaces the older entry.
    assert_eq!(entries_of(&cache_of(&[(2, 9), (3, 9)])), vec![(3, 9)]);
    // A newer epoch at an earlier offset drops the conflicting entry.
    assert_eq!(entries_of(&cache_of(&[(2, 6), (3, 5)])), vec![(3, 5)]);
    // An older epoch after newer ones: the newer ones go (shouldEnforceMonotonicallyIncreasingEpochs).
    let cache = cache_of(&[(1, 5), (2, 6), (1, 7)]);
    assert_eq!(entries_of(&cache), vec![(1, 7)]);
    assert_eq!(cache.latest_epoch(), Some(1));
    assert_eq!(cache.end_offset_for(1, 8), (1, 8));
    assert_eq!(cache.end_offset_for(2, 8), UNDEFINED);
    // An older epoch below the latest start keeps what is still consistent before it.
    assert_eq!(entries_of(&cache_of(&[(1, 0), (3, 10), (2, 20)])), vec![(1, 0), (2, 20)]);
}

#[test]
fn negative_epochs_and_offsets_are_ignored() {
    let mut cache = cache_of(&[(1, 0)]);
    assert!(!cache.assign(-1, 5).expect("assign"));
    assert!(!cache.assign(2, -1).expect("assign"));
    assert_eq!(entries_of(&cache), vec![(1, 0)]);
}

#[test]
fn truncate_from_end_removes_entries_at_or_after_the_offset() {
    let mut cache = cache_of(&[(2, 6), (3, 8), (4, 11)]);
    cache.truncate_from_end(9).expect("truncate");
    assert_eq!(entries_of(&cache), vec![(2, 6), (3, 8)]);
    cache.truncate_from_end(8).expect("truncate on a boundary is inclusive");
    assert_eq!(entries_of(&cache), vec![(2, 6)]);
    cache.truncate_from_end(100).expect("past the end: nothing");
    cache.truncate_from_end(-1).expect("undefined offset: nothing");
    assert_eq!(entries_of(&cache), vec![(2, 6)]);
    cache.truncate_from_end(0).expect("everything");
    assert!(cache.is_empty());
    assert_eq!(cache.latest_epoch(), None);
}

#[test]
fn truncate_from_start_keeps_the_epoch_of_the_new_first_offset() {
    let assigned = [(2, 6), (3, 8), (4, 11)];
    // (new log start, expected entries)
    let cases: &[(i64, &[(i32, i64)])] = &[
        (1, &[(2, 6), (3, 8), (4, 11)]),
        (6, &[(2, 6), (3, 8), (4, 11)]),
        (7, &[(2, 7), (3, 8), (4, 11)]),
        (8, &[(3, 8), (4, 11)]),
        (9, &[(3, 9), (4, 11)]),
        (11, &[(4, 11)]),
        (15, &[(4, 15)]),
    ];
    for (start, expected) in cases {
        let mut cache = cache_of(&assigned);
        cache.truncate_from_start(*start).expect("truncate");
        assert_eq!(entries_of(&cache), expected.to_vec(), "log start {start}");
    }
    let mut empty = cache_of(&[]);
    empty.truncate_from_start(5).expect("truncate");
    assert!(empty.is_empty());
}

#[test]
fn epoch_for_offset_is_the_epoch_of_the_record() {
    let cache = cache_of(&[(2, 6), (3, 8), (4, 11)]);
    let got: Vec<Option<i32>> = [5, 6, 7, 8, 10, 11, 500].iter().map(|&o| cache.epoch_for_offset(o)).collect();
    assert_eq!(got, vec![None, Some(2), Some(2), Some(3), Some(3), Some(4), Some(4)]);
}

#[test]
fn the_checkpoint_file_is_kafkas_format_byte_for_byte() {
    let dir = temp_dir();
    let file = LeaderEpochCheckpointFile::in_dir(dir.path());
    let mut cache = LeaderEpochFileCache::load(tp(), file.clone()).expect("load");
    assert!(cache.is_empty());
    assert!(!file.path().exists(), "loading does not create the file");
    cache.assign(0, 0).expect("assign");
    assert_eq!(std::fs::read_to_string(file.path()).expect("read"), "0\n1\n0 0\n");
    cache.assign(3, 120).expect("assign");
    assert_eq!(std::fs::read_to_string(file.path()).expect("read"), "0\n2\n0 0\n3 120\n");
    assert!(!dir.path().join("leader-epoch-checkpoint.tmp").exists());
    // A no-op does not write the file.
    std::fs::remove_file(file.path()).expect("remove");
    assert!(!cache.assign(3, 200).expect("assign"));
    cache.truncate_from_end(500).expect("truncate past the end");
    cache.truncate_from_start(0).expect("truncate before the start");
    assert!(!file.path().exists());
    cache.truncate_from_end(120).expect("truncate");
    assert_eq!(std::fs::read_to_string(file.path()).expect("read"), "0\n1\n0 0\n");
    cache.clear_and_flush().expect("clear");
    assert_eq!(std::fs::read_to_string(file.path()).expect("read"), "0\n0\n");
}

#[test]
fn entries_persist_between_instances() {
    let dir = temp_dir();
    let file = LeaderEpochCheckpointFile::in_dir(dir.path());
    let mut cache = LeaderEpochFileCache::load(tp(), file.clone()).expect("load");
    for (epoch, offset) in [(1, 0), (2, 6), (5, 40)] {
        cache.assign(epoch, offset).expect("assign");
    }
    cache.truncate_from_start(3).expect("truncate");
    let reloaded = LeaderEpochFileCache::load(tp(), file).expect("reload");
    assert_eq!(reloaded.entries(), &[e(1, 3), e(2, 6), e(5, 40)]);
}

#[test]
fn kafka_written_files_are_read_and_empty_files_are_empty() {
    let dir = temp_dir();
    let file = LeaderEpochCheckpointFile::in_dir(dir.path());
    assert_eq!(file.read().expect("read"), None, "missing");
    std::fs::write(file.path(), "").expect("write");
    assert_eq!(file.read().expect("read"), Some(vec![]));
    // Kafka splits on any whitespace; a trailing newline is optional.
    std::fs::write(file.path(), "0\n3\n0 0\n1  17\n4\t230").expect("write");
    assert_eq!(file.read().expect("read"), Some(vec![e(0, 0), e(1, 17), e(4, 230)]));
}

#[test]
fn corrupt_files_are_invalid_data_naming_the_file() {
    let dir = temp_dir();
    let file = LeaderEpochCheckpointFile::in_dir(dir.path());
    for text in ["1\n0\n", "0\n2\n0 0\n", "0\n1\n0\n", "0\n1\n0 0 0\n", "0\n1\nx 0\n", "0\n1\n-1 0\n", "0\n1\n0 -5\n", "0\nzz\n", "0\n"] {
        std::fs::write(file.path(), text).expect("write");
        match file.read() {
            Err(err @ LogError::Io { .. }) => {
                let LogError::Io { ref path, ref source } = err else { unreachable!() };
                assert_eq!(source.kind(), io::ErrorKind::InvalidData, "{text:?}");
                assert_eq!(path, file.path(), "{text:?}");
                assert!(err.to_string().contains("leader-epoch-checkpoint"), "{err}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

#[test]
fn a_non_monotonic_file_loads_as_kafka_would_assign_it() {
    let dir = temp_dir();
    let file = LeaderEpochCheckpointFile::in_dir(dir.path());
    std::fs::write(file.path(), "0\n3\n1 0\n3 10\n2 20\n").expect("write");
    let cache = LeaderEpochFileCache::load(tp(), file).expect("load");
    assert_eq!(cache.entries(), &[e(1, 0), e(2, 20)]);
}
