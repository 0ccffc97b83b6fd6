//! Topics and partition state against a real 3-node ZooKeeper ensemble, as the controller drives
//! them: watches on `/brokers/ids` and `/brokers/topics`, topic creation (v3 JSON with a topic
//! id), fenced `/state` creation and conditional updates, topic deletion, configs, ISR change
//! notifications, producer id blocks, `/feature` and generated broker ids.

mod common;

use std::collections::BTreeMap;

use anyhow::{bail, ensure, Context};
use common::*;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::zk_data::{
    ConfigType, FeatureZNode, ProducerIdBlock, TopicPartitionStateZNode, TopicZNode,
};
use odradek_zk::{
    BrokerId, ControllerEpoch, KafkaZkClient, LeaderEpoch, LeaderIsrAndControllerEpoch,
    ReplicaAssignment, TopicId, TopicPartition, ZNodeChange, ZNodeChangeKind, ZkError, ZkVersion,
};

#[test]
fn topics_and_partition_state_against_a_real_ensemble() {
    let ensemble = start_ensemble();
    run(async {
        let zk = client(&ensemble, "/odradek-topics").await?;
        zk.create_top_level_paths().await?;
        watches_report_brokers_and_topics(&zk)
            .await
            .context("watches")?;
        topic_znode_is_kafkas_v3_json(&ensemble, &zk)
            .await
            .context("topic znode")?;
        partition_state_is_created_and_updated_fenced(&ensemble, &zk)
            .await
            .context("partition state")?;
        topic_deletion(&zk).await.context("topic deletion")?;
        configs_notifications_and_ids(&zk)
            .await
            .context("configs and notifications")?;
        zk.close().await;
        Ok(())
    });
}

fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().copied().map(BrokerId).collect()
}

fn assignment(partitions: &[&[i32]]) -> BTreeMap<i32, ReplicaAssignment> {
    partitions
        .iter()
        .enumerate()
        .map(|(p, replicas)| (p as i32, ReplicaAssignment::new(ids(replicas))))
        .collect()
}

/// A controller's event type: what the watches feed into.
#[derive(Debug, PartialEq)]
enum ControllerEvent {
    BrokerChange,
    TopicChange,
    Other(ZNodeChange),
}

impl From<ZNodeChange> for ControllerEvent {
    fn from(change: ZNodeChange) -> Self {
        match (change.path.as_str(), change.kind) {
            ("/brokers/ids", ZNodeChangeKind::ChildrenChanged) => ControllerEvent::BrokerChange,
            ("/brokers/topics", ZNodeChangeKind::ChildrenChanged) => ControllerEvent::TopicChange,
            _ => ControllerEvent::Other(change),
        }
    }
}

async fn watches_report_brokers_and_topics(zk: &KafkaZkClient) -> anyhow::Result<()> {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<ControllerEvent>();
    let (brokers, broker_watch) = zk.watch_broker_ids(tx.clone()).await?;
    let (topics, _topic_watch) = zk.watch_topics(tx.clone()).await?;
    ensure!(brokers.is_empty() && topics.is_empty());
    ensure!(broker_watch.path() == "/brokers/ids");

    zk.register_broker(&broker_info(1, 9092)).await?;
    ensure!(next(&mut events, "BrokerChange").await? == ControllerEvent::BrokerChange);
    zk.create_topic_assignment("first", Some(TopicId::random()), &assignment(&[&[1]]))
        .await?;
    ensure!(next(&mut events, "TopicChange").await? == ControllerEvent::TopicChange);
    ensure!(
        zk.get_all_topics_in_cluster()
            .await?
            .into_iter()
            .collect::<Vec<_>>()
            == ["first"]
    );

    // A dropped watch reports nothing more.
    drop(broker_watch);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    zk.register_broker(&broker_info(2, 9093)).await?;
    zk.create_topic_assignment("second", None, &assignment(&[&[2]]))
        .await?;
    let event = next(&mut events, "TopicChange").await?;
    ensure!(
        event == ControllerEvent::TopicChange,
        "after the broker watch was dropped: {event:?}"
    );
    ensure!(zk.get_sorted_broker_list().await? == ids(&[1, 2]));
    Ok(())
}

async fn topic_znode_is_kafkas_v3_json(
    ensemble: &ZkEnsemble,
    zk: &KafkaZkClient,
) -> anyhow::Result<()> {
    let topic_id = TopicId::random();
    let replicas = assignment(&[&[1, 2], &[2, 1], &[1, 2]]);
    zk.create_topic_assignment("orders", Some(topic_id), &replicas)
        .await?;
    match zk
        .create_topic_assignment("orders", Some(TopicId::random()), &replicas)
        .await
    {
        Err(e @ ZkError::TopicAlreadyExists { .. }) => {
            ensure!(e.to_string() == "topic orders already exists")
        }
        other => bail!("created orders twice: {other:?}"),
    }
    ensure!(zk.topic_exists("orders").await? && !zk.topic_exists("nope").await?);

    let read = zk
        .get_replica_assignment_and_topic_ids_for_topics(&["orders".into(), "nope".into()])
        .await?;
    ensure!(read.len() == 1, "{read:?}");
    ensure!(
        read[0].topic_id == Some(topic_id) && read[0].assignment == replicas,
        "{read:?}"
    );

    let json = zkcli_get_json(ensemble, "/odradek-topics/brokers/topics/orders")?;
    ensure!(
        keys(&json)
            == [
                "adding_replicas",
                "partitions",
                "removing_replicas",
                "topic_id",
                "version"
            ],
        "{json}"
    );
    ensure!(
        json["version"] == 3 && json["topic_id"] == topic_id.to_string().as_str(),
        "{json}"
    );
    ensure!(
        json["partitions"]["1"] == serde_json::json!([2, 1]),
        "{json}"
    );

    // The controller adds partitions with a fenced rewrite (here without a controller: no check).
    let mut grown = replicas.clone();
    grown.insert(3, ReplicaAssignment::new(ids(&[2, 1])));
    zk.set_topic_assignment("orders", Some(topic_id), &grown, ZkVersion::MATCH_ANY)
        .await?;
    let (data, _) = zk
        .get_data_and_stat(&TopicZNode::path("orders"))
        .await?
        .context("orders vanished")?;
    ensure!(TopicZNode::decode("orders", &data)?.assignment.len() == 4);
    Ok(())
}

async fn partition_state_is_created_and_updated_fenced(
    ensemble: &ZkEnsemble,
    zk: &KafkaZkClient,
) -> anyhow::Result<()> {
    let (epoch, epoch_zk_version) = zk
        .register_controller_and_increment_controller_epoch(BrokerId(1))
        .await?;
    let state = |leader: i32, leader_epoch: i32, isr: &[i32]| LeaderIsrAndControllerEpoch {
        leader: BrokerId(leader),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: ids(isr),
        controller_epoch: epoch,
    };
    let tp = |p: i32| TopicPartition::new("orders", p);
    let initial: Vec<_> = (0..4).map(|p| (tp(p), state(1, 0, &[1, 2]))).collect();
    let created = zk
        .create_topic_partition_states(epoch_zk_version, &initial)
        .await?;
    for (partition, result) in &created {
        ensure!(
            matches!(result, Ok(ZkVersion(0))),
            "{partition}: {result:?}"
        );
    }
    // Creating again: per-partition NodeExists, not a failure of the batch.
    let again = zk
        .create_topic_partition_states(epoch_zk_version, &initial[..1])
        .await?;
    ensure!(
        matches!(again[0].1, Err(ZkError::NodeExists { .. })),
        "{again:?}"
    );

    let states = zk
        .get_topic_partition_states(&[tp(0), tp(1), tp(9)])
        .await?;
    ensure!(
        states.len() == 2 && states[&tp(0)] == (state(1, 0, &[1, 2]), ZkVersion(0)),
        "{states:?}"
    );
    let json = zkcli_get_json(
        ensemble,
        "/odradek-topics/brokers/topics/orders/partitions/0/state",
    )?;
    ensure!(
        keys(&json)
            == [
                "controller_epoch",
                "isr",
                "leader",
                "leader_epoch",
                "version"
            ],
        "{json}"
    );
    ensure!(
        json == serde_json::json!({"version":1,"leader":1,"leader_epoch":0,"controller_epoch":epoch.0,"isr":[1,2]})
    );

    // Broker 1 fails: leadership moves to 2 at the next leader epoch, conditional on zkVersion 0.
    // Partition 1's expected version is stale, so it comes back to retry.
    let updates = vec![
        (tp(0), state(2, 1, &[2]), ZkVersion(0)),
        (tp(1), state(2, 1, &[2]), ZkVersion(7)),
        (tp(9), state(2, 1, &[2]), ZkVersion(0)),
    ];
    let result = zk.update_leader_and_isr(epoch_zk_version, &updates).await?;
    ensure!(
        matches!(result.finished.get(&tp(0)), Some(Ok(ZkVersion(1)))),
        "{result:?}"
    );
    ensure!(result.to_retry == [tp(1)], "{result:?}");
    ensure!(
        matches!(
            result.finished.get(&tp(9)),
            Some(Err(ZkError::NoNode { .. }))
        ),
        "{result:?}"
    );
    let (data, stat) = zk
        .get_data_and_stat(&TopicPartitionStateZNode::path(&tp(0)))
        .await?
        .context("state")?;
    ensure!(
        TopicPartitionStateZNode::decode(&tp(0), &data)? == state(2, 1, &[2])
            && stat.version == ZkVersion(1)
    );

    // A newer controller takes over: this one's partition writes are fenced as a whole.
    zk.delete_controller(epoch_zk_version).await?;
    let other = zk.clone();
    let (new_epoch, _) = other
        .register_controller_and_increment_controller_epoch(BrokerId(2))
        .await?;
    ensure!(new_epoch == ControllerEpoch(epoch.0 + 1));
    match zk
        .update_leader_and_isr(
            epoch_zk_version,
            &[(tp(0), state(1, 2, &[1]), ZkVersion(1))],
        )
        .await
    {
        Err(ZkError::ControllerMoved { .. }) => {}
        other => bail!("a stale controller updated partition state: {other:?}"),
    }
    match zk
        .create_topic_partition_states(epoch_zk_version, &[(tp(5), state(1, 0, &[1]))])
        .await
    {
        Err(ZkError::ControllerMoved { .. }) => {}
        other => bail!("a stale controller created partition state: {other:?}"),
    }
    Ok(())
}

async fn topic_deletion(zk: &KafkaZkClient) -> anyhow::Result<()> {
    let (_, epoch_zk_version) = zk
        .get_controller_epoch()
        .await?
        .context("no controller epoch")?;
    zk.create_delete_topic_path("orders").await?;
    zk.create_delete_topic_path("orders").await?; // Asking twice is fine.
    ensure!(
        zk.get_topic_deletions()
            .await?
            .into_iter()
            .collect::<Vec<_>>()
            == ["orders"]
    );
    zk.set_or_create_entity_configs(
        ConfigType::TOPIC,
        "orders",
        &BTreeMap::from([("retention.ms".into(), "1000".into())]),
    )
    .await?;

    zk.delete_topic_znode("orders", epoch_zk_version).await?;
    zk.delete_topic_configs(&["orders".into()], epoch_zk_version)
        .await?;
    zk.delete_topic_deletions(&["orders".into()], epoch_zk_version)
        .await?;
    ensure!(
        !zk.topic_exists("orders").await?,
        "/brokers/topics/orders survived"
    );
    ensure!(!zk.path_exists("/config/topics/orders").await?);
    ensure!(zk.get_topic_deletions().await?.is_empty());
    ensure!(
        zk.get_all_topics_in_cluster()
            .await?
            .into_iter()
            .collect::<Vec<_>>()
            == ["first", "second"]
    );
    Ok(())
}

async fn configs_notifications_and_ids(zk: &KafkaZkClient) -> anyhow::Result<()> {
    let (_, epoch_zk_version) = zk
        .get_controller_epoch()
        .await?
        .context("no controller epoch")?;

    // Topic config overrides, all strings, and the change notification every broker follows.
    let config = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
    zk.set_or_create_entity_configs(ConfigType::TOPIC, "first", &config)
        .await?;
    ensure!(zk.get_entity_configs(ConfigType::TOPIC, "first").await? == config);
    ensure!(zk
        .get_entity_configs(ConfigType::TOPIC, "second")
        .await?
        .is_empty());
    let path = zk.create_config_change_notification("topics/first").await?;
    ensure!(
        path.starts_with("/config/changes/config_change_")
            && path.len() == "/config/changes/config_change_".len() + 10,
        "{path}"
    );

    // ISR change notifications: created sequential, read, deleted on failover.
    let isr_path = zk
        .propagate_isr_changes(&[TopicPartition::new("first", 0)])
        .await?;
    ensure!(
        isr_path.starts_with("/isr_change_notification/isr_change_"),
        "{isr_path}"
    );
    let sequence_numbers = zk.get_all_isr_change_notifications().await?;
    ensure!(
        sequence_numbers.len() == 1 && isr_path.ends_with(&sequence_numbers[0]),
        "{sequence_numbers:?}"
    );
    ensure!(
        zk.get_partitions_from_isr_change_notifications(&sequence_numbers)
            .await?
            == [TopicPartition::new("first", 0)]
    );
    zk.delete_all_notifications(epoch_zk_version).await?;
    ensure!(zk.get_all_isr_change_notifications().await?.is_empty());

    // Producer id blocks: conditional on the znode's version.
    let (block, version) = zk.get_producer_id_block().await?;
    ensure!(block.is_none(), "the top-level path starts empty");
    let first = ProducerIdBlock {
        broker_id: BrokerId(1),
        block_start: 0,
        block_end: ProducerIdBlock::BLOCK_SIZE - 1,
    };
    let version2 = zk
        .conditional_update_producer_id_block(&first, version)
        .await?;
    match zk
        .conditional_update_producer_id_block(&first, version)
        .await
    {
        Err(ZkError::BadVersion { .. }) => {}
        other => bail!("a stale producer id block claim succeeded: {other:?}"),
    }
    ensure!(zk.get_producer_id_block().await? == (Some(first), version2));

    // /feature, as a 2.8 controller writes it on failover.
    zk.create_or_update_feature_znode(&FeatureZNode::enabled_without_features())
        .await?;
    zk.create_or_update_feature_znode(&FeatureZNode::enabled_without_features())
        .await?;
    let (feature, _) = zk.get_feature_znode().await?.context("no /feature")?;
    ensure!(feature == FeatureZNode::enabled_without_features());

    // Generated broker ids come from /brokers/seqid's data version.
    let a = zk.generate_broker_sequence_id().await?;
    let b = zk.generate_broker_sequence_id().await?;
    ensure!(b == a + 1, "{a} then {b}");
    Ok(())
}
