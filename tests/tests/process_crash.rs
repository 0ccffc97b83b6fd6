//! kill -9 in the middle of a produce stream loses nothing that was acknowledged.
//!
//! A producer sends batches of 1..=20 records with acks=1 through `odradek-client`, one request
//! at a time, recording every acknowledged (offset, value). The broker is SIGKILLed while the
//! stream runs (across several segment rolls: `log.segment.bytes` is small), restarted on the same
//! log dir, told again that it leads the partition (a higher leader epoch, as a controller would),
//! and read from offset 0. SIGKILL is not a power cut: whatever the broker wrote before it
//! acknowledged is in the page cache and must survive, so the check is exact.
//!
//! The checker (in the spirit of kafka-classic.md §11.4): the log is a prefix of what was sent, in
//! order, with no gap or duplicate; it contains every acknowledged record at its acknowledged
//! offset; anything beyond the last acknowledgement can only be the one batch that was in flight.
//! Then new records are appended right after the recovered end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::controller_stub::announce_leader;
use odradek_tests::wire::{encode_batch, fetch_all, produce};
use odradek_tests::workload::SplitMix64;
use odradek_tests::{create_topic, unique_topic, BrokerProcess, PartitionOnDisk};

const BROKER_ID: i32 = 5;
/// Acknowledged records after which the broker is killed.
const KILL_AFTER_ACKED: usize = 20_000;

/// What the producer sent and what it was told.
#[derive(Default)]
struct ProduceLog {
    /// Every value sent, in order (acknowledged or not).
    sent: Vec<Bytes>,
    /// (offset, value) of every acknowledged record.
    acked: Vec<(i64, Bytes)>,
    /// Why the stream stopped.
    stopped_by: String,
}

fn value(seq: usize, rng: &mut SplitMix64) -> Bytes {
    let pad = "x".repeat(rng.below(120) as usize);
    Bytes::from(format!("crash-test record {seq:08} {pad}"))
}

/// Produces until the connection fails; a non-zero error code while the broker is up stops the
/// stream too and is reported (it is a broker bug, not the crash).
async fn produce_until_failure(
    conn: &mut Connection,
    topic: &str,
    progress: Arc<AtomicUsize>,
) -> ProduceLog {
    let mut log = ProduceLog::default();
    let mut rng = SplitMix64::new(5);
    loop {
        let n = 1 + rng.below(20) as usize;
        let values: Vec<Bytes> = (0..n)
            .map(|i| value(log.sent.len() + i, &mut rng))
            .collect();
        let records: Vec<_> = values
            .iter()
            .map(|v| (Some(Bytes::from_static(b"k")), Some(v.clone())))
            .collect();
        let batch = match encode_batch(&records, Compression::None) {
            Ok(batch) => batch,
            Err(e) => {
                log.stopped_by = format!("encode: {e:#}");
                return log;
            }
        };
        log.sent.extend(values.iter().cloned());
        match produce(conn, topic, 0, batch, 1).await {
            Ok(ack) if ack.error_code == 0 => {
                for (i, v) in values.into_iter().enumerate() {
                    log.acked.push((ack.base_offset + i as i64, v));
                }
                progress.store(log.acked.len(), Ordering::Release);
            }
            Ok(ack) => {
                log.stopped_by = format!(
                    "produce answered error code {} (base offset {})",
                    ack.error_code, ack.base_offset
                );
                return log;
            }
            Err(e) => {
                log.stopped_by = format!("connection: {e:#}");
                return log;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9_and_restart() -> anyhow::Result<()> {
    let mut broker = BrokerProcess::start(BROKER_ID, &[("log.segment.bytes", "262144")])?;
    let topic = create_topic(broker.addr(), BROKER_ID, &unique_topic("crash"), 1).await?;

    let progress = Arc::new(AtomicUsize::new(0));
    let mut conn = Connection::connect(broker.addr()).await?;
    let producer = {
        let (topic, progress) = (topic.name.clone(), progress.clone());
        tokio::spawn(async move { produce_until_failure(&mut conn, &topic, progress).await })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while progress.load(Ordering::Acquire) < KILL_AFTER_ACKED {
        assert!(
            !producer.is_finished(),
            "the producer stopped before the kill"
        );
        assert!(
            Instant::now() < deadline,
            "only {} records acknowledged in 120 s",
            progress.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    broker.kill9()?;
    let log = producer.await?;
    assert!(
        log.stopped_by.starts_with("connection"),
        "the stream stopped by {}, not by the kill",
        log.stopped_by
    );
    eprintln!(
        "killed the broker with {} records acknowledged, {} sent; stream stopped by {}",
        log.acked.len(),
        log.sent.len(),
        log.stopped_by
    );
    assert!(log.acked.len() >= KILL_AFTER_ACKED);
    for (i, (offset, _)) in log.acked.iter().enumerate() {
        assert_eq!(
            *offset, i as i64,
            "acknowledged offsets are 0, 1, 2, ... (one producer, one partition)"
        );
    }
    let segments_before = PartitionOnDisk::read(&broker.log_dir(), &topic.name, 0)?
        .segments
        .len();
    assert!(
        segments_before > 1,
        "the stream crossed segment rolls ({segments_before} segment)"
    );

    broker.restart()?;
    announce_leader(broker.addr(), BROKER_ID, &topic, 1, false).await?;
    let mut conn = Connection::connect(broker.addr()).await?;
    let recovered = fetch_all(&mut conn, &topic.name, 0, 0).await?;

    assert!(
        recovered.len() >= log.acked.len(),
        "{} records after restart, {} were acknowledged",
        recovered.len(),
        log.acked.len()
    );
    assert!(
        recovered.len() <= log.sent.len(),
        "{} records after restart, only {} were sent",
        recovered.len(),
        log.sent.len()
    );
    for (i, record) in recovered.iter().enumerate() {
        assert_eq!(
            record.offset, i as i64,
            "record #{i} after restart has offset {}",
            record.offset
        );
        assert_eq!(
            record.value.as_ref(),
            Some(&log.sent[i]),
            "offset {i} after restart holds a different value"
        );
    }
    for (offset, value) in &log.acked {
        assert_eq!(
            recovered[*offset as usize].value.as_ref(),
            Some(value),
            "acknowledged offset {offset}"
        );
    }

    // The recovered log takes new records right after its end.
    let end = recovered.len() as i64;
    let more: Vec<_> = (0..10)
        .map(|i| (None, Some(Bytes::from(format!("after restart {i}")))))
        .collect();
    let ack = produce(
        &mut conn,
        &topic.name,
        0,
        encode_batch(&more, Compression::None)?,
        1,
    )
    .await?;
    assert_eq!(ack.error_code, 0, "produce after restart");
    assert_eq!(ack.base_offset, end, "the first offset after restart");
    let all = fetch_all(&mut conn, &topic.name, 0, 0).await?;
    assert_eq!(all.len() as i64, end + 10);
    for (i, record) in all[end as usize..].iter().enumerate() {
        assert_eq!(record.offset, end + i as i64);
        assert_eq!(record.value, more[i].1);
    }
    let disk = PartitionOnDisk::read(&broker.log_dir(), &topic.name, 0)?;
    assert_eq!(disk.check_contiguous()?, end + 10, "log end offset on disk");
    Ok(())
}
