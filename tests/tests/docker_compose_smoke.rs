//! The docker-compose cluster (docker-compose.yml; docs/DOCKER.md) end to end, as a developer uses
//! it: images built without a registry (`scripts/docker-images.sh ensure`, from the suite's broker
//! binary), the project up under its own name and free host ports, kcat on the host producing
//! through the EXTERNAL listeners to a topic with 3 replicas, one broker `docker kill`ed, more
//! records produced and everything acknowledged read back. `down -v` at the end, and on failure
//! through [`ComposeProject`]'s Drop.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use odradek_tests::compose::{
    broker_service, ensure_images, free_ports, unique_project_name, ComposeProject,
    BROKER_SERVICES, ZK_SERVICES,
};
use odradek_tests::kcat::{consume_partition, produce, KCAT_TIMEOUT};
use odradek_tests::workload::line_safe_records;
use odradek_tests::{kcat, run_checked, unique_topic};

/// From `up` to every container healthy: ZooKeeper elects in seconds, then the brokers start.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(150);
/// How long the topic may take to have a leader and a full ISR (after a kill: a new leader).
const TOPIC_TIMEOUT: Duration = Duration::from_secs(60);
const RECORDS_PER_ROUND: usize = 300;

#[test]
fn compose_cluster_serves_kcat_and_survives_a_killed_broker() -> anyhow::Result<()> {
    let started = Instant::now();
    ensure_images()?;
    let images_done = started.elapsed();

    let ports = free_ports(3)?;
    let name = unique_project_name("odradek-smoke");
    let mut project = ComposeProject::up(&name, [ports[0], ports[1], ports[2]])?;
    let mut all: Vec<&str> = ZK_SERVICES.to_vec();
    all.extend(BROKER_SERVICES);
    project.wait_healthy(&all, HEALTHY_TIMEOUT)?;
    let bootstrap = project.bootstrap();
    println!(
        "project {name} healthy at {bootstrap} ({:?} after the images, which took {images_done:?})",
        started.elapsed() - images_done
    );

    // The topic is auto-created by the first produce's Metadata: default.replication.factor=3.
    let topic = unique_topic("compose-smoke");
    let first = line_safe_records(RECORDS_PER_ROUND, 0x00c0_4105);
    produce(&bootstrap, &topic, &first, &["-X", "acks=all"])?;
    let layout = wait_partition(&bootstrap, &topic, |p| {
        p.replicas.len() == 3 && p.isr.len() == 3
    })
    .context("the auto-created topic never had 3 replicas all in sync")?;
    check_round_trip(&bootstrap, &topic, &first)?;

    // kill -9 of the partition's leader; the controller elects another from the ISR and acks=all
    // with min.insync.replicas=2 keeps working on the two left.
    let victim = layout.leader;
    project.kill(&broker_service(victim))?;
    println!("killed broker{victim}, the leader of {topic}-0 ({layout:?})");
    let survivors = ports
        .iter()
        .zip(1..=3)
        .filter(|(_, id)| *id != victim)
        .map(|(port, _)| format!("127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    wait_partition(&survivors, &topic, |p| p.leader != victim && p.leader > 0)
        .with_context(|| format!("no new leader for {topic}-0 after broker{victim} was killed"))?;
    let second = line_safe_records(RECORDS_PER_ROUND, 0x005e_c04d);
    let second: Vec<_> = second
        .into_iter()
        .map(|(k, v)| ([b"second-".as_slice(), &k].concat(), v))
        .collect();
    produce(&survivors, &topic, &second, &["-X", "acks=all"])?;
    let everything: Vec<_> = first.iter().chain(second.iter()).cloned().collect();
    check_round_trip(&survivors, &topic, &everything)?;

    project.down()?;
    println!("smoke test done in {:?}", started.elapsed());
    Ok(())
}

/// Partition 0 of `topic` holds exactly `expected`, in order, from offset 0.
fn check_round_trip(
    bootstrap: &str,
    topic: &str,
    expected: &[(Vec<u8>, Vec<u8>)],
) -> anyhow::Result<()> {
    let consumed = consume_partition(bootstrap, topic, 0)?;
    anyhow::ensure!(
        consumed.len() == expected.len(),
        "{topic}-0 holds {} records, {} were acknowledged",
        consumed.len(),
        expected.len()
    );
    for (i, (record, (key, value))) in consumed.iter().zip(expected).enumerate() {
        anyhow::ensure!(
            record.offset == i as i64 && &record.key == key && &record.value == value,
            "{topic}-0 record {i} differs: offset {}, key {:?}",
            record.offset,
            String::from_utf8_lossy(&record.key)
        );
    }
    Ok(())
}

#[derive(Debug)]
struct PartitionLayout {
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

/// Polls `kcat -L` until partition 0 of `topic` satisfies `ok`.
fn wait_partition(
    bootstrap: &str,
    topic: &str,
    ok: impl Fn(&PartitionLayout) -> bool,
) -> anyhow::Result<PartitionLayout> {
    let deadline = Instant::now() + TOPIC_TIMEOUT;
    let mut last = String::new();
    loop {
        let mut cmd = Command::new(kcat());
        cmd.args(["-L", "-b", bootstrap, "-t", topic, "-m", "10"]);
        if let Ok(out) = run_checked(&mut cmd, None, KCAT_TIMEOUT, "kcat -L") {
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(layout) = parse_partition0(&last) {
                if ok(&layout) {
                    return Ok(layout);
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{topic}-0 not as expected within {TOPIC_TIMEOUT:?}; last metadata:\n{last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// kcat -L prints `partition 0, leader 1, replicas: 1,2,3, isrs: 1,2,3`.
fn parse_partition0(metadata: &str) -> Option<PartitionLayout> {
    let line = metadata
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("partition 0,"))?;
    let field = |name: &str| -> Option<&str> {
        let start = line.find(name)? + name.len();
        let rest = &line[start..];
        Some(rest.split(", ").next().unwrap_or(rest).trim())
    };
    let ids =
        |s: &str| -> Vec<i32> { s.split(',').filter_map(|x| x.trim().parse().ok()).collect() };
    Some(PartitionLayout {
        leader: field("leader ")?.parse().ok()?,
        replicas: ids(field("replicas: ")?),
        isr: ids(field("isrs: ")?),
    })
}
