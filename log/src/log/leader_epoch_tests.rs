//! The leader epoch cache as the log keeps it: appends, election, truncation, retention, and
//! reopening after clean and unclean shutdowns.

use super::*;
use crate::epoch::{EpochEntry, LEADER_EPOCH_CHECKPOINT_FILE};
use crate::test_util::{batch, open_log, segment_bases, stamp, temp_dir, tp};

fn entries(log: &Log) -> Vec<(i32, i64)> {
    log.leader_epoch_entries().iter().map(|e| (e.epoch, e.start_offset)).collect()
}

fn checkpoint_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LEADER_EPOCH_CHECKPOINT_FILE)).expect("leader-epoch-checkpoint")
}

/// A batch as a leader wrote it: `count` records from `base_offset`, stamped with `epoch`.
fn epoch_batch(base_offset: i64, count: usize, epoch: i32) -> Vec<u8> {
    let mut b = batch(count, 100, 1_000);
    stamp(&mut b, base_offset);
    b[12..16].copy_from_slice(&epoch.to_be_bytes());
    b
}

/// Follower batches `(count, epoch)` back to back from offset 0, in one segment per `per_segment`
/// batches. Returns the log and its config.
fn follower_log(dir: &Path, batches: &[(usize, i32)], per_segment: u64) -> (Log, LogConfig) {
    let size = epoch_batch(0, 4, 0).len() as u64;
    let config = LogConfig { segment_bytes: size * per_segment, ..LogConfig::default() };
    let log = open_log(dir, config.clone());
    let mut offset = 0;
    for &(count, epoch) in batches {
        assert_eq!(count, 4, "all test batches are the same size");
        log.append_as_follower(&epoch_batch(offset, count, epoch), 0).expect("append");
        offset += count as i64;
    }
    log.wait_for_background_flushes();
    (log, config)
}

fn reopen(dir: &Path, config: &LogConfig, recovery_point: Option<i64>) -> Log {
    Log::open(dir, tp(), config.clone(), recovery_point, 0).expect("reopen")
}

#[test]
fn leader_appends_record_the_start_of_each_newer_epoch() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig::default());
    assert_eq!((log.latest_epoch(), log.end_offset_for_epoch(0)), (None, (-1, -1)));
    log.append_as_leader(&batch(3, 10, 0), 0, 0).expect("append"); // [0, 3)
    let mut two = batch(2, 10, 0);
    two.extend(batch(1, 10, 0));
    log.append_as_leader(&two, 0, 0).expect("append"); // [3, 6)
    assert_eq!(entries(&log), vec![(0, 0)]);
    log.append_as_leader(&batch(4, 10, 0), 2, 0).expect("append"); // [6, 10)
    log.append_as_leader(&batch(1, 10, 0), 2, 0).expect("append"); // [10, 11)
    assert_eq!(entries(&log), vec![(0, 0), (2, 6)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n2\n0 0\n2 6\n");
    assert_eq!(log.latest_epoch(), Some(2));
    assert_eq!(log.end_offset_for_epoch(0), (0, 6));
    assert_eq!(log.end_offset_for_epoch(1), (0, 6));
    assert_eq!(log.end_offset_for_epoch(2), (2, 11));
    assert_eq!(log.end_offset_for_epoch(3), (-1, -1));
}

#[test]
fn becoming_leader_records_the_new_epoch_at_the_log_end() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig::default());
    log.append_as_leader(&batch(5, 10, 0), 1, 0).expect("append");
    log.assign_epoch_start_offset(4, log.log_end_offset()).expect("elected");
    assert_eq!(entries(&log), vec![(1, 0), (4, 5)]);
    assert_eq!(log.end_offset_for_epoch(1), (1, 5), "epoch 1 ended where epoch 4 began, before any epoch-4 record");
    assert_eq!(log.end_offset_for_epoch(4), (4, 5));
    log.append_as_leader(&batch(2, 10, 0), 4, 0).expect("append");
    assert_eq!(entries(&log), vec![(1, 0), (4, 5)], "the first epoch-4 batch starts where the election said");
    assert_eq!(log.end_offset_for_epoch(4), (4, 7));
    // Re-electing the same epoch later (a repeated LeaderAndIsr) changes nothing.
    log.assign_epoch_start_offset(4, log.log_end_offset()).expect("same epoch");
    assert_eq!(entries(&log), vec![(1, 0), (4, 5)]);
}

#[test]
fn follower_appends_mirror_the_leaders_epochs() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig::default());
    let mut records = epoch_batch(0, 3, 1);
    records.extend(epoch_batch(3, 2, 1));
    records.extend(epoch_batch(5, 4, 3));
    log.append_as_follower(&records, 0).expect("append");
    log.append_as_follower(&epoch_batch(9, 1, 3), 0).expect("append");
    log.append_as_follower(&epoch_batch(12, 2, 6), 0).expect("append after a gap");
    assert_eq!(entries(&log), vec![(1, 0), (3, 5), (6, 12)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n3\n1 0\n3 5\n6 12\n");
    // Batches from a pre-KIP-101 writer (epoch -1) record nothing.
    log.append_as_follower(&epoch_batch(14, 1, -1), 0).expect("append");
    assert_eq!(log.latest_epoch(), Some(6));
    // A refused append records nothing either.
    assert!(log.append_as_follower(&epoch_batch(0, 1, 9), 0).is_err());
    assert_eq!(log.latest_epoch(), Some(6));
}

#[test]
fn truncate_to_drops_the_epochs_that_started_after_the_new_end() {
    let dir = temp_dir();
    let (log, _) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 2), (4, 5), (4, 7)], 2);
    assert_eq!(entries(&log), vec![(1, 0), (2, 4), (5, 12), (7, 16)]);
    assert!(log.truncate_to(16, 0).expect("truncate on an epoch boundary"));
    assert_eq!(entries(&log), vec![(1, 0), (2, 4), (5, 12)]);
    assert_eq!(log.end_offset_for_epoch(5), (5, 16));
    // Cutting inside the batch at 12 ends the log at 12, so epoch 5 keeps no record. (Kafka cuts
    // the cache at the requested 13 and would keep (5, 12) with nothing in it.)
    assert!(log.truncate_to(13, 0).expect("truncate mid-batch"));
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(entries(&log), vec![(1, 0), (2, 4)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n2\n1 0\n2 4\n");
    assert_eq!(log.end_offset_for_epoch(2), (2, 12));
    // The follower goes on in a new epoch.
    log.append_as_follower(&epoch_batch(12, 4, 8), 0).expect("append");
    assert_eq!(entries(&log), vec![(1, 0), (2, 4), (8, 12)]);
}

#[test]
fn truncating_fully_empties_the_cache() {
    let dir = temp_dir();
    let (log, _) = follower_log(dir.path(), &[(4, 1), (4, 2)], 10);
    log.truncate_fully_and_start_at(100, 0).expect("truncate fully");
    assert_eq!(entries(&log), vec![]);
    assert_eq!(checkpoint_text(dir.path()), "0\n0\n");
    log.append_as_follower(&epoch_batch(100, 4, 3), 0).expect("append");
    assert_eq!(entries(&log), vec![(3, 100)]);
    // Truncating below the log start restarts the log there too.
    assert!(log.truncate_to(50, 0).expect("truncate"));
    assert_eq!(entries(&log), vec![]);
}

#[test]
fn retention_moves_the_first_epochs_start_to_the_new_log_start() {
    let dir = temp_dir();
    // Segments [0, 8), [8, 16), [16, 24), [24, 28): epochs 1 at 0, 2 at 4, 3 at 20.
    let (log, _) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 2), (4, 2), (4, 2), (4, 3), (4, 3)], 2);
    log.set_config(LogConfig { retention_bytes: 0, ..log.config() });
    assert_eq!(segment_bases(dir.path()), vec![0, 8, 16, 24]);
    assert_eq!(log.delete_old_segments(0, 16).expect("retention"), 2);
    assert_eq!(log.log_start_offset(), 16);
    assert_eq!(entries(&log), vec![(2, 16), (3, 20)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n2\n2 16\n3 20\n");
    assert_eq!(log.end_offset_for_epoch(1), (1, 16), "below every epoch: the first start");
}

#[test]
fn a_clean_reopen_reads_the_checkpoint_back() {
    let dir = temp_dir();
    let (log, config) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 4)], 2);
    log.assign_epoch_start_offset(6, log.log_end_offset()).expect("elected");
    log.close().expect("close");
    drop(log);
    // Hand-edit the file to show it is read rather than rebuilt: epoch 3 never had a batch.
    std::fs::write(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE), "0\n4\n1 0\n3 4\n4 8\n6 12\n").expect("write");
    let log = reopen(dir.path(), &config, None);
    // Like Kafka, an election with no record yet (6 at the log end) does not survive a restart.
    assert_eq!(entries(&log), vec![(1, 0), (3, 4), (4, 8)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n3\n1 0\n3 4\n4 8\n");
}

#[test]
fn recovery_rebuilds_the_epochs_of_the_recovered_range() {
    let dir = temp_dir();
    // Segments [0, 8) epochs 1, 2; [8, 16) epochs 2, 3; [16, 20) epoch 5.
    let (log, config) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 2), (4, 3), (4, 5)], 2);
    assert_eq!(entries(&log), vec![(1, 0), (2, 4), (3, 12), (5, 16)]);
    drop(log); // crash
    // The epoch-3 batch at 12 was torn; epoch 5's segment is deleted by recovery. The file also
    // claims an epoch the data never had at 9, as a file ahead of unsynced data might.
    let size = epoch_batch(0, 4, 0).len() as u64;
    let segment_8 = dir.path().join("00000000000000000008.log");
    std::fs::OpenOptions::new().write(true).open(&segment_8).and_then(|f| f.set_len(size + 30)).expect("tear");
    std::fs::write(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE), "0\n4\n1 0\n2 4\n3 9\n5 16\n").expect("write");

    let log = reopen(dir.path(), &config, Some(8));
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(entries(&log), vec![(1, 0), (2, 4)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n2\n1 0\n2 4\n");
    assert_eq!(log.end_offset_for_epoch(2), (2, 12));
}

#[test]
fn recovery_adds_epochs_the_checkpoint_missed() {
    let dir = temp_dir();
    let (log, config) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 4), (4, 4)], 2);
    drop(log);
    // The file predates the last epochs (written before them, e.g. restored from an old copy).
    std::fs::write(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE), "0\n1\n1 0\n").expect("write");
    let log = reopen(dir.path(), &config, Some(0));
    assert_eq!(entries(&log), vec![(1, 0), (2, 4), (4, 8)]);
}

#[test]
fn a_missing_or_corrupt_checkpoint_is_rebuilt_from_every_batch() {
    let dir = temp_dir();
    let (log, config) = follower_log(dir.path(), &[(4, 1), (4, 2), (4, 2), (4, 5), (4, 5)], 2);
    let expected = vec![EpochEntry::new(1, 0), EpochEntry::new(2, 4), EpochEntry::new(5, 12)];
    assert_eq!(log.leader_epoch_entries(), expected);
    log.close().expect("close");
    drop(log);

    std::fs::remove_file(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE)).expect("rm");
    let log = reopen(dir.path(), &config, None);
    assert_eq!(log.leader_epoch_entries(), expected);
    assert_eq!(checkpoint_text(dir.path()), "0\n3\n1 0\n2 4\n5 12\n");
    drop(log);

    std::fs::write(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE), "0\n7\n1 0\n").expect("corrupt");
    let log = reopen(dir.path(), &config, None);
    assert_eq!(log.leader_epoch_entries(), expected);
    assert_eq!(checkpoint_text(dir.path()), "0\n3\n1 0\n2 4\n5 12\n", "the corrupt file is replaced");
}

#[test]
fn a_new_empty_log_writes_no_checkpoint_until_an_epoch_starts() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig::default());
    assert!(!dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE).exists());
    log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append");
    assert_eq!(checkpoint_text(dir.path()), "0\n1\n0 0\n");
}

/// KIP-101/279, the trailing-epoch case: a replica that became leader at epoch 5 on log end 100
/// and wrote nothing has `[(3,0),(5,100)]`. Told to truncate at 100 (its log end), it cuts no
/// record but must still drop the epoch-5 entry, so its next OffsetForLeaderEpoch asks about
/// epoch 3 and finds where the leader's epoch 4 began (Kafka's `truncateTo` always truncates the
/// epoch cache from the log end).
#[test]
fn truncating_at_the_log_end_still_drops_trailing_epoch_entries() {
    let dir = temp_dir();
    let (log, _) = follower_log(dir.path(), &[(4, 3), (4, 3)], 100);
    log.assign_epoch_start_offset(5, 8).expect("became leader at epoch 5");
    assert_eq!(entries(&log), vec![(3, 0), (5, 8)]);
    assert!(!log.truncate_to(8, 0).expect("truncate"), "no record is removed");
    assert_eq!(entries(&log), vec![(3, 0)]);
    assert_eq!(checkpoint_text(dir.path()), "0\n1\n3 0\n");
    assert!(!log.truncate_to(20, 0).expect("truncate past the end"));
    assert_eq!((log.log_end_offset(), entries(&log)), (8, vec![(3, 0)]));
}
