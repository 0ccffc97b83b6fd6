//! Append, roll, flush and close.

use super::*;
use crate::batch::BatchHeader;
use crate::test_util::{batch, open_log, segment_bases, slice_bytes, temp_dir, whole_batches};

fn config() -> LogConfig {
    LogConfig::default()
}

#[test]
fn log_and_manager_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Log>();
    assert_send_sync::<crate::LogManager>();
}

#[test]
fn appends_assign_consecutive_offsets_and_stamp_the_epoch() {
    let dir = temp_dir();
    let log = open_log(dir.path(), config());
    let first = batch(3, 10, 1_000);
    let info = log.append_as_leader(&first, 5, 0).expect("append");
    assert_eq!(
        info,
        LogAppendInfo { first_offset: 0, last_offset: 2, max_timestamp: 1_002, record_count: 3, valid_bytes: first.len(), log_start_offset: 0 }
    );
    let mut two = batch(2, 10, 2_000);
    two.extend(batch(4, 10, 1_500));
    let info = log.append_as_leader(&two, 6, 0).expect("append");
    assert_eq!((info.first_offset, info.last_offset, info.record_count, info.max_timestamp), (3, 8, 6, 2_001));
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.size(), (first.len() + two.len()) as u64);

    let slice = log.read(0, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    let headers = whole_batches(&slice_bytes(&slice));
    let got: Vec<(i64, i64, i32)> = headers.iter().map(|h| (h.base_offset, h.last_offset(), h.partition_leader_epoch)).collect();
    assert_eq!(got, vec![(0, 2, 5), (3, 4, 6), (5, 8, 6)]);
}

#[test]
fn a_rejected_append_writes_nothing() {
    let dir = temp_dir();
    let log = open_log(dir.path(), config());
    log.append_as_leader(&batch(2, 10, 0), 0, 0).expect("append");
    let size = log.size();
    let mut records = batch(2, 10, 0);
    let mut bad = batch(2, 10, 0);
    bad[50] ^= 0x40;
    records.extend(bad);
    assert!(matches!(log.append_as_leader(&records, 0, 0), Err(LogError::CorruptRecord { .. })));
    assert_eq!((log.log_end_offset(), log.size()), (2, size));
    assert_eq!(std::fs::metadata(dir.path().join("00000000000000000000.log")).expect("meta").len(), size);
}

#[test]
fn an_append_larger_than_a_segment_is_record_list_too_large() {
    let dir = temp_dir();
    let b = batch(5, 100, 0);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64 * 2 - 1, ..config() });
    log.append_as_leader(&b, 0, 0).expect("one batch fits");
    let mut two = b.clone();
    two.extend_from_slice(&b);
    assert!(matches!(log.append_as_leader(&two, 0, 0), Err(LogError::RecordListTooLarge { size, .. }) if size == two.len()));
}

#[test]
fn rolls_by_size_into_segments_named_by_base_offset() {
    let dir = temp_dir();
    let b = batch(4, 200, 0);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64 * 3, ..config() });
    for _ in 0..10 {
        log.append_as_leader(&b, 0, 0).expect("append");
    }
    assert_eq!(log.num_segments(), 4);
    assert_eq!(segment_bases(dir.path()), vec![0, 12, 24, 36]);
    for seg in log.segments().iter() {
        assert!(seg.size() <= b.len() as u64 * 3);
    }
    assert_eq!(log.log_end_offset(), 40);
    // Each rolled segment starts with the batch at its base offset.
    let slice = log.read(12, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    assert_eq!(slice.position, 0);
    assert_eq!(BatchHeader::parse(&slice_bytes(&slice)).expect("header").base_offset, 12);
}

#[test]
fn rolls_by_time_from_the_first_batch_timestamp() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig { segment_ms: 1_000, ..config() });
    log.append_as_leader(&batch(1, 10, 10_000), 0, 10_000).expect("append");
    log.append_as_leader(&batch(1, 10, 11_000), 0, 11_000).expect("append");
    assert_eq!(log.num_segments(), 1, "exactly segment.ms is not past it");
    log.append_as_leader(&batch(1, 10, 11_001), 0, 11_001).expect("append");
    assert_eq!(log.num_segments(), 2);
    assert_eq!(segment_bases(dir.path()), vec![0, 2]);

    // The periodic check uses now as the incoming timestamp.
    log.roll_if_due(12_001).expect("roll check");
    assert_eq!(log.num_segments(), 2);
    log.roll_if_due(12_002).expect("roll check");
    assert_eq!(log.num_segments(), 3);
    log.roll_if_due(20_000).expect("roll check");
    assert_eq!(log.num_segments(), 3, "an empty active segment never rolls");
}

#[test]
fn a_roll_fsyncs_the_old_segment_and_advances_the_recovery_point() {
    let dir = temp_dir();
    let b = batch(3, 100, 0);
    let log = open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64, index_interval_bytes: 0, ..config() });
    log.append_as_leader(&b, 0, 0).expect("append");
    log.append_as_leader(&b, 0, 0).expect("append");
    assert_eq!(log.recovery_point(), 0, "nothing fsynced on the produce path");
    log.append_as_leader(&b, 0, 0).expect("append");
    log.wait_for_background_flushes();
    assert_eq!(log.recovery_point(), 6);
    // The flush wrote the rolled segment's final time-index entry to disk.
    assert_eq!(std::fs::metadata(dir.path().join("00000000000000000003.timeindex")).expect("meta").len(), 12);
}

#[test]
fn flush_messages_policy_fsyncs_once_enough_records_are_unflushed() {
    let dir = temp_dir();
    let log = open_log(dir.path(), LogConfig { flush_interval_messages: 5, ..config() });
    log.append_as_leader(&batch(3, 10, 0), 0, 0).expect("append");
    assert_eq!(log.recovery_point(), 0);
    log.append_as_leader(&batch(2, 10, 0), 0, 0).expect("append");
    assert_eq!(log.recovery_point(), 5);
    log.append_as_leader(&batch(4, 10, 0), 0, 0).expect("append");
    assert_eq!(log.recovery_point(), 5);
    log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append");
    assert_eq!(log.recovery_point(), 10);
}

#[test]
fn flush_ms_policy_and_explicit_flush() {
    let dir = temp_dir();
    let log = Log::open(dir.path(), crate::test_util::tp(), LogConfig { flush_interval_ms: 1_000, ..config() }, None, 5_000).expect("open");
    log.append_as_leader(&batch(3, 10, 0), 0, 5_100).expect("append");
    log.flush_if_due(5_999).expect("flush check");
    assert_eq!(log.recovery_point(), 0);
    log.flush_if_due(6_000).expect("flush check");
    assert_eq!(log.recovery_point(), 3);
    log.append_as_leader(&batch(2, 10, 0), 0, 6_100).expect("append");
    log.flush_if_due(6_999).expect("flush check");
    assert_eq!(log.recovery_point(), 3, "the clock restarted at the last flush");
    log.flush().expect("flush");
    assert_eq!(log.recovery_point(), 5);
}

#[test]
fn default_policy_never_fsyncs_on_the_produce_path() {
    let dir = temp_dir();
    let log = open_log(dir.path(), config());
    for _ in 0..20 {
        log.append_as_leader(&batch(10, 10, 0), 0, 0).expect("append");
    }
    log.flush_if_due(1 << 50).expect("flush check");
    assert_eq!(log.recovery_point(), 0);
}

#[test]
fn close_flushes_and_a_clean_reopen_continues_where_it_stopped() {
    let dir = temp_dir();
    let b = batch(3, 100, 1_000);
    let config = LogConfig { segment_bytes: b.len() as u64 * 2, index_interval_bytes: 0, ..config() };
    let log = open_log(dir.path(), config.clone());
    for _ in 0..5 {
        log.append_as_leader(&b, 0, 0).expect("append");
    }
    log.close().expect("close");
    assert_eq!(log.recovery_point(), 15);
    assert!(matches!(log.append_as_leader(&b, 0, 0), Err(LogError::Io { .. })), "closed");
    log.close().expect("close twice");

    let reopened = open_log(dir.path(), config);
    assert_eq!((reopened.log_start_offset(), reopened.log_end_offset(), reopened.num_segments()), (0, 15, 3));
    assert_eq!(reopened.recovery_point(), 15);
    assert_eq!(reopened.append_as_leader(&b, 0, 0).expect("append").first_offset, 15);
    for offset in 0..18 {
        let slice = reopened.read(offset, 1, i64::MAX, true).expect("read").records.expect("data");
        let h = whole_batches(&slice_bytes(&slice))[0];
        assert!(h.base_offset <= offset && offset <= h.last_offset(), "offset {offset}");
    }
}

#[test]
fn delete_removes_the_directory() {
    let dir = temp_dir();
    let path = dir.path().join("orders-0");
    let log = open_log(&path, config());
    log.append_as_leader(&batch(1, 10, 0), 0, 0).expect("append");
    let slice = log.read(0, u32::MAX, i64::MAX, false).expect("read").records.expect("data");
    log.delete().expect("delete");
    assert!(!path.exists());
    assert_eq!(whole_batches(&slice_bytes(&slice)).len(), 1, "an open slice still reads after unlink");
}

#[test]
fn readers_running_beside_an_appender_only_see_whole_batches() {
    let dir = temp_dir();
    let b = batch(50, 100, 0);
    let log = Arc::new(open_log(dir.path(), LogConfig { segment_bytes: b.len() as u64 * 20, ..config() }));
    let appender = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for _ in 0..200 {
                log.append_as_leader(&b, 0, 0).expect("append");
            }
        })
    };
    let mut reads = 0;
    while !appender.is_finished() || reads == 0 {
        let leo = log.log_end_offset();
        let start = (reads * 37) % (leo + 1);
        if let Some(slice) = log.read(start, u32::MAX, i64::MAX, false).expect("read").records {
            let bytes = slice_bytes(&slice);
            let headers = whole_batches(&bytes);
            let whole: usize = headers.iter().map(|h| h.total_size()).sum();
            assert_eq!(whole, bytes.len(), "slice of {} bytes holds a partial batch", bytes.len());
            assert!(headers[0].base_offset <= start && start <= headers[0].last_offset());
        }
        reads += 1;
    }
    appender.join().expect("appender");
    assert_eq!(log.log_end_offset(), 10_000);
}
