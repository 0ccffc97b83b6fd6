//! Three broker processes on a real ZooKeeper ensemble, driven from outside: topics created the
//! way Kafka's tools create them get leaders from their assignment order; kill -9 of a leader's
//! broker moves leadership to a live ISR member; kill -9 of the controller's broker elects another
//! that takes over; a paused controller whose session expired is deposed and its epoch refused;
//! a restarted broker rejoins; controlled shutdown leaves the stopping broker leading nothing;
//! real clients (kcat, confluent-kafka) produce and consume across all three brokers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{BrokerId, ControlledShutdownRequest, CreateTopicsRequest, LeaderAndIsrRequest, TopicName};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_controller::{assign_replicas_to_brokers, AssignmentStart};
use odradek_tests::cluster::{wait_until, Cluster, SESSION_TIMEOUT_MS};
use odradek_tests::controller_stub::block_on;
use odradek_tests::{kcat, unique_topic, wire, RoundTrip};

const BROKERS: [i32; 3] = [1, 2, 3];
/// How long a change the controller makes may take to reach a broker's metadata.
const PROPAGATION: Duration = Duration::from_secs(20);
/// A dead broker's registration goes when its session times out; the controller acts then.
fn failover_timeout() -> Duration {
    Duration::from_millis(SESSION_TIMEOUT_MS) + PROPAGATION
}

const STALE_CONTROLLER_EPOCH: i16 = 11;
const STALE_BROKER_EPOCH: i16 = 77;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;

/// Each partition led by its first replica: `[1,2,3]`, `[2,3,1]`, `[3,1,2]`, ...
fn rotating_assignment(partitions: i32, rf: usize) -> BTreeMap<i32, Vec<i32>> {
    (0..partitions).map(|p| (p, (0..rf).map(|i| BROKERS[(p as usize + i) % 3]).collect())).collect()
}

fn produce_one(cluster: &Cluster, broker: i32, topic: &str, partition: i32, value: &str) -> anyhow::Result<i16> {
    let batch = wire::encode_batch(&[(Some(Bytes::from("k")), Some(Bytes::from(value.to_string())))], Compression::None)?;
    let addr = cluster.addr(broker);
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        Ok(wire::produce(&mut conn, topic, partition, batch, 1).await?.error_code)
    })
}

#[test]
fn zookeeper_holds_kafkas_partition_state_and_leaders_follow_the_assignment() -> anyhow::Result<()> {
    let cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let topic = unique_topic("layout");
    let assignment = rotating_assignment(3, 2);
    zk.create_topic(&topic, &assignment)?;
    for via in BROKERS {
        let view = cluster.wait_for_leaders(via, &topic, 3, &BROKERS, PROPAGATION)?;
        for (p, replicas) in &assignment {
            let partition = &view[p];
            assert_eq!(partition.leader, replicas[0], "partition {p} is led by its first replica (broker {via}'s view)");
            assert_eq!((&partition.replicas, &partition.isr, partition.leader_epoch), (replicas, replicas, 0));
        }
    }
    let epoch = zk.controller_epoch()?;
    let states = zk.partition_states(&topic, 3)?;
    for (p, replicas) in &assignment {
        let state = &states[p];
        assert_eq!((state.leader.0, state.leader_epoch.0, state.controller_epoch.0), (replicas[0], 0, epoch));
        assert_eq!(state.isr.iter().map(|b| b.0).collect::<Vec<_>>(), *replicas);
    }
    // What zkCli.sh shows: Kafka's JSON, byte for byte.
    let raw = zk.get(&format!("/brokers/topics/{topic}/partitions/0/state"))?;
    assert_eq!(raw.as_deref(), Some(format!(r#"{{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":{epoch},"isr":[1,2]}}"#).as_str()));
    let controller = zk.get("/controller")?.unwrap_or_default();
    assert!(controller.starts_with(r#"{"version":1,"brokerid":"#), "{controller}");
    // And through zkCli.sh itself, as an operator would look.
    let chroot = odradek_tests::cluster::CHROOT;
    let listed = cluster.ensemble.cli(&["ls", &format!("{chroot}/brokers/topics/{topic}/partitions")])?;
    assert_eq!(listed.trim(), "[0, 1, 2]");
    let shown = cluster.ensemble.cli(&["get", &format!("{chroot}/brokers/topics/{topic}/partitions/1/state")])?;
    assert_eq!(shown.trim(), format!(r#"{{"version":1,"leader":2,"leader_epoch":0,"controller_epoch":{epoch},"isr":[2,3]}}"#));
    Ok(())
}

#[test]
fn create_topics_on_the_controller_gets_kafkas_assignment_over_all_brokers() -> anyhow::Result<()> {
    let cluster = Cluster::start(&BROKERS, &[])?;
    let controller = cluster.controller_id(1)?;
    let topic = unique_topic("created");
    let request = CreateTopicsRequest::default().with_timeout_ms(30_000).with_topics(vec![CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_string(topic.clone())))
        .with_num_partitions(6)
        .with_replication_factor(2)]);
    let addr = cluster.addr(controller);
    let response = block_on(async move { Connection::connect(addr).await?.send(&request, 3).await })?;
    assert_eq!(response.topics[0].error_code, 0, "{:?}", response.topics[0].error_message);
    // CreateTopics with a timeout answers once every partition has a leader.
    let view = cluster.partitions(controller, &topic)?;
    assert_eq!(view.len(), 6);
    let replicas: BTreeMap<i32, Vec<i32>> = view.iter().map(|(p, v)| (*p, v.replicas.clone())).collect();
    let matches_kafka = (0..3).any(|start_index| (0..3).any(|shift| assign_replicas_to_brokers(&BROKERS, 6, 2, AssignmentStart { start_index, shift }, 0).ok() == Some(replicas.clone())));
    assert!(matches_kafka, "{replicas:?} is not what Kafka's rack-unaware assignment gives for any start index and shift");
    for broker in BROKERS {
        assert_eq!(view.values().filter(|v| v.leader == broker).count(), 2, "broker {broker} leads 2 of 6 partitions: {view:?}");
    }
    for via in BROKERS {
        cluster.wait_for_leaders(via, &topic, 6, &BROKERS, PROPAGATION)?;
    }
    Ok(())
}

#[test]
fn kill9_of_a_leader_moves_leadership_and_the_restarted_broker_rejoins() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(1)?;
    let victim = BROKERS.into_iter().find(|b| *b != controller).unwrap_or(1);
    let topic = unique_topic("failover");
    let assignment = rotating_assignment(3, 3);
    zk.create_topic(&topic, &assignment)?;
    cluster.wait_for_leaders(controller, &topic, 3, &BROKERS, PROPAGATION)?;
    let led: Vec<i32> = assignment.iter().filter(|(_, r)| r[0] == victim).map(|(p, _)| *p).collect();

    let killed_at = Instant::now();
    cluster.broker(victim).kill9()?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != victim).collect();
    let view = cluster.wait_for_leaders(controller, &topic, 3, &survivors, failover_timeout())?;
    eprintln!("leadership moved {:?} after kill -9 of broker {victim}", killed_at.elapsed());
    for p in &led {
        let partition = &view[p];
        let expected = assignment[p].iter().copied().find(|r| *r != victim).unwrap_or(-1);
        assert_eq!(partition.leader, expected, "the next live ISR member in assignment order leads partition {p}");
        assert_eq!(partition.leader_epoch, 1, "every election bumps the leader epoch");
        assert!(!partition.isr.contains(&victim) && !partition.isr.is_empty(), "ISR {:?}", partition.isr);
    }
    for (p, partition) in &view {
        assert!(!partition.isr.contains(&victim), "partition {p}: the dead broker left the ISR: {:?}", partition.isr);
        assert_eq!(produce_one(&cluster, partition.leader, &topic, *p, "after failover")?, 0, "the new leader of partition {p} accepts produce");
    }

    cluster.broker(victim).restart()?;
    cluster.wait_for_live_brokers(&BROKERS, PROPAGATION)?;
    // The restarted broker learns everything (full UpdateMetadata) and follows its partitions.
    let rejoined = cluster.wait_for_leaders(victim, &topic, 3, &survivors, PROPAGATION)?;
    assert_eq!(rejoined.values().map(|p| p.leader_epoch).collect::<Vec<_>>(), view.values().map(|p| p.leader_epoch).collect::<Vec<_>>());
    for p in &led {
        let code = wait_until(PROPAGATION, "the restarted broker to follow", || produce_one(&cluster, victim, &topic, *p, "to a follower").ok().filter(|c| *c != 3))?;
        assert_eq!(code, NOT_LEADER_OR_FOLLOWER, "the restarted broker is a follower of partition {p}");
    }
    Ok(())
}

#[test]
fn kill9_of_the_controller_elects_another_that_takes_over() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(1)?;
    let epoch = zk.controller_epoch()?;
    let topic = unique_topic("controller-failover");
    let assignment = rotating_assignment(3, 3);
    zk.create_topic(&topic, &assignment)?;
    cluster.wait_for_leaders(controller, &topic, 3, &BROKERS, PROPAGATION)?;

    let killed_at = Instant::now();
    cluster.broker(controller).kill9()?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != controller).collect();
    let new_controller = cluster.wait_for_live_brokers_via(survivors[0], &survivors, failover_timeout())?;
    eprintln!("broker {new_controller} became controller {:?} after kill -9 of controller {controller}", killed_at.elapsed());
    assert_ne!(new_controller, controller);
    assert_eq!(zk.controller_epoch()?, epoch + 1, "the epoch grows by one on failover");
    cluster.wait_for_live_brokers_via(survivors[1], &survivors, PROPAGATION)?;
    // The new controller rebuilt its context from ZooKeeper: the dead controller's partitions move...
    let view = cluster.wait_for_leaders(new_controller, &topic, 3, &survivors, PROPAGATION)?;
    assert!(view.values().all(|p| !p.isr.contains(&controller)), "{view:?}");
    let states = zk.partition_states(&topic, 3)?;
    assert!(states.values().any(|s| s.controller_epoch.0 == epoch + 1), "the new controller wrote the moved partitions");
    // ...and new topics come online through it.
    let later = unique_topic("after-failover");
    zk.create_topic(&later, &rotating_assignment(2, 2))?;
    cluster.wait_for_leaders(survivors[0], &later, 2, &survivors, PROPAGATION)?;
    Ok(())
}

#[test]
fn a_paused_controller_is_deposed_and_its_epoch_refused() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(1)?;
    let epoch = zk.controller_epoch()?;
    let pid = cluster.broker(controller).pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP)?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != controller).collect();
    let elected = cluster.wait_for_live_brokers_via(survivors[0], &survivors, failover_timeout());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT)?;
    let new_controller = elected?;
    assert_eq!(zk.controller_epoch()?, epoch + 1);

    // The woken broker finds its session expired, resigns and re-registers; it never wins back.
    cluster.wait_for_live_brokers(&BROKERS, failover_timeout())?;
    assert_eq!(cluster.controller_id(controller)?, new_controller);
    assert_eq!(zk.controller_epoch()?, epoch + 1, "no second election");
    // Whatever the deposed controller still sends carries its old epoch, which brokers refuse.
    let stale = LeaderAndIsrRequest::default().with_controller_id(BrokerId(controller)).with_controller_epoch(epoch).with_broker_epoch(-1).with_topic_states(vec![
        LeaderAndIsrTopicState::default().with_topic_name(TopicName(StrBytes::from_static_str("ghost"))).with_partition_states(vec![LeaderAndIsrPartitionState::default()
            .with_partition_index(0)
            .with_controller_epoch(epoch)
            .with_leader(BrokerId(controller))
            .with_leader_epoch(99)
            .with_isr(vec![BrokerId(controller)])
            .with_replicas(vec![BrokerId(controller)])]),
    ]);
    let addr = cluster.addr(new_controller);
    let response = block_on(async move { Connection::connect(addr).await?.send(&stale, 4).await })?;
    assert_eq!(response.error_code, STALE_CONTROLLER_EPOCH);
    Ok(())
}

#[test]
fn controlled_shutdown_leaves_the_stopping_broker_leading_nothing() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(1)?;
    let stopping = BROKERS.into_iter().find(|b| *b != controller).unwrap_or(1);
    let replicated = unique_topic("replicated");
    zk.create_topic(&replicated, &rotating_assignment(6, 2))?;
    let single = unique_topic("single");
    zk.create_topic(&single, &[(0, vec![stopping])].into_iter().collect())?;
    cluster.wait_for_leaders(controller, &replicated, 6, &BROKERS, PROPAGATION)?;
    cluster.wait_for_leaders(controller, &single, 1, &[stopping], PROPAGATION)?;

    let broker_epoch = zk.block_on(zk.client().get_broker_and_epoch(odradek_zk::BrokerId(stopping)))?.map(|(_, e)| e).unwrap_or(-1);
    let addr = cluster.addr(controller);
    let ask = move |epoch: i64| {
        let request = ControlledShutdownRequest::default().with_broker_id(BrokerId(stopping)).with_broker_epoch(epoch);
        block_on(async move { Connection::connect(addr).await?.send(&request, 3).await })
    };
    assert_eq!(ask(broker_epoch - 1)?.error_code, STALE_BROKER_EPOCH);
    let response = ask(broker_epoch)?;
    assert_eq!(response.error_code, 0);
    assert!(response.remaining_partitions.is_empty(), "an RF-1 partition is not counted: {:?}", response.remaining_partitions);

    // Still registered, but leading no replicated partition and in no ISR with another member
    // (the controller's UpdateMetadata reaches its own broker a moment after the answer).
    let moved = wait_until(PROPAGATION, "the stopping broker to lead nothing and leave every ISR", || {
        let view = cluster.partitions(controller, &replicated).ok()?;
        view.values().all(|p| p.leader != stopping && !p.isr.contains(&stopping)).then_some(view)
    });
    let view = cluster.partitions(controller, &replicated)?;
    moved.map_err(|e| e.context(format!("{view:?}")))?;
    assert_eq!(cluster.partitions(controller, &single)?[&0].leader, stopping, "nobody else can lead an RF-1 partition");
    assert!(cluster.metadata(controller)?.brokers.iter().any(|b| b.node_id.0 == stopping));

    // SIGTERM runs the same controlled shutdown and exits cleanly.
    let status = cluster.broker(stopping).terminate()?;
    assert!(status.success(), "{status}");
    Ok(())
}

#[test]
fn kcat_and_confluent_kafka_use_partitions_spread_over_three_brokers() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let topic = unique_topic("spread");
    zk.create_topic(&topic, &rotating_assignment(6, 1))?;
    for via in BROKERS {
        cluster.wait_for_leaders(via, &topic, 6, &BROKERS, PROPAGATION)?;
    }
    let bootstrap = cluster.bootstrap();
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..3000).map(|i| (format!("key-{i}").into_bytes(), format!("value-{i}").into_bytes())).collect();
    kcat::produce(&bootstrap, &topic, &records, &[])?;
    let mut seen = 0;
    for partition in 0..6 {
        let consumed = kcat::consume_partition(&bootstrap, &topic, partition)?;
        for (offset, record) in consumed.iter().enumerate() {
            assert_eq!(record.offset, offset as i64);
            let key = std::str::from_utf8(&record.key)?;
            let i: usize = key.trim_start_matches("key-").parse()?;
            assert_eq!(record.value, records[i].1, "{key}");
            assert_eq!(odradek_tests::partition_for_key(key.as_bytes(), 6), partition, "{key} on Kafka's partition");
        }
        assert!(!consumed.is_empty(), "partition {partition} (led by broker {}) got records", BROKERS[partition as usize % 3]);
        seen += consumed.len();
    }
    assert_eq!(seen, records.len());

    let topic = unique_topic("spread-confluent");
    zk.create_topic(&topic, &rotating_assignment(6, 1))?;
    cluster.wait_for_leaders(1, &topic, 6, &BROKERS, PROPAGATION)?;
    RoundTrip { bootstrap: &bootstrap, topic: &topic, partitions: 6, count: 6000, acks: "all", compression: "none", check_partitioner: true }.run("confluent_roundtrip.py", &[])?;
    Ok(())
}

#[test]
fn deleting_a_topic_removes_its_znodes_and_logs_once_every_replica_is_gone() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;
    let controller = cluster.controller_id(1)?;
    let absent = BROKERS.into_iter().find(|b| *b != controller).unwrap_or(1);
    let topic = unique_topic("doomed");
    let assignment = rotating_assignment(3, 2);
    zk.create_topic(&topic, &assignment)?;
    let view = cluster.wait_for_leaders(controller, &topic, 3, &BROKERS, PROPAGATION)?;
    for (p, partition) in &view {
        assert_eq!(produce_one(&cluster, partition.leader, &topic, *p, "soon gone")?, 0);
    }
    let dirs = |cluster: &Cluster| -> Vec<std::path::PathBuf> {
        assignment.iter().flat_map(|(p, replicas)| replicas.iter().map(|b| cluster.brokers[b].log_dir().join(format!("{topic}-{p}"))).collect::<Vec<_>>()).collect()
    };
    assert!(dirs(&cluster).iter().all(|d| d.is_dir()), "every replica has its log dir");

    // With a replica's broker down, deletion starts but cannot finish.
    cluster.broker(absent).kill9()?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != absent).collect();
    cluster.wait_for_live_brokers_via(controller, &survivors, failover_timeout())?;
    zk.block_on(zk.client().create_delete_topic_path(&topic))?;
    for via in &survivors {
        wait_until(PROPAGATION, &format!("broker {via} to stop listing {topic}"), || cluster.partitions(*via, &topic).ok().filter(|v| v.is_empty()))?;
    }
    let on_survivors = |cluster: &Cluster| dirs(cluster).into_iter().filter(|d| !d.starts_with(cluster.brokers[&absent].dir())).collect::<Vec<_>>();
    wait_until(PROPAGATION, "the live replicas' logs to be deleted", || on_survivors(&cluster).iter().all(|d| !d.exists()).then_some(()))?;
    std::thread::sleep(Duration::from_secs(1));
    assert!(zk.get(&format!("/brokers/topics/{topic}"))?.is_some(), "the topic stays until its offline replica is deleted too");
    assert!(zk.get(&format!("/admin/delete_topics/{topic}"))?.is_some());

    // The broker comes back: its replicas are deleted and the deletion completes.
    cluster.broker(absent).restart()?;
    wait_until(failover_timeout(), "the deletion to complete", || {
        let gone = ["/brokers/topics/", "/config/topics/", "/admin/delete_topics/"].iter().all(|prefix| zk.get(&format!("{prefix}{topic}")).ok() == Some(None));
        gone.then_some(())
    })?;
    assert!(dirs(&cluster).iter().all(|d| !d.exists()), "no replica's log is left: {:?}", dirs(&cluster).iter().filter(|d| d.exists()).collect::<Vec<_>>());
    for via in BROKERS {
        assert!(cluster.partitions(via, &topic)?.is_empty(), "broker {via} no longer lists {topic}");
    }
    Ok(())
}
