//! One chaos run from start to verdict: cluster and topic up, producers and the live consumer
//! started, the fault schedule (or a scripted scenario) played, everything healed, the producers
//! stopped, every partition read back, the history checked.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::checker::{check, CheckReport};
use super::cluster::ChaosCluster;
use super::config::{Backend, ChaosConfig};
use super::consumer::{read_partition, read_with_kcat, run_live_consumer, LiveReads};
use super::container_nemesis::FaultWindow;
use super::history::{History, Outcome, ReadRecord, SendRecord};
use super::jepsen_2013;
use super::nemesis::{FaultLog, Nemesis, NemesisOptions};
use super::producer::{run_wire_producer, WireProducerSpec};
use super::python_producer::PythonProducer;
use super::scenario::{window_outcome, Scenario, ScenarioReport, WindowOutcome};
use super::schedule::{plan, PlannedFault, ScheduleSpec};
use crate::workload::unique_topic;

/// How long the healed cluster may take to list every broker and lead every partition.
pub(super) const RECOVERY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the final reads may keep retrying.
pub(super) const FINAL_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What one producer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerSummary {
    pub name: String,
    pub sent: usize,
    pub acked: usize,
    pub failed: usize,
    pub indeterminate: usize,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct ChaosRun {
    pub config: ChaosConfig,
    pub topic: String,
    pub faults_applied: usize,
    pub fault_log: Vec<(Duration, String)>,
    /// Brokers that exited on their own, failed to restart, or a cluster that did not recover.
    pub findings: Vec<String>,
    pub producers: Vec<ProducerSummary>,
    /// Records each reader returned (the live consumer's re-reads included).
    pub reads: BTreeMap<String, usize>,
    /// Each time the live consumer was told its position was out of range (it read again from
    /// 0); informational.
    pub live_resets: Vec<String>,
    pub report: CheckReport,
    /// What a scripted scenario observed (`--scenario`).
    pub scenario: Option<ScenarioReport>,
    /// Everything the run observed (the partitions that could not be read left out).
    pub history: History,
    /// The compose backend's ZooKeeper faults, each with the writes acknowledged while it held.
    pub zookeeper_windows: Vec<(FaultWindow, WindowOutcome)>,
    pub elapsed: Duration,
}

impl ChaosRun {
    /// Why the run fails; empty when it passes.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.report.problems();
        problems.extend(
            self.findings
                .iter()
                .map(|f| f.lines().next().unwrap_or_default().to_string()),
        );
        problems
    }

    pub fn passed(&self) -> bool {
        self.problems().is_empty()
    }

    /// Writes the history as TSV to `<dir>/<topic>.history.tsv` for a post-mortem and returns
    /// the path.
    pub fn write_history(&self, dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
        let path = dir.join(format!("{}.history.tsv", self.topic));
        std::fs::write(&path, self.history.to_tsv())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// The producers, the readers, the checker's table and the verdict.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:>8} {:>7} {:>7} {:>7} {:>13}",
            "producer", "sent", "acked", "failed", "indeterminate"
        );
        for p in &self.producers {
            let _ = writeln!(
                s,
                "{:>8} {:>7} {:>7} {:>7} {:>13}",
                p.name, p.sent, p.acked, p.failed, p.indeterminate
            );
        }
        let reads: Vec<String> = self
            .reads
            .iter()
            .map(|(reader, n)| format!("{reader} {n}"))
            .collect();
        let _ = writeln!(s, "records read: {}", reads.join(", "));
        if !self.live_resets.is_empty() {
            let n = self.live_resets.len();
            let _ = writeln!(
                s,
                "the live consumer was told OFFSET_OUT_OF_RANGE {n} times (first 5):"
            );
            for reset in self.live_resets.iter().take(5) {
                let _ = writeln!(s, "  {reset}");
            }
        }
        let _ = write!(s, "{}", self.report);
        if !self.zookeeper_windows.is_empty() {
            let _ = writeln!(
                s,
                "{:<17} {:<8} {:>9} {:>9} {:>7} {:>8}",
                "zookeeper fault", "nodes", "from", "to", "acked", "missing"
            );
            for (w, outcome) in &self.zookeeper_windows {
                let _ = writeln!(
                    s,
                    "{:<17} {:<8} {:>8.1}s {:>8.1}s {:>7} {:>8}",
                    w.kind.name(),
                    w.what,
                    w.from.as_secs_f64(),
                    w.to.as_secs_f64(),
                    outcome.acked,
                    outcome.missing
                );
            }
        }
        if let Some(scenario) = &self.scenario {
            let _ = write!(s, "{scenario}");
        }
        let totals = self.report.totals();
        let problems = self.problems();
        if problems.is_empty() {
            let _ = writeln!(
                s,
                "verdict: PASS: {} faults, {} acknowledged writes, none lost, no inconsistent offsets, none reordered by an order-keeping producer ({:.0?})",
                self.faults_applied, totals.acked, self.elapsed
            );
        } else {
            let _ = writeln!(s, "verdict: FAIL: {}", problems.join("; "));
            let _ = writeln!(s, "replay: {}", self.config.replay_command());
        }
        s
    }
}

/// Runs a chaos test as `config` says; an error is the harness failing (a cluster that would not
/// start, a client that crashed), not a verdict.
pub fn run(config: &ChaosConfig) -> anyhow::Result<ChaosRun> {
    config.validate()?;
    if config.backend == Backend::Compose {
        return super::container_run::run(config);
    }
    let started = Instant::now();
    let faults: Vec<PlannedFault> = match config.scenario {
        Some(_) => Vec::new(),
        None => plan(&ScheduleSpec {
            seed: config.seed,
            faults: config.faults,
            duration: config.duration,
            min_gap: config.min_gap,
            kinds: config.kinds.clone(),
            brokers: config.brokers.clone(),
            partitions: config.partitions,
            session_timeout: config.session_timeout,
        })?,
    };
    println!("{}", headline(config, faults.len()));

    // Declared first, dropped last: the proxies and the harness's ZooKeeper session run on it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("chaos")
        .enable_all()
        .build()
        .context("cannot build a tokio runtime")?;
    let mut cluster = ChaosCluster::start(
        runtime.handle(),
        &config.brokers,
        config.session_timeout.as_millis() as u64,
        &config.broker_overrides(),
    )?;
    let topic = unique_topic("chaos");
    cluster.create_topic(
        &topic,
        config.partitions,
        config.replication_factor,
        &config.topic_configs(),
    )?;
    for &via in &config.brokers {
        cluster.cluster.wait_for_leaders(
            via,
            &topic,
            config.partitions as usize,
            &config.brokers,
            Duration::from_secs(30),
        )?;
    }
    let clock = Instant::now();
    let mut log = FaultLog::new(clock);
    log.note(format!(
        "cluster up: brokers {:?} at {}, controller {:?}; topic {topic} created",
        config.brokers,
        cluster.bootstrap(),
        cluster.controller()
    ));

    let workload = Workload::start(
        &runtime,
        config,
        cluster.addrs(),
        &cluster.bootstrap(),
        &topic,
        clock,
    )?;
    log.note(format!(
        "producing: {} wire + {} confluent-kafka producers{}",
        config.rust_producers,
        config.python_producers,
        if config.live_consumer {
            ", live consumer polling"
        } else {
            ""
        }
    ));
    std::thread::sleep(config.warmup);

    let (faults_applied, mut findings, mut scenario) = match config.scenario {
        Some(Scenario::Jepsen2013) => {
            let outcome = jepsen_2013::play(&mut cluster, &mut log, &topic, config);
            (
                outcome.faults_applied,
                outcome.findings,
                Some(outcome.report),
            )
        }
        None => {
            let options = NemesisOptions {
                topic: topic.clone(),
                max_faulty: config.concurrent_faults,
                wipe_on_kill: config.wipe_on_kill,
                seed: config.seed,
                session_timeout: config.session_timeout,
                min_gap: config.min_gap,
            };
            let mut nemesis = Nemesis::new(&mut cluster, &mut log, options);
            nemesis.run(&faults, Instant::now());
            nemesis.heal_everything();
            let faults_applied = nemesis.faults_applied;
            (faults_applied, std::mem::take(&mut nemesis.findings), None)
        }
    };

    log.note("healed: waiting for every broker to register and every partition to have a leader");
    match cluster.wait_until_recovered(&topic, config.partitions, RECOVERY_TIMEOUT) {
        Ok(()) => log.note(format!("recovered; producing for {:?} more", config.settle)),
        Err(e) => finding(
            &mut log,
            &mut findings,
            format!("the healed cluster did not recover: {e:#}"),
        ),
    }
    std::thread::sleep(config.settle);
    let (mut sends, live) = workload.stop(&runtime)?;
    log.note(format!(
        "producers stopped after {} sends; reading every partition",
        sends.len()
    ));

    let mut reads = live.reads;
    let leader_addr = |partition| {
        cluster.leader_of(&topic, partition).filter(|l| cluster.cluster.brokers.contains_key(l)).map(|l| cluster.cluster.addr(l))
    };
    let readable = final_reads(
        &runtime,
        leader_addr,
        &cluster.bootstrap(),
        config,
        &topic,
        &mut reads,
        &mut log,
        &mut findings,
    )?;
    sends.retain(|s| readable.contains(&s.partition));
    reads.retain(|r| readable.contains(&r.partition));
    let mut read_counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &reads {
        *read_counts.entry(r.reader.clone()).or_default() += 1;
    }
    log.note(format!("read back: {read_counts:?}"));

    let history = History { sends, reads };
    if let Some(path) = &config.history {
        std::fs::write(path, history.to_tsv())
            .with_context(|| format!("cannot write {}", path.display()))?;
        log.note(format!("history written to {}", path.display()));
    }
    let report = check(&history, config.partitions);
    if let Some(scenario) = &mut scenario {
        complete_scenario_report(scenario, &mut cluster, &topic, &history);
    }
    Ok(ChaosRun {
        config: config.clone(),
        topic,
        faults_applied,
        fault_log: log.entries,
        findings,
        producers: summarize(&history.sends),
        history,
        zookeeper_windows: Vec::new(),
        reads: read_counts,
        live_resets: live.resets,
        report,
        scenario,
        elapsed: started.elapsed(),
    })
}

pub(super) fn headline(config: &ChaosConfig, faults: usize) -> String {
    if let Some(scenario) = config.scenario {
        return format!(
            "chaos: scenario {scenario} (scripted), brokers {:?}, {} partitions, RF {}, min.insync.replicas {}, unclean.leader.election.enable {}, replica.lag.time.max.ms {}, zookeeper.session.timeout.ms {}, acks=all, {} wire + {} confluent-kafka producers at {}/s each",
            config.brokers,
            config.partitions,
            config.replication_factor,
            config.min_insync,
            config.unclean,
            config
                .replica_lag_time_max
                .map_or("default".to_string(), |lag| lag.as_millis().to_string()),
            config.session_timeout.as_millis(),
            config.rust_producers,
            config.python_producers,
            config.rate
        );
    }
    let kinds: Vec<&str> = config.kinds.iter().map(|k| k.name()).collect();
    format!(
        "chaos: seed {}, {faults} faults ({}) over {:?}, brokers {:?}, {} partitions, RF {}, min.insync.replicas {}, acks=all, {} wire + {} confluent-kafka producers at {}/s each",
        config.seed,
        kinds.join(","),
        config.duration,
        config.brokers,
        config.partitions,
        config.replication_factor,
        config.min_insync,
        config.rust_producers,
        config.python_producers,
        config.rate
    )
}

/// Adds what only the finished run can tell: how the isolated leader's lone writes fared, and
/// the brokers' log lines about unclean elections and the old leader's truncation.
fn complete_scenario_report(
    scenario: &mut ScenarioReport,
    cluster: &mut ChaosCluster,
    topic: &str,
    history: &History,
) {
    if let Some((from, to)) = scenario.alone {
        scenario.alone_writes = window_outcome(history, from, to);
    }
    for id in cluster.ids() {
        for line in cluster.broker_log_lines(id, &["unclean leader election", topic], false) {
            scenario
                .unclean_elections
                .push(format!("broker {id}: {line}"));
        }
    }
    if let Some(leader) = scenario.leader {
        let needles = ["truncated to the leader's epoch boundary", topic];
        for line in cluster.broker_log_lines(leader, &needles, true) {
            scenario
                .truncations
                .push(format!("broker {leader}: {line}"));
        }
    }
}

pub(super) fn finding(log: &mut FaultLog, findings: &mut Vec<String>, text: String) {
    log.note(format!("FINDING: {text}"));
    findings.push(text);
}

/// The producers and the live consumer while they run.
pub(super) struct Workload {
    stop: watch::Sender<bool>,
    wire: Vec<JoinHandle<Vec<SendRecord>>>,
    python: Vec<PythonProducer>,
    live: Option<JoinHandle<LiveReads>>,
    /// Holds the Python producers' stderr.
    _dir: tempfile::TempDir,
}

impl Workload {
    pub(super) fn start(
        runtime: &Runtime,
        config: &ChaosConfig,
        bootstrap: Vec<std::net::SocketAddr>,
        bootstrap_servers: &str,
        topic: &str,
        clock: Instant,
    ) -> anyhow::Result<Workload> {
        let (stop, stopped) = watch::channel(false);
        let wire = (1..=config.rust_producers)
            .map(|i| {
                let spec = WireProducerSpec {
                    name: format!("r{i}"),
                    topic: topic.to_string(),
                    partitions: config.partitions,
                    bootstrap: bootstrap.clone(),
                    rate: config.rate,
                };
                runtime.spawn(run_wire_producer(spec, clock, stopped.clone()))
            })
            .collect();
        let live = config.live_consumer.then(|| {
            runtime.spawn(run_live_consumer(
                topic.to_string(),
                config.partitions,
                bootstrap.clone(),
                clock,
                stopped.clone(),
            ))
        });
        let dir = tempfile::Builder::new()
            .prefix("odradek-chaos-")
            .tempdir()
            .context("cannot create a work directory")?;
        let python = (1..=config.python_producers)
            .map(|i| {
                PythonProducer::start(
                    &format!("c{i}"),
                    bootstrap_servers,
                    topic,
                    config.partitions,
                    config.rate,
                    clock,
                    dir.path(),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Workload {
            stop,
            wire,
            python,
            live,
            _dir: dir,
        })
    }

    /// Stops everything (each producer finishing the send under way) and returns every send and
    /// the live consumer's reads.
    pub(super) fn stop(self, runtime: &Runtime) -> anyhow::Result<(Vec<SendRecord>, LiveReads)> {
        self.stop.send_replace(true);
        let mut sends = Vec::new();
        for producer in self.wire {
            sends.extend(
                runtime
                    .block_on(producer)
                    .context("a wire producer panicked")?,
            );
        }
        for producer in self.python {
            sends.extend(producer.stop()?);
        }
        let live = match self.live {
            Some(consumer) => runtime
                .block_on(consumer)
                .context("the live consumer panicked")?,
            None => LiveReads::default(),
        };
        Ok((sends, live))
    }
}

/// Reads every partition from the leader its `/state` names (and through kcat), appending to
/// `reads`; returns the partitions read. One that cannot be read is a finding, and the checker
/// leaves it out rather than count everything in it as lost.
/// Reads every partition to its end from its leader after healing (and with kcat, if asked);
/// returns the partitions that could be read. `leader_addr` names a partition's live leader.
/// Shared by the process and the container backends.
#[allow(clippy::too_many_arguments)]
pub(super) fn final_reads(
    runtime: &Runtime,
    leader_addr: impl Fn(i32) -> Option<std::net::SocketAddr>,
    bootstrap: &str,
    config: &ChaosConfig,
    topic: &str,
    reads: &mut Vec<ReadRecord>,
    log: &mut FaultLog,
    findings: &mut Vec<String>,
) -> anyhow::Result<Vec<i32>> {
    let deadline = Instant::now() + FINAL_READ_TIMEOUT;
    let mut readable = Vec::new();
    for partition in 0..config.partitions {
        let result = match leader_addr(partition) {
            Some(addr) => runtime.block_on(read_partition(addr, topic, partition, deadline)),
            None => Err(anyhow::anyhow!("it has no leader")),
        };
        match result {
            Ok(records) => {
                reads.extend(records);
                readable.push(partition);
            }
            Err(e) => finding(log, findings, format!("partition {partition} cannot be read after healing, so the checker leaves it out: {e:#}")),
        }
    }
    if config.kcat_read {
        reads.extend(read_with_kcat(bootstrap, topic, &readable)?);
    }
    Ok(readable)
}

pub(super) fn summarize(sends: &[SendRecord]) -> Vec<ProducerSummary> {
    let mut by_name: BTreeMap<&str, ProducerSummary> = BTreeMap::new();
    for s in sends {
        let p = by_name
            .entry(&s.producer)
            .or_insert_with(|| ProducerSummary {
                name: s.producer.clone(),
                ..ProducerSummary::default()
            });
        p.sent += 1;
        match s.outcome {
            Outcome::Acked { .. } => p.acked += 1,
            Outcome::Failed { .. } => p.failed += 1,
            Outcome::Indeterminate { .. } => p.indeterminate += 1,
        }
    }
    by_name.into_values().collect()
}
