//! The background tasks of a running broker: retention deletes old segments and moves the log
//! start offset; the flush policy and the recovery-point checkpoint reach the disk.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::controller_stub::create_topic;
use odradek_tests::wire::{encode_batch, fetch_all, produce};

fn batch(n: usize) -> Bytes {
    let records: Vec<_> = (0..n).map(|i| (None, Some(Bytes::from(format!("{i:0>100}"))))).collect();
    encode_batch(&records, Compression::None).unwrap()
}

fn segments(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".log")).collect();
    v.sort();
    v
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn retention_by_bytes_deletes_whole_old_segments() {
    let broker = InProcessBroker::start(0, &["log.segment.bytes=4096", "log.retention.bytes=8192", "log.retention.check.interval.ms=100"]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for _ in 0..40 {
        assert_eq!(produce(&mut conn, "t", 0, batch(10), 1).await.unwrap().error_code, 0);
    }
    let dir = broker.log_dir().join("t-0");
    wait_for("retention to leave at most 8 KiB plus the active segment", || {
        let total: u64 = segments(&dir).iter().map(|s| std::fs::metadata(dir.join(s)).map(|m| m.len()).unwrap_or(0)).sum();
        total <= 8192 + 4096
    })
    .await;
    let first = segments(&dir)[0].clone();
    assert_ne!(first, "00000000000000000000.log", "the oldest segment is gone");
    let start: i64 = first.trim_end_matches(".log").parse().unwrap();
    // The log start offset moved: records begin at the first remaining segment.
    let ack = produce(&mut conn, "t", 0, batch(1), 1).await.unwrap();
    assert_eq!(ack.log_start_offset, start);
    let records = fetch_all(&mut conn, "t", 0, start).await.unwrap();
    assert_eq!(records.first().unwrap().offset, start);
    assert_eq!(records.last().unwrap().offset, 400);
}

#[tokio::test]
async fn retention_by_time_and_the_recovery_point_checkpoint() {
    let broker = InProcessBroker::start(
        0,
        &["log.segment.bytes=2048", "log.retention.ms=300", "log.retention.check.interval.ms=100", "log.flush.interval.messages=1", "log.flush.offset.checkpoint.interval.ms=100"],
    )
    .await
    .unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for _ in 0..10 {
        produce(&mut conn, "t", 0, batch(5), 1).await.unwrap();
    }
    let checkpoint = broker.log_dir().join("recovery-point-offset-checkpoint");
    wait_for("the recovery point of t-0 to reach the log end (flush.messages=1)", || {
        std::fs::read_to_string(&checkpoint).map(|s| s.lines().any(|l| l == "t 0 50")).unwrap_or(false)
    })
    .await;
    let dir = broker.log_dir().join("t-0");
    wait_for("time-based retention to delete every closed segment", || segments(&dir).len() == 1).await;
}
