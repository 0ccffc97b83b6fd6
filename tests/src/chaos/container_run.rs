//! One chaos run on the compose backend, start to verdict: the project up under a unique name,
//! the topic created, the same producers and live consumer as [`super::run`], the schedule played
//! by the [`ContainerNemesis`], everything healed, every partition read back, the same checker.
//! The project is taken down (`down -v`) when the run ends, however it ends.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;

use super::checker::check;
use super::config::ChaosConfig;
use super::container_cluster::{compose_file, ContainerCluster};
use super::container_nemesis::ContainerNemesis;
use super::history::History;
use super::nemesis::{FaultLog, NemesisOptions};
use super::run::{
    final_reads, finding, headline, summarize, ChaosRun, Workload, RECOVERY_TIMEOUT,
};
use super::scenario::window_outcome;
use super::schedule::{plan, FaultKind, PlannedFault, ScheduleSpec};
use crate::workload::unique_topic;

/// Runs `config` against the compose project; an error is the harness failing (Docker absent,
/// a project that would not come up), not a verdict.
pub fn run(config: &ChaosConfig) -> anyhow::Result<ChaosRun> {
    let started = Instant::now();
    let faults: Vec<PlannedFault> = plan(&ScheduleSpec {
        seed: config.seed,
        faults: config.faults,
        duration: config.duration,
        min_gap: config.min_gap,
        kinds: config.kinds.clone(),
        brokers: config.brokers.clone(),
        partitions: config.partitions,
        session_timeout: config.session_timeout,
    })?;
    println!("{} (compose backend)", headline(config, faults.len()));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("chaos")
        .enable_all()
        .build()
        .context("cannot build a tokio runtime")?;
    let file = compose_file(config.compose_file.as_deref());
    // Dropped before the runtime: `down -v` runs whatever happens below.
    let mut cluster = ContainerCluster::start(runtime.handle(), &file, &config.brokers)?;
    if config.kinds.contains(&FaultKind::ZkCut) {
        if let Some(why) = cluster.zk_cut_unsupported() {
            anyhow::bail!("--kinds zk-cut: {why}");
        }
    }
    let topic = unique_topic("chaos");
    cluster.create_topic(
        &topic,
        config.partitions,
        config.replication_factor,
        &config.topic_configs(),
    )?;
    cluster.wait_until_recovered(&topic, config.partitions, RECOVERY_TIMEOUT)?;
    let clock = Instant::now();
    let mut log = FaultLog::new(clock);
    log.note(format!(
        "compose project {} up ({}): brokers {:?} at {}, internal network {}, controller {:?}; topic {topic} created",
        cluster.project.name(),
        file.display(),
        config.brokers,
        cluster.bootstrap(),
        cluster.internal_network(),
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

    let options = NemesisOptions {
        topic: topic.clone(),
        max_faulty: config.concurrent_faults,
        wipe_on_kill: false,
        seed: config.seed,
        session_timeout: config.session_timeout,
        min_gap: config.min_gap,
    };
    let mut nemesis = ContainerNemesis::new(&mut cluster, &mut log, options, config.partitions);
    nemesis.run(&faults, Instant::now());
    let faults_applied = nemesis.faults_applied;
    let mut findings = std::mem::take(&mut nemesis.findings);
    let windows = std::mem::take(&mut nemesis.windows);

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
    let leader_addr = |partition| cluster.leader_of(&topic, partition).filter(|l| cluster.ids().contains(l)).map(|l| cluster.addr(l));
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
    let zookeeper_windows = windows
        .into_iter()
        .map(|w| {
            let outcome = window_outcome(&history, w.from, w.to);
            (w, outcome)
        })
        .collect();
    log.note(format!(
        "taking compose project {} down",
        cluster.project.name()
    ));
    drop(cluster);
    Ok(ChaosRun {
        config: config.clone(),
        topic,
        faults_applied,
        fault_log: log.entries,
        findings,
        producers: summarize(&history.sends),
        history,
        zookeeper_windows,
        reads: read_counts,
        live_resets: live.resets,
        report,
        scenario: None,
        elapsed: started.elapsed(),
    })
}

