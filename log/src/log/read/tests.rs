use super::*;
use crate::config::LogConfig;
use crate::test_util::{batch, batch_with_timestamps, compressed_batch, open_log, slice_bytes, temp_dir, whole_batches};

/// A log of 5 batches of 4 records (offsets 0..20), all in one segment; returns the batch size.
fn five_batches(dir: &std::path::Path) -> (Log, u64) {
    let log = open_log(dir, LogConfig { index_interval_bytes: 0, ..LogConfig::default() });
    let b = batch(4, 100, 0);
    for _ in 0..5 {
        log.append_as_leader(&b, 0, 0).expect("append");
    }
    (log, b.len() as u64)
}

fn bases(slice: &FileSlice) -> Vec<i64> {
    whole_batches(&slice_bytes(slice)).iter().map(|h| h.base_offset).collect()
}

#[test]
fn starts_at_the_batch_holding_the_offset_and_runs_to_the_end() {
    let dir = temp_dir();
    let (log, size) = five_batches(dir.path());
    for offset in 0..20 {
        let slice = log.read(offset, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
        let batch_index = (offset / 4) as u64;
        assert_eq!(slice.position, batch_index * size, "offset {offset}");
        assert_eq!(slice.len as u64, (5 - batch_index) * size);
    }
}

#[test]
fn max_bytes_cuts_the_slice_even_mid_batch() {
    let dir = temp_dir();
    let (log, size) = five_batches(dir.path());
    let slice = log.read(4, (2 * size + 10) as u32, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!((slice.position, slice.len as u64), (size, 2 * size + 10));
    assert_eq!(bases(&slice), vec![4, 8], "the client drops the partial third batch");
}

#[test]
fn min_one_message_returns_the_whole_first_batch_beyond_max_bytes() {
    let dir = temp_dir();
    let (log, size) = five_batches(dir.path());
    let slice = log.read(9, 10, i64::MAX, true).expect("read").records.expect("data");
    assert_eq!((slice.position, slice.len as u64), (2 * size, size));
    assert_eq!(bases(&slice), vec![8]);
    let cut = log.read(9, 10, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!(cut.len, 10, "without it the byte limit holds");
}

#[test]
fn max_offset_ends_the_slice_before_the_batch_holding_it() {
    let dir = temp_dir();
    let (log, size) = five_batches(dir.path());
    // High watermark 12: batches [0..4) [4..8) [8..12) are visible.
    let slice = log.read(0, u32::MAX, 12, false).expect("read").records.expect("data");
    assert_eq!(slice.len as u64, 3 * size);
    assert_eq!(bases(&slice), vec![0, 4, 8]);
    // A bound inside a batch excludes that batch.
    let slice = log.read(0, u32::MAX, 14, false).expect("read").records.expect("data");
    assert_eq!(bases(&slice), vec![0, 4, 8]);
    // Fetching at the bound, or inside the batch holding it, returns nothing.
    assert!(log.read(12, u32::MAX, 12, false).expect("read").records.is_none());
    assert!(log.read(13, u32::MAX, 14, true).expect("read").records.is_none());
}

#[test]
fn offsets_outside_the_log_are_out_of_range_and_the_end_is_empty() {
    let dir = temp_dir();
    let (log, _) = five_batches(dir.path());
    assert!(log.read(20, u32::MAX, i64::MAX, true).expect("read").records.is_none());
    match log.read(21, u32::MAX, i64::MAX, true) {
        Err(LogError::OffsetOutOfRange { offset: 21, log_start: 0, log_end: 20, partition }) => assert_eq!(partition, "orders-0"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(log.read(-1, u32::MAX, i64::MAX, true), Err(LogError::OffsetOutOfRange { .. })));
}

#[test]
fn a_slice_never_crosses_a_segment_and_a_boundary_start_moves_to_the_next() {
    let dir = temp_dir();
    let b = batch(4, 100, 0);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64 * 2, ..LogConfig::default() });
    for _ in 0..5 {
        log.append_as_leader(&b, 0, 0).expect("append"); // segments [0, 8), [8, 16), [16, 20)
    }
    let slice = log.read(4, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!(bases(&slice), vec![4]);
    let slice = log.read(8, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!((slice.position, bases(&slice)), (0, vec![8, 12]));
    let slice = log.read(16, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!(bases(&slice), vec![16]);
}

#[test]
fn fetch_offset_by_timestamp_uses_indexes_and_records() {
    let dir = temp_dir();
    let first = batch_with_timestamps(&[100, 300, 200]);
    let log = open_log(dir.path(), LogConfig { segment_bytes: first.len() as u64 + 200, index_interval_bytes: 0, ..LogConfig::default() });
    log.append_as_leader(&first, 0, 0).expect("append"); // offsets 0..3, segment 0
    log.append_as_leader(&compressed_batch(3, 10, 400), 0, 0).expect("append"); // 3..6, rolls
    log.append_as_leader(&batch_with_timestamps(&[900, 500, 950]), 0, 0).expect("append"); // 6..9
    assert!(log.num_segments() >= 2);
    let find = |ts| log.fetch_offset_by_timestamp(ts).expect("lookup").map(|t| (t.timestamp, t.offset));
    assert_eq!(find(0), Some((100, 0)));
    assert_eq!(find(250), Some((300, 1)));
    assert_eq!(find(350), Some((402, 3)), "compressed batch: first offset, MaxTimestamp");
    assert_eq!(find(600), Some((900, 6)));
    assert_eq!(find(950), Some((950, 8)));
    assert_eq!(find(951), None);
}

#[test]
fn legacy_offsets_before_follow_kafkas_segment_search() {
    use super::offsets_before;
    // Segments at 0, 100, 200 modified at 10, 20, 30; the active one non-empty: log end 250 at 40.
    let entries = [(0, 10), (100, 20), (200, 30), (250, 40)];
    let table: [(i64, usize, Vec<i64>); 8] = [
        (-1, 1, vec![250]),
        (-1, 10, vec![250, 200, 100, 0]),
        (-2, 10, vec![0]),
        (25, 10, vec![100, 0]),
        (30, 2, vec![200, 100]),
        (5, 10, vec![]),
        (1_000, 3, vec![250, 200, 100]),
        (-1, 0, vec![]),
    ];
    for (timestamp, max, expected) in table {
        assert_eq!(offsets_before(&entries, timestamp, max), expected, "timestamp {timestamp}, max {max}");
    }
}
