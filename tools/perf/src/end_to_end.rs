//! `odradek-perf end-to-end`: how long a record takes from the producer's `send()` to a consumer's
//! hands, at a fixed offered rate. Kafka's own `kafka.tools.EndToEndLatency` sends one record and
//! waits for it; this runs a paced load instead, so the figure is the latency *under* that load.
//!
//! **Producer.** A pacer offers `--rate` records/s spread evenly in time: record *i* falls due at
//! `start + i / rate`, as if an application called `send()` then. Every `--linger-ms` the pacer
//! takes the records that have fallen due, cuts them into batches of at most `--batch-size` bytes
//! and gives each batch to the next partition in turn (what the sticky partitioner of a keyless
//! Java producer does), i.e. to the connection of that partition's leader. A connection writes
//! Produce requests as they come, at most `--max-in-flight` unanswered
//! (`max.in.flight.requests.per.connection`); a second task reads the answers, which come back in
//! request order. Each record's value starts with its due time (nanoseconds since the start, u64
//! big-endian), its sequence number (u64) and the time its batch was handed to the connection
//! (u64, same clock); the rest is filler.
//!
//! **Consumer.** One connection per leader long-polls Fetch (MinBytes 1, MaxWaitMs
//! `--max-wait-ms`) for that leader's partitions, from the end offsets the leaders reported before
//! the first record was produced. A consumer reads only below the high watermark, so under
//! acks=all a record becomes visible once every in-sync replica has it.
//!
//! **End-to-end latency** = when the Fetch response carrying the record had been read − the
//! record's due time, both on this process's monotonic clock. Stamping the *due* time rather than
//! the moment the pacer got round to the record charges any stall of the client itself (a late
//! tick, a full in-flight window) to the latency instead of hiding it (coordinated omission); the
//! pacer's tick lateness is reported on its own line so a client stall can be told from a broker
//! one. The linger is part of the figure, as it is for a real producer; the same latency measured
//! from the moment the batch was handed to the connection (linger and pacer lateness excluded) is
//! reported beside it.
//!
//! The consumer also checks delivery: every sequence number is expected exactly once.
//!
//! Invariant: every loop ends. The pacer stops after `--duration-secs`; the consumers stop once
//! every record has been seen or `--drain-secs` after the last record fell due; every socket
//! operation runs under that same deadline.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, ListOffsetsRequest, ProduceResponse, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use odradek_client::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout_at;

use crate::batch::{build_batch_of, records_per_batch, scan_batches, PayloadPool};
use crate::cluster::{discover, FETCH_VERSIONS, LIST_OFFSETS_VERSIONS, PRODUCE_VERSIONS};
use crate::produce::{parse_acks, produce_body, produce_header};
use crate::stats::{parse_size, Latencies};

/// Bytes at the start of each value: due time (ns since the start), sequence number, and when the
/// batch was handed to the connection (ns since the start).
pub const STAMP_BYTES: usize = 24;
/// ListOffsets' "latest" timestamp: the high watermark.
const LATEST_TIMESTAMP: i64 = -1;
/// How long discovery and the start offsets may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response frame accepted from a broker.
const MAX_FRAME: usize = 256 << 20;

#[derive(clap::Args, Debug, Clone)]
pub struct EndToEndArgs {
    /// Any broker of the cluster, HOST:PORT.
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub topic: String,
    /// Records per second offered, spread evenly in time.
    #[arg(long, default_value_t = 50_000)]
    pub rate: u64,
    /// Seconds to produce for.
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,
    /// Value size in bytes (at least 24: the stamp).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// 1 (leader) or -1 (all in-sync replicas).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_parser = parse_acks)]
    pub acks: i16,
    /// linger.ms: what fell due in each interval of this length is sent together.
    #[arg(long, default_value_t = 1)]
    pub linger_ms: u64,
    /// batch.size: upper bound of one record batch in bytes (suffixes K/M/G).
    #[arg(long, default_value = "16KiB", value_parser = parse_size)]
    pub batch_size: usize,
    /// Produce requests outstanding per connection.
    #[arg(long, default_value_t = 5)]
    pub max_in_flight: usize,
    /// The consumer's Fetch MaxWaitMs (its MinBytes is 1).
    #[arg(long, default_value_t = 500)]
    pub max_wait_ms: i32,
    /// Seconds the consumer may take, after the last record fell due, to see them all.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
    /// Seconds between progress lines (0 = none).
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
    /// The Produce request's TimeoutMs.
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: i32,    /// Produce version to send (default: the highest both the broker and this tool speak).
    #[arg(long)]
    pub produce_version: Option<i16>,
    /// Fetch version to send (default: the highest both the broker and this tool speak), e.g.
    /// to compare v11 with the flexible v12.
    #[arg(long)]
    pub fetch_version: Option<i16>,
}

pub struct EndToEndReport {
    pub ok: bool,
}

/// A batch on its way to a leader.
struct Job {
    partition: i32,
    batch: Bytes,
    records: u64,
}

/// A Produce request written and not yet answered; the permit holds its place in the window.
struct InFlight {
    correlation_id: i32,
    sent_at: Instant,
    records: u64,
    _permit: OwnedSemaphorePermit,
}

/// What every task adds to; read by the progress printer and the final report.
struct Shared {
    total: u64,
    /// Per sequence number: seen by the consumer yet.
    seen: Vec<bool>,
    distinct: u64,
    duplicates: u64,
    foreign: u64,
    e2e: Latencies,
    e2e_window: Latencies,
    /// Consumer receipt − batch handed to the connection.
    from_send: Latencies,
    produce: Latencies,
    produce_window: Latencies,
    acked_records: u64,
    produce_requests: u64,
    produce_errors: BTreeMap<i16, u64>,
    fetches: u64,
    empty_fetches: u64,
    fetch_errors: BTreeMap<i16, u64>,
    lateness: Latencies,
    offered: u64,
}

impl Shared {
    fn new(total: u64) -> Shared {
        Shared {
            total,
            seen: vec![false; total as usize],
            distinct: 0,
            duplicates: 0,
            foreign: 0,
            e2e: Latencies::default(),
            e2e_window: Latencies::default(),
            from_send: Latencies::default(),
            produce: Latencies::default(),
            produce_window: Latencies::default(),
            acked_records: 0,
            produce_requests: 0,
            produce_errors: BTreeMap::new(),
            fetches: 0,
            empty_fetches: 0,
            fetch_errors: BTreeMap::new(),
            lateness: Latencies::default(),
            offered: 0,
        }
    }

    /// A consumed record: its latency, unless its sequence number is not ours or already seen.
    fn consumed(&mut self, seq: u64, latency: Duration, from_send: Duration) {
        match self.seen.get_mut(seq as usize) {
            None => self.foreign += 1,
            Some(true) => self.duplicates += 1,
            Some(seen) => {
                *seen = true;
                self.distinct += 1;
                self.e2e.record(latency);
                self.e2e_window.record(latency);
                self.from_send.record(from_send);
            }
        }
    }

    fn all_seen(&self) -> bool {
        self.distinct == self.total
    }
}

fn lock(shared: &Mutex<Shared>) -> anyhow::Result<MutexGuard<'_, Shared>> {
    shared.lock().map_err(|_| anyhow::anyhow!("shared state poisoned"))
}

/// The due time of record `seq` in nanoseconds since the start.
pub fn due_ns(seq: u64, rate: u64) -> u64 {
    (u128::from(seq) * 1_000_000_000 / u128::from(rate)) as u64
}

/// How many records have fallen due `elapsed_ns` after the start (record 0 is due at once).
pub fn due_count(elapsed_ns: u128, rate: u64, total: u64) -> u64 {
    let n = elapsed_ns * u128::from(rate) / 1_000_000_000 + 1;
    n.min(u128::from(total)) as u64
}

/// The stamp at the start of each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub due_ns: u64,
    pub seq: u64,
    pub sent_ns: u64,
}

/// A record value: the stamp, then filler bytes from `payload` up to `record_size`.
pub fn stamped_value(stamp: Stamp, payload: &PayloadPool, record_size: usize) -> Bytes {
    let mut v = BytesMut::with_capacity(record_size);
    v.put_u64(stamp.due_ns);
    v.put_u64(stamp.seq);
    v.put_u64(stamp.sent_ns);
    v.extend_from_slice(&payload.value(stamp.seq as usize)[STAMP_BYTES..]);
    v.freeze()
}

/// The stamp at the start of a value.
pub fn read_stamp(value: &[u8]) -> Option<Stamp> {
    let mut v = value.get(..STAMP_BYTES)?;
    Some(Stamp { due_ns: v.get_u64(), seq: v.get_u64(), sent_ns: v.get_u64() })
}

pub async fn run(args: EndToEndArgs) -> anyhow::Result<EndToEndReport> {
    anyhow::ensure!(args.record_size >= STAMP_BYTES, "--record-size must be at least {STAMP_BYTES} (the stamp)");
    anyhow::ensure!(args.rate > 0 && args.duration_secs > 0, "--rate and --duration-secs must be positive");
    anyhow::ensure!(args.linger_ms > 0, "--linger-ms must be positive (the pacer's tick)");
    anyhow::ensure!(args.max_in_flight > 0, "--max-in-flight must be positive");
    anyhow::ensure!(args.acks != 0, "--acks 0 has no acknowledgements to pace against; use 1 or -1");
    let total = args.rate.checked_mul(args.duration_secs).context("--rate × --duration-secs overflows")?;
    anyhow::ensure!(total <= 1 << 30, "{total} records is more than this tool keeps track of (2^30)");

    let setup_deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
    let (versions, layout) = discover(&args.bootstrap, &args.topic, SETUP_TIMEOUT).await?;
    let produce_version = versions.pick(ApiKey::Produce, PRODUCE_VERSIONS, args.produce_version)?;
    let fetch_version = versions.pick(ApiKey::Fetch, FETCH_VERSIONS, args.fetch_version)?;
    let list_offsets_version = versions.pick(ApiKey::ListOffsets, LIST_OFFSETS_VERSIONS, None)?;
    let groups = layout.by_leader();
    let partitions: Vec<i32> = layout.partitions.iter().map(|(p, _)| *p).collect();
    let group_of: BTreeMap<i32, usize> =
        groups.iter().enumerate().flat_map(|(g, (_, ps))| ps.iter().map(move |p| (*p, g))).collect();
    let per_batch = records_per_batch(args.batch_size, args.record_size) as u64;
    let topic = TopicName(StrBytes::from_string(args.topic.clone()));

    // Consumers first: their start offsets are the end of each log before anything is produced.
    let mut consumers = Vec::with_capacity(groups.len());
    for (leader, parts) in &groups {
        let mut conn = timeout_at(setup_deadline, Connection::connect(leader.addr.as_str()))
            .await
            .context("timed out connecting a consumer")?
            .with_context(|| format!("connect to leader {} at {}", leader.id, leader.addr))?;
        let offsets = timeout_at(setup_deadline, latest_offsets(&mut conn, list_offsets_version, &topic, parts))
            .await
            .context("timed out asking for end offsets")??;
        consumers.push((conn, parts.clone(), offsets));
    }
    let mut producers = Vec::with_capacity(groups.len());
    for (leader, _) in &groups {
        let stream = timeout_at(setup_deadline, TcpStream::connect(leader.addr.as_str()))
            .await
            .context("timed out connecting a producer")?
            .with_context(|| format!("connect to leader {} at {}", leader.id, leader.addr))?;
        stream.set_nodelay(true)?;
        producers.push(stream.into_split());
    }
    println!(
        "end-to-end: {} records of {} bytes to {} ({} partitions, {} leaders) at {} records/s for {} s: acks={}, linger {} ms, batches of at most {} records, Produce v{}, {} in flight per connection; consumer Fetch v{}, min 1 byte, max wait {} ms",
        total,
        args.record_size,
        args.topic,
        partitions.len(),
        groups.len(),
        args.rate,
        args.duration_secs,
        args.acks,
        args.linger_ms,
        per_batch,
        produce_version,
        args.max_in_flight,
        fetch_version,
        args.max_wait_ms
    );

    let shared = Arc::new(Mutex::new(Shared::new(total)));
    let origin = Instant::now();
    let last_due = origin + Duration::from_nanos(due_ns(total - 1, args.rate));
    let end = tokio::time::Instant::from_std(last_due + Duration::from_secs(args.drain_secs));

    let mut consumer_tasks = Vec::new();
    for (conn, parts, offsets) in consumers {
        let consumer = Consumer { topic: topic.clone(), partitions: parts, offsets, version: fetch_version, max_wait_ms: args.max_wait_ms };
        let shared = shared.clone();
        consumer_tasks.push(tokio::spawn(async move { consumer.run(conn, origin, shared, end).await }));
    }
    let mut senders = Vec::new();
    let mut producer_tasks = Vec::new();
    for (read, write) in producers {
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let (flight_tx, flight_rx) = mpsc::unbounded_channel();
        let window = Arc::new(Semaphore::new(args.max_in_flight));
        let writer = ProduceWriter {
            topic: topic.clone(),
            version: produce_version,
            acks: args.acks,
            timeout_ms: args.request_timeout_ms,
        };
        producer_tasks.push(tokio::spawn(async move { writer.run(write, jobs_rx, window, flight_tx, end).await }));
        let shared = shared.clone();
        producer_tasks.push(tokio::spawn(async move { read_acks(read, flight_rx, produce_version, shared, end).await }));
        senders.push(jobs_tx);
    }
    let progress = (args.progress_secs > 0).then(|| tokio::spawn(print_progress(shared.clone(), args.progress_secs)));

    // The pacer.
    let payload = PayloadPool::new(args.record_size, 0x0e2e_1a7e_cafe);
    let tick = Duration::from_millis(args.linger_ms);
    let mut next_seq = 0u64;
    let mut cursor = 0usize;
    let mut k: u64 = 1;
    let mut failure: Option<anyhow::Error> = None;
    while next_seq < total {
        let scheduled = origin + Duration::from_nanos(args.linger_ms * 1_000_000 * k);
        tokio::time::sleep_until(tokio::time::Instant::from_std(scheduled)).await;
        let now = Instant::now();
        let due = due_count((now - origin).as_nanos(), args.rate, total);
        let wall_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut sent_this_tick = 0;
        while next_seq < due {
            let n = per_batch.min(due - next_seq);
            let sent_ns = origin.elapsed().as_nanos() as u64;
            let values = (next_seq..next_seq + n)
                .map(|seq| stamped_value(Stamp { due_ns: due_ns(seq, args.rate), seq, sent_ns }, &payload, args.record_size))
                .collect();
            let batch = build_batch_of(values, wall_ms)?;
            let partition = partitions[cursor % partitions.len()];
            cursor += 1;
            let sender = &senders[group_of[&partition]];
            if sender.send(Job { partition, batch, records: n }).is_err() {
                failure = Some(anyhow::anyhow!("the connection to partition {partition}'s leader has failed"));
                break;
            }
            next_seq += n;
            sent_this_tick += n;
        }
        {
            let mut s = lock(&shared)?;
            s.lateness.record(now - scheduled);
            s.offered += sent_this_tick;
        }
        if failure.is_some() {
            break;
        }
        // The next tick after now; ticks missed while late are not made up one by one (the
        // records that fell due meanwhile went out in this tick's batches).
        k = (k + 1).max(((now - origin).as_nanos() / tick.as_nanos()) as u64 + 1);
    }
    let produced_in = origin.elapsed();
    drop(senders); // writers finish their queues, then stop

    for task in producer_tasks.into_iter().chain(consumer_tasks) {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(anyhow::anyhow!("task panicked: {e}"));
            }
        }
    }
    if let Some(p) = progress {
        p.abort();
    }

    let s = lock(&shared)?;
    let e = s.e2e.summary();
    let f = s.from_send.summary();
    let p = s.produce.summary();
    let late = s.lateness.summary();
    let missing = s.total - s.distinct;
    println!(
        "{} records offered in {:.3} s ({:.1} records/sec, {:.2} MB/sec), {} acked, {} consumed once, {} missing, {} duplicates, {} not ours.",
        s.offered,
        produced_in.as_secs_f64(),
        s.offered as f64 / produced_in.as_secs_f64().max(1e-9),
        s.offered as f64 * args.record_size as f64 / (1024.0 * 1024.0) / produced_in.as_secs_f64().max(1e-9),
        s.acked_records,
        s.distinct,
        missing,
        s.duplicates,
        s.foreign
    );
    println!(
        "end-to-end latency: {} samples, {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th.",
        e.count, e.avg_ms, e.max_ms, e.p50_ms, e.p95_ms, e.p99_ms, e.p999_ms
    );
    println!(
        "from batch send to consumer (linger excluded): {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th.",
        f.avg_ms, f.max_ms, f.p50_ms, f.p95_ms, f.p99_ms, f.p999_ms
    );
    println!(
        "produce latency (per request, acks={}): {} requests, {:.1} records per request, {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th; partition errors: {}.",
        args.acks,
        s.produce_requests,
        s.acked_records as f64 / (s.produce_requests.max(1)) as f64,
        p.avg_ms,
        p.max_ms,
        p.p50_ms,
        p.p95_ms,
        p.p99_ms,
        p.p999_ms,
        if s.produce_errors.is_empty() { "none".to_owned() } else { format!("{:?} (code: count)", s.produce_errors) }
    );
    println!(
        "pacer: {} ticks, lateness {:.2} ms 50th, {:.2} ms 99th, {:.2} ms 99.9th, {:.2} ms max; consumer: {} fetches ({} empty), fetch errors: {}.",
        late.count,
        late.p50_ms,
        late.p99_ms,
        late.p999_ms,
        late.max_ms,
        s.fetches,
        s.empty_fetches,
        if s.fetch_errors.is_empty() { "none".to_owned() } else { format!("{:?} (code: count)", s.fetch_errors) }
    );
    if let Some(e) = &failure {
        eprintln!("end-to-end failed: {e:#}");
    }
    let ok = failure.is_none() && missing == 0 && s.duplicates == 0 && s.produce_errors.is_empty();
    Ok(EndToEndReport { ok })
}

/// Each partition's end offset (the high watermark) as its leader reports it.
async fn latest_offsets(conn: &mut Connection, version: i16, topic: &TopicName, partitions: &[i32]) -> anyhow::Result<Vec<i64>> {
    let req = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default().with_name(topic.clone()).with_partitions(
        partitions
            .iter()
            .map(|&p| ListOffsetsPartition::default().with_partition_index(p).with_timestamp(LATEST_TIMESTAMP))
            .collect(),
    )]);
    let resp = conn.send(&req, version).await.context("ListOffsets")?;
    let mut offsets = Vec::with_capacity(partitions.len());
    for &p in partitions {
        let answer = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|a| a.partition_index == p)
            .with_context(|| format!("ListOffsets answered nothing for partition {p}"))?;
        if answer.error_code != 0 {
            bail!("ListOffsets for partition {p} failed with error code {}", answer.error_code);
        }
        offsets.push(answer.offset);
    }
    Ok(offsets)
}

/// The writing half of one producer connection.
struct ProduceWriter {
    topic: TopicName,
    version: i16,
    acks: i16,
    timeout_ms: i32,
}

impl ProduceWriter {
    /// Writes each job as one Produce request once the in-flight window has room.
    async fn run(
        self,
        mut write: OwnedWriteHalf,
        mut jobs: mpsc::UnboundedReceiver<Job>,
        window: Arc<Semaphore>,
        in_flight: mpsc::UnboundedSender<InFlight>,
        end: tokio::time::Instant,
    ) -> anyhow::Result<()> {
        let mut correlation_id: i32 = 1;
        while let Some(job) = jobs.recv().await {
            let permit = timeout_at(end, window.clone().acquire_owned())
                .await
                .context("timed out waiting for room in the in-flight window")?
                .context("in-flight window closed")?;
            let body = produce_body(&self.topic, job.partition, job.batch, self.acks, self.timeout_ms, self.version)?;
            let mut frame = produce_header(self.version, correlation_id, body.len())?;
            frame.extend_from_slice(&body);
            let sent_at = Instant::now();
            timeout_at(end, write.write_all(&frame)).await.context("timed out writing a Produce request")??;
            let flight = InFlight { correlation_id, sent_at, records: job.records, _permit: permit };
            if in_flight.send(flight).is_err() {
                bail!("the response reader stopped");
            }
            correlation_id = correlation_id.wrapping_add(1);
        }
        Ok(())
    }
}

/// Reads the Produce responses of one connection, in request order.
async fn read_acks(
    read: OwnedReadHalf,
    mut in_flight: mpsc::UnboundedReceiver<InFlight>,
    version: i16,
    shared: Arc<Mutex<Shared>>,
    end: tokio::time::Instant,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let header_version = ApiKey::Produce.response_header_version(version);
    while let Some(flight) = in_flight.recv().await {
        let mut frame = timeout_at(end, read_frame(&mut reader)).await.context("timed out waiting for a Produce response")??;
        let latency = flight.sent_at.elapsed();
        let header = ResponseHeader::decode(&mut frame, header_version).map_err(|e| anyhow::anyhow!("Produce response header: {e:#}"))?;
        anyhow::ensure!(
            header.correlation_id == flight.correlation_id,
            "Produce response for correlation id {} where {} was next",
            header.correlation_id,
            flight.correlation_id
        );
        let resp = ProduceResponse::decode(&mut frame, version).map_err(|e| anyhow::anyhow!("Produce response v{version}: {e:#}"))?;
        let mut s = lock(&shared)?;
        let mut failed = false;
        for p in resp.responses.iter().flat_map(|t| t.partition_responses.iter()) {
            if p.error_code != 0 {
                *s.produce_errors.entry(p.error_code).or_default() += 1;
                failed = true;
            }
        }
        s.produce_requests += 1;
        if !failed {
            s.acked_records += flight.records;
        }
        s.produce.record(latency);
        s.produce_window.record(latency);
    }
    Ok(())
}

async fn read_frame(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<Bytes> {
    let size = reader.read_i32().await.context("reading a response size")?;
    anyhow::ensure!((0..=MAX_FRAME as i64).contains(&i64::from(size)), "response size {size} out of range");
    let mut buf = vec![0u8; size as usize];
    reader.read_exact(&mut buf).await.context("reading a response")?;
    Ok(Bytes::from(buf))
}

/// One consumer connection: long-polls one leader's partitions.
struct Consumer {
    topic: TopicName,
    partitions: Vec<i32>,
    offsets: Vec<i64>,
    version: i16,
    max_wait_ms: i32,
}

impl Consumer {
    async fn run(mut self, mut conn: Connection, origin: Instant, shared: Arc<Mutex<Shared>>, end: tokio::time::Instant) -> anyhow::Result<()> {
        loop {
            if lock(&shared)?.all_seen() || tokio::time::Instant::now() >= end {
                return Ok(());
            }
            let req = self.request();
            // The drain deadline ends the run, so a fetch cut short by it is not an error.
            let Ok(resp) = timeout_at(end, conn.send(&req, self.version)).await else { return Ok(()) };
            let resp = resp.context("Fetch")?;
            let arrived = origin.elapsed();
            if resp.error_code != 0 {
                bail!("Fetch failed with error code {}", resp.error_code);
            }
            let mut stamps = Vec::new();
            let mut errors = Vec::new();
            for p in resp.responses.iter().flat_map(|t| t.partitions.iter()) {
                let Some(i) = self.partitions.iter().position(|&q| q == p.partition_index) else { continue };
                if p.error_code != 0 {
                    errors.push(p.error_code);
                    continue;
                }
                let Some(records) = &p.records else { continue };
                let scan = scan_batches(records).with_context(|| format!("partition {} at offset {}", p.partition_index, self.offsets[i]))?;
                if let Some(next) = scan.next_offset {
                    self.offsets[i] = next;
                }
                let mut complete = records.slice(..records.len() - scan.partial_tail);
                let sets = RecordBatchDecoder::decode_all(&mut complete)
                    .map_err(|e| anyhow::anyhow!("cannot decode partition {}'s records: {e:#}", p.partition_index))?;
                for record in sets.iter().flat_map(|s| s.records.iter()) {
                    // A value without a stamp is not ours: counted as such by its impossible seq.
                    stamps.push(record.value.as_deref().and_then(read_stamp).unwrap_or(Stamp { due_ns: 0, seq: u64::MAX, sent_ns: 0 }));
                }
            }
            let mut s = lock(&shared)?;
            s.fetches += 1;
            if stamps.is_empty() {
                s.empty_fetches += 1;
            }
            for code in errors {
                *s.fetch_errors.entry(code).or_default() += 1;
            }
            for stamp in stamps {
                let latency = arrived.saturating_sub(Duration::from_nanos(stamp.due_ns));
                let from_send = arrived.saturating_sub(Duration::from_nanos(stamp.sent_ns));
                s.consumed(stamp.seq, latency, from_send);
            }
        }
    }

    fn request(&self) -> FetchRequest {
        FetchRequest::default()
            .with_max_wait_ms(self.max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(50 << 20)
            .with_topics(vec![FetchTopic::default().with_topic(self.topic.clone()).with_partitions(
                self.partitions
                    .iter()
                    .zip(&self.offsets)
                    .map(|(&p, &offset)| FetchPartition::default().with_partition(p).with_fetch_offset(offset).with_partition_max_bytes(1 << 20))
                    .collect(),
            )])
    }
}

/// Every `secs`: records offered, acked and consumed in the window, and the window's latencies.
async fn print_progress(shared: Arc<Mutex<Shared>>, secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(secs));
    tick.tick().await;
    let (mut offered, mut acked, mut seen) = (0u64, 0u64, 0u64);
    loop {
        tick.tick().await;
        let Ok(mut s) = shared.lock() else { return };
        let e = s.e2e_window.summary();
        let p = s.produce_window.summary();
        println!(
            "{} offered, {} acked, {} consumed; end-to-end {:.2} ms 50th, {:.2} ms 99th, {:.2} ms max; produce {:.2} ms 50th, {:.2} ms 99th, {:.2} ms max.",
            s.offered - offered,
            s.acked_records - acked,
            s.distinct - seen,
            e.p50_ms,
            e.p99_ms,
            e.max_ms,
            p.p50_ms,
            p.p99_ms,
            p.max_ms
        );
        (offered, acked, seen) = (s.offered, s.acked_records, s.distinct);
        s.e2e_window.clear();
        s.produce_window.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::check_batch;

    #[test]
    fn due_times_spread_records_evenly() {
        assert_eq!(due_ns(0, 50_000), 0);
        assert_eq!(due_ns(1, 50_000), 20_000);
        assert_eq!(due_ns(50_000, 50_000), 1_000_000_000);
        // Record 0 is due at once; after 1 ms at 50,000/s, records 0..=50 are.
        assert_eq!(due_count(0, 50_000, 1000), 1);
        assert_eq!(due_count(1_000_000, 50_000, 1000), 51);
        assert_eq!(due_count(999_999, 50_000, 1000), 50);
        assert_eq!(due_count(u128::from(u64::MAX), 50_000, 1000), 1000, "capped at the total");
        // Every record's due time is at most the elapsed time that makes it due.
        for seq in [0u64, 1, 49, 50, 12_345] {
            assert!(due_count(u128::from(due_ns(seq, 50_000)), 50_000, u64::MAX) > seq);
        }
    }

    #[test]
    fn the_stamp_survives_a_batch_round_trip() {
        let payload = PayloadPool::new(100, 7);
        let stamp = |seq| Stamp { due_ns: due_ns(seq, 1000), seq, sent_ns: 123_456_789 };
        let values: Vec<Bytes> = (40..45).map(|seq| stamped_value(stamp(seq), &payload, 100)).collect();
        assert!(values.iter().all(|v| v.len() == 100));
        let batch = build_batch_of(values, 1_700_000_000_000).unwrap();
        check_batch(&batch, 5).unwrap();
        let mut buf = batch.clone();
        let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap();
        let stamps: Vec<Stamp> = sets[0].records.iter().map(|r| read_stamp(r.value.as_ref().unwrap()).unwrap()).collect();
        assert_eq!(stamps, (40..45).map(stamp).collect::<Vec<_>>());
        assert_eq!(stamps[2].due_ns, 42_000_000);
        assert_eq!(read_stamp(&[0u8; STAMP_BYTES - 1]), None);
    }

    #[test]
    fn each_sequence_number_counts_once() {
        let mut s = Shared::new(3);
        let ms = Duration::from_millis;
        s.consumed(0, ms(2), ms(1));
        s.consumed(2, ms(4), ms(3));
        s.consumed(2, ms(9), ms(8));
        s.consumed(7, ms(1), ms(1));
        assert_eq!((s.distinct, s.duplicates, s.foreign, s.e2e.len()), (2, 1, 1, 2));
        assert!(!s.all_seen());
        s.consumed(1, ms(3), ms(2));
        assert!(s.all_seen());
    }
}
