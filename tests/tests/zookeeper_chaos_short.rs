//! Short chaos runs (docs/CHAOS.md): three brokers on a real ZooKeeper ensemble, an RF-3 topic
//! with min.insync.replicas=2, wire and confluent-kafka producers with acks=all writing unique
//! values, a seeded schedule of kill -9, SIGSTOP pauses, session-expiring pauses and leaders cut
//! off from ZooKeeper, then everything healed, read back and checked for lost, duplicated,
//! reordered and inconsistent records. And the proof that the checker can see loss: a run that
//! wipes a killed broker's partitions must be reported as losing writes, and the 2013 Jepsen
//! scenario (an ISR of one, then an unclean election) must lose acknowledged writes with
//! `min.insync.replicas=1` and `unclean.leader.election.enable=true`, and nothing without the
//! unclean election.
//!
//! The schedule's seed is fixed so a failure replays; `ODRADEK_CHAOS_SEED=N` runs another.

use std::time::Duration;

use odradek_tests::chaos::{self, ChaosConfig, ChaosRun, FaultKind, Scenario};

/// The topic's (replication factor, min.insync.replicas): the durable setting (reference §4.4).
/// Before replication landed the run used `(1, 1)`, where acks=all completes without followers,
/// and kill -9 (the page cache survives) and pauses must still lose nothing acknowledged.
const REPLICATION: (usize, usize) = (3, 2);

/// The short run's faults. `ZkCut` makes a leader a zombie (cut off from ZooKeeper, still
/// reachable by clients, reference §4.5): with min.insync 2 its acks=all writes must time out,
/// never be acknowledged and then truncated away.
const FAULTS: [FaultKind; 4] = [
    FaultKind::Kill,
    FaultKind::Pause,
    FaultKind::LongPause,
    FaultKind::ZkCut,
];

fn seed(default: u64) -> u64 {
    std::env::var("ODRADEK_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn acknowledged_writes_survive_kills_pauses_and_zombie_leaders() -> anyhow::Result<()> {
    let config = ChaosConfig {
        seed: seed(20_261_124),
        duration: Duration::from_secs(60),
        faults: 10,
        kinds: FAULTS.to_vec(),
        replication_factor: REPLICATION.0,
        min_insync: REPLICATION.1,
        rate: 40,
        ..ChaosConfig::default()
    };
    let run = chaos::run(&config)?;
    println!("{}", run.summary());
    assert!(
        run.faults_applied >= 10,
        "only {} of 10 faults were applied",
        run.faults_applied
    );
    if !run.passed() {
        let history = run.write_history(&std::env::temp_dir())?;
        panic!(
            "the checker found: {}\nhistory: {}",
            run.problems().join("; "),
            history.display()
        );
    }
    Ok(())
}

#[test]
fn a_killed_brokers_wiped_log_dir_is_reported_as_lost_writes() -> anyhow::Result<()> {
    let config = ChaosConfig {
        seed: seed(7),
        duration: Duration::from_secs(20),
        faults: 2,
        kinds: vec![FaultKind::Kill],
        replication_factor: 1,
        min_insync: 1,
        rust_producers: 1,
        python_producers: 0,
        kcat_read: false,
        wipe_on_kill: true,
        settle: Duration::from_secs(3),
        ..ChaosConfig::default()
    };
    let run = chaos::run(&config)?;
    println!("{}", run.summary());
    let totals = run.report.totals();
    assert!(totals.acked > 0, "the run acknowledged nothing");
    assert!(
        totals.lost > 0,
        "a wiped RF-1 partition must lose acknowledged writes:\n{}",
        run.summary()
    );
    assert!(
        totals.inconsistent > 0,
        "new writes reuse the wiped offsets:\n{}",
        run.summary()
    );
    assert!(!run.passed());
    Ok(())
}

/// The `jepsen-2013` scenario (docs/CHAOS.md, reference §4.5, §11.1) with one wire producer and
/// no kcat, to keep it cheap: about 25 s after the ensemble is up.
fn jepsen_2013(unclean: bool) -> anyhow::Result<ChaosRun> {
    let config = ChaosConfig {
        unclean,
        rust_producers: 1,
        python_producers: 0,
        kcat_read: false,
        ..Scenario::Jepsen2013.config()
    };
    let run = chaos::run(&config)?;
    println!("{}", run.summary());
    Ok(run)
}

#[test]
fn the_2013_jepsen_scenario_loses_acknowledged_writes_with_min_insync_1_and_unclean_election(
) -> anyhow::Result<()> {
    let run = jepsen_2013(true)?;
    let scenario = run.scenario.as_ref().expect("a scenario run reports on it");
    let totals = run.report.totals();
    assert!(
        scenario.elected_while_away.is_some(),
        "no unclean election happened:\n{}",
        run.summary()
    );
    assert!(
        !scenario.unclean_elections.is_empty(),
        "the controller logged no unclean election:\n{}",
        run.summary()
    );
    assert!(
        scenario.alone_writes.missing > 0 && totals.lost > 0,
        "the writes the isolated leader acknowledged alone must be lost:\n{}",
        run.summary()
    );
    assert!(!run.passed());
    Ok(())
}

#[test]
fn the_2013_jepsen_scenario_loses_nothing_without_unclean_election() -> anyhow::Result<()> {
    let run = jepsen_2013(false)?;
    let scenario = run.scenario.as_ref().expect("a scenario run reports on it");
    let totals = run.report.totals();
    assert!(
        scenario.alone_writes.acked > 0,
        "the isolated leader acknowledged nothing alone, so the control shows nothing:\n{}",
        run.summary()
    );
    assert_eq!(scenario.elected_while_away, None, "{}", run.summary());
    assert_eq!(
        (totals.lost, totals.inconsistent),
        (0, 0),
        "{}",
        run.summary()
    );
    if !run.passed() {
        let history = run.write_history(&std::env::temp_dir())?;
        panic!(
            "the checker found: {}\nhistory: {}",
            run.problems().join("; "),
            history.display()
        );
    }
    Ok(())
}
