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
