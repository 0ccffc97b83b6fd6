//! Replication on a 3-broker cluster over a real ZooKeeper ensemble (reference §4): followers copy
//! the leader's log byte for byte; acks=all answers only once the ISR has the batch; the ISR
//! shrinks when a follower stalls and grows back when it catches up; min.insync.replicas refuses
//! writes the ISR cannot hold; a restarted broker catches up and rejoins.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use odradek_client::Connection;
use odradek_tests::cluster::{wait_until, Cluster};
use odradek_tests::controller_stub::block_on;
use odradek_tests::{unique_topic, wire, PartitionOnDisk};

const BROKERS: [i32; 3] = [1, 2, 3];
const PROPAGATION: Duration = Duration::from_secs(20);
/// Followers leave the ISR after this long without catching up (`replica.lag.time.max.ms`).
const LAG_MS: &str = "2000";

const NOT_ENOUGH_REPLICAS: i16 = 19;

fn start() -> anyhow::Result<Cluster> {
    Cluster::start(&BROKERS, &[("replica.lag.time.max.ms", LAG_MS), ("controlled.shutdown.retry.backoff.ms", "200")])
}

/// One acks=all produce of `count` records `prefix-i` to `partition` at broker `leader`.
fn produce_all(cluster: &Cluster, leader: i32, topic: &str, partition: i32, prefix: &str, count: usize) -> anyhow::Result<(i16, i64)> {
    produce(cluster, leader, topic, partition, prefix, count, -1)
}

fn produce(cluster: &Cluster, leader: i32, topic: &str, partition: i32, prefix: &str, count: usize, acks: i16) -> anyhow::Result<(i16, i64)> {
    let records: Vec<(Option<Bytes>, Option<Bytes>)> = (0..count).map(|i| (Some(Bytes::from(format!("k{i}"))), Some(Bytes::from(format!("{prefix}-{i}"))))).collect();
    let batch = wire::encode_batch(&records, Compression::None)?;
    let addr = cluster.addr(leader);
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        let ack = wire::produce(&mut conn, topic, partition, batch, acks).await?;
        Ok((ack.error_code, ack.base_offset))
    })
}

/// Every record value of `topic`-`partition` a consumer reads from broker `leader`.
fn consume(cluster: &Cluster, leader: i32, topic: &str, partition: i32) -> anyhow::Result<(i64, Vec<String>)> {
    let addr = cluster.addr(leader);
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        let mut values = Vec::new();
        let mut offset = 0;
        loop {
            let (hw, records) = wire::fetch(&mut conn, topic, partition, offset, 1 << 20).await?;
            if records.is_empty() {
                return Ok((hw, values));
            }
            for r in &records {
                anyhow::ensure!(r.offset == offset, "offset {} where {offset} was expected", r.offset);
                values.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
                offset += 1;
            }
        }
    })
}

fn isr(cluster: &Cluster, via: i32, topic: &str) -> anyhow::Result<Vec<i32>> {
    let mut isr = cluster.partitions(via, topic)?.get(&0).map(|p| p.isr.clone()).unwrap_or_default();
    isr.sort();
    Ok(isr)
}

#[test]
fn followers_copy_the_log_and_acks_all_waits_for_the_isr() -> anyhow::Result<()> {
    let cluster = start()?;
    let zk = cluster.zk()?;
    let topic = unique_topic("replicated");
    zk.create_topic_with_configs(&topic, &[(0, vec![1, 2, 3])].into_iter().collect(), &[("min.insync.replicas", "2")])?;
    cluster.wait_for_leaders(1, &topic, 1, &[1], PROPAGATION)?;
    let mut next = 0;
    for round in 0..20 {
        let (code, base) = produce_all(&cluster, 1, &topic, 0, &format!("r{round}"), 50)?;
        assert_eq!((code, base), (0, next), "round {round}");
        next += 50;
        // acks=all answered: the HW covers the batch, so a consumer sees it at once.
        let (hw, _) = consume(&cluster, 1, &topic, 0)?;
        assert!(hw >= next, "HW {hw} below {next} after an acks=all answer");
    }
    let (hw, values) = consume(&cluster, 1, &topic, 0)?;
    assert_eq!((hw, values.len()), (1000, 1000));
    assert_eq!(values[999], "r19-49");
    // Each follower holds the same batches, byte for byte where it matters: offsets, epochs, CRCs.
    let leader_disk = PartitionOnDisk::read(&cluster.brokers[&1].log_dir(), &topic, 0)?;
    for follower in [2, 3] {
        let disk = wait_until(PROPAGATION, "the follower's log to catch up", || {
            PartitionOnDisk::read(&cluster.brokers[&follower].log_dir(), &topic, 0).ok().filter(|d| d.records() == 1000)
        })?;
        let summary = |d: &PartitionOnDisk| d.batches.iter().map(|b| (b.base_offset, b.partition_leader_epoch, b.crc, b.record_count)).collect::<Vec<_>>();
        assert_eq!(summary(&disk), summary(&leader_disk), "broker {follower}'s batches");
        let epochs = std::fs::read_to_string(cluster.brokers[&follower].log_dir().join(format!("{topic}-0/leader-epoch-checkpoint")))?;
        assert_eq!(epochs, "0\n1\n0 0\n", "broker {follower}'s leader-epoch-checkpoint");
    }
    assert_eq!(isr(&cluster, 2, &topic)?, vec![1, 2, 3]);
    Ok(())
}

#[test]
fn the_isr_shrinks_for_a_stalled_follower_and_grows_back_when_it_catches_up() -> anyhow::Result<()> {
    // The pause must stay inside the follower's ZooKeeper session however slow a loaded machine
    // makes the leader's ISR check: a 20 s session instead of the clusters' usual 6 s. (Once
    // the session expired first, the controller removed the follower itself, bumping the epoch.)
    let mut cluster = Cluster::start(
        &BROKERS,
        &[("replica.lag.time.max.ms", LAG_MS), ("controlled.shutdown.retry.backoff.ms", "200"), ("zookeeper.session.timeout.ms", "20000")],
    )?;
    let zk = cluster.zk()?;
    let topic = unique_topic("isr");
    zk.create_topic_with_configs(&topic, &[(0, vec![1, 2, 3])].into_iter().collect(), &[("min.insync.replicas", "2")])?;
    cluster.wait_for_leaders(1, &topic, 1, &[1], PROPAGATION)?;
    assert_eq!(produce_all(&cluster, 1, &topic, 0, "before", 10)?.0, 0);

    // Paused for longer than replica.lag.time.max.ms but less than the ZooKeeper session: only
    // the leader can notice, through its ISR expiration check and AlterIsr.
    let pid = Pid::from_raw(cluster.broker(3).pid().ok_or_else(|| anyhow::anyhow!("no pid"))? as i32);
    kill(pid, Signal::SIGSTOP)?;
    let paused = (|| -> anyhow::Result<()> {
        // A follower at the log end stays in sync however long it is quiet (Kafka's rule): give
        // it something to miss.
        let (code, _) = produce(&cluster, 1, &topic, 0, "missed", 10, 1)?;
        anyhow::ensure!(code == 0, "acks=1 produce answered {code}");
        wait_until(PROPAGATION, "the ISR to drop the paused follower", || isr(&cluster, 2, &topic).ok().filter(|i| *i == vec![1, 2]))?;
        // The leader's AlterIsr wrote it, well inside the follower's session: same leader epoch
        // (a controller-made change after a broker failure would have bumped it).
        let state = zk.partition_states(&topic, 1)?[&0].clone();
        anyhow::ensure!(state.leader_epoch.0 == 0 && state.isr.len() == 2, "ZooKeeper state after the shrink: {state:?}");
        // While it is out, acks=all needs only the two in-sync replicas.
        let (code, _) = produce_all(&cluster, 1, &topic, 0, "during", 10)?;
        anyhow::ensure!(code == 0, "acks=all with ISR [1, 2] and min.insync.replicas=2 answered {code}");
        Ok(())
    })();
    kill(pid, Signal::SIGCONT)?;
    paused?;

    wait_until(PROPAGATION, "the follower to rejoin the ISR", || isr(&cluster, 2, &topic).ok().filter(|i| *i == vec![1, 2, 3]))?;
    let state = zk.partition_states(&topic, 1)?[&0].clone();
    assert_eq!(state.isr.len(), 3, "ZooKeeper has the expanded ISR: {state:?}");
    let disk = wait_until(PROPAGATION, "the follower to hold every record", || PartitionOnDisk::read(&cluster.brokers[&3].log_dir(), &topic, 0).ok().filter(|d| d.records() == 30))?;
    disk.check_contiguous()?;
    Ok(())
}

#[test]
fn min_insync_replicas_refuses_what_the_isr_cannot_hold_and_a_restarted_broker_rejoins() -> anyhow::Result<()> {
    let mut cluster = start()?;
    let zk = cluster.zk()?;
    let topic = unique_topic("min-insync");
    zk.create_topic_with_configs(&topic, &[(0, vec![1, 2, 3])].into_iter().collect(), &[("min.insync.replicas", "3")])?;
    cluster.wait_for_leaders(1, &topic, 1, &[1], PROPAGATION)?;
    assert_eq!(produce_all(&cluster, 1, &topic, 0, "full", 10)?.0, 0);

    cluster.broker(3).kill9()?;
    wait_until(Duration::from_secs(30), "the ISR to lose the killed broker", || isr(&cluster, 1, &topic).ok().filter(|i| *i == vec![1, 2]))?;
    let (code, _) = produce_all(&cluster, 1, &topic, 0, "refused", 10)?;
    assert_eq!(code, NOT_ENOUGH_REPLICAS, "ISR [1, 2] below min.insync.replicas=3");
    let (hw, values) = consume(&cluster, 1, &topic, 0)?;
    assert_eq!((hw, values.len()), (10, 10), "nothing of the refused batch was written");

    cluster.broker(3).restart()?;
    wait_until(Duration::from_secs(30), "the restarted broker to rejoin the ISR", || isr(&cluster, 1, &topic).ok().filter(|i| *i == vec![1, 2, 3]))?;
    assert_eq!(produce_all(&cluster, 1, &topic, 0, "again", 10)?.0, 0);
    let disk = wait_until(PROPAGATION, "broker 3 to hold every record", || PartitionOnDisk::read(&cluster.brokers[&3].log_dir(), &topic, 0).ok().filter(|d| d.records() == 20))?;
    disk.check_contiguous()?;
    Ok(())
}

#[test]
fn confluent_kafka_writes_acks_all_to_replicated_partitions_on_every_broker() -> anyhow::Result<()> {
    let mut cluster = start()?;
    let zk = cluster.zk()?;
    let topic = unique_topic("replicated-confluent");
    let assignment = (0..6).map(|p| (p, (0..3).map(|i| BROKERS[(p as usize + i) % 3]).collect())).collect();
    zk.create_topic_with_configs(&topic, &assignment, &[("min.insync.replicas", "2")])?;
    for via in BROKERS {
        cluster.wait_for_leaders(via, &topic, 6, &BROKERS, PROPAGATION)?;
    }
    let bootstrap = cluster.bootstrap();
    odradek_tests::RoundTrip { bootstrap: &bootstrap, topic: &topic, partitions: 6, count: 6000, acks: "all", compression: "none", check_partitioner: true }.run("confluent_roundtrip.py", &[])?;
    // Every replica of every partition holds what was acknowledged.
    for p in 0..6 {
        let leader = PartitionOnDisk::read(&cluster.brokers[&BROKERS[p as usize % 3]].log_dir(), &topic, p)?;
        for b in BROKERS {
            let disk = wait_until(PROPAGATION, "every replica to catch up", || PartitionOnDisk::read(&cluster.brokers[&b].log_dir(), &topic, p).ok().filter(|d| d.records() == leader.records()))?;
            disk.check_contiguous()?;
        }
    }
    Ok(())
}
