use super::*;
use crate::test_util::{batch, batch_with_timestamps, open_log, segment_bases, temp_dir};

/// Three segments of two 4-record batches: [0, 8) with timestamps ≤ 1103, [8, 16) ≤ 2103 and the
/// active [16, 24) ≤ 3103. Returns one batch's size.
fn three_segments(dir: &std::path::Path, config: LogConfig) -> (Log, i64) {
    let size = batch(4, 100, 0).len() as u64;
    let log = open_log(dir, LogConfig { segment_bytes: 2 * size, ..config });
    for ts in [1_000, 1_100, 2_000, 2_100, 3_000, 3_100] {
        log.append_as_leader(&batch(4, 100, ts), 0, 0).expect("append");
    }
    assert_eq!(segment_bases(dir), vec![0, 8, 16]);
    (log, size as i64)
}

fn no_retention() -> LogConfig {
    LogConfig { retention_ms: -1, retention_bytes: -1, ..LogConfig::default() }
}

#[test]
fn retention_ms_deletes_segments_whose_newest_record_is_too_old() {
    let dir = temp_dir();
    let (log, size) = three_segments(dir.path(), LogConfig { retention_ms: 1_000, ..no_retention() });
    assert_eq!(log.delete_old_segments(2_103, 24).expect("retention"), 0, "1000 ms old is not older than 1000 ms");
    assert_eq!(log.delete_old_segments(3_000, 24).expect("retention"), 1);
    assert_eq!(segment_bases(dir.path()), vec![8, 16]);
    assert_eq!((log.log_start_offset(), log.size()), (8, 4 * size as u64));
    assert!(matches!(log.read(7, u32::MAX, i64::MAX, false), Err(LogError::OffsetOutOfRange { log_start: 8, .. })));
    assert!(log.read(8, u32::MAX, i64::MAX, false).expect("read").records.is_some());
    assert!(log.recovery_point() >= 8, "nothing below the log start needs recovery");
}

#[test]
fn only_segments_below_the_high_watermark_are_deleted() {
    let dir = temp_dir();
    let (log, _) = three_segments(dir.path(), LogConfig { retention_ms: 1_000, ..no_retention() });
    assert_eq!(log.delete_old_segments(100_000, 7).expect("retention"), 0);
    assert_eq!(log.delete_old_segments(100_000, 15).expect("retention"), 1);
    assert_eq!(log.log_start_offset(), 8);
}

#[test]
fn when_every_segment_expired_the_log_rolls_and_keeps_an_empty_active_segment() {
    let dir = temp_dir();
    let (log, _) = three_segments(dir.path(), LogConfig { retention_ms: 1_000, ..no_retention() });
    // The roll flushes move the recovery point to 16 at most; retention moves it to the new start.
    log.wait_for_background_flushes();
    assert_eq!(log.recovery_point(), 16);
    assert_eq!(log.delete_old_segments(100_000, 24).expect("retention"), 3);
    assert_eq!(log.recovery_point(), 24, "nothing below the log start needs recovery");
    assert_eq!(segment_bases(dir.path()), vec![24]);
    assert_eq!((log.num_segments(), log.log_start_offset(), log.log_end_offset(), log.size()), (1, 24, 24, 0));
    assert!(log.read(24, u32::MAX, i64::MAX, true).expect("read").records.is_none());
    assert_eq!(log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append").first_offset, 24);
    assert_eq!(log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append").log_start_offset, 24);

    // An empty active segment is never deleted.
    let empty_dir = temp_dir();
    let empty = open_log(empty_dir.path(), LogConfig { retention_ms: 0, retention_bytes: 0, ..LogConfig::default() });
    assert_eq!(empty.delete_old_segments(1 << 50, 0).expect("retention"), 0);
    assert_eq!(empty.num_segments(), 1);
}

#[test]
fn retention_bytes_deletes_the_oldest_segments_while_the_rest_still_meets_it() {
    let dir = temp_dir();
    let (log, size) = three_segments(dir.path(), LogConfig { retention_bytes: 0, ..no_retention() });
    log.set_config(LogConfig { retention_bytes: 3 * size, segment_bytes: 2 * size as u64, ..no_retention() });
    assert_eq!(log.delete_old_segments(0, 24).expect("retention"), 1, "6 batches - 2 = 4 >= 3; 4 - 2 < 3");
    log.set_config(LogConfig { retention_bytes: 2 * size, segment_bytes: 2 * size as u64, ..no_retention() });
    assert_eq!(log.delete_old_segments(0, 24).expect("retention"), 1);
    assert_eq!((log.num_segments(), log.log_start_offset()), (1, 16));
    assert_eq!(log.delete_old_segments(0, 24).expect("retention"), 0, "the active segment alone fits");
}

#[test]
fn infinite_retention_deletes_nothing() {
    let dir = temp_dir();
    let (log, _) = three_segments(dir.path(), no_retention());
    assert_eq!(log.delete_old_segments(i64::MAX, i64::MAX).expect("retention"), 0);
    assert_eq!(log.num_segments(), 3);
}

#[test]
fn segments_without_timestamps_age_by_file_modification_time() {
    let dir = temp_dir();
    let size = batch_with_timestamps(&[-1]).len() as u64;
    let log = open_log(dir.path(), LogConfig { segment_bytes: size, retention_ms: 60_000, ..no_retention() });
    log.append_as_leader(&batch_with_timestamps(&[-1]), 0, 0).expect("append");
    log.append_as_leader(&batch_with_timestamps(&[-1]), 0, 0).expect("append");
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    assert_eq!(log.delete_old_segments(wall, 2).expect("retention"), 0);
    assert_eq!(log.delete_old_segments(wall + 120_000, 1).expect("retention"), 1);
    assert_eq!(log.log_start_offset(), 1);
}

#[test]
fn a_compact_only_log_keeps_old_segments_from_time_and_size_retention() {
    let dir = temp_dir();
    let compact = LogConfig { retention_ms: 1_000, retention_bytes: 0, cleanup_policy: crate::config::CleanupPolicy::COMPACT, ..no_retention() };
    let (log, _) = three_segments(dir.path(), compact);
    assert_eq!(log.delete_old_segments(1_000_000, 24).expect("retention"), 0);
    assert_eq!(segment_bases(dir.path()), vec![0, 8, 16]);
    let both = crate::config::CleanupPolicy { delete: true, compact: true };
    log.set_config(LogConfig { cleanup_policy: both, ..log.config() });
    assert!(log.delete_old_segments(1_000_000, 24).expect("retention") >= 2, "compact,delete still deletes by time");
}
