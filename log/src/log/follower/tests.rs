use super::*;
use crate::config::LogConfig;
use crate::test_util::{batch, open_log, segment_bases, set_crc, slice_bytes, stamp, temp_dir, whole_batches};

/// A batch as a leader would have written it: `count` records from `base_offset`, epoch 9.
fn leader_batch(base_offset: i64, count: usize) -> Vec<u8> {
    let mut b = batch(count, 100, base_offset);
    stamp(&mut b, base_offset);
    b[12..16].copy_from_slice(&9i32.to_be_bytes());
    b
}

fn read_all(log: &Log) -> Vec<(i64, i64, i32)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while let Some(slice) = log.read(offset, u32::MAX, i64::MAX, false).expect("read").records {
        let headers = whole_batches(&slice_bytes(&slice));
        out.extend(headers.iter().map(|h| (h.base_offset, h.last_offset(), h.partition_leader_epoch)));
        offset = headers.last().expect("a batch").next_offset();
    }
    out
}

#[test]
fn follower_appends_keep_the_leaders_offsets_and_epochs() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig::default());
    let mut records = leader_batch(0, 3);
    records.extend(leader_batch(3, 2));
    let info = log.append_as_follower(&records, 0).expect("append");
    assert_eq!((info.first_offset, info.last_offset, info.record_count), (0, 4, 5));
    // A gap (compacted leader) is fine; going backwards is not, and writes nothing.
    log.append_as_follower(&leader_batch(10, 1), 0).expect("append after a gap");
    assert_eq!(log.log_end_offset(), 11);
    let size = log.size();
    assert!(matches!(log.append_as_follower(&leader_batch(10, 1), 0), Err(LogError::InvalidRecord { .. })));
    assert_eq!(log.size(), size);
    let mut control = leader_batch(11, 1);
    control[22] |= 0x20;
    set_crc(&mut control);
    log.append_as_follower(&control, 0).expect("control batches replicate");
    assert_eq!(read_all(&log), vec![(0, 2, 9), (3, 4, 9), (10, 10, 9), (11, 11, 9)]);
}

#[test]
fn follower_rolls_start_at_the_appended_offset() {
    let dir = temp_dir();
    let b = leader_batch(0, 4);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64, ..LogConfig::default() });
    log.append_as_follower(&b, 0).expect("append");
    log.append_as_follower(&leader_batch(20, 4), 0).expect("append");
    assert_eq!(segment_bases(dir.path()), vec![0, 20]);
    assert_eq!(log.log_end_offset(), 24);
    assert_eq!(read_all(&log), vec![(0, 3, 9), (20, 23, 9)]);
}

#[test]
fn truncate_to_cuts_batches_and_later_segments() {
    let dir = temp_dir();
    let b = batch(4, 100, 0);
    let config = LogConfig { segment_bytes: b.len() as u64 * 3, index_interval_bytes: 0, ..LogConfig::default() };
    let log = open_log(dir.path(), config.clone());
    for _ in 0..9 {
        log.append_as_leader(&b, 1, 0).expect("append"); // segments at 0, 12, 24
    }
    log.flush().expect("flush");
    assert!(!log.truncate_to(36, 0).expect("no-op"), "at the log end nothing is removed");

    // Offset 18 is inside batch [16, 20): that batch goes, the log ends at 16.
    assert!(log.truncate_to(18, 0).expect("truncate"));
    assert_eq!((log.log_end_offset(), log.recovery_point()), (16, 16));
    assert_eq!(segment_bases(dir.path()), vec![0, 12]);
    assert_eq!(log.size(), 4 * b.len() as u64);
    assert_eq!(read_all(&log).last(), Some(&(12, 15, 1)));
    assert_eq!(log.append_as_leader(&b, 2, 0).expect("append").first_offset, 16);
    assert_eq!(read_all(&log).last(), Some(&(16, 19, 2)));

    // A segment boundary empties that segment; the index stays consistent across a reopen.
    assert!(log.truncate_to(12, 0).expect("truncate"));
    assert_eq!((log.log_end_offset(), log.num_segments()), (12, 2));
    log.close().expect("close");
    let reopened = open_log(dir.path(), config);
    assert_eq!(reopened.log_end_offset(), 12);
    for offset in 0..12 {
        let slice = reopened.read(offset, 1, i64::MAX, true).expect("read").records.expect("data");
        assert_eq!(whole_batches(&slice_bytes(&slice))[0].base_offset, offset / 4 * 4);
    }
}

#[test]
fn truncate_fully_restarts_the_log_at_a_new_offset() {
    let dir = temp_dir();
    let b = batch(4, 100, 0);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64, ..LogConfig::default() });
    for _ in 0..3 {
        log.append_as_leader(&b, 0, 0).expect("append");
    }
    log.truncate_fully_and_start_at(8, 0).expect("truncate fully");
    assert_eq!(segment_bases(dir.path()), vec![8]);
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.recovery_point(), log.size()), (8, 8, 8, 0));
    assert!(matches!(log.read(4, u32::MAX, i64::MAX, false), Err(LogError::OffsetOutOfRange { .. })));
    assert_eq!(log.append_as_follower(&leader_batch(100, 2), 0).expect("append").first_offset, 100);
    assert_eq!(read_all(&log), vec![(100, 101, 9)]);
}
