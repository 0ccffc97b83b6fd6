//! `failover_bench`: how long a 3-broker cluster on a real ZooKeeper ensemble is without a leader
//! after a failure, and how long a controlled shutdown takes. A benchmark, not a test: it prints
//! figures for docs/BENCHMARKS.md (run through `scripts/bench.sh failover`) and asserts nothing
//! about speed.
//!
//! Three measurements, each repeated `--rounds` times:
//!
//! 1. **Leader failover.** kill -9 of a broker that leads a partition (RF 3) and is not the
//!    controller. The clock runs until a Produce (acks=1) to that partition is acknowledged by
//!    the new leader, found by polling the controller's Metadata every 20 ms. On the way it notes
//!    when ZooKeeper deleted the dead broker's `/brokers/ids/<id>` (its session expired) and when
//!    the controller's Metadata named the new leader.
//! 2. **Controller failover.** kill -9 of the controller's broker, which leads a partition. The
//!    new controller has *acted* when a survivor's Metadata shows that partition led by another
//!    broker: it won `/controller`, rebuilt its context from ZooKeeper and ran the partition
//!    failover. Also noted: the ephemeral `/brokers/ids/<id>` gone, `/controller` naming a new
//!    broker, and a Produce acknowledged by the partition's new leader.
//! 3. **Controlled shutdown.** A fresh cluster per round; a non-controller broker leads exactly
//!    `--leaders` partitions (default 1,000) of one RF-2 topic. ControlledShutdown v3 to the
//!    controller is timed to its response, and to the controller's Metadata showing none of those
//!    partitions led by the broker; then SIGTERM to exit of that broker ("broker shutdown").
//!
//! Why a kill -9 takes a little more than a session timeout: the dead broker sends nothing, so
//! ZooKeeper only learns of it when its session expires. ZooKeeper's leader sets a session's
//! deadline to its last packet plus `zookeeper.session.timeout.ms`, rounded *up* to the next
//! multiple of `tickTime` (500 ms in scripts/zookeeper.sh: a grace of up to one tick), and learns of
//! packets a follower received only at its next ping of that follower (every half tick). Against
//! that, the broker's ZooKeeper client pings after 3/20 of the timeout idle, so its last packet
//! may precede the kill. The expiry deletes the broker's ephemeral znodes, which fires the
//! controller's watches; the rest is the controller's reaction, which the rows separate.
//!
//! The session timeout defaults to 18,000 ms: `odradek cluster up` writes no
//! `zookeeper.session.timeout.ms`, so its brokers run with Kafka's default. The test harness's own
//! 6,000 ms is overridden (overrides passed to `Cluster::start` come after its settings and win).
//!
//! Usage: `failover_bench [--rounds N] [--session-timeout-ms MS] [--leaders N]
//! [--parts leader,controller,shutdown] [--broker-bin PATH]`. The broker is `--broker-bin`, else
//! `$ODRADEK_BROKER_BIN`, else `odradek-broker` beside this executable (`target/release/` for a
//! release build). Progress and the brokers' log tails go to stderr, the report to stdout.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{BrokerId, ControlledShutdownRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::broker_binary::BROKER_BIN_ENV;
use odradek_tests::cluster::{Cluster, ZkProbe};
use odradek_tests::{unique_topic, wire};

const BROKERS: [i32; 3] = [1, 2, 3];
/// `zookeeper.session.timeout.ms` of a broker that sets none (what `odradek cluster up` runs).
const KAFKA_DEFAULT_SESSION_TIMEOUT_MS: u64 = 18_000;
/// The poll interval while a failover is under way.
const POLL: Duration = Duration::from_millis(20);
/// The most one Metadata, Produce or ZooKeeper read may take before the bench gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a change may take to reach a broker's Metadata when nothing has failed.
const PROPAGATION: Duration = Duration::from_secs(60);
/// How long the controller may take to make `--leaders` partitions led (creation, shutdown).
const BULK_TIMEOUT: Duration = Duration::from_secs(300);
const METADATA_VERSION: i16 = 8;
const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;
/// The targets from the issue.
const FAILOVER_SLACK: Duration = Duration::from_secs(1);
const CONTROLLED_SHUTDOWN_TARGET: Duration = Duration::from_secs(2);

struct Args {
    rounds: usize,
    session_timeout_ms: u64,
    session_source: &'static str,
    leaders: i32,
    parts: Vec<String>,
    broker_bin: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        rounds: 5,
        session_timeout_ms: KAFKA_DEFAULT_SESSION_TIMEOUT_MS,
        session_source: "Kafka's default; `odradek cluster up` sets none",
        leaders: 1000,
        parts: vec!["leader".into(), "controller".into(), "shutdown".into()],
        broker_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => args.rounds = value()?.parse().context("--rounds")?,
            "--session-timeout-ms" => {
                args.session_timeout_ms = value()?.parse().context("--session-timeout-ms")?;
                args.session_source = "--session-timeout-ms";
            }
            "--leaders" => args.leaders = value()?.parse().context("--leaders")?,
            "--parts" => args.parts = value()?.split(',').map(str::to_string).collect(),
            "--broker-bin" => args.broker_bin = Some(value()?.into()),
            "-h" | "--help" => {
                println!("usage: failover_bench [--rounds N] [--session-timeout-ms MS] [--leaders N] [--parts leader,controller,shutdown] [--broker-bin PATH]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    anyhow::ensure!(
        args.rounds > 0 && args.leaders > 0,
        "--rounds and --leaders must be positive"
    );
    for part in &args.parts {
        anyhow::ensure!(
            ["leader", "controller", "shutdown"].contains(&part.as_str()),
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

/// Metadata and Produce with a deadline on each, on one runtime for the whole run. (The harness's
/// `Cluster` helpers build a runtime per call and wait without a bound per request; the polling
/// loops use this instead.)
struct Wire {
    runtime: tokio::runtime::Runtime,
    batch: Bytes,
}

impl Wire {
    fn new() -> anyhow::Result<Wire> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build a tokio runtime")?;
        let batch = wire::encode_batch(
            &[(
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"failover")),
            )],
            Compression::None,
        )?;
        Ok(Wire { runtime, batch })
    }

    fn run<T>(
        &self,
        limit: Duration,
        what: &str,
        future: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        self.runtime.block_on(async {
            tokio::time::timeout(limit, future)
                .await
                .map_err(|_| anyhow::anyhow!("{what}: no answer within {limit:?}"))?
        })
    }

    /// Each partition's leader in `topic` as the broker at `addr` describes it.
    fn leaders(&self, addr: SocketAddr, topic: &str) -> anyhow::Result<BTreeMap<i32, i32>> {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(topic.to_string())),
            ))]))
            .with_allow_auto_topic_creation(false);
        let response = self.run(REQUEST_TIMEOUT, "Metadata", async {
            let mut conn = Connection::connect(addr).await?;
            Ok(conn.send(&request, METADATA_VERSION).await?)
        })?;
        Ok(response
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .flat_map(|t| t.partitions.iter())
            .filter(|p| p.error_code == 0)
            .map(|p| (p.partition_index, p.leader_id.0))
            .collect())
    }

    /// One acks=1 Produce of a one-record batch; the partition's error code.
    fn produce(&self, addr: SocketAddr, topic: &str, partition: i32) -> anyhow::Result<i16> {
        let batch = self.batch.clone();
        self.run(REQUEST_TIMEOUT, "Produce", async {
            let mut conn = Connection::connect(addr).await?;
            Ok(wire::produce(&mut conn, topic, partition, batch, 1)
                .await?
                .error_code)
        })
    }
}

/// Polls `check` every [`POLL`] until it returns a value; fails naming `what` after `timeout`.
fn poll<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Whether `/brokers/ids/<id>` exists (the broker's ZooKeeper session is alive).
fn registered(zk: &ZkProbe, id: i32) -> anyhow::Result<bool> {
    Ok(zk.get(&format!("/brokers/ids/{id}"))?.is_some())
}

/// The broker `/controller` names, if any.
fn controller_znode(zk: &ZkProbe) -> anyhow::Result<Option<i32>> {
    let Some(json) = zk.get("/controller")? else {
        return Ok(None);
    };
    let id = json
        .split("\"brokerid\":")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit() && c != '-')
                .find(|s| !s.is_empty())
        })
        .and_then(|s| s.parse().ok());
    Ok(id)
}

/// What a failover round saw, each time since the kill -9.
#[derive(Default)]
struct FailoverTimes {
    unregistered: Option<Duration>,
    controller_znode: Option<Duration>,
    metadata: Option<Duration>,
    produce: Option<Duration>,
}

/// One kill -9 to time: `victim` leads partition 0 of `topic`; `watch` are the live brokers whose
/// Metadata is polled for its new leader.
struct Kill<'a> {
    victim: i32,
    victim_is_controller: bool,
    watch: &'a [i32],
    topic: &'a str,
}

/// kill -9 of the victim, then polls until a Produce to partition 0 of the topic is acknowledged
/// by another broker, noting the steps on the way (`/controller` only if the victim held it).
fn kill_and_watch(
    cluster: &mut Cluster,
    wire: &Wire,
    zk: &ZkProbe,
    kill: &Kill,
    limit: Duration,
) -> anyhow::Result<FailoverTimes> {
    let Kill {
        victim,
        victim_is_controller,
        watch,
        topic,
    } = *kill;
    let partition = 0;
    let killed_at = Instant::now();
    cluster.broker(victim).kill9()?;
    let mut times = FailoverTimes::default();
    let mut new_leader = None;
    poll(limit, &format!("a new leader of {topic}-{partition} to accept produce after kill -9 of broker {victim}"), || {
        if times.unregistered.is_none() && !registered(zk, victim)? {
            times.unregistered = Some(killed_at.elapsed());
        }
        if victim_is_controller && times.controller_znode.is_none() && controller_znode(zk)?.is_some_and(|c| c != victim) {
            times.controller_znode = Some(killed_at.elapsed());
        }
        if new_leader.is_none() {
            for &via in watch {
                // A survivor that cannot answer (still loading, mid-election) is asked again next poll.
                let leader = wire.leaders(cluster.addr(via), topic).ok().and_then(|l| l.get(&partition).copied());
                if let Some(leader) = leader.filter(|l| *l >= 0 && *l != victim) {
                    times.metadata = Some(killed_at.elapsed());
                    new_leader = Some(leader);
                    break;
                }
            }
        }
        if let Some(leader) = new_leader {
            if wire.produce(cluster.addr(leader), topic, partition).ok() == Some(0) {
                times.produce = Some(killed_at.elapsed());
                return Ok(Some(()));
            }
        }
        Ok(None)
    })?;
    Ok(times)
}

/// A topic of three RF-3 partitions, partition 0 led by `leader`.
fn three_partitions_led_by(leader: i32) -> BTreeMap<i32, Vec<i32>> {
    let others: Vec<i32> = BROKERS.into_iter().filter(|b| *b != leader).collect();
    BTreeMap::from([
        (0, vec![leader, others[0], others[1]]),
        (1, vec![others[0], others[1], leader]),
        (2, vec![others[1], leader, others[0]]),
    ])
}

/// Creates a 3-partition topic whose partition 0 `leader` leads, and waits until every broker
/// shows it led and `leader` accepts a Produce to it.
fn topic_led_by(
    cluster: &Cluster,
    wire: &Wire,
    zk: &ZkProbe,
    prefix: &str,
    leader: i32,
) -> anyhow::Result<String> {
    let topic = unique_topic(prefix);
    zk.create_topic(&topic, &three_partitions_led_by(leader))?;
    for via in BROKERS {
        cluster.wait_for_leaders(via, &topic, 3, &BROKERS, PROPAGATION)?;
    }
    poll(
        PROPAGATION,
        &format!("broker {leader} to accept produce to {topic}-0"),
        || Ok((wire.produce(cluster.addr(leader), &topic, 0).ok() == Some(0)).then_some(())),
    )?;
    Ok(topic)
}

/// Restarts a killed broker and waits until every broker lists all three again.
fn bring_back(cluster: &mut Cluster, id: i32) -> anyhow::Result<()> {
    cluster.broker(id).restart()?;
    cluster.wait_for_live_brokers(&BROKERS, PROPAGATION)?;
    Ok(())
}

fn leader_failover_round(
    cluster: &mut Cluster,
    wire: &Wire,
    session: Duration,
) -> anyhow::Result<FailoverTimes> {
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(BROKERS[0])?;
    let victim = BROKERS
        .into_iter()
        .find(|b| *b != controller)
        .context("no non-controller broker")?;
    let topic = topic_led_by(cluster, wire, &zk, "bench-leader", victim)?;
    eprintln!("failover_bench: leader failover: kill -9 broker {victim} (leads {topic}-0; controller is {controller})");
    let kill = Kill {
        victim,
        victim_is_controller: false,
        watch: &[controller],
        topic: &topic,
    };
    let times = kill_and_watch(cluster, wire, &zk, &kill, session + PROPAGATION)?;
    bring_back(cluster, victim)?;
    Ok(times)
}

fn controller_failover_round(
    cluster: &mut Cluster,
    wire: &Wire,
    session: Duration,
) -> anyhow::Result<FailoverTimes> {
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(BROKERS[0])?;
    anyhow::ensure!(
        controller_znode(&zk)? == Some(controller),
        "/controller and Metadata disagree on the controller"
    );
    let topic = topic_led_by(cluster, wire, &zk, "bench-controller", controller)?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != controller).collect();
    eprintln!("failover_bench: controller failover: kill -9 broker {controller} (the controller; leads {topic}-0)");
    let kill = Kill {
        victim: controller,
        victim_is_controller: true,
        watch: &survivors,
        topic: &topic,
    };
    let times = kill_and_watch(cluster, wire, &zk, &kill, session + PROPAGATION)?;
    bring_back(cluster, controller)?;
    Ok(times)
}

/// What a controlled-shutdown round saw.
struct ShutdownTimes {
    create: Duration,
    response: Duration,
    metadata: Duration,
    sigterm: Duration,
}

fn controlled_shutdown_round(
    wire: &Wire,
    overrides: &[(&str, &str)],
    leaders: i32,
) -> anyhow::Result<ShutdownTimes> {
    let mut cluster = Cluster::start(&BROKERS, overrides)?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(BROKERS[0])?;
    let stopping = BROKERS
        .into_iter()
        .find(|b| *b != controller)
        .context("no non-controller broker")?;
    let followers: Vec<i32> = BROKERS.into_iter().filter(|b| *b != stopping).collect();
    let topic = unique_topic("bench-shutdown");
    let assignment: BTreeMap<i32, Vec<i32>> = (0..leaders)
        .map(|p| (p, vec![stopping, followers[p as usize % 2]]))
        .collect();
    let created_at = Instant::now();
    zk.create_topic(&topic, &assignment)?;
    let controller_addr = cluster.addr(controller);
    let led_by = |addr: SocketAddr, broker: i32| -> anyhow::Result<Option<usize>> {
        let view = wire.leaders(addr, &topic)?;
        Ok((view.len() == leaders as usize)
            .then(|| view.values().filter(|l| **l == broker).count()))
    };
    poll(
        BULK_TIMEOUT,
        &format!("the controller to show {leaders} partitions led by broker {stopping}"),
        || Ok((led_by(controller_addr, stopping)? == Some(leaders as usize)).then_some(())),
    )?;
    let create = created_at.elapsed();
    // The stopping broker has become leader of all of them too (it answers Metadata from what the
    // controller sent it).
    poll(
        BULK_TIMEOUT,
        &format!("broker {stopping} to show itself leading {leaders} partitions"),
        || Ok((led_by(cluster.addr(stopping), stopping)? == Some(leaders as usize)).then_some(())),
    )?;
    let broker_epoch = zk
        .block_on(
            zk.client()
                .get_broker_and_epoch(odradek_zk::BrokerId(stopping)),
        )?
        .map(|(_, epoch)| epoch)
        .context("the stopping broker is not registered")?;

    eprintln!("failover_bench: controlled shutdown of broker {stopping} (leads {leaders} partitions of {topic}; controller is {controller})");
    let request = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(stopping))
        .with_broker_epoch(broker_epoch);
    let asked_at = Instant::now();
    let response = wire.run(BULK_TIMEOUT, "ControlledShutdown", async {
        let mut conn = Connection::connect(controller_addr).await?;
        Ok(conn.send(&request, CONTROLLED_SHUTDOWN_VERSION).await?)
    })?;
    let response_time = asked_at.elapsed();
    anyhow::ensure!(
        response.error_code == 0,
        "ControlledShutdown answered error code {}",
        response.error_code
    );
    anyhow::ensure!(
        response.remaining_partitions.is_empty(),
        "ControlledShutdown left {} partitions led by broker {stopping}",
        response.remaining_partitions.len()
    );
    poll(
        BULK_TIMEOUT,
        &format!("the controller to show no partition led by broker {stopping}"),
        || Ok((led_by(controller_addr, stopping)? == Some(0)).then_some(())),
    )?;
    let metadata = asked_at.elapsed();

    let terminated_at = Instant::now();
    let status = cluster.broker(stopping).terminate()?;
    let sigterm = terminated_at.elapsed();
    anyhow::ensure!(
        status.success(),
        "broker {stopping} exited with {status} on SIGTERM"
    );
    Ok(ShutdownTimes {
        create,
        response: response_time,
        metadata,
        sigterm,
    })
}

/// One row of the report: a measurement over the rounds, with its target if it has one.
struct Row {
    name: String,
    samples: Vec<Duration>,
    target: Option<Duration>,
    failures: Vec<String>,
}

impl Row {
    fn new(name: impl Into<String>, target: Option<Duration>) -> Row {
        Row {
            name: name.into(),
            samples: Vec::new(),
            target,
            failures: Vec::new(),
        }
    }

    fn add(&mut self, sample: Option<Duration>) {
        match sample {
            Some(d) => self.samples.push(d),
            None => self.failures.push("not observed".into()),
        }
    }

    fn markdown(&self) -> String {
        let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
        let mut sorted = self.samples.clone();
        sorted.sort();
        let (min, median, max) = match sorted.len() {
            0 => ("–".to_string(), "–".to_string(), "–".to_string()),
            n => {
                let median = if n % 2 == 1 {
                    sorted[n / 2]
                } else {
                    (sorted[n / 2 - 1] + sorted[n / 2]) / 2
                };
                (secs(sorted[0]), secs(median), secs(sorted[n - 1]))
            }
        };
        let target = self
            .target
            .map_or("–".to_string(), |t| format!("≤ {}", secs(t)));
        let met = match self.target {
            None => "–".to_string(),
            Some(t) => format!(
                "{}/{}",
                self.samples.iter().filter(|d| **d <= t).count(),
                self.samples.len() + self.failures.len()
            ),
        };
        let all = self
            .samples
            .iter()
            .map(|d| secs(*d))
            .chain(self.failures.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "| {} | {} | {min} | {median} | {max} | {target} | {met} | {all} |",
            self.name,
            self.samples.len()
        )
    }
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let broker_bin = select_broker_binary(args.broker_bin.clone())?;
    let session = Duration::from_millis(args.session_timeout_ms);
    let session_value = args.session_timeout_ms.to_string();
    let overrides = [("zookeeper.session.timeout.ms", session_value.as_str())];
    let wire = Wire::new()?;
    let failover_target = Some(session + FAILOVER_SLACK);
    let part = |name: &str| args.parts.iter().any(|p| p == name);
    let started = Instant::now();

    let mut leader = [
        Row::new(
            "leader: kill -9 → /brokers/ids/N deleted (session expired)",
            None,
        ),
        Row::new(
            "leader: kill -9 → controller's Metadata names the new leader",
            None,
        ),
        Row::new(
            "**leader: kill -9 → Produce acked by the new leader**",
            failover_target,
        ),
    ];
    let mut controller = [
        Row::new(
            "controller: kill -9 → /brokers/ids/N deleted (session expired)",
            None,
        ),
        Row::new("controller: kill -9 → /controller names a new broker", None),
        Row::new(
            "**controller: kill -9 → survivor's Metadata shows its partition led elsewhere**",
            failover_target,
        ),
        Row::new(
            "controller: kill -9 → Produce acked by that partition's new leader",
            None,
        ),
    ];
    let mut shutdown = [
        Row::new(format!("create topic → controller's Metadata shows all {} led by the broker", args.leaders), None),
        Row::new("**ControlledShutdown request → response (error 0, none remaining)**", Some(CONTROLLED_SHUTDOWN_TARGET)),
        Row::new(format!("ControlledShutdown request → controller's Metadata shows none of {} led by the broker", args.leaders), None),
        Row::new("broker shutdown: SIGTERM → exit (leading nothing)", None),
    ];
    let mut errors = Vec::new();

    if part("leader") || part("controller") {
        eprintln!(
            "failover_bench: starting 3 brokers ({}) with zookeeper.session.timeout.ms={}",
            broker_bin.display(),
            args.session_timeout_ms
        );
        let mut cluster = Cluster::start(&BROKERS, &overrides)?;
        for round in 1..=args.rounds {
            if part("leader") {
                match leader_failover_round(&mut cluster, &wire, session) {
                    Ok(t) => {
                        eprintln!(
                            "failover_bench: round {round} leader: {:?}",
                            [t.unregistered, t.metadata, t.produce]
                        );
                        leader[0].add(t.unregistered);
                        leader[1].add(t.metadata);
                        leader[2].add(t.produce);
                    }
                    Err(e) => {
                        eprintln!("failover_bench: round {round} leader failover failed: {e:#}");
                        errors.push(format!("round {round}, leader failover: {e:#}"));
                        leader[2].failures.push("failed".into());
                    }
                }
            }
            if part("controller") {
                match controller_failover_round(&mut cluster, &wire, session) {
                    Ok(t) => {
                        eprintln!(
                            "failover_bench: round {round} controller: {:?}",
                            [t.unregistered, t.controller_znode, t.metadata, t.produce]
                        );
                        controller[0].add(t.unregistered);
                        controller[1].add(t.controller_znode);
                        controller[2].add(t.metadata);
                        controller[3].add(t.produce);
                    }
                    Err(e) => {
                        eprintln!(
                            "failover_bench: round {round} controller failover failed: {e:#}"
                        );
                        errors.push(format!("round {round}, controller failover: {e:#}"));
                        controller[2].failures.push("failed".into());
                    }
                }
            }
        }
    }
    if part("shutdown") {
        for round in 1..=args.rounds {
            eprintln!(
                "failover_bench: round {round} controlled shutdown: starting a fresh cluster"
            );
            match controlled_shutdown_round(&wire, &overrides, args.leaders) {
                Ok(t) => {
                    eprintln!("failover_bench: round {round} shutdown: create {:?}, response {:?}, metadata {:?}, SIGTERM {:?}", t.create, t.response, t.metadata, t.sigterm);
                    shutdown[0].add(Some(t.create));
                    shutdown[1].add(Some(t.response));
                    shutdown[2].add(Some(t.metadata));
                    shutdown[3].add(Some(t.sigterm));
                }
                Err(e) => {
                    eprintln!("failover_bench: round {round} controlled shutdown failed: {e:#}");
                    errors.push(format!("round {round}, controlled shutdown: {e:#}"));
                    shutdown[1].failures.push("failed".into());
                }
            }
        }
    }

    println!(
        "## failover_bench, {} round(s), {:.0} s",
        args.rounds,
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("- broker: {}", broker_bin.display());
    println!(
        "- zookeeper.session.timeout.ms = {} ({}); ZooKeeper tickTime 500 ms (scripts/zookeeper.sh)",
        args.session_timeout_ms, args.session_source
    );
    println!(
        "- targets: failover ≤ session timeout + 1 s; controlled shutdown of {} leaders < 2 s",
        args.leaders
    );
    println!("- times in seconds; \"met\" = rounds within the target / rounds");
    println!();
    println!("| measurement | rounds | min | median | max | target | met | every round |");
    println!("|---|---|---|---|---|---|---|---|");
    let rows = [
        (part("leader"), &leader[..]),
        (part("controller"), &controller[..]),
        (part("shutdown"), &shutdown[..]),
    ];
    for (wanted, rows) in rows {
        if wanted {
            for row in rows {
                println!("{}", row.markdown());
            }
        }
    }
    if !errors.is_empty() {
        println!();
        println!("Failed rounds:");
        for e in &errors {
            println!("- {}", e.lines().next().unwrap_or(""));
        }
        std::process::exit(1);
    }
    Ok(())
}
