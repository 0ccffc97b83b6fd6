//! `odradek-perf consume`: kafka-consumer-perf-test's measurement without a consumer library.
//!
//! One connection per partition leader fetches all of that leader's partitions from offset 0,
//! one Fetch at a time, as a replica fetcher or a Java consumer does. Records are counted from the
//! batch headers only ([`crate::batch::scan_batches`]): no record is decoded and no CRC computed,
//! so the client's cost is the read syscalls and the Fetch response framing, and the figure is the
//! broker's. Throughput in MB/s counts whole record batches (headers included), which is what
//! crossed the wire, unlike kafka-consumer-perf-test's payload-only figure.
//!
//! The Fetch version is the highest both sides speak unless `--fetch-version` names one, so two
//! runs with `--fetch-version 11` and `--fetch-version 12` compare the classic layout with the
//! flexible one (compact lengths, tagged fields after every partition's records).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use tokio::time::timeout_at;

use crate::batch::scan_batches;
use crate::cluster::{discover, FETCH_VERSIONS};
use crate::stats::{parse_size, throughput};

#[derive(clap::Args, Debug, Clone)]
pub struct ConsumeArgs {
    /// Any broker of the cluster, HOST:PORT.
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub topic: String,
    /// Stop once this many records have been fetched.
    #[arg(long)]
    pub records: u64,
    /// Use partitions 0..P only (default: every partition Metadata reports).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Fetch MaxBytes (suffixes K/M/G = KiB/MiB/GiB).
    #[arg(long, default_value = "50MiB", value_parser = parse_size)]
    pub fetch_max_bytes: usize,
    /// Fetch PartitionMaxBytes.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub partition_max_bytes: usize,
    /// Fetch MaxWaitMs.
    #[arg(long, default_value_t = 500)]
    pub max_wait_ms: i32,
    /// Fetch MinBytes.
    #[arg(long, default_value_t = 1)]
    pub min_bytes: i32,
    /// Seconds between progress lines (0 = none).
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
    /// Give up (and exit 1) after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,    /// Fetch version to send (default: the highest both the broker and this tool speak), e.g.
    /// to compare v11 with the flexible v12.
    #[arg(long)]
    pub fetch_version: Option<i16>,
}

const OFFSET_OUT_OF_RANGE: i16 = 1;

#[derive(Default)]
struct Recorder {
    records: u64,
    batches: u64,
    bytes: u64,
    fetches: u64,
    empty_fetches: u64,
    fetch_time: Duration,
    partition_errors: std::collections::BTreeMap<i16, u64>,
    finished_at: Option<Instant>,
    partial_only_warned: bool,
}

pub struct ConsumeReport {
    pub ok: bool,
}

pub async fn run(args: ConsumeArgs) -> anyhow::Result<ConsumeReport> {
    anyhow::ensure!(args.records > 0, "--records must be positive");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let (versions, layout) = discover(&args.bootstrap, &args.topic, Duration::from_secs(args.timeout_secs.min(30))).await?;
    let layout = layout.limit(args.partitions)?;
    let version = versions.pick(ApiKey::Fetch, FETCH_VERSIONS, args.fetch_version)?;
    let groups = layout.by_leader();
    println!(
        "consuming {} records from {} ({} partitions, {} leaders): Fetch v{}, max {} bytes, {} per partition, max wait {} ms",
        args.records,
        args.topic,
        layout.partitions.len(),
        groups.len(),
        version,
        args.fetch_max_bytes,
        args.partition_max_bytes,
        args.max_wait_ms
    );
    let mut conns = Vec::with_capacity(groups.len());
    for (leader, _) in &groups {
        conns.push(Connection::connect(leader.addr.as_str()).await.with_context(|| format!("connect to {}", leader.addr))?);
    }

    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let start = Instant::now();
    let progress = (args.progress_secs > 0).then(|| tokio::spawn(print_progress(recorder.clone(), args.progress_secs)));
    let mut tasks = Vec::new();
    for (conn, (_, partitions)) in conns.into_iter().zip(groups) {
        let (recorder, args) = (recorder.clone(), args.clone());
        tasks.push(tokio::spawn(async move { fetch_all(conn, version, &args, partitions, deadline, recorder).await }));
    }
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow::anyhow!("fetch task panicked: {e}")),
        }
    }
    if let Some(p) = progress {
        p.abort();
    }
    let r = recorder.lock().map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
    let elapsed = r.finished_at.unwrap_or_else(Instant::now) - start;
    let t = throughput(r.records, r.bytes, elapsed);
    println!(
        "{} records consumed in {:.3} s, {:.1} records/sec ({:.2} MB/sec of record batches, {:.2} MB total), {} fetches ({} empty), {:.2} ms avg fetch, {} batches",
        r.records,
        elapsed.as_secs_f64(),
        t.records_per_sec,
        t.mib_per_sec,
        r.bytes as f64 / (1024.0 * 1024.0),
        r.fetches,
        r.empty_fetches,
        if r.fetches == 0 { 0.0 } else { r.fetch_time.as_secs_f64() * 1e3 / r.fetches as f64 },
        r.batches
    );
    if !r.partition_errors.is_empty() {
        println!("partition errors (code: count): {:?}", r.partition_errors);
    }
    if let Some(e) = &failure {
        eprintln!("consume failed: {e:#}");
    }
    Ok(ConsumeReport { ok: failure.is_none() && r.records >= args.records })
}

fn fetch_request(args: &ConsumeArgs, topic: &TopicName, partitions: &[i32], offsets: &[i64]) -> FetchRequest {
    let max_bytes = i32::try_from(args.fetch_max_bytes).unwrap_or(i32::MAX);
    let partition_max_bytes = i32::try_from(args.partition_max_bytes).unwrap_or(i32::MAX);
    FetchRequest::default()
        .with_max_wait_ms(args.max_wait_ms)
        .with_min_bytes(args.min_bytes)
        .with_max_bytes(max_bytes)
        .with_topics(vec![FetchTopic::default().with_topic(topic.clone()).with_partitions(
            partitions
                .iter()
                .zip(offsets)
                .map(|(&p, &offset)| {
                    FetchPartition::default().with_partition(p).with_fetch_offset(offset).with_partition_max_bytes(partition_max_bytes)
                })
                .collect(),
        )])
}

/// Fetches `partitions` from one leader until the shared record count reaches the target.
async fn fetch_all(
    mut conn: Connection,
    version: i16,
    args: &ConsumeArgs,
    partitions: Vec<i32>,
    deadline: tokio::time::Instant,
    recorder: Arc<Mutex<Recorder>>,
) -> anyhow::Result<()> {
    let topic = TopicName(StrBytes::from_string(args.topic.clone()));
    let mut offsets = vec![0i64; partitions.len()];
    loop {
        if lock(&recorder)?.records >= args.records {
            return Ok(());
        }
        let req = fetch_request(args, &topic, &partitions, &offsets);
        let sent_at = Instant::now();
        let resp = timeout_at(deadline, conn.send(&req, version)).await.context("timed out fetching")??;
        let took = sent_at.elapsed();
        if resp.error_code != 0 {
            bail!("Fetch failed with error code {}", resp.error_code);
        }
        let mut r = lock(&recorder)?;
        r.fetches += 1;
        r.fetch_time += took;
        let before = r.records;
        for t in &resp.responses {
            for p in &t.partitions {
                let Some(i) = partitions.iter().position(|&q| q == p.partition_index) else { continue };
                if p.error_code != 0 {
                    *r.partition_errors.entry(p.error_code).or_default() += 1;
                    if p.error_code == OFFSET_OUT_OF_RANGE {
                        // auto.offset.reset=earliest: the log start moved past us (retention).
                        if p.log_start_offset > offsets[i] {
                            offsets[i] = p.log_start_offset;
                            continue;
                        }
                        bail!("offset {} out of range for {}-{}", offsets[i], args.topic, p.partition_index);
                    }
                    continue;
                }
                let Some(records) = &p.records else { continue };
                let scan = scan_batches(records).with_context(|| format!("{}-{} at offset {}", args.topic, p.partition_index, offsets[i]))?;
                if scan.batches == 0 && scan.partial_tail > 0 && !r.partial_only_warned {
                    r.partial_only_warned = true;
                    eprintln!(
                        "warning: {}-{} at offset {} returned only {} bytes of an incomplete batch; raise --partition-max-bytes",
                        args.topic, p.partition_index, offsets[i], scan.partial_tail
                    );
                }
                if let Some(next) = scan.next_offset {
                    offsets[i] = next;
                }
                r.records += scan.records;
                r.batches += scan.batches;
                r.bytes += scan.bytes;
            }
        }
        if r.records == before {
            r.empty_fetches += 1;
        }
        if before < args.records && r.records >= args.records {
            r.finished_at = Some(Instant::now());
        }
    }
}

fn lock(r: &Mutex<Recorder>) -> anyhow::Result<std::sync::MutexGuard<'_, Recorder>> {
    r.lock().map_err(|_| anyhow::anyhow!("recorder poisoned"))
}

async fn print_progress(recorder: Arc<Mutex<Recorder>>, secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(secs));
    tick.tick().await;
    let (mut last_records, mut last_bytes, mut last_at) = (0u64, 0u64, Instant::now());
    loop {
        tick.tick().await;
        let Ok(r) = recorder.lock() else { return };
        let t = throughput(r.records - last_records, r.bytes - last_bytes, last_at.elapsed());
        println!(
            "{} records consumed, {:.1} records/sec ({:.2} MB/sec), {} fetches so far.",
            r.records - last_records,
            t.records_per_sec,
            t.mib_per_sec,
            r.fetches
        );
        (last_records, last_bytes, last_at) = (r.records, r.bytes, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::protocol::{Decodable, Encodable};

    #[test]
    fn fetch_request_round_trips_at_every_version() {
        let args = ConsumeArgs {
            bootstrap: "x:1".into(),
            topic: "bench".into(),
            records: 1,
            partitions: None,
            fetch_max_bytes: 50 << 20,
            partition_max_bytes: 1 << 20,
            max_wait_ms: 500,
            min_bytes: 1,
            progress_secs: 0,
            timeout_secs: 1,
            fetch_version: None,
        };
        let topic = TopicName(StrBytes::from_static_str("bench"));
        let req = fetch_request(&args, &topic, &[0, 1], &[0, 42]);
        for version in FETCH_VERSIONS.0..=FETCH_VERSIONS.1 {
            let mut buf = BytesMut::new();
            req.encode(&mut buf, version).unwrap();
            let back = FetchRequest::decode(&mut buf.freeze(), version).unwrap();
            assert_eq!(back.replica_id.0, -1, "v{version}");
            assert_eq!(back.max_bytes, 50 << 20);
            assert_eq!(back.topics[0].partitions[1].fetch_offset, 42);
            assert_eq!(back.topics[0].partitions[1].partition_max_bytes, 1 << 20);
        }
    }
}
