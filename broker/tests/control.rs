//! The control plane as a broker sees it: LeaderAndIsr, UpdateMetadata and StopReplica with
//! Kafka's epoch checks, Metadata answered from what UpdateMetadata said, and a clean restart.
//! Without ZooKeeper the broker is never the controller: the admin APIs refuse.

mod common;

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::messages::stop_replica_request::{StopReplicaPartitionState, StopReplicaTopicState, StopReplicaTopicV1};
use kafka_protocol::messages::update_metadata_request::{UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState, UpdateMetadataTopicState};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    BrokerId, ControlledShutdownRequest, CreateTopicsRequest, DeleteTopicsRequest, LeaderAndIsrRequest, MetadataRequest, StopReplicaRequest, TopicName,
    UpdateMetadataRequest,
};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::wire::{encode_batch, fetch, fetch_all, produce};
use uuid::Uuid;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().copied().map(BrokerId).collect()
}

/// LeaderAndIsr v5 for `topic` partition 0.
fn leader_and_isr(controller_epoch: i32, topic: &str, id: Uuid, leader: i32, leader_epoch: i32, replicas: &[i32]) -> LeaderAndIsrRequest {
    let state = LeaderAndIsrPartitionState::default()
        .with_topic_name(name(topic))
        .with_partition_index(0)
        .with_controller_epoch(controller_epoch)
        .with_leader(BrokerId(leader))
        .with_leader_epoch(leader_epoch)
        .with_isr(ids(replicas))
        .with_partition_epoch(leader_epoch)
        .with_replicas(ids(replicas))
        .with_is_new(true);
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(5))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default().with_topic_name(name(topic)).with_topic_id(id).with_partition_states(vec![state])])
}

fn lai_code(r: &kafka_protocol::messages::LeaderAndIsrResponse) -> (i16, Vec<i16>) {
    (r.error_code, r.topics.iter().flat_map(|t| t.partition_errors.iter().map(|p| p.error_code)).collect())
}

fn update_metadata(controller_epoch: i32, addr: std::net::SocketAddr, topic: &str, id: Uuid, leader: i32, leader_epoch: i32) -> UpdateMetadataRequest {
    let broker = |bid: i32, port: i32| {
        UpdateMetadataBroker::default().with_id(BrokerId(bid)).with_endpoints(vec![UpdateMetadataEndpoint::default()
            .with_host(StrBytes::from_string(addr.ip().to_string()))
            .with_port(port)
            .with_listener(StrBytes::from_static_str("PLAINTEXT"))
            .with_security_protocol(0)])
    };
    let state = UpdateMetadataPartitionState::default()
        .with_topic_name(name(topic))
        .with_partition_index(0)
        .with_controller_epoch(controller_epoch)
        .with_leader(BrokerId(leader))
        .with_leader_epoch(leader_epoch)
        .with_isr(ids(&[0, 5]))
        .with_zk_version(3)
        .with_replicas(ids(&[0, 5]));
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(5))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1)
        .with_live_brokers(vec![broker(0, addr.port() as i32), broker(5, 1)])
        .with_topic_states(vec![UpdateMetadataTopicState::default().with_topic_name(name(topic)).with_topic_id(id).with_partition_states(vec![state])])
}

fn one_batch() -> Bytes {
    encode_batch(&[(Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")))], Compression::None).unwrap()
}

#[tokio::test]
async fn leader_and_isr_epoch_rules() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let id = Uuid::new_v4();

    assert_eq!(lai_code(&conn.send(&leader_and_isr(3, "t", id, 0, 1, &[0]), 5).await.unwrap()), (0, vec![0]));
    // Same leader epoch again: ignored, answered with Kafka's stale-epoch code.
    assert_eq!(lai_code(&conn.send(&leader_and_isr(3, "t", id, 0, 1, &[0]), 5).await.unwrap()), (0, vec![codes::STALE_CONTROLLER_EPOCH]));
    // An older controller epoch: the whole request is refused.
    assert_eq!(lai_code(&conn.send(&leader_and_isr(2, "t", id, 0, 9, &[0]), 5).await.unwrap()).0, codes::STALE_CONTROLLER_EPOCH);
    // Not a replica: refused for that partition.
    assert_eq!(lai_code(&conn.send(&leader_and_isr(3, "u", Uuid::new_v4(), 7, 1, &[7, 8]), 5).await.unwrap()), (0, vec![codes::UNKNOWN_TOPIC_OR_PARTITION]));
    // A different topic id for an existing partition.
    assert_eq!(lai_code(&conn.send(&leader_and_isr(3, "t", Uuid::new_v4(), 0, 2, &[0]), 5).await.unwrap()), (0, vec![codes::INCONSISTENT_TOPIC_ID]));

    // Leader epoch fencing on Fetch (KIP-320): the partition is at epoch 1.
    let ack = produce(&mut conn, "t", 0, one_batch(), 1).await.unwrap();
    assert_eq!(ack.error_code, 0);
    let fetch_at = |epoch: i32| {
        use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
        kafka_protocol::messages::FetchRequest::default().with_replica_id(BrokerId(-1)).with_max_bytes(1 << 20).with_topics(vec![FetchTopic::default()
            .with_topic(name("t"))
            .with_partitions(vec![FetchPartition::default().with_partition(0).with_current_leader_epoch(epoch).with_partition_max_bytes(1 << 20)])])
    };
    let code = |r: kafka_protocol::messages::FetchResponse| r.responses[0].partitions[0].error_code;
    assert_eq!(code(conn.send(&fetch_at(0), 11).await.unwrap()), codes::FENCED_LEADER_EPOCH);
    assert_eq!(code(conn.send(&fetch_at(2), 11).await.unwrap()), codes::UNKNOWN_LEADER_EPOCH);
    assert_eq!(code(conn.send(&fetch_at(1), 11).await.unwrap()), codes::NONE);

    // Becoming a follower (leader 7 at epoch 2): produce and fetch are refused here.
    assert_eq!(lai_code(&conn.send(&leader_and_isr(3, "t", id, 7, 2, &[7, 0]), 5).await.unwrap()), (0, vec![0]));
    assert_eq!(produce(&mut conn, "t", 0, one_batch(), 1).await.unwrap().error_code, codes::NOT_LEADER_OR_FOLLOWER);
    assert!(fetch(&mut conn, "t", 0, 0, 1024).await.unwrap_err().to_string().contains("error code 6"));

    // v0 (flat partition states, no topic id) is served too.
    let mut v0 = leader_and_isr(3, "w", Uuid::nil(), 0, 0, &[0]);
    v0.ungrouped_partition_states = std::mem::take(&mut v0.topic_states[0].partition_states);
    v0.topic_states.clear();
    let resp = conn.send(&v0, 0).await.unwrap();
    assert_eq!((resp.error_code, resp.partition_errors.len(), resp.partition_errors[0].error_code), (0, 1, 0));
    assert_eq!(produce(&mut conn, "w", 0, one_batch(), 1).await.unwrap().error_code, 0);
}

#[tokio::test]
async fn metadata_is_what_update_metadata_said() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let id = Uuid::new_v4();
    assert_eq!(conn.send(&update_metadata(4, broker.addr(), "t", id, 0, 6), 7).await.unwrap().error_code, 0);
    assert_eq!(conn.send(&update_metadata(3, broker.addr(), "t", id, 0, 7), 7).await.unwrap().error_code, codes::STALE_CONTROLLER_EPOCH);

    for version in [1, 4, 8] {
        let all = conn.send(&MetadataRequest::default().with_topics(None), version).await.unwrap();
        assert_eq!(all.controller_id.0, 5, "v{version}");
        assert_eq!(all.brokers.iter().map(|b| (b.node_id.0, b.port)).collect::<Vec<_>>(), vec![(0, broker.addr().port() as i32), (5, 1)]);
        assert_eq!(all.topics.len(), 1);
        let p = &all.topics[0].partitions[0];
        assert_eq!((p.leader_id.0, p.replica_nodes.len(), p.isr_nodes.len(), p.error_code), (0, 2, 2, 0));
        if version >= 7 {
            assert_eq!(p.leader_epoch, 6);
        }
    }
    let some = conn
        .send(&MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name("missing"))), MetadataRequestTopic::default().with_name(Some(name("bad name!")))])), 8)
        .await
        .unwrap();
    assert_eq!(some.topics.iter().map(|t| t.error_code).collect::<Vec<_>>(), vec![codes::UNKNOWN_TOPIC_OR_PARTITION, codes::INVALID_TOPIC_EXCEPTION]);
    let none = conn.send(&MetadataRequest::default().with_topics(Some(vec![])), 8).await.unwrap();
    assert!(none.topics.is_empty(), "an empty list asks for no topics");

    // Leader -2 marks the topic as being deleted: it leaves the cache.
    assert_eq!(conn.send(&update_metadata(4, broker.addr(), "t", id, -2, 7), 7).await.unwrap().error_code, 0);
    assert!(conn.send(&MetadataRequest::default().with_topics(None), 8).await.unwrap().topics.is_empty());
}

#[tokio::test]
async fn stop_replica_fences_old_epochs_and_deletes_logs() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for t in ["a", "b"] {
        assert_eq!(lai_code(&conn.send(&leader_and_isr(1, t, Uuid::new_v4(), 0, 3, &[0]), 5).await.unwrap()), (0, vec![0]));
        assert_eq!(produce(&mut conn, t, 0, one_batch(), 1).await.unwrap().error_code, 0);
    }
    let stop_v3 = |epoch: i32, delete: bool| {
        StopReplicaRequest::default().with_controller_id(BrokerId(5)).with_controller_epoch(1).with_broker_epoch(-1).with_topic_states(vec![StopReplicaTopicState::default()
            .with_topic_name(name("a"))
            .with_partition_states(vec![StopReplicaPartitionState::default().with_partition_index(0).with_leader_epoch(epoch).with_delete_partition(delete)])])
    };
    let code = |r: kafka_protocol::messages::StopReplicaResponse| (r.error_code, r.partition_errors.iter().map(|p| p.error_code).collect::<Vec<_>>());
    assert_eq!(code(conn.send(&stop_v3(3, true), 3).await.unwrap()), (0, vec![codes::FENCED_LEADER_EPOCH]));
    assert!(broker.log_dir().join("a-0").exists());
    assert_eq!(code(conn.send(&stop_v3(-2, true), 3).await.unwrap()), (0, vec![0]));
    assert!(!broker.log_dir().join("a-0").exists(), "log deleted");
    assert_eq!(produce(&mut conn, "a", 0, one_batch(), 1).await.unwrap().error_code, codes::UNKNOWN_TOPIC_OR_PARTITION);

    // v1: one delete flag for the request; stale controller epoch refused first.
    let stop_v1 = |controller_epoch: i32| {
        StopReplicaRequest::default().with_controller_id(BrokerId(5)).with_controller_epoch(controller_epoch).with_broker_epoch(-1).with_delete_partitions(false).with_topics(vec![
            StopReplicaTopicV1::default().with_name(name("b")).with_partition_indexes(vec![0]),
        ])
    };
    assert_eq!(code(conn.send(&stop_v1(0), 1).await.unwrap()).0, codes::STALE_CONTROLLER_EPOCH);
    assert_eq!(code(conn.send(&stop_v1(1), 1).await.unwrap()), (0, vec![0]));
    assert!(broker.log_dir().join("b-0").exists(), "stopped without delete keeps the log");
    // ... and the partition (Kafka's `stopPartitions`), so its high watermark stays in
    // `replication-offset-checkpoint` for the next start.
    let log_dir = broker.log_dir();
    drop(conn);
    let InProcessBroker { handle, dir: _dir } = broker;
    handle.shutdown().await.unwrap();
    let checkpoint = std::fs::read_to_string(log_dir.join("replication-offset-checkpoint")).unwrap();
    assert!(checkpoint.lines().any(|l| l == "b 0 1"), "b-0's high watermark is kept: {checkpoint:?}");
}

#[tokio::test]
async fn clean_shutdown_leaves_the_marker_and_a_restart_serves_the_data() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let log_dir = broker.log_dir();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let id = Uuid::new_v4();
    assert_eq!(lai_code(&conn.send(&leader_and_isr(1, "t", id, 0, 0, &[0]), 5).await.unwrap()), (0, vec![0]));
    for _ in 0..20 {
        assert_eq!(produce(&mut conn, "t", 0, one_batch(), 1).await.unwrap().error_code, 0);
    }
    drop(conn);
    let InProcessBroker { handle, dir } = broker;
    handle.shutdown().await.unwrap();
    assert!(log_dir.join(".kafka_cleanshutdown").exists());
    let props = std::fs::read_to_string(log_dir.join("meta.properties")).unwrap();
    assert!(props.contains("broker.id=0") && props.contains("version=0"), "{props}");

    let handle = InProcessBroker::start_in(0, log_dir.clone(), &[]).await.unwrap();
    assert!(!log_dir.join(".kafka_cleanshutdown").exists(), "marker removed once logs are open");
    let mut conn = Connection::connect(handle.local_addr()).await.unwrap();
    assert_eq!(lai_code(&conn.send(&leader_and_isr(2, "t", id, 0, 1, &[0]), 5).await.unwrap()), (0, vec![0]));
    let records = fetch_all(&mut conn, "t", 0, 0).await.unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(produce(&mut conn, "t", 0, one_batch(), 1).await.unwrap().base_offset, 20);
    handle.shutdown().await.unwrap();
    drop(dir);
}

#[tokio::test]
async fn an_unusable_log_dir_or_another_brokers_dir_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = InProcessBroker::start_in(0, file.clone(), &[]).await.err().expect("a file is not a log dir").to_string();
    assert!(err.contains("not-a-dir"), "{err}");

    let logs = dir.path().join("logs");
    InProcessBroker::start_in(1, logs.clone(), &[]).await.unwrap().shutdown().await.unwrap();
    let err = InProcessBroker::start_in(2, logs, &[]).await.err().expect("dir of broker 1").to_string();
    assert!(err.contains('1') && err.contains('2'), "names both ids: {err}");
}

#[tokio::test]
async fn without_zookeeper_admin_requests_go_to_a_controller_that_is_not_here() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let create = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default().with_name(name("t")).with_num_partitions(1).with_replication_factor(1)]);
    for version in [0, 4] {
        let r = conn.send(&create, version).await.unwrap();
        assert_eq!(r.topics.iter().map(|t| t.error_code).collect::<Vec<_>>(), vec![codes::NOT_CONTROLLER], "CreateTopics v{version}");
    }
    let r = conn.send(&DeleteTopicsRequest::default().with_topic_names(vec![name("t")]), 3).await.unwrap();
    assert_eq!(r.responses.iter().map(|t| t.error_code).collect::<Vec<_>>(), vec![codes::NOT_CONTROLLER]);
    let r = conn.send(&ControlledShutdownRequest::default().with_broker_id(BrokerId(0)).with_broker_epoch(5), 3).await.unwrap();
    assert_eq!((r.error_code, r.remaining_partitions.len()), (codes::STALE_CONTROLLER_EPOCH, 0));
    // The connection is still usable after the flexible v3 exchange.
    assert!(conn.send(&MetadataRequest::default().with_topics(None), 8).await.unwrap().topics.is_empty());
    broker.handle.shutdown().await.unwrap();
}
