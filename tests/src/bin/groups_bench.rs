//! `groups_bench`: how fast a consumer group of real clients rebalances on Odradek's group
//! coordinator, and how fast it consumes. A benchmark, not a test: it prints figures for
//! docs/BENCHMARKS.md (run through `scripts/bench.sh groups`) and asserts nothing about speed.
//!
//! The members are `tests/interop/group_member.py` processes (confluent-kafka 2.16.1, its bundled
//! librdkafka 2.16.0), driven through `odradek_tests::group_members`; every event line they print
//! is timestamped by the bench when it arrives, so a time is "the member printed it".
//!
//! 1. **Rebalance after a kill -9.** Per round, a fresh group of 3 members on a 6-partition RF-3
//!    topic; once the three hold disjoint assignments covering the 6 partitions, one is killed
//!    with SIGKILL. The clock runs until the two survivors hold a full assignment again (their
//!    last ASSIGNED lines). The coordinator only learns of the death when the member's session
//!    expires (`session.timeout.ms` after its last heartbeat, which precedes the kill by up to a
//!    heartbeat interval), and the survivors only when their next heartbeat is answered
//!    REBALANCE_IN_PROGRESS; so the report gives the raw time, the time minus the session
//!    timeout, and the split: kill → first survivor's REVOKED, REVOKED → full assignment.
//! 2. **Rebalance after a LeaveGroup.** Then one survivor gets SIGTERM, closes its consumer
//!    (LeaveGroup), and the clock runs until the last member holds all 6 partitions: no timeout
//!    is involved, only a heartbeat interval and a join/sync round.
//! 3. **Consume throughput.** A 6-partition RF-3 topic preloaded with `--records` records of
//!    `--record-size` bytes (keyless, acks=all, batches of 5,000 records through the wire
//!    helpers); per round a fresh group of 3 members (`--commit none --quiet`: no commits, a COUNT
//!    line every 0.2 s) reads it all. records/s and MB/s are over the span from the first record
//!    a member reported to the last member's final count (so within ~0.2 s), and also from the
//!    spawn of the members (join included).
//!
//! Usage: `groups_bench [--rounds N] [--records N] [--record-size B] [--session-timeout-ms MS]
//! [--heartbeat-interval-ms MS] [--parts rebalance,throughput] [--broker-bin PATH]`. Every wait is
//! bounded. Progress to stderr, the markdown report to stdout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::broker_binary::BROKER_BIN_ENV;
use odradek_tests::cluster::{wait_until, Cluster};
use odradek_tests::controller_stub::block_on;
use odradek_tests::group_members::{
    full_assignment, wait_for_full_assignment, GroupClient, GroupMember, MemberEvent, MemberSpec,
};
use odradek_tests::wire;

const BROKERS: [i32; 3] = [1, 2, 3];
const PARTITIONS: i32 = 6;
const JOIN_TIMEOUT: Duration = Duration::from_secs(90);
const PRELOAD_BATCH: usize = 5_000;
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    rounds: usize,
    records: usize,
    record_size: usize,
    session_timeout_ms: u32,
    heartbeat_interval_ms: u32,
    consume_timeout: Duration,
    parts: Vec<String>,
    broker_bin: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        rounds: 3,
        records: 3_000_000,
        record_size: 100,
        session_timeout_ms: 6000,
        heartbeat_interval_ms: 3000,
        consume_timeout: Duration::from_secs(300),
        parts: vec!["rebalance".into(), "throughput".into()],
        broker_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => args.rounds = value()?.parse().context("--rounds")?,
            "--records" => args.records = value()?.parse().context("--records")?,
            "--record-size" => args.record_size = value()?.parse().context("--record-size")?,
            "--session-timeout-ms" => {
                args.session_timeout_ms = value()?.parse().context("--session-timeout-ms")?
            }
            "--heartbeat-interval-ms" => {
                args.heartbeat_interval_ms = value()?.parse().context("--heartbeat-interval-ms")?
            }
            "--consume-timeout-secs" => {
                args.consume_timeout =
                    Duration::from_secs(value()?.parse().context("--consume-timeout-secs")?)
            }
            "--parts" => args.parts = value()?.split(',').map(str::to_string).collect(),
            "--broker-bin" => args.broker_bin = Some(value()?.into()),
            "-h" | "--help" => {
                println!("usage: groups_bench [--rounds N] [--records N] [--record-size B] [--session-timeout-ms MS] [--heartbeat-interval-ms MS] [--consume-timeout-secs S] [--parts rebalance,throughput] [--broker-bin PATH]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    anyhow::ensure!(
        args.rounds > 0 && args.records > 0 && args.record_size > 0,
        "--rounds, --records and --record-size must be positive"
    );
    anyhow::ensure!(
        args.heartbeat_interval_ms < args.session_timeout_ms,
        "the heartbeat interval must be below the session timeout"
    );
    for part in &args.parts {
        anyhow::ensure!(
            ["rebalance", "throughput"].contains(&part.as_str()),
            "unknown part {part:?}"
        );
    }
    Ok(args)
}

/// Points the harness at the broker to run (it reads `$ODRADEK_BROKER_BIN`).
fn select_broker_binary(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match (flag, std::env::var_os(BROKER_BIN_ENV)) {
        (Some(path), _) => path,
        (None, Some(env)) => env.into(),
        (None, None) => std::env::current_exe()
            .context("cannot find this executable")?
            .with_file_name("odradek-broker"),
    };
    anyhow::ensure!(
        path.is_file(),
        "no broker binary at {} (cargo build --release --bin odradek-broker)",
        path.display()
    );
    std::env::set_var(BROKER_BIN_ENV, &path);
    Ok(path)
}

fn create_topic(cluster: &Cluster, topic: &str) -> anyhow::Result<()> {
    let assignment = (0..PARTITIONS)
        .map(|p| (p, (0..3).map(|i| BROKERS[(p as usize + i) % 3]).collect()))
        .collect();
    cluster.zk()?.create_topic(topic, &assignment)?;
    for via in BROKERS {
        cluster.wait_for_leaders(
            via,
            topic,
            PARTITIONS as usize,
            &BROKERS,
            Duration::from_secs(30),
        )?;
    }
    Ok(())
}

fn member_spec(args: &Args, bootstrap: &str, topic: &str, group: &str) -> MemberSpec {
    let mut spec = MemberSpec::new(GroupClient::Confluent, bootstrap, topic, group).commit("none");
    spec.session_timeout_ms = args.session_timeout_ms;
    spec.extra = vec![
        "--heartbeat-interval-ms".into(),
        args.heartbeat_interval_ms.to_string(),
    ];
    spec
}

/// The instant the members' current (full) assignment was complete: the latest of their last
/// ASSIGNED lines.
fn assigned_at(members: &[&GroupMember]) -> Option<Instant> {
    members
        .iter()
        .map(|m| m.assignments().last().map(|(at, _)| *at))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()
}

/// The first REVOKED any of `members` printed after `after`.
fn first_revoked_after(members: &[&GroupMember], after: Instant) -> Option<Instant> {
    members
        .iter()
        .flat_map(|m| m.events())
        .filter(|(at, e)| *at > after && *e == MemberEvent::Revoked)
        .map(|(at, _)| at)
        .min()
}

struct RebalanceSample {
    kill_raw: Duration,
    kill_to_revoked: Option<Duration>,
    revoked_to_assigned: Option<Duration>,
    leave_raw: Duration,
    leave_to_revoked: Option<Duration>,
    leaver_exit: Duration,
}

fn rebalance_round(
    args: &Args,
    bootstrap: &str,
    topic: &str,
    round: usize,
) -> anyhow::Result<RebalanceSample> {
    let group = format!("bench-rebalance-{round}-{}", std::process::id());
    let spec = member_spec(args, bootstrap, topic, &group);
    let mut members = vec![spec.spawn("m1")?, spec.spawn("m2")?, spec.spawn("m3")?];
    wait_for_full_assignment(
        &members.iter().collect::<Vec<_>>(),
        PARTITIONS,
        JOIN_TIMEOUT,
    )?;
    // Settle: a couple of heartbeats in the stable generation.
    std::thread::sleep(Duration::from_millis(
        2 * args.heartbeat_interval_ms as u64 + 500,
    ));

    let mut victim = members.remove(0);
    let killed = Instant::now();
    victim.kill9()?;
    let survivors: Vec<&GroupMember> = members.iter().collect();
    let bound = Duration::from_millis(args.session_timeout_ms as u64) * 3 + Duration::from_secs(10);
    wait_until(bound, "the survivors to cover every partition", || {
        full_assignment(&survivors, PARTITIONS)
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\n{}",
            survivors
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let done = assigned_at(&survivors).context("no assignment instant")?;
    let revoked = first_revoked_after(&survivors, killed);
    let kill = (
        done - killed,
        revoked.map(|r| r - killed),
        revoked.map(|r| done - r),
    );

    let mut leaver = members.remove(0);
    let left = Instant::now();
    let status = leaver.terminate(EXIT_TIMEOUT)?;
    let leaver_exit = left.elapsed();
    anyhow::ensure!(
        status.success(),
        "member {} exited with {status} on SIGTERM\n{}",
        leaver.name,
        leaver.describe()
    );
    let last: Vec<&GroupMember> = members.iter().collect();
    wait_until(bound, "the last member to hold every partition", || {
        full_assignment(&last, PARTITIONS)
    })
    .map_err(|e| anyhow::anyhow!("{e:#}\n{}", members[0].describe()))?;
    let done = assigned_at(&last).context("no assignment instant")?;
    let revoked = first_revoked_after(&last, left);
    let sample = RebalanceSample {
        kill_raw: kill.0,
        kill_to_revoked: kill.1,
        revoked_to_assigned: kill.2,
        leave_raw: done - left,
        leave_to_revoked: revoked.map(|r| r - left),
        leaver_exit,
    };
    members[0].terminate(EXIT_TIMEOUT)?;
    Ok(sample)
}

/// Preloads `topic` with `records` keyless records of `size` bytes, spread evenly, acks=all.
fn preload(
    cluster: &Cluster,
    topic: &str,
    records: usize,
    size: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let leaders = cluster.partitions(1, topic)?;
    let value = Bytes::from(
        (0..size)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    let full: Vec<(Option<Bytes>, Option<Bytes>)> = vec![(None, Some(value)); PRELOAD_BATCH];
    let full_batch = wire::encode_batch(&full, Compression::None)?;
    for p in 0..PARTITIONS {
        let share = records / PARTITIONS as usize
            + usize::from((p as usize) < records % PARTITIONS as usize);
        let leader = leaders.get(&p).map(|v| v.leader).context("no leader")?;
        let addr = cluster.addr(leader);
        let tail = share % PRELOAD_BATCH;
        let tail_batch = if tail > 0 {
            Some(wire::encode_batch(&full[..tail], Compression::None)?)
        } else {
            None
        };
        let batches = share / PRELOAD_BATCH;
        let topic = topic.to_string();
        let full_batch = full_batch.clone();
        block_on(async move {
            let mut conn = Connection::connect(addr).await?;
            for batch in std::iter::repeat_n(full_batch, batches).chain(tail_batch) {
                let ack = tokio::time::timeout(
                    Duration::from_secs(30),
                    wire::produce(&mut conn, &topic, p, batch, -1),
                )
                .await
                .map_err(|_| anyhow::anyhow!("Produce to {topic}-{p}: no answer in 30 s"))??;
                anyhow::ensure!(
                    ack.error_code == 0,
                    "Produce to {topic}-{p}: error code {}",
                    ack.error_code
                );
            }
            Ok(())
        })?;
        eprintln!("groups_bench: preloaded partition {p}: {share} records");
    }
    Ok(started.elapsed())
}

struct ThroughputSample {
    records: u64,
    bytes: u64,
    join: Duration,
    consume: Duration,
    from_spawn: Duration,
    generations: usize,
}

fn throughput_round(
    args: &Args,
    bootstrap: &str,
    topic: &str,
    round: usize,
) -> anyhow::Result<ThroughputSample> {
    let group = format!("bench-consume-{round}-{}", std::process::id());
    let spec = member_spec(args, bootstrap, topic, &group).quiet();
    let spawned = Instant::now();
    let mut members = vec![spec.spawn("t1")?, spec.spawn("t2")?, spec.spawn("t3")?];
    let total = args.records as u64;
    let refs: Vec<&GroupMember> = members.iter().collect();
    let (_, join) = wait_for_full_assignment(&refs, PARTITIONS, JOIN_TIMEOUT)?;
    wait_until(
        args.consume_timeout,
        &format!("the group to read {total} records"),
        || {
            let sum: u64 = refs
                .iter()
                .map(|m| m.count().map_or(0, |(_, r, _)| r))
                .sum();
            (sum >= total).then_some(())
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\n{}",
            refs.iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    // Per member: when it first reported a record, and when it reached its final count.
    let mut first = None::<Instant>;
    let mut last = None::<Instant>;
    let (mut records, mut bytes) = (0, 0);
    for m in &refs {
        let counts: Vec<(Instant, u64, u64)> = m
            .events()
            .into_iter()
            .filter_map(|(at, e)| {
                if let MemberEvent::Count { records, bytes } = e {
                    Some((at, records, bytes))
                } else {
                    None
                }
            })
            .collect();
        let Some(&(_, final_records, final_bytes)) = counts.last() else {
            continue;
        };
        if let Some(&(at, _, _)) = counts.iter().find(|(_, r, _)| *r > 0) {
            first = Some(first.map_or(at, |f| f.min(at)));
        }
        if let Some(&(at, _, _)) = counts.iter().find(|(_, r, _)| *r == final_records) {
            last = Some(last.map_or(at, |l| l.max(at)));
        }
        records += final_records;
        bytes += final_bytes;
    }
    let generations = refs
        .iter()
        .map(|m| m.assignments().len())
        .max()
        .unwrap_or(0);
    drop(refs);
    for m in &mut members {
        m.terminate(EXIT_TIMEOUT)?;
    }
    let (first, last) = (
        first.context("no member reported a record")?,
        last.context("no final count")?,
    );
    Ok(ThroughputSample {
        records,
        bytes,
        join,
        consume: last - first,
        from_spawn: last - spawned,
        generations,
    })
}

fn stats(samples: &[f64]) -> String {
    if samples.is_empty() {
        return "– | – | –".into();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    format!("{:.3} | {:.3} | {:.3}", sorted[0], median, sorted[n - 1])
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let broker_bin = select_broker_binary(args.broker_bin.clone())?;
    let part = |name: &str| args.parts.iter().any(|p| p == name);
    let started = Instant::now();
    eprintln!(
        "groups_bench: starting a 3-node ZooKeeper ensemble and brokers {BROKERS:?} ({})",
        broker_bin.display()
    );
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let bootstrap = cluster.bootstrap();
    let mut errors = Vec::new();

    let mut rebalance: Vec<RebalanceSample> = Vec::new();
    if part("rebalance") {
        let topic = format!("bench-rebalance-{}", std::process::id());
        create_topic(&cluster, &topic)?;
        for round in 1..=args.rounds {
            match rebalance_round(&args, &bootstrap, &topic, round) {
                Ok(s) => {
                    eprintln!(
                        "groups_bench: round {round} rebalance: kill -9 → full {:.3} s (→ REVOKED {:?}), LeaveGroup → full {:.3} s, leaver exit {:.3} s",
                        secs(s.kill_raw),
                        s.kill_to_revoked,
                        secs(s.leave_raw),
                        secs(s.leaver_exit)
                    );
                    rebalance.push(s);
                }
                Err(e) => {
                    eprintln!("groups_bench: round {round} rebalance failed: {e:#}");
                    errors.push(format!("round {round}, rebalance: {e:#}"));
                }
            }
        }
    }

    let mut throughput: Vec<ThroughputSample> = Vec::new();
    let mut preload_time = None;
    if part("throughput") {
        let topic = format!("bench-consume-{}", std::process::id());
        create_topic(&cluster, &topic)?;
        eprintln!(
            "groups_bench: preloading {} records of {} bytes",
            args.records, args.record_size
        );
        preload_time = Some(preload(&cluster, &topic, args.records, args.record_size)?);
        for round in 1..=args.rounds {
            match throughput_round(&args, &bootstrap, &topic, round) {
                Ok(s) => {
                    eprintln!(
                        "groups_bench: round {round} consume: {} records in {:.3} s ({:.0} records/s), join {:.3} s, generations {}",
                        s.records,
                        secs(s.consume),
                        s.records as f64 / secs(s.consume),
                        secs(s.join),
                        s.generations
                    );
                    if s.records != args.records as u64 {
                        errors.push(format!("round {round}, consume: read {} records, {} were produced (a rebalance re-read some?)", s.records, args.records));
                    }
                    throughput.push(s);
                }
                Err(e) => {
                    eprintln!("groups_bench: round {round} consume failed: {e:#}");
                    errors.push(format!("round {round}, consume: {e:#}"));
                }
            }
        }
    }

    let session = args.session_timeout_ms as f64 / 1000.0;
    println!(
        "## groups_bench, {} round(s), {:.0} s",
        args.rounds,
        started.elapsed().as_secs_f64()
    );
    println!();
    println!(
        "- broker: {}; 3 brokers, 3-node ZooKeeper ensemble, all on this machine",
        broker_bin.display()
    );
    println!(
        "- members: tests/interop/group_member.py, confluent-kafka (librdkafka 2.16.0), assignors range,roundrobin, session.timeout.ms {}, heartbeat.interval.ms {}",
        args.session_timeout_ms, args.heartbeat_interval_ms
    );
    println!("- topic: {PARTITIONS} partitions, RF 3; times in seconds (min | median | max over the rounds)");
    println!();
    if part("rebalance") {
        println!("| rebalance of a 3-member group | rounds | min | median | max |");
        println!("|---|---|---|---|---|");
        let row = |name: &str, v: Vec<f64>| println!("| {name} | {} | {} |", v.len(), stats(&v));
        row(
            "kill -9 → survivors hold all partitions (raw)",
            rebalance.iter().map(|s| secs(s.kill_raw)).collect(),
        );
        row(
            &format!("same, minus the session timeout ({session:.1} s)"),
            rebalance
                .iter()
                .map(|s| secs(s.kill_raw) - session)
                .collect(),
        );
        row(
            "kill -9 → first survivor REVOKED (coordinator noticed + next heartbeat)",
            rebalance
                .iter()
                .filter_map(|s| s.kill_to_revoked.map(secs))
                .collect(),
        );
        row(
            "first REVOKED → survivors hold all partitions (join + sync)",
            rebalance
                .iter()
                .filter_map(|s| s.revoked_to_assigned.map(secs))
                .collect(),
        );
        row(
            "SIGTERM (LeaveGroup) → last member holds all partitions",
            rebalance.iter().map(|s| secs(s.leave_raw)).collect(),
        );
        row(
            "SIGTERM → last member REVOKED",
            rebalance
                .iter()
                .filter_map(|s| s.leave_to_revoked.map(secs))
                .collect(),
        );
        row(
            "SIGTERM → leaving member exited (close)",
            rebalance.iter().map(|s| secs(s.leaver_exit)).collect(),
        );
        println!();
    }
    if part("throughput") {
        println!(
            "Consume: {} records of {} bytes preloaded (acks=all, {:.1} s); a fresh 3-member group per round, no commits.",
            args.records,
            args.record_size,
            preload_time.map_or(0.0, secs)
        );
        println!();
        println!("| round | records | first record → last count s | records/s | MB/s (values) | join s | spawn → last count s | records/s from spawn | generations |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for (i, s) in throughput.iter().enumerate() {
            let c = secs(s.consume);
            println!(
                "| {} | {} | {:.3} | {:.0} | {:.1} | {:.3} | {:.3} | {:.0} | {} |",
                i + 1,
                s.records,
                c,
                s.records as f64 / c,
                s.bytes as f64 / c / 1_048_576.0,
                secs(s.join),
                secs(s.from_spawn),
                s.records as f64 / secs(s.from_spawn),
                s.generations
            );
        }
        println!();
    }
    if !errors.is_empty() {
        println!("Errors:");
        for e in &errors {
            println!("- {}", e.lines().next().unwrap_or(""));
        }
    }
    let per_broker: BTreeMap<i32, bool> = BROKERS
        .iter()
        .map(|&b| (b, cluster.broker(b).is_running()))
        .collect();
    eprintln!("groups_bench: brokers running at the end: {per_broker:?}");
    anyhow::ensure!(errors.is_empty(), "{} round(s) failed", errors.len());
    Ok(())
}
