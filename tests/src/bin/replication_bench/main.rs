//! `replication_bench`: what replication costs. Three release brokers on a real 3-node ZooKeeper
//! ensemble, topics of replication factor 3 with `min.insync.replicas=2`, 100-byte records. A
//! benchmark, not a test: it prints figures for docs/BENCHMARKS.md (run through
//! `scripts/bench.sh replication`) and asserts nothing about speed.
//!
//! Two measurements, each on a fresh topic whose partitions are spread over the brokers
//! (partition *p* has replicas `[b(p), b(p+1), b(p+2)]`, so each broker leads `partitions / 3`
//! and follows the rest), created through ZooKeeper as `kafka-topics.sh --zookeeper` does and
//! used only once every broker shows every partition led and its ISR full:
//!
//! 1. **Throughput.** `odradek-perf produce` sends `--records` records in pre-built batches, each
//!    partition's to its leader (from Metadata), one connection per leader with `--max-in-flight`
//!    requests outstanding, for every `--acks` × `--batch-sizes`. Reported: records/s, MB/s of
//!    payload, latency per Produce request (written → answered: for acks=all that includes both
//!    followers fetching the batch and the leader advancing its high watermark).
//! 2. **End-to-end latency.** `odradek-perf end-to-end` offers `--e2e-rate` records/s for
//!    `--e2e-secs` with acks=all and a linger of `--e2e-linger-ms`, while a consumer long-polls the
//!    leaders; latency = consumer receipt − the record's due time (see tools/perf/src/end_to_end.rs).
//!
//! After every phase the bench waits (bounded) until the three replicas hold the same bytes on
//! disk (a broken acks=all could otherwise look fast; under acks=1 the followers may still be
//! catching up when the last record is acknowledged) and checks that the ISR is still full; then
//! the topic is deleted. Around the phase, up to the replicas agreeing, it reads the CPU time
//! (`utime + stime` in `/proc/<pid>/stat`) of each broker and of the ZooKeeper JVMs, the client's
//! from `/usr/bin/time`, and the machine's busy time from `/proc/stat`; what is left is "other"
//! load sharing the cores. `--profile` also runs `perf record -g` on the brokers.
//!
//! The load generator is a separate process (`odradek-perf`, built by `cargo build --release -p
//! odradek-perf`) so that its CPU is measured apart from the brokers'. Note the machine: brokers,
//! ZooKeeper and client all share its cores, unlike a benchmark on dedicated machines.
//!
//! Usage: `replication_bench [--rounds N] [--records N] [--record-size B] [--partitions P]
//! [--batch-sizes 1MiB,64000,16KiB] [--acks all,1] [--max-in-flight N] [--e2e-rate R]
//! [--e2e-secs S] [--e2e-linger-ms MS] [--e2e-batch-size B] [--parts e2e,throughput] [--profile]
//! [--session-timeout-ms MS] [--phase-timeout-secs S] [--out DIR] [--broker-bin PATH]
//! [--perf-bin PATH]`. Each round runs the parts in the order given. The broker is `--broker-bin`,
//! else `$ODRADEK_BROKER_BIN`, else `odradek-broker` beside this executable; `odradek-perf`
//! likewise (`--perf-bin`, `$ODRADEK_PERF_BIN`, beside this executable). Progress goes to stderr,
//! the report to stdout, each tool's raw output (and `perf` data) to `--out` if given.

mod measure;
mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::broker_binary::BROKER_BIN_ENV;
use odradek_tests::cluster::{wait_until, Cluster, PartitionView};
use odradek_tests::{unique_topic, wire};

use measure::{clock_ticks, latencies_in, line_with, number_before, run_perf, PerfRun};
use report::{print_end_to_end, print_header, print_profiles, print_targets, print_throughput};

const BROKERS: [i32; 3] = [1, 2, 3];
const REPLICATION_FACTOR: usize = 3;
const MIN_INSYNC_REPLICAS: &str = "2";
/// `zookeeper.session.timeout.ms` of a broker that sets none; the harness's 6 s is overridden so
/// a broker starved of CPU under load is not mistaken for a dead one.
const KAFKA_DEFAULT_SESSION_TIMEOUT_MS: u64 = 18_000;
/// How long a new topic may take to be led, with a full ISR, on every broker.
const PROPAGATION: Duration = Duration::from_secs(60);
/// How long the replicas may take, after a phase, to hold the same bytes.
const CATCH_UP: Duration = Duration::from_secs(30);
const PERF_BIN_ENV: &str = "ODRADEK_PERF_BIN";
/// The targets.
const THROUGHPUT_TARGET: f64 = 400_000.0;
const E2E_P99_TARGET_MS: f64 = 10.0;
/// Kafka's own figure for acks=all, RF 3, 100-byte records on three dedicated machines (2014).
const KAFKA_2014_ACKS_ALL: f64 = 421_823.0;

struct Args {
    records: u64,
    record_size: usize,
    partitions: i32,
    batch_sizes: Vec<String>,
    acks: Vec<String>,
    max_in_flight: usize,
    e2e_rate: u64,
    e2e_secs: u64,
    e2e_linger_ms: u64,
    e2e_batch_size: String,
    parts: Vec<String>,
    rounds: usize,
    profile: bool,
    session_timeout_ms: u64,
    phase_timeout_secs: u64,
    out: Option<PathBuf>,
    broker_bin: Option<PathBuf>,
    perf_bin: Option<PathBuf>,
}

const USAGE: &str = "usage: replication_bench [--records N] [--record-size B] [--partitions P] [--batch-sizes 1MiB,64000,16KiB] [--acks all,1] [--max-in-flight N] [--e2e-rate R] [--e2e-secs S] [--e2e-linger-ms MS] [--e2e-batch-size B] [--parts e2e,throughput] [--rounds N] [--profile] [--session-timeout-ms MS] [--phase-timeout-secs S] [--out DIR] [--broker-bin PATH] [--perf-bin PATH]";

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        records: 5_000_000,
        record_size: 100,
        partitions: 6,
        batch_sizes: vec!["1MiB".into(), "64000".into(), "16KiB".into()],
        acks: vec!["all".into(), "1".into()],
        max_in_flight: 5,
        e2e_rate: 50_000,
        e2e_secs: 30,
        e2e_linger_ms: 1,
        e2e_batch_size: "16KiB".into(),
        parts: vec!["e2e".into(), "throughput".into()],
        rounds: 3,
        profile: false,
        session_timeout_ms: KAFKA_DEFAULT_SESSION_TIMEOUT_MS,
        phase_timeout_secs: 150,
        out: None,
        broker_bin: None,
        perf_bin: None,
    };
    let list = |s: String| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => args.records = value()?.parse().context("--records")?,
            "--record-size" => args.record_size = value()?.parse().context("--record-size")?,
            "--partitions" => args.partitions = value()?.parse().context("--partitions")?,
            "--batch-sizes" => args.batch_sizes = list(value()?),
            "--acks" => args.acks = list(value()?),
            "--max-in-flight" => args.max_in_flight = value()?.parse().context("--max-in-flight")?,
            "--e2e-rate" => args.e2e_rate = value()?.parse().context("--e2e-rate")?,
            "--e2e-secs" => args.e2e_secs = value()?.parse().context("--e2e-secs")?,
            "--e2e-linger-ms" => args.e2e_linger_ms = value()?.parse().context("--e2e-linger-ms")?,
            "--e2e-batch-size" => args.e2e_batch_size = value()?,
            "--parts" => args.parts = list(value()?),
            "--rounds" => args.rounds = value()?.parse().context("--rounds")?,
            "--profile" => args.profile = true,
            "--session-timeout-ms" => args.session_timeout_ms = value()?.parse().context("--session-timeout-ms")?,
            "--phase-timeout-secs" => args.phase_timeout_secs = value()?.parse().context("--phase-timeout-secs")?,
            "--out" => args.out = Some(value()?.into()),
            "--broker-bin" => args.broker_bin = Some(value()?.into()),
            "--perf-bin" => args.perf_bin = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    anyhow::ensure!(args.records > 0 && args.partitions > 0 && args.rounds > 0, "--records, --partitions and --rounds must be positive");
    anyhow::ensure!(args.e2e_rate > 0 && args.e2e_secs > 0, "--e2e-rate and --e2e-secs must be positive");
    for acks in &args.acks {
        anyhow::ensure!(["all", "-1", "1"].contains(&acks.as_str()), "--acks takes all, -1 or 1, not {acks:?}");
    }
    for part in &args.parts {
        anyhow::ensure!(["e2e", "throughput"].contains(&part.as_str()), "unknown part {part:?}");
    }
    Ok(args)
}

/// `--flag`, else `$env`, else `name` beside this executable.
fn locate_binary(flag: Option<PathBuf>, env: &str, name: &str, build: &str) -> anyhow::Result<PathBuf> {
    let path = match (flag, std::env::var_os(env)) {
        (Some(path), _) => path,
        (None, Some(env)) => env.into(),
        (None, None) => std::env::current_exe().context("cannot find this executable")?.with_file_name(name),
    };
    anyhow::ensure!(path.is_file(), "no {name} at {} ({build})", path.display());
    Ok(path)
}

/// The cluster and what every phase needs.
struct Bench {
    cluster: Cluster,
    runtime: tokio::runtime::Runtime,
    args: Args,
    perf_bin: PathBuf,
    ticks_per_sec: f64,
}

impl Bench {
    fn bootstrap(&self) -> String {
        self.cluster.addr(BROKERS[0]).to_string()
    }

    /// A fresh RF-3 topic with `min.insync.replicas=2`, partition p on `[b(p), b(p+1), b(p+2)]`;
    /// returns once every broker shows it led and fully in sync and every leader has acked (acks=all)
    /// a one-record probe on every partition.
    fn create_topic(&self, prefix: &str) -> anyhow::Result<String> {
        let topic = unique_topic(prefix);
        let assignment: BTreeMap<i32, Vec<i32>> = (0..self.args.partitions)
            .map(|p| (p, (0..REPLICATION_FACTOR).map(|r| BROKERS[(p as usize + r) % BROKERS.len()]).collect()))
            .collect();
        // A ZooKeeper client per use: a ZkProbe's session only heartbeats while it is blocked on,
        // so one kept across a 30 s phase would expire.
        self.cluster.zk()?.create_topic_with_configs(&topic, &assignment, &[("min.insync.replicas", MIN_INSYNC_REPLICAS)])?;
        let partitions = self.args.partitions as usize;
        let mut view = BTreeMap::new();
        for via in BROKERS {
            self.cluster.wait_for_leaders(via, &topic, partitions, &BROKERS, PROPAGATION)?;
            view = wait_until(PROPAGATION, &format!("broker {via} to show a full ISR for every partition of {topic}"), || {
                let view = self.cluster.partitions(via, &topic).ok()?;
                full_isr(&view).then_some(view)
            })?;
        }
        let probe = wire::encode_batch(&[(None, Some(Bytes::from_static(b"probe")))], Compression::None)?;
        for (p, v) in &view {
            let addr = self.cluster.addr(v.leader);
            let ack = self.runtime.block_on(async {
                tokio::time::timeout(PROPAGATION, async {
                    let mut conn = Connection::connect(addr).await?;
                    wire::produce(&mut conn, &topic, *p, probe.clone(), -1).await
                })
                .await
                .map_err(|_| anyhow::anyhow!("no answer to an acks=all probe of {topic}-{p} within {PROPAGATION:?}"))?
            })?;
            anyhow::ensure!(ack.error_code == 0, "acks=all probe of {topic}-{p} on its leader {} answered error code {}", v.leader, ack.error_code);
        }
        Ok(topic)
    }

    /// Deletes `topic` through `/admin/delete_topics` and waits (bounded) for the controller to
    /// finish, so its gigabyte of logs is gone before the next phase. A failure is only reported.
    fn delete_topic(&self, topic: &str) {
        let deleted = self.cluster.zk().and_then(|zk| {
            zk.block_on(zk.client().create_delete_topic_path(topic))?;
            let path = format!("/brokers/topics/{topic}");
            wait_until(PROPAGATION, &format!("{path} to be deleted"), || zk.get(&path).ok().and_then(|d| d.is_none().then_some(())))
        });
        if let Err(e) = deleted {
            eprintln!("replication_bench: warning: deleting {topic}: {e:#}");
        }
    }

    /// The controller's view of `topic` after a phase: the smallest ISR and the partitions whose
    /// ISR is not all replicas.
    fn isr_after(&self, topic: &str) -> String {
        match self.cluster.partitions(BROKERS[0], topic) {
            Err(e) => format!("? ({e})"),
            Ok(view) => {
                let shrunk: Vec<String> = view.iter().filter(|(_, v)| v.isr.len() < v.replicas.len()).map(|(p, v)| format!("p{p} {:?}", v.isr)).collect();
                if shrunk.is_empty() {
                    "full".into()
                } else {
                    format!("shrunk: {}", shrunk.join(", "))
                }
            }
        }
    }

    /// Bytes of `topic`'s segment files on each broker.
    fn bytes_on_disk(&self, topic: &str) -> BTreeMap<i32, u64> {
        self.cluster
            .brokers
            .iter()
            .map(|(id, b)| {
                let total = (0..self.args.partitions)
                    .map(|p| b.log_dir().join(format!("{topic}-{p}")))
                    .filter_map(|dir| std::fs::read_dir(dir).ok())
                    .flat_map(|entries| entries.filter_map(Result::ok))
                    .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum();
                (*id, total)
            })
            .collect()
    }

    /// Waits (bounded) for the three replicas to hold the same bytes; describes the outcome.
    fn replicas_on_disk(&self, topic: &str) -> String {
        let started = Instant::now();
        let mut bytes = self.bytes_on_disk(topic);
        while started.elapsed() < CATCH_UP {
            let same = bytes.values().min() == bytes.values().max();
            if same && bytes.values().all(|b| *b > 0) {
                let any = bytes.values().next().copied().unwrap_or(0);
                return format!("identical, {:.0} MiB each", any as f64 / (1 << 20) as f64);
            }
            std::thread::sleep(Duration::from_millis(200));
            bytes = self.bytes_on_disk(topic);
        }
        let each: Vec<String> = bytes.iter().map(|(id, b)| format!("b{id} {b}")).collect();
        format!("DIFFER after {CATCH_UP:?}: {}", each.join(", "))
    }
}

fn full_isr(view: &BTreeMap<i32, PartitionView>) -> bool {
    !view.is_empty() && view.values().all(|p| p.error_code == 0 && p.leader >= 0 && p.replicas.len() == REPLICATION_FACTOR && p.isr.len() == REPLICATION_FACTOR)
}

fn acks_flag(acks: &str) -> &'static str {
    if acks == "1" {
        "1"
    } else {
        "-1"
    }
}

fn acks_label(acks: &str) -> &'static str {
    if acks == "1" {
        "1"
    } else {
        "all"
    }
}

struct ThroughputRow {
    round: usize,
    acks: String,
    batch: String,
    records_per_batch: Option<String>,
    records: Option<f64>,
    secs: Option<f64>,
    rate: Option<f64>,
    mbs: Option<f64>,
    latency: BTreeMap<String, f64>,
    requests: Option<f64>,
    run: PerfRun,
    isr: String,
    disk: String,
}

fn throughput_phase(bench: &Bench, round: usize, acks: &str, batch: &str) -> anyhow::Result<ThroughputRow> {
    let name = format!("round {round} produce acks={} batch={batch}", acks_label(acks));
    let topic = bench.create_topic(&format!("repl-acks{}-{}", acks_label(acks), batch.to_lowercase()))?;
    let args = &bench.args;
    let perf_args: Vec<String> = [
        "produce",
        "--bootstrap",
        &bench.bootstrap(),
        "--topic",
        &topic,
        "--records",
        &args.records.to_string(),
        "--record-size",
        &args.record_size.to_string(),
        "--acks",
        acks_flag(acks),
        "--batch-size",
        batch,
        "--max-in-flight",
        &args.max_in_flight.to_string(),
        "--timeout-secs",
        &args.phase_timeout_secs.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (run, disk) = run_perf(bench, &name, &perf_args, || bench.replicas_on_disk(&topic))?;
    let summary = line_with(&run.output, "records sent,").unwrap_or("");
    let requests_line = line_with(&run.output, "produce requests in").unwrap_or("");
    let records_per_batch = line_with(&run.output, "records/batch").and_then(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.windows(2).find(|w| w[1].starts_with("records/batch")).map(|w| w[0].to_string())
    });
    let isr = bench.isr_after(&topic);
    bench.delete_topic(&topic);
    Ok(ThroughputRow {
        round,
        acks: acks_label(acks).into(),
        batch: batch.into(),
        records_per_batch,
        records: summary.split_whitespace().next().and_then(|w| w.parse().ok()),
        secs: number_before(requests_line, "s,"),
        rate: number_before(summary, "records/sec"),
        mbs: number_before(summary, "MB/sec),"),
        latency: latencies_in(summary),
        requests: requests_line.split_whitespace().next().and_then(|w| w.parse().ok()),
        run,
        isr,
        disk,
    })
}

struct EndToEndRow {
    round: usize,
    offered_line: String,
    e2e: BTreeMap<String, f64>,
    from_send: BTreeMap<String, f64>,
    produce: BTreeMap<String, f64>,
    produce_line: String,
    pacer: BTreeMap<String, f64>,
    rate: Option<f64>,
    run: PerfRun,
    isr: String,
    disk: String,
}

fn end_to_end_phase(bench: &Bench, round: usize) -> anyhow::Result<EndToEndRow> {
    let args = &bench.args;
    let topic = bench.create_topic("repl-e2e")?;
    let perf_args: Vec<String> = [
        "end-to-end",
        "--bootstrap",
        &bench.bootstrap(),
        "--topic",
        &topic,
        "--rate",
        &args.e2e_rate.to_string(),
        "--duration-secs",
        &args.e2e_secs.to_string(),
        "--record-size",
        &args.record_size.to_string(),
        "--acks",
        "-1",
        "--linger-ms",
        &args.e2e_linger_ms.to_string(),
        "--batch-size",
        &args.e2e_batch_size,
        "--max-in-flight",
        &args.max_in_flight.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (run, disk) = run_perf(bench, &format!("round {round} end-to-end"), &perf_args, || bench.replicas_on_disk(&topic))?;
    let offered_line = line_with(&run.output, "records offered in").unwrap_or("").to_string();
    let produce_line = line_with(&run.output, "produce latency (per request").unwrap_or("").to_string();
    let isr = bench.isr_after(&topic);
    bench.delete_topic(&topic);
    Ok(EndToEndRow {
        round,
        rate: offered_line.split('(').nth(1).and_then(|s| number_before(s, "records/sec,")),
        e2e: latencies_in(line_with(&run.output, "end-to-end latency:").unwrap_or("")),
        from_send: latencies_in(line_with(&run.output, "from batch send to consumer").unwrap_or("")),
        produce: latencies_in(&produce_line),
        pacer: latencies_in(line_with(&run.output, "pacer:").unwrap_or("")),
        offered_line,
        produce_line,
        run,
        isr,
        disk,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let broker_bin = locate_binary(args.broker_bin.clone(), BROKER_BIN_ENV, "odradek-broker", "cargo build --release --bin odradek-broker")?;
    std::env::set_var(BROKER_BIN_ENV, &broker_bin);
    let perf_bin = locate_binary(args.perf_bin.clone(), PERF_BIN_ENV, "odradek-perf", "cargo build --release -p odradek-perf")?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let started = Instant::now();
    let session = args.session_timeout_ms.to_string();
    eprintln!(
        "replication_bench: starting a 3-node ZooKeeper ensemble and brokers {BROKERS:?} ({}), zookeeper.session.timeout.ms={session}",
        broker_bin.display()
    );
    let cluster = Cluster::start(&BROKERS, &[("zookeeper.session.timeout.ms", &session)])?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot build a tokio runtime")?;
    let bench = Bench { cluster, runtime, args, perf_bin, ticks_per_sec: clock_ticks() };

    let mut e2e_rows = Vec::new();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for round in 1..=bench.args.rounds {
        for part in &bench.args.parts {
            if part == "e2e" {
                match end_to_end_phase(&bench, round) {
                    Ok(row) => {
                        if !row.run.ok {
                            errors.push(format!("round {round} end-to-end: odradek-perf failed ({})", row.run.command));
                        }
                        e2e_rows.push(row);
                    }
                    Err(e) => {
                        eprintln!("replication_bench: round {round} end-to-end failed: {e:#}");
                        errors.push(format!("round {round} end-to-end: {e:#}"));
                    }
                }
            }
            if part == "throughput" {
                for acks in &bench.args.acks {
                    for batch in &bench.args.batch_sizes {
                        match throughput_phase(&bench, round, acks, batch) {
                            Ok(row) => {
                                if !row.run.ok {
                                    errors.push(format!("round {round} produce acks={} batch={batch}: odradek-perf failed ({})", row.acks, row.run.command));
                                }
                                rows.push(row);
                            }
                            Err(e) => {
                                eprintln!("replication_bench: round {round} produce acks={acks} batch={batch} failed: {e:#}");
                                errors.push(format!("round {round} produce acks={acks} batch={batch}: {e:#}"));
                            }
                        }
                    }
                }
            }
        }
    }

    let args = &bench.args;
    print_header(args, &broker_bin, started);
    if args.parts.iter().any(|p| p == "throughput") {
        print_throughput(args, &rows);
    }
    if args.parts.iter().any(|p| p == "e2e") {
        print_end_to_end(args, &e2e_rows);
    }
    print_targets(args, &rows, &e2e_rows);
    print_profiles(&rows, &e2e_rows);
    if errors.is_empty() {
        return Ok(());
    }
    println!();
    println!("Failed phases:");
    for e in &errors {
        println!("- {}", e.lines().next().unwrap_or(""));
    }
    // Dropping the cluster stops the brokers (printing their stderr tails) and the ensemble.
    drop(bench);
    std::process::exit(1)
}
