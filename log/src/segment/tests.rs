use super::*;
use crate::batch::crc_is_valid;
use crate::test_util::{batch, batch_with_timestamps, compressed_batch, temp_dir};

const MAX_INDEX: u32 = 1 << 20;

fn read_log(seg: &LogSegment) -> Vec<u8> {
    std::fs::read(seg.log_path()).expect("read log")
}

/// Appends `batches` one per call, returning each batch's (position, first offset, last offset).
fn append_all(seg: &LogSegment, batches: &[Vec<u8>], first: i64, interval: u32) -> Vec<(u64, i64, i64)> {
    let mut next = first;
    let mut out = Vec::new();
    for b in batches {
        let pos = seg.size();
        let last = seg.append(b, Some(Stamp { first_offset: next, leader_epoch: 3 }), interval).expect("append");
        out.push((pos, next, last));
        next = last + 1;
    }
    out
}

#[test]
fn append_stamps_offsets_and_epoch_and_keeps_payload_and_crc() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 100, MAX_INDEX, 0).expect("create");
    let (a, b) = (batch(3, 50, 10), batch(2, 50, 20));
    let mut both = a.clone();
    both.extend_from_slice(&b);
    assert_eq!(seg.append(&both, Some(Stamp { first_offset: 100, leader_epoch: 7 }), 4096).expect("append"), 104);
    assert_eq!(seg.size(), both.len() as u64);

    let on_disk = read_log(&seg);
    let h1 = BatchHeader::parse(&on_disk).expect("h1");
    let h2 = BatchHeader::parse(&on_disk[a.len()..]).expect("h2");
    assert_eq!((h1.base_offset, h1.partition_leader_epoch), (100, 7));
    assert_eq!((h2.base_offset, h2.partition_leader_epoch), (103, 7));
    assert!(crc_is_valid(&on_disk[..a.len()]) && crc_is_valid(&on_disk[a.len()..]));
    assert_eq!(&on_disk[8..12], &a[8..12], "batch length untouched");
    assert_eq!(&on_disk[16..a.len()], &a[16..], "magic, crc and payload untouched");
}

#[test]
fn a_batch_every_interval_is_indexed_and_every_offset_translates() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 0).expect("create");
    let batches: Vec<Vec<u8>> = (0..10).map(|i| batch(4, 100, i * 10)).collect();
    let size = batches[0].len() as u32;
    // An entry once more than 2 batches' worth of bytes went by without one.
    let placed = append_all(&seg, &batches, 0, 2 * size);
    let (offset_entries, time_entries) = seg.index_entry_counts();
    assert_eq!(offset_entries, 3, "batches 3, 6, 9 are indexed");
    assert_eq!(time_entries, 3);
    for &(pos, first, last) in &placed {
        for target in first..=last {
            let (found, header) = seg.translate_offset(target, seg.size()).expect("io").expect("found");
            assert_eq!((found, header.base_offset), (pos, first), "offset {target}");
        }
    }
    assert!(seg.translate_offset(40, seg.size()).expect("io").is_none(), "past the end");
    // Bounded by a committed size that excludes the last batch.
    assert!(seg.translate_offset(39, placed[9].0).expect("io").is_none());
}

#[test]
fn recovery_rebuilds_the_same_indexes_and_cuts_a_torn_tail() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 0).expect("create");
    let batches: Vec<Vec<u8>> = (0..8).map(|i| batch(5, 200, 1000 + i * 7)).collect();
    append_all(&seg, &batches, 0, 1500);
    seg.on_become_inactive();
    seg.flush().expect("flush");
    let index_before = std::fs::read(segment_file(dir.path(), 0, ".index")).expect("index");
    let time_before = std::fs::read(segment_file(dir.path(), 0, ".timeindex")).expect("timeindex");
    assert!(!index_before.is_empty() && !time_before.is_empty());

    let full = seg.size();
    let outcome = seg.recover(1500).expect("recover");
    assert_eq!((outcome.truncated_bytes, outcome.next_offset, outcome.reason), (0, Some(40), None));
    seg.flush().expect("flush");
    assert_eq!(std::fs::read(segment_file(dir.path(), 0, ".index")).expect("index"), index_before);
    assert_eq!(std::fs::read(segment_file(dir.path(), 0, ".timeindex")).expect("timeindex"), time_before);

    // Tear the last batch.
    seg.log_file().set_len(full - 10).expect("tear");
    let outcome = seg.recover(1500).expect("recover");
    assert_eq!(outcome.next_offset, Some(35));
    assert_eq!(outcome.truncated_bytes, full - 10 - 7 * batches[0].len() as u64);
    assert!(outcome.reason.is_some());
    assert_eq!(seg.size(), 7 * batches[0].len() as u64);
    assert_eq!(std::fs::metadata(seg.log_path()).expect("meta").len(), seg.size());
}

#[test]
fn open_flags_missing_or_garbage_indexes() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 0).expect("create");
    append_all(&seg, &(0..4).map(|_| batch(2, 100, 5)).collect::<Vec<_>>(), 0, 10);
    seg.flush().expect("flush");
    drop(seg);
    assert!(!LogSegment::open(dir.path(), 0, MAX_INDEX, 0).expect("open").1, "good indexes are trusted");

    std::fs::remove_file(segment_file(dir.path(), 0, ".timeindex")).expect("rm");
    assert!(LogSegment::open(dir.path(), 0, MAX_INDEX, 0).expect("open").1);

    std::fs::write(segment_file(dir.path(), 0, ".index"), [0xffu8; 16]).expect("garbage");
    let (seg, rebuild) = LogSegment::open(dir.path(), 0, MAX_INDEX, 0).expect("open");
    assert!(rebuild, "positions beyond the log fail the sanity check");
    seg.recover(10).expect("recover");
    assert_eq!(seg.index_entry_counts().0, 3);
    assert_eq!(seg.read_next_offset().expect("next"), Some(8));
}

fn roll_params(append_size: u64, ts: i64, last_offset: i64, now_ms: i64) -> RollParams {
    RollParams { append_size, max_timestamp_in_append: ts, max_offset_in_append: last_offset, now_ms, segment_bytes: 1000, segment_ms: 100 }
}

#[test]
fn should_roll_by_size_time_and_offset_range() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 5_000).expect("create");
    assert!(!seg.should_roll(&roll_params(1000, 0, 0, 5_000)), "an empty segment takes a full-size append");
    let b = batch(1, 300, 10_000);
    seg.append(&b, Some(Stamp { first_offset: 0, leader_epoch: 0 }), 4096).expect("append");
    let size = seg.size();
    assert!(!seg.should_roll(&roll_params(1000 - size, 10_000, 1, 5_000)));
    assert!(seg.should_roll(&roll_params(1000 - size + 1, 10_000, 1, 5_000)), "would exceed segment.bytes");
    // segment.ms is measured from the first batch's MaxTimestamp to the incoming batch's.
    assert!(!seg.should_roll(&roll_params(10, 10_100, 1, 0)));
    assert!(seg.should_roll(&roll_params(10, 10_101, 1, 0)));
    assert_eq!(seg.time_waited_for_roll(0, 10_050), 50);
    assert!(seg.should_roll(&roll_params(10, 10_000, 1 + i32::MAX as i64, 0)), "offset not relative-addressable");
}

#[test]
fn time_roll_falls_back_to_creation_time_without_timestamps() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 5_000).expect("create");
    seg.append(&batch_with_timestamps(&[-1]), Some(Stamp { first_offset: 0, leader_epoch: 0 }), 4096).expect("append");
    assert_eq!(seg.time_waited_for_roll(5_060, -1), 60);
    assert!(!seg.should_roll(&roll_params(10, -1, 1, 5_100)));
    assert!(seg.should_roll(&roll_params(10, -1, 1, 5_101)));
}

#[test]
fn should_roll_when_an_index_is_full() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, 16, 0).expect("create"); // two offset entries
    append_all(&seg, &(0..3).map(|i| batch(1, 10, i)).collect::<Vec<_>>(), 0, 0);
    assert_eq!(seg.index_entry_counts().0, 2);
    assert!(seg.should_roll(&roll_params(10, 2, 3, 0)));
}

#[test]
fn find_offset_by_timestamp_is_exact_for_uncompressed_and_batch_level_for_compressed() {
    let dir = temp_dir();
    let seg = LogSegment::create(dir.path(), 0, MAX_INDEX, 0).expect("create");
    let batches = vec![batch_with_timestamps(&[100, 300, 200]), compressed_batch(3, 10, 400), batch_with_timestamps(&[900, 500, 950])];
    append_all(&seg, &batches, 0, 0);
    let end = seg.size();
    let find = |ts| seg.find_offset_by_timestamp(ts, 0, end).expect("io").map(|t| (t.timestamp, t.offset));
    assert_eq!(find(50), Some((100, 0)));
    assert_eq!(find(150), Some((300, 1)), "first record with ts >= 150, not the largest");
    assert_eq!(find(301), Some((402, 3)), "compressed: base offset with MaxTimestamp");
    assert_eq!(find(403), Some((900, 6)));
    assert_eq!(find(920), Some((950, 8)));
    assert_eq!(find(951), None);
    assert_eq!(seg.find_offset_by_timestamp(50, 7, end).expect("io").map(|t| (t.timestamp, t.offset)), Some((500, 7)), "respects starting offset");
}
