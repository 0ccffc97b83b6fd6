//! Recovery: torn tails, corrupt batches, missing or garbage indexes, clean reopen.

use super::*;
use crate::log::Log;
use crate::test_util::{batch, open_log, segment_bases, slice_bytes, temp_dir, tp, whole_batches};

const BATCH_RECORDS: i64 = 4;

/// Writes 12 batches of 4 records, 3 batches per segment (segments at 0, 12, 24, 36), and
/// "crashes" (drops the log without closing). Returns the config and one batch's size.
fn crashed_log(dir: &Path) -> (LogConfig, u64) {
    let b = batch(BATCH_RECORDS as usize, 200, 1_000);
    let config = LogConfig { segment_bytes: b.len() as u64 * 3, index_interval_bytes: b.len() as u32 - 1, ..LogConfig::default() };
    let log = open_log(dir, config.clone());
    for _ in 0..12 {
        log.append_as_leader(&b, 0, 0).expect("append");
    }
    log.wait_for_background_flushes();
    assert_eq!(segment_bases(dir), vec![0, 12, 24, 36]);
    (config, b.len() as u64)
}

fn reopen(dir: &Path, config: &LogConfig, recovery_point: Option<i64>) -> Log {
    Log::open(dir, tp(), config.clone(), recovery_point, 0).expect("reopen")
}

/// Every offset below the log end reads back from the batch that holds it.
fn assert_every_offset_reads(log: &Log) {
    for offset in log.log_start_offset()..log.log_end_offset() {
        let slice = log.read(offset, 1, i64::MAX, true).expect("read").records.expect("data");
        let h = whole_batches(&slice_bytes(&slice))[0];
        assert!(h.base_offset <= offset && offset <= h.last_offset(), "offset {offset} read batch {}..={}", h.base_offset, h.last_offset());
    }
}

fn flip_byte(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at as usize] ^= 0x55;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_torn_tail_is_cut_and_the_log_continues_from_the_last_whole_batch() {
    let dir = temp_dir();
    let (config, size) = crashed_log(dir.path());
    let last = dir.path().join("00000000000000000036.log");
    std::fs::OpenOptions::new().write(true).open(&last).and_then(|f| f.set_len(2 * size + 30)).expect("tear mid-batch");
    std::fs::remove_file(dir.path().join("00000000000000000036.index")).expect("rm index");

    let log = reopen(dir.path(), &config, Some(24));
    assert_eq!(log.log_end_offset(), 44, "two whole batches survive in the last segment");
    assert_eq!(log.recovery_point(), 44);
    assert_eq!(std::fs::metadata(&last).expect("meta").len(), 2 * size);
    assert_eq!(log.num_segments(), 4);
    assert_every_offset_reads(&log);
    // Rebuilt indexes: the second batch of each segment is indexed (interval = one batch).
    assert_eq!(log.segments().last().expect("segment").index_entry_counts().0, 1);
    assert_eq!(log.append_as_leader(&batch(2, 10, 0), 0, 0).expect("append").first_offset, 44);
    assert_every_offset_reads(&log);
}

#[test]
fn a_torn_header_is_cut_too() {
    let dir = temp_dir();
    let (config, size) = crashed_log(dir.path());
    let last = dir.path().join("00000000000000000036.log");
    std::fs::OpenOptions::new().write(true).open(&last).and_then(|f| f.set_len(size + 20)).expect("tear in header");
    let log = reopen(dir.path(), &config, Some(36));
    assert_eq!(log.log_end_offset(), 40);
    assert_every_offset_reads(&log);
}

#[test]
fn a_corrupt_batch_truncates_its_segment_and_deletes_later_ones() {
    let dir = temp_dir();
    let (config, size) = crashed_log(dir.path());
    // Corrupt the payload of the second batch of segment 12 (offsets 16..20).
    flip_byte(&dir.path().join("00000000000000000012.log"), size + 100);

    let log = reopen(dir.path(), &config, Some(12));
    assert_eq!(log.log_end_offset(), 16);
    assert_eq!(segment_bases(dir.path()), vec![0, 12]);
    assert!(!dir.path().join("00000000000000000024.index").exists());
    assert_eq!(log.size(), 3 * size + size);
    assert_every_offset_reads(&log);
    assert_eq!(log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append").first_offset, 16);
}

#[test]
fn segments_below_the_recovery_point_are_trusted_without_validation() {
    let dir = temp_dir();
    let (config, size) = crashed_log(dir.path());
    flip_byte(&dir.path().join("00000000000000000000.log"), size + 100);
    let log = reopen(dir.path(), &config, Some(30));
    assert_eq!(log.log_end_offset(), 48, "segment 0 was fsynced, so it is not re-read");

    // A full recovery (no checkpoint entry: recovery point 0) does find it.
    drop(log);
    let log = reopen(dir.path(), &config, Some(0));
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(segment_bases(dir.path()), vec![0]);
}

#[test]
fn a_clean_reopen_trusts_files_but_rebuilds_missing_or_garbage_indexes() {
    let dir = temp_dir();
    let (config, _) = crashed_log(dir.path());
    let log = reopen(dir.path(), &config, Some(0));
    log.close().expect("close");
    let index_12 = std::fs::read(dir.path().join("00000000000000000012.index")).expect("index");
    let time_24 = std::fs::read(dir.path().join("00000000000000000024.timeindex")).expect("timeindex");
    assert!(!index_12.is_empty() && !time_24.is_empty());

    std::fs::remove_file(dir.path().join("00000000000000000012.index")).expect("rm");
    std::fs::write(dir.path().join("00000000000000000024.timeindex"), [7u8; 13]).expect("garbage");
    let log = reopen(dir.path(), &config, None);
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.num_segments()), (0, 48, 4));
    log.close().expect("close");
    assert_eq!(std::fs::read(dir.path().join("00000000000000000012.index")).expect("index"), index_12);
    assert_eq!(std::fs::read(dir.path().join("00000000000000000024.timeindex")).expect("timeindex"), time_24);
    assert_every_offset_reads(&reopen(dir.path(), &config, None));
}

#[test]
fn leftover_temporary_and_orphaned_files_are_removed() {
    let dir = temp_dir();
    let (config, _) = crashed_log(dir.path());
    for name in ["00000000000000000000.log.deleted", "00000000000000000099.index.swap", "00000000000000000012.log.cleaned", "00000000000000000777.index", "00000000000000000777.timeindex"] {
        std::fs::write(dir.path().join(name), b"x").expect("write");
    }
    std::fs::write(dir.path().join("leader-epoch-checkpoint"), b"0\n0\n").expect("write");
    let log = reopen(dir.path(), &config, None);
    let mut names: Vec<String> = std::fs::read_dir(dir.path()).expect("dir").filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort();
    assert!(names.iter().all(|n| !n.contains("777") && !n.ends_with(".deleted") && !n.ends_with(".swap") && !n.ends_with(".cleaned")), "{names:?}");
    assert!(names.contains(&"leader-epoch-checkpoint".to_string()), "files the log does not own are left alone");
    assert_eq!(log.log_end_offset(), 48);
}

#[test]
fn an_empty_directory_becomes_a_log_starting_at_zero() {
    let dir = temp_dir();
    let path = dir.path().join("fresh-3");
    let log = Log::open(&path, tp(), LogConfig::default(), Some(0), 0).expect("open");
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.recovery_point(), log.num_segments()), (0, 0, 0, 1));
    assert_eq!(segment_bases(&path), vec![0]);
    assert!(path.join("00000000000000000000.index").exists() && path.join("00000000000000000000.timeindex").exists());
}

#[test]
fn everything_truncated_leaves_an_empty_first_segment() {
    let dir = temp_dir();
    let (config, _) = crashed_log(dir.path());
    flip_byte(&dir.path().join("00000000000000000000.log"), 30);
    let log = reopen(dir.path(), &config, Some(0));
    assert_eq!((log.log_end_offset(), log.size(), log.num_segments()), (0, 0, 1));
    assert_eq!(log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append").first_offset, 0);
}
