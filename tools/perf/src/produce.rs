//! `odradek-perf produce`: kafka-producer-perf-test's measurement with the client taken out of the
//! way. Every record batch is encoded once before the clock starts, and each Produce request body
//! (one topic, one partition, one batch) is encoded once per partition; the timed loop only writes
//! a fresh request header (size, api key, version, correlation id, client id) followed by the
//! shared body, so the client spends its CPU on syscalls, not on encoding.
//!
//! Requests go round-robin over the partitions, one connection per partition leader, with up to
//! `--max-in-flight` requests outstanding per connection (Kafka answers requests on a connection in
//! order, so responses are matched by position and checked by correlation id). Latency is per
//! request: header written → response read. With `--acks 0` the broker sends no responses; the
//! run ends with an ApiVersions round trip on each connection, whose answer proves the broker has
//! read every Produce request before it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ProduceRequest, RequestHeader, TopicName};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use odradek_client::{correlation_id_of, Connection};
use tokio::time::timeout_at;

use crate::batch::{build_batch, records_per_batch, PayloadPool};
use crate::cluster::{discover, PRODUCE_VERSIONS};
use crate::stats::{parse_size, throughput, Latencies};

#[derive(clap::Args, Debug, Clone)]
pub struct ProduceArgs {
    /// Any broker of the cluster, HOST:PORT.
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub topic: String,
    /// Records to send.
    #[arg(long)]
    pub records: u64,
    /// Value size in bytes (records are keyless, without headers).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// 0 (no response), 1 (leader) or -1 (all in-sync replicas).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = parse_acks)]
    pub acks: i16,
    /// Use partitions 0..P only (default: every partition Metadata reports).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Upper bound of one record batch in bytes (suffixes K/M/G = KiB/MiB/GiB).
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub batch_size: usize,
    /// Produce requests outstanding per connection.
    #[arg(long, default_value_t = 5)]
    pub max_in_flight: usize,
    /// Seconds between progress lines (0 = none).
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
    /// Give up (and exit 1) after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// The Produce request's TimeoutMs (how long the broker may wait for acks=-1).
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: i32,
    /// Produce version to send (default: the highest both the broker and this tool speak).
    #[arg(long)]
    pub produce_version: Option<i16>,
}

pub(crate) fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "0" => Ok(0),
        "1" => Ok(1),
        "-1" | "all" => Ok(-1),
        _ => Err(format!("acks must be 0, 1 or -1, not {s:?}")),
    }
}

/// One Produce request to send: a pre-encoded body and how many records it carries.
#[derive(Clone)]
struct Job {
    body: Bytes,
    records: u64,
}

/// Shared by the connections and the progress printer.
#[derive(Default)]
struct Recorder {
    records: u64,
    requests: u64,
    partition_errors: std::collections::BTreeMap<i16, u64>,
    all: Latencies,
    window: Latencies,
    window_records: u64,
}

/// What a finished (or timed-out) run measured.
pub struct ProduceReport {
    pub ok: bool,
}

pub async fn run(args: ProduceArgs) -> anyhow::Result<ProduceReport> {
    anyhow::ensure!(args.records > 0, "--records must be positive");
    anyhow::ensure!(args.max_in_flight > 0, "--max-in-flight must be positive");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let (versions, layout) = discover(&args.bootstrap, &args.topic, Duration::from_secs(args.timeout_secs.min(30))).await?;
    let layout = layout.limit(args.partitions)?;
    let version = versions.pick(ApiKey::Produce, PRODUCE_VERSIONS, args.produce_version)?;

    // Everything below up to `start` is preparation, outside the measurement.
    let per_batch = records_per_batch(args.batch_size, args.record_size) as u64;
    let partitions: Vec<i32> = layout.partitions.iter().map(|(p, _)| *p).collect();
    let schedule = schedule(args.records, per_batch, &partitions);
    let payload = PayloadPool::new(args.record_size, 0x0d7a_dec0_ffee);
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let full = build_batch(per_batch as usize, &payload, now_ms)?;

    // One encoded body per (partition, record count): a few MiB however long the run.
    let topic = TopicName(StrBytes::from_string(args.topic.clone()));
    let groups = layout.by_leader();
    let mut jobs: Vec<Vec<Job>> = vec![Vec::new(); groups.len()];
    let mut bodies: HashMap<(i32, u64), Bytes> = HashMap::new();
    for &(partition, records) in &schedule {
        let body = match bodies.entry((partition, records)) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => {
                let batch = if records == per_batch { full.clone() } else { build_batch(records as usize, &payload, now_ms)? };
                e.insert(produce_body(&topic, partition, batch, args.acks, args.request_timeout_ms, version)?).clone()
            }
        };
        let group = groups.iter().position(|(_, ps)| ps.contains(&partition)).context("partition without leader")?;
        jobs[group].push(Job { body, records });
    }
    println!(
        "producing {} records of {} bytes to {} ({} partitions, {} leaders): acks={}, {} records/batch ({} bytes), Produce v{}, {} in flight per connection",
        args.records,
        args.record_size,
        args.topic,
        partitions.len(),
        groups.len(),
        args.acks,
        per_batch,
        full.len(),
        version,
        args.max_in_flight
    );

    let mut conns = Vec::with_capacity(groups.len());
    for (leader, _) in &groups {
        let conn = Connection::connect(leader.addr.as_str()).await.with_context(|| format!("connect to leader {} at {}", leader.id, leader.addr))?;
        conns.push(conn);
    }

    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let start = Instant::now();
    let progress = (args.progress_secs > 0).then(|| tokio::spawn(print_progress(recorder.clone(), args.progress_secs, args.record_size)));
    let mut tasks = Vec::new();
    for (conn, jobs) in conns.into_iter().zip(jobs) {
        let (recorder, args) = (recorder.clone(), args.clone());
        tasks.push(tokio::spawn(async move { send_all(conn, version, &args, jobs, deadline, recorder).await }));
    }
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow::anyhow!("connection task panicked: {e}")),
        }
    }
    let elapsed = start.elapsed();
    if let Some(p) = progress {
        p.abort();
    }

    let r = recorder.lock().map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
    let t = throughput(r.records, r.records * args.record_size as u64, elapsed);
    let l = r.all.summary();
    println!(
        "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th.",
        r.records, t.records_per_sec, t.mib_per_sec, l.avg_ms, l.max_ms, l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms
    );
    let errors: u64 = r.partition_errors.values().sum();
    println!(
        "{} produce requests in {:.3} s, {} latency samples (per request), partition errors: {}",
        r.requests,
        elapsed.as_secs_f64(),
        l.count,
        if errors == 0 { "none".to_owned() } else { format!("{:?} (code: count)", r.partition_errors) }
    );
    if let Some(e) = &failure {
        eprintln!("produce failed: {e:#}");
    }
    Ok(ProduceReport { ok: failure.is_none() && errors == 0 && r.records == args.records })
}

/// The order of Produce requests: `(partition, records)` per batch, round-robin over
/// `partitions`, full batches of `per_batch` records and a smaller last one if `records` is not a
/// multiple.
pub fn schedule(records: u64, per_batch: u64, partitions: &[i32]) -> Vec<(i32, u64)> {
    let batches = records.div_ceil(per_batch);
    (0..batches)
        .map(|j| {
            let partition = partitions[(j % partitions.len() as u64) as usize];
            (partition, per_batch.min(records - j * per_batch))
        })
        .collect()
}

/// The body of a Produce request carrying `batch` for one partition.
pub(crate) fn produce_body(topic: &TopicName, partition: i32, batch: Bytes, acks: i16, timeout_ms: i32, version: i16) -> anyhow::Result<Bytes> {
    let req = ProduceRequest::default().with_acks(acks).with_timeout_ms(timeout_ms).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(topic.clone())
            .with_partition_data(vec![PartitionProduceData::default().with_index(partition).with_records(Some(batch))]),
    ]);
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version).map_err(|e| anyhow::anyhow!("encode Produce v{version}: {e:#}"))?;
    Ok(buf.freeze())
}

/// Size prefix plus request header for a `body_len`-byte Produce body.
pub(crate) fn produce_header(version: i16, correlation_id: i32, body_len: usize) -> anyhow::Result<BytesMut> {
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("odradek-perf")));
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    header
        .encode(&mut buf, ProduceRequest::header_version(version))
        .map_err(|e| anyhow::anyhow!("encode request header: {e:#}"))?;
    let size = i32::try_from(buf.len() - 4 + body_len).context("request larger than 2 GiB")?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

/// Sends `jobs` on one connection with up to `max_in_flight` outstanding.
async fn send_all(
    mut conn: Connection,
    version: i16,
    args: &ProduceArgs,
    jobs: Vec<Job>,
    deadline: tokio::time::Instant,
    recorder: Arc<Mutex<Recorder>>,
) -> anyhow::Result<()> {
    let mut in_flight = std::collections::VecDeque::with_capacity(args.max_in_flight);
    let mut next = 0;
    let mut correlation_id: i32 = 1_000;
    loop {
        while in_flight.len() < args.max_in_flight && next < jobs.len() {
            let job = &jobs[next];
            let header = produce_header(version, correlation_id, job.body.len())?;
            let sent_at = Instant::now();
            timeout_at(deadline, async {
                conn.write_raw(&header).await?;
                conn.write_raw(&job.body).await
            })
            .await
            .context("timed out writing a Produce request")??;
            if args.acks == 0 {
                let mut r = lock(&recorder)?;
                r.records += job.records;
                r.window_records += job.records;
                r.requests += 1;
            } else {
                in_flight.push_back((correlation_id, sent_at, job.records));
            }
            correlation_id = correlation_id.wrapping_add(1);
            next += 1;
        }
        let Some((id, sent_at, records)) = in_flight.pop_front() else { break };
        let resp = timeout_at(deadline, conn.read_response::<ProduceRequest>(version, id))
            .await
            .context("timed out waiting for a Produce response")??;
        let latency = sent_at.elapsed();
        let mut r = lock(&recorder)?;
        let mut failed = false;
        for t in &resp.responses {
            for p in &t.partition_responses {
                if p.error_code != 0 {
                    *r.partition_errors.entry(p.error_code).or_default() += 1;
                    failed = true;
                }
            }
        }
        r.requests += 1;
        if !failed {
            r.records += records;
            r.window_records += records;
        }
        r.all.record(latency);
        r.window.record(latency);
    }
    if args.acks == 0 {
        drain_barrier(&mut conn, deadline).await?;
    }
    Ok(())
}

/// Waits until the broker has handled every request written so far: responses on a connection
/// come back in request order, so once an ApiVersions sent last is answered, every Produce before
/// it has been appended. Kafka sends nothing for acks=0 Produce requests; frames some other
/// brokers send anyway (librdkafka's mock cluster does) are skipped.
async fn drain_barrier(conn: &mut Connection, deadline: tokio::time::Instant) -> anyhow::Result<()> {
    let id = conn.write_request(&ApiVersionsRequest::default(), 0).await?;
    loop {
        let frame = timeout_at(deadline, conn.read_frame())
            .await
            .context("timed out waiting for the broker to drain acks=0 requests")??;
        if correlation_id_of(&frame) == Some(id) {
            return Ok(());
        }
    }
}

fn lock(r: &Mutex<Recorder>) -> anyhow::Result<std::sync::MutexGuard<'_, Recorder>> {
    r.lock().map_err(|_| anyhow::anyhow!("recorder poisoned"))
}

/// Every `secs`: records completed in the window, their rate, and the window's latency.
async fn print_progress(recorder: Arc<Mutex<Recorder>>, secs: u64, record_size: usize) {
    let mut tick = tokio::time::interval(Duration::from_secs(secs));
    tick.tick().await;
    let mut window_start = Instant::now();
    loop {
        tick.tick().await;
        let Ok(mut r) = recorder.lock() else { return };
        let t = throughput(r.window_records, r.window_records * record_size as u64, window_start.elapsed());
        let (avg, max) = r.window.avg_max();
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            r.window_records, t.records_per_sec, t.mib_per_sec, avg, max
        );
        r.window_records = 0;
        r.window.clear();
        window_start = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Buf;
    use kafka_protocol::protocol::Decodable;

    #[test]
    fn header_plus_body_decodes_as_one_produce_request() {
        let payload = PayloadPool::new(100, 1);
        let batch = build_batch(50, &payload, 0).unwrap();
        for version in 3..=7 {
            let topic = TopicName(StrBytes::from_static_str("bench"));
            let body = produce_body(&topic, 3, batch.clone(), -1, 1234, version).unwrap();
            let header = produce_header(version, 77, body.len()).unwrap();
            let mut frame = BytesMut::new();
            frame.extend_from_slice(&header);
            frame.extend_from_slice(&body);
            let mut frame = frame.freeze();
            assert_eq!(frame.get_i32() as usize, frame.len());
            let h = RequestHeader::decode(&mut frame, ProduceRequest::header_version(version)).unwrap();
            assert_eq!((h.request_api_key, h.request_api_version, h.correlation_id), (0, version, 77));
            let req = ProduceRequest::decode(&mut frame, version).unwrap();
            assert!(frame.is_empty());
            assert_eq!((req.acks, req.timeout_ms), (-1, 1234));
            let p = &req.topic_data[0].partition_data[0];
            assert_eq!(p.index, 3);
            assert_eq!(p.records.as_ref().unwrap(), &batch);
        }
    }

    #[test]
    fn schedule_is_round_robin_with_a_short_last_batch() {
        assert_eq!(schedule(25, 10, &[0, 1]), vec![(0, 10), (1, 10), (0, 5)]);
        assert_eq!(schedule(30, 10, &[4, 7, 9]), vec![(4, 10), (7, 10), (9, 10)]);
        assert_eq!(schedule(3, 10, &[0, 1]), vec![(0, 3)]);
        let s = schedule(10_000_000, 9520, &[0, 1, 2, 3, 4, 5]);
        assert_eq!(s.len(), 1051);
        assert_eq!(s.iter().map(|(_, n)| n).sum::<u64>(), 10_000_000);
    }

    #[test]
    fn acks_values() {
        assert_eq!(parse_acks("-1"), Ok(-1));
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("0"), Ok(0));
        assert!(parse_acks("2").is_err());
    }
}
