//! `Partition` under concurrency: the rules that must hold while a LeaderAndIsr races appends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::batch::{encode_batch, BatchRecord};
use odradek_log::{Log, LogConfig, TopicPartition};

use super::*;

const LOCAL: i32 = 1;

fn one_record() -> Bytes {
    encode_batch(&[BatchRecord::new(None, Some(Bytes::from_static(b"v")))], Compression::None, 0).expect("batch")
}

fn state(leader: i32, leader_epoch: i32) -> LeaderAndIsrState {
    LeaderAndIsrState { topic_id: Uuid::nil(), controller_epoch: 1, leader, leader_epoch, isr: vec![1, 2, 3], zk_version: leader_epoch, replicas: vec![1, 2, 3], is_new: false }
}

fn partition(dir: &std::path::Path, initial: LeaderAndIsrState) -> Arc<Partition> {
    let tp = TopicPartition::new("t", 0);
    let log = Arc::new(Log::open(&dir.join("t-0"), tp.clone(), LogConfig::default(), None, 0).expect("log"));
    let settings = PartitionSettings { replica_lag_time_max_ms: 30_000, min_insync_replicas: Some(2), initial_high_watermark: 0 };
    Arc::new(Partition::new(tp, LOCAL, log, initial, settings, DelayedOperations::default(), 0))
}

/// Review finding 2: a follower that becomes leader must never count its own log end as
/// replicated. Here the followers never fetch, so every acks=all append stays above the high
/// watermark: the HW must stay 0 however the appends interleave with the flips between follower
/// and leader. (Before the fix the new leader's state was published before its follower set was
/// rebuilt, and an append in between advanced the HW to its own log end.)
#[test]
fn a_new_leader_never_advances_the_high_watermark_without_its_followers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(2, 0));
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (p, stop) = (Arc::clone(&p), Arc::clone(&stop));
        std::thread::spawn(move || {
            let batch = one_record();
            let mut appended = 0u64;
            while !stop.load(Ordering::Acquire) {
                if p.append_records_to_leader(&batch, -1, 0).is_ok() {
                    appended += 1;
                }
                assert_eq!(p.high_watermark(), 0, "the high watermark passed records no follower has");
            }
            appended
        })
    };
    for epoch in 1..=400 {
        let applied = if epoch % 2 == 1 { p.make_leader(state(LOCAL, epoch), 0) } else { p.make_follower(state(2, epoch), 0) };
        assert_eq!(applied, Transition::Applied);
        assert_eq!(p.high_watermark(), 0, "the high watermark passed records no follower has (epoch {epoch})");
    }
    stop.store(true, Ordering::Release);
    let appended = appender.join().expect("no appender saw the high watermark move");
    assert!(appended > 0, "the appender never appended as leader");
}

/// Review finding 5: an acks=all wait belongs to the leader epoch its batch was written in. Here
/// the batch at offset 0 (epoch 1) is truncated while this replica follows (epoch 2), and a
/// different record takes offset 0 when it leads again (epoch 3); the HW then passes offset 0,
/// but the epoch-1 waiter must answer NOT_LEADER_OR_FOLLOWER, not NONE.
#[test]
fn an_acks_all_wait_ends_with_the_leader_epoch_of_its_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(LOCAL, 1));
    let first = p.append_records_to_leader(&one_record(), -1, 0).expect("append in epoch 1");
    let required = first.info.last_offset + 1;
    assert_eq!((first.leader_epoch, required), (1, 1));
    assert_eq!(p.check_enough_replicas_reach_offset(required, 1), None, "the followers have not fetched it");

    assert_eq!(p.make_follower(state(2, 2), 0), Transition::Applied);
    assert!(p.truncate_to(0, 2, 0).expect("truncate as follower"), "the unreplicated record goes");
    assert_eq!(p.make_leader(state(LOCAL, 3), 0), Transition::Applied);
    let second = p.append_records_to_leader(&one_record(), -1, 0).expect("append in epoch 3");
    assert_eq!(second.info.first_offset, 0, "another record at the same offset");
    for follower in [2, 3] {
        p.update_follower_fetch_state(follower, 1, 0, 1, 0);
    }
    assert_eq!(p.high_watermark(), 1);
    assert_eq!(p.check_enough_replicas_reach_offset(required, 1), Some(codes::NOT_LEADER_OR_FOLLOWER), "the epoch-1 batch is gone");
    assert_eq!(p.check_enough_replicas_reach_offset(required, 3), Some(codes::NONE));
    // Staying leader into epoch 4 (say the controller shrank the ISR) keeps epoch-3 waiters.
    assert_eq!(p.make_leader(state(LOCAL, 4), 0), Transition::Applied);
    assert_eq!(p.check_enough_replicas_reach_offset(required, 3), Some(codes::NONE));
}

/// Followers refuse appends and truncations from any epoch but the one they follow in, and a
/// leader refuses them altogether (the second fence behind the fetcher's own check).
#[test]
fn follower_operations_are_fenced_on_the_leader_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(2, 4));
    let batch = one_record();
    assert!(matches!(p.append_records_as_follower(&batch, 0, 3, 0), Err(ReplicaError::Refused(PartitionError::FencedLeaderEpoch))));
    assert!(matches!(p.append_records_as_follower(&batch, 0, 5, 0), Err(ReplicaError::Refused(PartitionError::UnknownLeaderEpoch))));
    assert!(p.append_records_as_follower(&batch, 1, 4, 0).expect("same epoch").is_some());
    assert_eq!((p.log().log_end_offset(), p.high_watermark()), (1, 1));
    assert_eq!(p.make_leader(state(LOCAL, 5), 0), Transition::Applied);
    assert!(matches!(p.append_records_as_follower(&batch, 1, 5, 0), Err(ReplicaError::Refused(PartitionError::NotLeaderOrFollower))));
    assert!(matches!(p.truncate_to(0, 5, 0), Err(ReplicaError::Refused(PartitionError::NotLeaderOrFollower))));
    assert_eq!(p.log().log_end_offset(), 1);
}

/// The HW follows the slowest ISR member, and an ISR below `min.insync.replicas` answers
/// NOT_ENOUGH_REPLICAS before the append (nothing written) and NOT_ENOUGH_REPLICAS_AFTER_APPEND
/// after it.
#[test]
fn acks_all_needs_min_insync_replicas_before_and_after_the_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(LOCAL, 1));
    let a = p.append_records_to_leader(&one_record(), -1, 0).expect("ISR 3 ≥ 2");
    p.update_follower_fetch_state(2, 1, 0, 1, 0);
    assert_eq!(p.high_watermark(), 0, "broker 3 has not fetched");
    let shrink = p.maybe_shrink_isr(60_000).expect("3 lags past replica.lag.time.max.ms");
    assert_eq!(shrink.new_isr, vec![1, 2]);
    // The controller's answer is what counts: here it committed the leader alone.
    p.isr_change_completed(1, IsrChangeOutcome::Committed { leader_epoch: 1, isr: vec![1], zk_version: 2 }, 60_000);
    assert_eq!(p.high_watermark(), 1, "the ISR is the leader alone");
    assert_eq!(p.check_enough_replicas_reach_offset(a.info.last_offset + 1, 1), Some(codes::NOT_ENOUGH_REPLICAS_AFTER_APPEND));
    let end = p.log().log_end_offset();
    assert!(matches!(p.append_records_to_leader(&one_record(), -1, 0), Err(ReplicaError::Refused(PartitionError::NotEnoughReplicas))));
    assert_eq!(p.log().log_end_offset(), end, "nothing written");
    assert!(p.append_records_to_leader(&one_record(), 1, 0).is_ok(), "acks=1 is not held to min.insync.replicas");
}

/// A partition whose topic config is not loaded yet refuses acks=all, whatever its ISR.
#[test]
fn acks_all_waits_for_the_topic_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tp = TopicPartition::new("t", 0);
    let log = Arc::new(Log::open(&dir.path().join("t-0"), tp.clone(), LogConfig::default(), None, 0).expect("log"));
    let settings = PartitionSettings { replica_lag_time_max_ms: 30_000, min_insync_replicas: None, initial_high_watermark: 0 };
    let p = Partition::new(tp, LOCAL, log, state(LOCAL, 1), settings, DelayedOperations::default(), 0);
    assert!(matches!(p.append_records_to_leader(&one_record(), -1, 0), Err(ReplicaError::Refused(PartitionError::NotEnoughReplicas))));
    assert!(p.append_records_to_leader(&one_record(), 1, 0).is_ok());
    p.apply_topic_config(3, LogConfig::default());
    assert!(p.append_records_to_leader(&one_record(), -1, 0).is_ok(), "ISR 3 ≥ min.insync.replicas 3");
}

/// A partition deleted by StopReplica ends its acks=all waits instead of letting them time out.
#[test]
fn deleting_a_partition_ends_its_acks_all_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(LOCAL, 1));
    let append = p.append_records_to_leader(&one_record(), -1, 0).expect("append");
    let required = append.info.last_offset + 1;
    p.stopped(false);
    assert_eq!(p.check_enough_replicas_reach_offset(required, 1), None, "stopped without delete: still waiting");
    p.stopped(true);
    assert_eq!(p.check_enough_replicas_reach_offset(required, 1), Some(codes::NOT_LEADER_OR_FOLLOWER));
}

/// Truncation on fetch, the leader's side: a read carrying the reader's last fetched epoch is
/// checked against this log's epochs first. The log holds epoch 0 at offsets 0..3 and epoch 2
/// at 3..5.
#[test]
fn a_diverging_reader_gets_the_leaders_epoch_end_and_no_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), state(LOCAL, 0));
    let batch = one_record();
    for _ in 0..3 {
        p.append_records_to_leader(&batch, 1, 0).expect("append in epoch 0");
    }
    assert_eq!(p.make_leader(state(LOCAL, 2), 0), Transition::Applied);
    for _ in 0..2 {
        p.append_records_to_leader(&batch, 1, 0).expect("append in epoch 2");
    }
    let read = |last_fetched_epoch: Option<i32>, fetch_offset: i64| p.read_records(last_fetched_epoch, fetch_offset, 2, 1 << 20, FetchIsolation::LogEnd, true);
    // (last fetched epoch, fetch offset) → diverging epoch, records returned
    let cases: &[(Option<i32>, i64, Option<(i32, i64)>, bool)] = &[
        (None, 3, None, true),             // no epoch sent (consumers, Fetch < v12): no check
        (Some(2), 5, None, false),         // caught up
        (Some(0), 3, None, true),          // at the end of epoch 0: reads epoch 2's records
        (Some(0), 2, None, true),          // behind inside epoch 0
        (Some(0), 4, Some((0, 3)), false), // wrote epoch 0 past where the leader's ends
        (Some(1), 4, Some((0, 3)), false), // led epoch 1, which this log never had
        (Some(2), 6, Some((2, 5)), false), // ahead of the log end in the current epoch
    ];
    for &(epoch, offset, diverging, has_records) in cases {
        let info = read(epoch, offset).unwrap_or_else(|e| panic!("{epoch:?} at {offset}: {e}"));
        assert_eq!(info.diverging_epoch, diverging, "{epoch:?} at {offset}");
        assert_eq!(info.data.records.is_some_and(|r| r.len > 0), has_records, "{epoch:?} at {offset}");
        assert_eq!((info.high_watermark, info.log_end_offset), (0, 5), "the offsets come with a diverging answer too");
    }
    // An epoch newer than any this log knows cannot be placed: OFFSET_OUT_OF_RANGE.
    let err = read(Some(3), 5).expect_err("epoch 3 is unknown");
    assert_eq!(err.code(), codes::OFFSET_OUT_OF_RANGE);
}
