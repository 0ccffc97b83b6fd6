//! Topic ids (KIP-516) and the cluster id on a 3-broker cluster over a real ZooKeeper ensemble:
//! the id in `/brokers/topics/<t>` is the one every broker answers in Metadata v10+ and the one
//! CreateTopics v7 returns; a topic deleted and created again gets a new one; a topic written
//! without an id gets one from the controller; DeleteTopics v6 deletes by id; Metadata v2+ carry
//! `/cluster/id`. And librdkafka's test 0107 scenario: a confluent-kafka producer survives its
//! topic being recreated with fewer partitions.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    BrokerId as KafkaBrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use odradek_tests::clients::{interop_script, run_checked, venv_python};
use odradek_tests::cluster::{wait_until, Cluster, ZkProbe};
use odradek_tests::controller_stub::block_on;
use odradek_tests::unique_topic;
use odradek_zk::zk_data::{ClusterIdZNode, TopicZNode};
use odradek_zk::{BrokerId, ReplicaAssignment};
use uuid::Uuid;

const BROKERS: [i32; 3] = [1, 2, 3];
const PROPAGATION: Duration = Duration::from_secs(30);
const UNKNOWN_TOPIC_ID: i16 = 100;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Metadata v4+ for `topic` (no auto-creation).
fn metadata(addr: SocketAddr, version: i16, topic: &str) -> anyhow::Result<MetadataResponse> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name(topic)))
        ]))
        .with_allow_auto_topic_creation(false);
    block_on(async move {
        Ok(Connection::connect(addr)
            .await?
            .send(&request, version)
            .await?)
    })
}

/// Metadata at `version` for every topic.
fn all_metadata(addr: SocketAddr, version: i16) -> anyhow::Result<MetadataResponse> {
    block_on(async move {
        Ok(Connection::connect(addr)
            .await?
            .send(&MetadataRequest::default().with_topics(None), version)
            .await?)
    })
}

/// The id every broker's Metadata v`version` gives `topic`, once all give the same id for
/// `partitions` partitions with leaders.
fn agreed_topic_id(
    cluster: &Cluster,
    version: i16,
    topic: &str,
    partitions: usize,
) -> anyhow::Result<Uuid> {
    wait_until(
        PROPAGATION,
        &format!("every broker to show {topic} with {partitions} partitions and one id"),
        || {
            let ids: BTreeSet<Uuid> = BROKERS
                .iter()
                .map(|&b| {
                    let m = metadata(cluster.addr(b), version, topic).ok()?;
                    let t = m.topics.into_iter().find(|t| t.error_code == 0)?;
                    (t.partitions.len() == partitions
                        && t.partitions
                            .iter()
                            .all(|p| p.error_code == 0 && p.leader_id.0 >= 0))
                    .then_some(t.topic_id)
                })
                .collect::<Option<_>>()?;
            (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
        },
    )
}

/// The topic id in `/brokers/topics/<topic>`.
fn znode_topic_id(zk: &ZkProbe, topic: &str) -> anyhow::Result<Option<Uuid>> {
    let json = zk
        .get(&TopicZNode::path(topic))?
        .ok_or_else(|| anyhow::anyhow!("no znode for {topic}"))?;
    Ok(TopicZNode::decode(topic, json.as_bytes())?
        .topic_id
        .map(|id| id.0))
}

fn controller_addr(cluster: &Cluster) -> anyhow::Result<SocketAddr> {
    Ok(cluster.addr(cluster.wait_for_live_brokers(&BROKERS, PROPAGATION)?))
}

fn create_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<CreateTopicsResponse> {
    let addr = controller_addr(cluster)?;
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(2)])
        .with_timeout_ms(20_000);
    block_on(async move { Ok(Connection::connect(addr).await?.send(&request, 7).await?) })
}

/// DeleteTopics v6 naming each topic by id.
fn delete_by_id(cluster: &Cluster, ids: &[Uuid]) -> anyhow::Result<DeleteTopicsResponse> {
    let addr = controller_addr(cluster)?;
    let topics = ids
        .iter()
        .map(|id| {
            DeleteTopicState::default()
                .with_name(None)
                .with_topic_id(*id)
        })
        .collect();
    let request = DeleteTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(20_000);
    block_on(async move { Ok(Connection::connect(addr).await?.send(&request, 6).await?) })
}

#[test]
fn topic_ids_come_from_zookeeper_reach_every_broker_and_change_when_a_topic_is_recreated(
) -> anyhow::Result<()> {
    let cluster = Cluster::start(&BROKERS, &[])?;
    let zk = cluster.zk()?;

    // Metadata v2+ carry /cluster/id, on every broker.
    let cluster_id = ClusterIdZNode::decode(
        zk.get("/cluster/id")?
            .expect("/cluster/id exists")
            .as_bytes(),
    )?;
    for b in BROKERS {
        for version in [2, 9, 11] {
            let m = all_metadata(cluster.addr(b), version)?;
            assert_eq!(
                m.cluster_id.as_ref().map(|c| c.to_string()),
                Some(cluster_id.clone()),
                "broker {b} v{version}"
            );
        }
    }

    // CreateTopics v7 answers the id written to ZooKeeper, and every broker answers it too.
    let topic = unique_topic("ids");
    let created = create_topic(&cluster, &topic, 3)?;
    let answer = &created.topics[0];
    assert_eq!(
        (
            answer.error_code,
            answer.num_partitions,
            answer.replication_factor
        ),
        (0, 3, 2)
    );
    assert!(
        answer
            .configs
            .as_ref()
            .is_some_and(|c| c.iter().any(|e| e.name.as_str() == "cleanup.policy")),
        "v5+ list the configs"
    );
    let first = answer.topic_id;
    assert!(!first.is_nil());
    assert_eq!(znode_topic_id(&zk, &topic)?, Some(first));
    assert_eq!(agreed_topic_id(&cluster, 10, &topic, 3)?, first);
    assert_eq!(agreed_topic_id(&cluster, 11, &topic, 3)?, first);
    let v9 = metadata(cluster.addr(1), 9, &topic)?;
    assert!(v9.topics[0].topic_id.is_nil(), "no topic id before v10");

    // Deleted (by id, DeleteTopics v6) and created again: a new id, everywhere.
    let deleted = delete_by_id(&cluster, &[first, Uuid::new_v4()])?;
    let outcome: Vec<_> = deleted
        .responses
        .iter()
        .map(|r| (r.name.as_ref().map(|n| n.0.to_string()), r.error_code))
        .collect();
    assert_eq!(
        outcome,
        vec![(Some(topic.clone()), 0), (None, UNKNOWN_TOPIC_ID)]
    );
    wait_until(PROPAGATION, "the topic znode to go", || {
        zk.get(&TopicZNode::path(&topic))
            .ok()
            .map(|z| z.is_none())
            .filter(|gone| *gone)
    })?;
    let recreated = create_topic(&cluster, &topic, 2)?;
    let second = recreated.topics[0].topic_id;
    assert_eq!(recreated.topics[0].error_code, 0);
    assert!(
        !second.is_nil() && second != first,
        "a recreated topic gets a new id"
    );
    assert_eq!(znode_topic_id(&zk, &topic)?, Some(second));
    assert_eq!(agreed_topic_id(&cluster, 10, &topic, 2)?, second);

    // A topic written without an id (as before 2.8) gets one from the controller.
    let legacy = unique_topic("legacy");
    let assignment: BTreeMap<i32, ReplicaAssignment> =
        BTreeMap::from([(0, ReplicaAssignment::new(vec![BrokerId(1), BrokerId(2)]))]);
    zk.block_on(
        zk.client()
            .create_topic_assignment(&legacy, None, &assignment),
    )?;
    let assigned = wait_until(
        PROPAGATION,
        "the controller to give the topic an id",
        || znode_topic_id(&zk, &legacy).ok().flatten(),
    )?;
    assert_eq!(agreed_topic_id(&cluster, 10, &legacy, 1)?, assigned);
    Ok(())
}

#[test]
fn a_confluent_producer_keeps_producing_after_its_topic_is_recreated_with_fewer_partitions(
) -> anyhow::Result<()> {
    // Without auto-creation: the producer's Metadata requests for the deleted topic must not bring
    // it back before the script recreates it.
    let mut cluster = Cluster::start(
        &BROKERS,
        &[
            ("auto.create.topics.enable", "false"),
            ("controlled.shutdown.retry.backoff.ms", "200"),
        ],
    )?;
    // Four partitions on brokers 1 and 2, led by 1; a controlled shutdown of broker 1 moves every
    // leader to 2 at leader epoch 1, so the recreated topic's epochs (0) look stale to a client
    // that cannot tell the two topics apart.
    let topic = unique_topic("recreate");
    let addr = controller_addr(&cluster)?;
    let assignments = (0..4)
        .map(|p| {
            CreatableReplicaAssignment::default()
                .with_partition_index(p)
                .with_broker_ids(vec![KafkaBrokerId(1), KafkaBrokerId(2)])
        })
        .collect();
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(&topic))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)])
        .with_timeout_ms(20_000);
    let created: CreateTopicsResponse = block_on(async move {
        Ok::<_, anyhow::Error>(Connection::connect(addr).await?.send(&request, 7).await?)
    })?;
    assert_eq!(created.topics[0].error_code, 0);
    cluster.wait_for_leaders(2, &topic, 4, &[1], PROPAGATION)?;
    cluster.broker(1).terminate()?;
    cluster.wait_for_leaders(2, &topic, 4, &[2], PROPAGATION)?;
    cluster.broker(1).restart()?;
    cluster.wait_for_live_brokers(&BROKERS, PROPAGATION)?;
    let epochs: Vec<i32> = cluster
        .partitions(2, &topic)?
        .values()
        .map(|p| p.leader_epoch)
        .collect();
    assert!(epochs.iter().all(|&e| e > 0), "leader epochs {epochs:?}");

    let bootstrap = cluster.bootstrap();
    let mut cmd = Command::new(venv_python());
    cmd.arg(interop_script("confluent_topic_recreate.py"))
        .args([
            "--bootstrap",
            &bootstrap,
            "--topic",
            &topic,
            "--existing",
            "--timeout",
            "150",
        ])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_checked(
        &mut cmd,
        None,
        Duration::from_secs(240),
        "confluent_topic_recreate.py",
    )?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("OK"));
    Ok(())
}
