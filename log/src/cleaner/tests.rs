//! The cleaner end to end on real logs: what survives, what is untouched, crash recovery.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};

use super::*;
use crate::config::{CleanupPolicy, LogConfig};
use crate::test_util::{encode_records, keyed, slice_bytes, temp_dir, tp, whole_batches};

type Entry = (i64, String, Option<String>);

/// A batch of `(key, value)` records (`None` value = tombstone), timestamps from `ts`.
fn batch_of(records: &[(&str, Option<&str>)], ts: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<_> = records.iter().enumerate().map(|(i, (k, v))| keyed(i as i64, ts + i as i64, Some(k), *v)).collect();
    encode_records(&records, compression)
}

/// A compacted log where every single-record batch of one-letter key and value fills a segment.
fn compacted_log(dir: &std::path::Path) -> Log {
    let one = batch_of(&[("k", Some("v"))], 0, Compression::None).len() as u64;
    let config = LogConfig { segment_bytes: one, cleanup_policy: CleanupPolicy::COMPACT, index_interval_bytes: 0, ..LogConfig::default() };
    Log::open(dir, tp(), config, None, 0).expect("open")
}

fn append(log: &Log, records: &[(&str, Option<&str>)]) {
    log.append_as_leader(&batch_of(records, 1_000, Compression::None), 0, 0).expect("append");
}

/// What a consumer reading from the log start sees: `(offset, key, value)`, checking CRCs.
fn consume(log: &Log) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let Some(slice) = log.read(offset, u32::MAX, i64::MAX, false).expect("read").records else { break };
        let bytes = slice_bytes(&slice);
        let headers = whole_batches(&bytes);
        let mut buf = Bytes::from(bytes);
        for set in RecordBatchDecoder::decode_all(&mut buf).expect("decode") {
            for r in set.records.into_iter().filter(|r| r.offset >= offset) {
                let text = |b: Bytes| String::from_utf8_lossy(&b).into_owned();
                out.push((r.offset, r.key.map(text).unwrap_or_default(), r.value.map(text)));
            }
        }
        offset = headers.last().expect("a batch").next_offset();
    }
    let offsets: Vec<i64> = out.iter().map(|e| e.0).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets increase: {offsets:?}");
    out
}

fn entry(offset: i64, key: &str, value: Option<&str>) -> Entry {
    (offset, key.to_string(), value.map(str::to_string))
}

/// The latest value of every key, as the uncompacted log says.
fn latest(entries: &[Entry]) -> BTreeMap<String, (i64, Option<String>)> {
    entries.iter().map(|(o, k, v)| (k.clone(), (*o, v.clone()))).collect()
}

fn clean(log: &Log, checkpoint: Option<i64>, high_watermark: i64) -> (i64, CleanerStats) {
    let to_clean = log_to_clean(log, checkpoint, high_watermark, 0);
    clean_log(log, &to_clean, 0).expect("clean")
}

#[test]
fn cleaning_keeps_the_latest_value_per_key_with_offsets_preserved() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("b", "5"), ("a", "6")] {
        append(&log, &[(k, Some(v))]);
    }
    let segments = log.segments();
    for (i, s) in segments.iter().enumerate() {
        s.set_last_modified_ms(1_600_000_000_000 + i as i64).expect("mtime");
    }
    let before = consume(&log);
    let (next_dirty, stats) = clean(&log, None, log.log_end_offset());
    assert_eq!(next_dirty, 5, "the active segment starts the next dirty section");
    assert_eq!((stats.segments_cleaned, stats.records_read, stats.records_retained), (5, 5, 3));
    let after = consume(&log);
    // The active segment's a=6 does not shadow a=3: only the dirty section is mapped.
    assert_eq!(after, vec![entry(2, "a", Some("3")), entry(3, "c", Some("4")), entry(4, "b", Some("5")), entry(5, "a", Some("6"))]);
    assert_eq!(latest(&after), latest(&before));
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 6));
    // A consumer at a removed offset gets the next record.
    let from_one = log.read(1, u32::MAX, i64::MAX, false).expect("read").records.expect("records");
    assert_eq!(whole_batches(&slice_bytes(&from_one))[0].base_offset, 2);
    // Cleaned segments keep their sources' modification time (the delete horizon needs it).
    let cleaned = log.segments();
    assert_eq!(cleaned[2].last_modified_ms(), 1_600_000_000_002);

    // Once a=6 is rolled out of the active segment, the next clean maps it and drops a=3.
    append(&log, &[("d", Some("7"))]);
    let (next_dirty, _) = clean(&log, Some(next_dirty), log.log_end_offset());
    assert_eq!(next_dirty, 6);
    assert_eq!(consume(&log), vec![entry(3, "c", Some("4")), entry(4, "b", Some("5")), entry(5, "a", Some("6")), entry(6, "d", Some("7"))]);
}

#[test]
fn records_without_a_key_are_dropped() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    let keyless = encode_records(&[keyed(0, 1_000, None, Some("v"))], Compression::None);
    assert!(log.append_as_leader(&keyless, 0, 0).is_err(), "a compacted log refuses keyless records");
    // Written while the topic was still cleanup.policy=delete (or replicated verbatim).
    let compact = log.config();
    log.set_config(crate::LogConfig { cleanup_policy: crate::config::CleanupPolicy::DELETE, ..compact.clone() });
    log.append_as_leader(&keyless, 0, 0).expect("append");
    log.set_config(compact);
    append(&log, &[("a", Some("1"))]);
    append(&log, &[("b", Some("2"))]);
    clean(&log, None, i64::MAX);
    assert_eq!(consume(&log), vec![entry(1, "a", Some("1")), entry(2, "b", Some("2"))]);
}

#[test]
fn tombstones_stay_until_the_delete_horizon_then_go() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    append(&log, &[("a", Some("1"))]);
    append(&log, &[("b", Some("2"))]);
    append(&log, &[("a", None)]);
    append(&log, &[("c", Some("3"))]);
    let (checkpoint, _) = clean(&log, None, i64::MAX);
    assert_eq!(consume(&log), vec![entry(1, "b", Some("2")), entry(2, "a", None), entry(3, "c", Some("3"))], "first clean: no horizon yet");

    append(&log, &[("d", Some("4"))]);
    // delete.retention.ms (1 day) has not passed since the tombstone's segment was written.
    clean(&log, Some(checkpoint), i64::MAX);
    assert!(consume(&log).contains(&entry(2, "a", None)), "tombstone kept before the horizon");

    log.set_config(LogConfig { delete_retention_ms: 0, ..log.config() });
    // The last clean segment (offset 2's) is now at the horizon: tombstones in it and before go.
    let (_, stats) = clean(&log, Some(checkpoint + 1), i64::MAX);
    assert!(stats.segments_cleaned > 0);
    assert_eq!(consume(&log), vec![entry(1, "b", Some("2")), entry(3, "c", Some("3")), entry(4, "d", Some("4"))]);
}

#[test]
fn the_active_segment_and_segments_at_the_high_watermark_are_untouched() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    for v in ["1", "2", "3", "4"] {
        append(&log, &[("a", Some(v))]);
    }
    let files = |base: i64| std::fs::read(crate::index::segment_file(dir.path(), base, ".log")).expect("read");
    let (seg2, seg3) = (files(2), files(3));
    let (next_dirty, _) = clean(&log, None, 2);
    assert_eq!(next_dirty, 2);
    assert_eq!(consume(&log), vec![entry(1, "a", Some("2")), entry(2, "a", Some("3")), entry(3, "a", Some("4"))]);
    assert_eq!((files(2), files(3)), (seg2, seg3.clone()), "at or above the high watermark nothing changed");

    // Up to the active segment: a=3 now shadows a=2, a=4 (active) still shadows nothing.
    let (next_dirty, stats) = clean(&log, None, i64::MAX);
    assert_eq!((next_dirty, stats.records_retained), (3, 1));
    assert_eq!(files(3), seg3, "the active segment is never rewritten");
    assert_eq!(consume(&log), vec![entry(2, "a", Some("3")), entry(3, "a", Some("4"))]);
}

#[test]
fn compressed_batches_are_filtered_and_keep_their_codec() {
    let dir = temp_dir();
    let log = Log::open(dir.path(), tp(), LogConfig { cleanup_policy: CleanupPolicy::COMPACT, ..LogConfig::default() }, None, 0).expect("open");
    let gzip = batch_of(&[("a", Some("1")), ("b", Some("2")), ("a", Some("3")), ("c", Some("4"))], 1_000, Compression::Gzip);
    log.append_as_leader(&gzip, 0, 0).expect("append");
    log.append_as_leader(&batch_of(&[("c", Some("5"))], 2_000, Compression::Lz4), 0, 0).expect("append");
    log.roll_if_due(i64::MAX / 2).expect("roll");
    log.append_as_leader(&batch_of(&[("z", Some("0"))], 3_000, Compression::None), 0, 0).expect("append");
    assert_eq!(log.num_segments(), 2);
    clean(&log, None, i64::MAX);
    assert_eq!(consume(&log), vec![entry(1, "b", Some("2")), entry(2, "a", Some("3")), entry(4, "c", Some("5")), entry(5, "z", Some("0"))]);
    let first = log.read(0, u32::MAX, i64::MAX, false).expect("read").records.expect("records");
    let headers = whole_batches(&slice_bytes(&first));
    assert_eq!(headers[0].compression(), 1, "still gzip");
    assert_eq!((headers[0].base_offset, headers[0].last_offset_delta, headers[0].record_count), (0, 3, 2));
    assert_eq!(headers[1].compression(), 3, "untouched lz4 batch");
}

#[test]
fn adjacent_small_segments_are_merged_into_one() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3"), ("a", "4"), ("z", "0")] {
        append(&log, &[(k, Some(v))]);
    }
    assert_eq!(log.num_segments(), 5);
    log.set_config(LogConfig { segment_bytes: 1 << 20, ..log.config() });
    let (_, stats) = clean(&log, None, i64::MAX);
    assert_eq!(stats.segments_cleaned, 4);
    assert_eq!(log.num_segments(), 2, "four cleaned segments became one, plus the active");
    assert_eq!(crate::test_util::segment_bases(dir.path()), vec![0, 4]);
    assert_eq!(consume(&log), vec![entry(1, "b", Some("2")), entry(2, "c", Some("3")), entry(3, "a", Some("4")), entry(4, "z", Some("0"))]);
}

#[test]
fn reads_during_and_after_cleaning_see_whole_batches_and_every_latest_value() {
    let dir = temp_dir();
    let log = Arc::new(compacted_log(dir.path()));
    for i in 0..40 {
        let key = ["a", "b", "c", "d", "e", "f", "g"][i % 7];
        let value = (i % 10).to_string();
        append(&log, &[(key, Some(value.as_str()))]);
    }
    let expected = latest(&consume(&log));
    let held = log.read(0, u32::MAX, i64::MAX, false).expect("read").records.expect("records");
    let held_bytes = slice_bytes(&held);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (log, stop, expected) = (Arc::clone(&log), Arc::clone(&stop), expected.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
                assert_eq!(latest(&consume(&log)), expected);
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..3 {
        clean(&log, None, i64::MAX);
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    assert!(reader.join().expect("reader") > 0);
    assert_eq!(latest(&consume(&log)), expected);
    assert_eq!(consume(&log).len(), 8, "one per key, plus the active segment's record whose older value stays");
    assert_eq!(slice_bytes(&held), held_bytes, "a slice taken before cleaning still reads the old bytes");
}

#[test]
fn a_crash_at_any_step_of_the_swap_leaves_a_readable_log_with_every_latest_value() {
    let steps = [ReplaceStep::CleanedWritten, ReplaceStep::SwapRenamed, ReplaceStep::OneOldDeleted, ReplaceStep::OldDeleted, ReplaceStep::IndexesRenamed];
    for step in steps {
        let dir = temp_dir();
        let log = compacted_log(dir.path());
        for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("z", "0")] {
            append(&log, &[(k, Some(v))]);
        }
        let config = LogConfig { segment_bytes: 1 << 20, ..log.config() };
        log.set_config(config.clone());
        let before = consume(&log);
        let to_clean = log_to_clean(&log, None, i64::MAX, 0);
        clean_log_until(&log, &to_clean, 0, Some(step)).expect("clean until the crash");
        drop(log);

        let log = Log::open(dir.path(), tp(), config, Some(0), 0).expect("reopen after the crash");
        let after = consume(&log);
        assert_eq!(latest(&after), latest(&before), "{step:?}");
        assert_eq!(log.log_end_offset(), 5, "{step:?}");
        let expected_len = if step == ReplaceStep::CleanedWritten { 5 } else { 4 };
        assert_eq!(after.len(), expected_len, "{step:?}: the swap is complete once committed");
        let leftovers: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        assert!(leftovers.is_empty(), "{step:?}: {leftovers:?}");
        // And the reloaded log can be cleaned and appended to.
        append(&log, &[("a", Some("9"))]);
        clean(&log, None, i64::MAX);
        assert_eq!(latest(&consume(&log))["a"].1.as_deref(), Some("9"), "{step:?}");
    }
}

#[test]
fn leftover_files_from_an_unrelated_crash_are_handled_on_load() {
    let dir = temp_dir();
    let log = compacted_log(dir.path());
    append(&log, &[("a", Some("1"))]);
    append(&log, &[("a", Some("2"))]);
    drop(log);
    std::fs::write(dir.path().join("00000000000000000000.log.cleaned"), b"half written").expect("write");
    std::fs::write(dir.path().join("00000000000000000000.index.swap"), b"index").expect("write");
    std::fs::write(dir.path().join("00000000000000000001.log.deleted"), b"old").expect("write");
    let log = compacted_log(dir.path());
    assert_eq!(consume(&log), vec![entry(0, "a", Some("1")), entry(1, "a", Some("2"))]);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 7, "two segments of three files and the epoch checkpoint");
}
