//! Topic creation and deletion, Metadata auto-creation and controlled shutdown against a real
//! 3-node ensemble with in-process brokers: what CreateTopics, DeleteTopics and ControlledShutdown
//! answer on the controller and elsewhere, exactly what lands in ZooKeeper (Kafka 2.8's JSON), and,
//! with the controller's topic handling, the end-to-end path: leaders elected before CreateTopics
//! answers, the new partition takes writes, DeleteTopics removes the logs.
//!
//! The brokers and the test's own ZooKeeper client all connect to the same ensemble member: a
//! ZooKeeper server answers a write only once it has applied it, so a read the test makes after a
//! broker's answer sees the broker's writes. (Through different members a read may lag, which
//! would also let "nothing was written" checks pass for the wrong reason.)

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    BrokerId, ControlledShutdownRequest, ControlledShutdownResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_broker::controlled_shutdown::{controlled_shutdown, ControlledShutdownSettings};
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::wire::{encode_batch, produce};
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::zk_data::TopicZNode;
use odradek_zk::{KafkaZkClient, ZNodeChange, ZNodeChangeKind, ZkClientConfig};

/// Every wait in this file is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

fn init_logs() {
    let _ = tracing_subscriber::fmt().with_env_filter("state_change=info,odradek_broker=info").with_test_writer().try_init();
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Cluster {
    _ensemble: ZkEnsemble,
    connect: String,
    brokers: Vec<InProcessBroker>,
    zk: KafkaZkClient,
}

impl Cluster {
    /// An ensemble under `chroot` and brokers `ids`, each with `overrides`; waits until every broker
    /// reports all of them and one controller.
    async fn start(chroot: &str, ids: &[i32], overrides: &[&str]) -> Cluster {
        let ensemble = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
        let connect = format!("{}{chroot}", ensemble.client_addr(1));
        let zk = KafkaZkClient::connect(ZkClientConfig { connect: connect.clone(), session_timeout: Duration::from_secs(6), connection_timeout: Duration::from_secs(6) })
            .await
            .unwrap();
        let mut cluster = Cluster { _ensemble: ensemble, connect, brokers: Vec::new(), zk };
        for &id in ids {
            cluster.add_broker(id, overrides).await;
        }
        cluster
    }

    async fn add_broker(&mut self, id: i32, overrides: &[&str]) {
        let mut all = vec![
            format!("zookeeper.connect={}", self.connect),
            "zookeeper.session.timeout.ms=6000".to_string(),
            "controlled.shutdown.retry.backoff.ms=200".to_string(),
        ];
        all.extend(overrides.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.brokers.push(InProcessBroker::start(id, &all).await.unwrap());
        let ids: BTreeSet<i32> = self.brokers.iter().map(|b| b.handle.replica_manager().broker_id()).collect();
        for b in &self.brokers {
            let addr = b.addr();
            eventually(&format!("broker at {addr} to list brokers {ids:?} and a controller"), || async {
                let m = metadata(addr, 8, None, true).await?;
                let listed: BTreeSet<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
                (listed == ids && ids.contains(&m.controller_id.0)).then_some(())
            })
            .await;
        }
    }

    fn broker(&self, id: i32) -> &InProcessBroker {
        self.brokers.iter().find(|b| b.handle.replica_manager().broker_id() == id).unwrap()
    }

    async fn controller(&self) -> i32 {
        self.zk.get_controller_id().await.unwrap().unwrap().0
    }

    /// The controller's address and a non-controller's.
    async fn controller_and_other(&self) -> (SocketAddr, SocketAddr) {
        let controller = self.controller().await;
        let other = self.brokers.iter().find(|b| b.handle.replica_manager().broker_id() != controller).unwrap();
        (self.broker(controller).addr(), other.addr())
    }

    async fn json(&self, path: &str) -> Option<String> {
        self.zk.get_data_and_stat(path).await.unwrap().map(|(data, _)| String::from_utf8(data).unwrap())
    }

    async fn exists(&self, path: &str) -> bool {
        self.zk.path_exists(path).await.unwrap()
    }

    async fn shutdown(self) {
        self.zk.close().await;
        for b in self.brokers {
            b.handle.shutdown().await.unwrap();
        }
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn topic(n: &str, partitions: i32, rf: i16) -> CreatableTopic {
    CreatableTopic::default().with_name(name(n)).with_num_partitions(partitions).with_replication_factor(rf)
}

fn with_config(t: CreatableTopic, key: &str, value: &str) -> CreatableTopic {
    t.with_configs(vec![CreatableTopicConfig::default().with_name(StrBytes::from_string(key.into())).with_value(Some(StrBytes::from_string(value.into())))])
}

async fn create_topics(addr: SocketAddr, version: i16, topics: Vec<CreatableTopic>, timeout_ms: i32, validate_only: bool) -> CreateTopicsResponse {
    let mut conn = Connection::connect(addr).await.unwrap();
    let request = CreateTopicsRequest::default().with_topics(topics).with_timeout_ms(timeout_ms).with_validate_only(validate_only);
    conn.send(&request, version).await.unwrap()
}

/// `(name, error code, error message)` per topic, in response order.
fn outcomes(r: &CreateTopicsResponse) -> Vec<(String, i16, Option<String>)> {
    r.topics.iter().map(|t| (t.name.0.to_string(), t.error_code, t.error_message.as_ref().map(|m| m.to_string()))).collect()
}

async fn delete_topics(addr: SocketAddr, version: i16, topics: &[&str], timeout_ms: i32) -> Vec<(String, i16)> {
    let mut conn = Connection::connect(addr).await.unwrap();
    let request = DeleteTopicsRequest::default().with_topic_names(topics.iter().map(|t| name(t)).collect()).with_timeout_ms(timeout_ms);
    let response: DeleteTopicsResponse = conn.send(&request, version).await.unwrap();
    response.responses.iter().map(|t| (t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(), t.error_code)).collect()
}

async fn metadata(addr: SocketAddr, version: i16, topics: Option<&[&str]>, allow_auto_create: bool) -> Option<MetadataResponse> {
    let mut conn = Connection::connect(addr).await.ok()?;
    let topics = topics.map(|ts| ts.iter().map(|t| MetadataRequestTopic::default().with_name(Some(name(t)))).collect());
    let request = MetadataRequest::default().with_topics(topics).with_allow_auto_topic_creation(allow_auto_create);
    conn.send(&request, version).await.ok()
}

/// The error code Metadata gives `topic`.
async fn metadata_error(addr: SocketAddr, version: i16, topic: &str, allow_auto_create: bool) -> i16 {
    let m = metadata(addr, version, Some(&[topic]), allow_auto_create).await.unwrap();
    m.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic)).unwrap().error_code
}

async fn controlled_shutdown_request(addr: SocketAddr, version: i16, broker_id: i32, broker_epoch: i64) -> ControlledShutdownResponse {
    let mut conn = Connection::connect(addr).await.unwrap();
    conn.send(&ControlledShutdownRequest::default().with_broker_id(BrokerId(broker_id)).with_broker_epoch(broker_epoch), version).await.unwrap()
}

/// Leader per partition of `topic` as `addr` reports it, once every partition has one.
async fn leaders(addr: SocketAddr, topic: &str, partitions: usize) -> Vec<i32> {
    eventually(&format!("leaders for {topic} at {addr}"), || async {
        let m = metadata(addr, 8, Some(&[topic]), false).await?;
        let t = m.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))?;
        let ok = t.error_code == 0 && t.partitions.len() == partitions && t.partitions.iter().all(|p| p.error_code == 0 && p.leader_id.0 >= 0);
        ok.then(|| {
            let mut ps: Vec<_> = t.partitions.iter().map(|p| (p.partition_index, p.leader_id.0)).collect();
            ps.sort();
            ps.into_iter().map(|(_, l)| l).collect()
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_and_delete_topics_validate_and_write_zookeeper_on_the_controller_only() {
    init_logs();
    let cluster = Cluster::start("/topics_test", &[1, 2, 3], &["num.partitions=2"]).await;
    let (controller, other) = cluster.controller_and_other().await;

    // Anywhere but the controller: NOT_CONTROLLER for every topic, nothing written.
    let r = create_topics(other, 4, vec![topic("orders", 3, 2), topic("more", 1, 1)], 0, false).await;
    assert_eq!(outcomes(&r), vec![("orders".into(), codes::NOT_CONTROLLER, None), ("more".into(), codes::NOT_CONTROLLER, None)]);
    assert!(!cluster.exists("/brokers/topics/orders").await);
    assert_eq!(delete_topics(other, 3, &["orders"], 0).await, vec![("orders".into(), codes::NOT_CONTROLLER)]);

    // On the controller, timeout 0: written, answered at once with REQUEST_TIMED_OUT (Kafka's
    // "created, not known to be ready").
    let r = create_topics(controller, 4, vec![with_config(topic("orders", 3, 2), "retention.ms", "1000"), topic("plain", -1, -1)], 0, false).await;
    assert_eq!(outcomes(&r), vec![("orders".into(), codes::REQUEST_TIMED_OUT, None), ("plain".into(), codes::REQUEST_TIMED_OUT, None)]);
    let orders = cluster.json("/brokers/topics/orders").await.expect("/brokers/topics/orders written");
    assert!(orders.starts_with("{\"version\":3,\"topic_id\":\""), "{orders}");
    let decoded = TopicZNode::decode("orders", orders.as_bytes()).unwrap();
    assert!(decoded.topic_id.is_some_and(|id| !id.0.is_nil()));
    assert_eq!(decoded.assignment.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    let mut first_replicas = BTreeSet::new();
    for a in decoded.assignment.values() {
        let replicas: BTreeSet<i32> = a.replicas.iter().map(|b| b.0).collect();
        assert_eq!(replicas.len(), 2, "{orders}");
        assert!(replicas.is_subset(&BTreeSet::from([1, 2, 3])), "{orders}");
        first_replicas.insert(a.replicas[0].0);
    }
    assert_eq!(first_replicas.len(), 3, "preferred leaders go round-robin over the live brokers: {orders}");
    assert_eq!(cluster.json("/config/topics/orders").await.as_deref(), Some("{\"version\":1,\"config\":{\"retention.ms\":\"1000\"}}"));
    // -1 takes num.partitions (2 here) and default.replication.factor (1); an empty config is written too.
    let plain = TopicZNode::decode("plain", cluster.json("/brokers/topics/plain").await.unwrap().as_bytes()).unwrap();
    assert_eq!(plain.assignment.len(), 2);
    assert!(plain.assignment.values().all(|a| a.replicas.len() == 1));
    assert_eq!(cluster.json("/config/topics/plain").await.as_deref(), Some("{\"version\":1,\"config\":{}}"));

    // Refusals, each with its code and (v1+) Kafka's message; none of them writes anything.
    let r = create_topics(
        controller,
        1,
        vec![
            topic("orders", 1, 1),
            topic("big", 1, 4),
            topic("bad/name", 1, 1),
            with_config(topic("cfg", 1, 1), "retention.mss", "1"),
            topic("dup", 1, 1),
            topic("dup", 1, 1),
            topic("zero", 0, 1),
            topic("assigned", -1, -1).with_assignments(vec![CreatableReplicaAssignment::default().with_partition_index(0).with_broker_ids(vec![BrokerId(1), BrokerId(9)])]),
        ],
        0,
        false,
    )
    .await;
    let found = outcomes(&r);
    let expected: Vec<(&str, i16, &str)> = vec![
        ("orders", codes::TOPIC_ALREADY_EXISTS, "Topic 'orders' already exists."),
        ("big", codes::INVALID_REPLICATION_FACTOR, "Replication factor: 4 larger than available brokers: 3."),
        ("bad/name", codes::INVALID_TOPIC_EXCEPTION, "Topic name \"bad/name\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"),
        ("cfg", codes::INVALID_CONFIG, "Unknown topic config name: retention.mss"),
        ("dup", codes::INVALID_REQUEST, "Found multiple entries for this topic."),
        ("dup", codes::INVALID_REQUEST, "Found multiple entries for this topic."),
        ("zero", codes::INVALID_PARTITIONS, "Number of partitions must be larger than 0, got 0."),
        ("assigned", codes::INVALID_REPLICA_ASSIGNMENT, "Unknown broker(s) in replica assignment: 9."),
    ];
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for ((n, code, message), (en, ecode, emessage)) in found.iter().zip(&expected) {
        assert_eq!((n.as_str(), *code, message.as_deref()), (*en, *ecode, Some(*emessage)));
    }
    for t in ["big", "cfg", "dup", "zero", "assigned"] {
        assert!(!cluster.exists(&format!("/brokers/topics/{t}")).await, "{t} must not be written");
        assert!(!cluster.exists(&format!("/config/topics/{t}")).await, "{t}'s config must not be written");
    }

    // validate_only: answers NONE for a topic that would be created, writes nothing.
    let r = create_topics(controller, 4, vec![topic("dry", 4, 3), topic("orders", 1, 1)], 10_000, true).await;
    assert_eq!(r.topics.iter().map(|t| t.error_code).collect::<Vec<_>>(), vec![codes::NONE, codes::TOPIC_ALREADY_EXISTS]);
    assert!(!cluster.exists("/brokers/topics/dry").await && !cluster.exists("/config/topics/dry").await);

    // v0 (no error messages on the wire) works the same.
    let r = create_topics(controller, 0, vec![topic("orders", 1, 1)], 0, false).await;
    assert_eq!(r.topics.iter().map(|t| (t.name.0.to_string(), t.error_code)).collect::<Vec<_>>(), vec![("orders".into(), codes::TOPIC_ALREADY_EXISTS)]);

    // DeleteTopics: unknown topics; then a real one is queued in /admin/delete_topics (seen
    // through a watch, since the controller may finish the deletion at once).
    assert_eq!(delete_topics(controller, 3, &["nosuch", "bad/name"], 0).await, vec![("nosuch".into(), 3), ("bad/name".into(), 3)]);
    let (events, mut changes) = tokio::sync::mpsc::unbounded_channel::<ZNodeChange>();
    let (before, _watch) = cluster.zk.watch_node("/admin/delete_topics/plain", events).await.unwrap();
    assert!(before.is_none());
    assert_eq!(delete_topics(controller, 1, &["plain"], 0).await, vec![("plain".into(), codes::REQUEST_TIMED_OUT)]);
    let created = tokio::time::timeout(WAIT, async {
        while let Some(change) = changes.recv().await {
            if change.kind == ZNodeChangeKind::Created {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(created, Ok(true), "/admin/delete_topics/plain was created");

    // Metadata auto-creation: allowed → written and LEADER_NOT_AVAILABLE (on any broker);
    // not allowed (v4+) → UNKNOWN_TOPIC_OR_PARTITION and nothing written; v1–3 always allow.
    assert_eq!(metadata_error(other, 8, "auto", true).await, codes::LEADER_NOT_AVAILABLE);
    let auto = TopicZNode::decode("auto", cluster.json("/brokers/topics/auto").await.expect("auto-created").as_bytes()).unwrap();
    assert_eq!(auto.assignment.len(), 2, "num.partitions");
    assert_eq!(cluster.json("/config/topics/auto").await.as_deref(), Some("{\"version\":1,\"config\":{}}"));
    assert_eq!(metadata_error(other, 8, "manual", false).await, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(!cluster.exists("/brokers/topics/manual").await);
    assert_eq!(metadata_error(controller, 1, "old-client", true).await, codes::LEADER_NOT_AVAILABLE);
    assert!(cluster.exists("/brokers/topics/old-client").await);
    assert_eq!(metadata_error(other, 8, "bad/name", true).await, codes::INVALID_TOPIC_EXCEPTION);

    // ControlledShutdown: a non-controller answers STALE_CONTROLLER_EPOCH (v0's header has no
    // client id; v3 is flexible); the controller refuses an unknown broker and a stale epoch.
    for version in [0, 3] {
        let r = controlled_shutdown_request(other, version, 1, -1).await;
        assert_eq!((r.error_code, r.remaining_partitions.len()), (codes::STALE_CONTROLLER_EPOCH, 0), "v{version}");
    }
    assert_eq!(controlled_shutdown_request(controller, 3, 99, -1).await.error_code, codes::BROKER_NOT_AVAILABLE);
    let some_broker = cluster.brokers[0].handle.replica_manager().broker_id();
    assert_eq!(controlled_shutdown_request(controller, 3, some_broker, 1).await.error_code, codes::STALE_BROKER_EPOCH);

    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn created_topics_get_leaders_take_writes_and_deletion_removes_their_logs() {
    init_logs();
    let cluster = Cluster::start("/topics_e2e", &[1, 2, 3], &[]).await;
    let (controller, other) = cluster.controller_and_other().await;

    // With a timeout the answer waits for the leaders: NONE, and every broker knows them.
    let r = create_topics(controller, 3, vec![topic("e2e", 2, 2)], 15_000, false).await;
    assert_eq!(outcomes(&r), vec![("e2e".into(), codes::NONE, None)]);
    // At the moment of the answer the controller's own metadata already has both leaders.
    let now = metadata(controller, 8, Some(&["e2e"]), false).await.unwrap();
    assert!(now.topics[0].partitions.len() == 2 && now.topics[0].partitions.iter().all(|p| p.leader_id.0 >= 0), "{now:?}");
    let leader_ids = leaders(other, "e2e", 2).await;
    for b in &cluster.brokers {
        assert_eq!(leaders(b.addr(), "e2e", 2).await, leader_ids);
    }

    // The partition is writable on its leader, and its log is on disk there.
    let leader = cluster.broker(leader_ids[0]);
    let mut conn = Connection::connect(leader.addr()).await.unwrap();
    let batch: Bytes = encode_batch(&[(Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")))], Compression::None).unwrap();
    let ack = produce(&mut conn, "e2e", 0, batch, 1).await.unwrap();
    assert_eq!((ack.error_code, ack.base_offset), (codes::NONE, 0));
    assert!(leader.log_dir().join("e2e-0").is_dir());

    // A timeout too short for an election (several ZooKeeper round trips) ends in
    // REQUEST_TIMED_OUT, though the topic is created and gets its leader later.
    let r = create_topics(controller, 4, vec![topic("hasty", 1, 1)], 1, false).await;
    assert_eq!(outcomes(&r), vec![("hasty".into(), codes::REQUEST_TIMED_OUT, None)]);
    leaders(other, "hasty", 1).await;

    // Auto-created topics get leaders too.
    assert_eq!(metadata_error(other, 8, "auto-e2e", true).await, codes::LEADER_NOT_AVAILABLE);
    leaders(other, "auto-e2e", 1).await;

    // DeleteTopics waits until the topic has left the metadata; then ZooKeeper and the disks are clean.
    assert_eq!(delete_topics(controller, 3, &["e2e"], 15_000).await, vec![("e2e".into(), codes::NONE)]);
    assert_eq!(metadata_error(controller, 8, "e2e", false).await, codes::UNKNOWN_TOPIC_OR_PARTITION, "gone from the controller's metadata when answered");
    eventually("the other brokers to forget e2e", || async {
        (metadata_error(other, 8, "e2e", false).await == codes::UNKNOWN_TOPIC_OR_PARTITION).then_some(())
    })
    .await;
    eventually("the deletion to finish in ZooKeeper", || async {
        let gone = !cluster.exists("/brokers/topics/e2e").await && !cluster.exists("/admin/delete_topics/e2e").await && !cluster.exists("/config/topics/e2e").await;
        gone.then_some(())
    })
    .await;
    for b in &cluster.brokers {
        let dir = b.log_dir();
        eventually(&format!("e2e logs gone from {}", dir.display()), || async {
            let left: Vec<String> = std::fs::read_dir(&dir).ok()?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("e2e-")).collect();
            left.is_empty().then_some(())
        })
        .await;
    }

    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_creation_follows_broker_config_and_controlled_shutdown_moves_leadership() {
    init_logs();
    // One broker, default.replication.factor 2: not enough live brokers to auto-create. It is the
    // controller, with delete.topic.enable=false.
    let mut cluster = Cluster::start("/auto_test", &[1], &["default.replication.factor=2", "delete.topic.enable=false"]).await;
    assert_eq!(cluster.controller().await, 1);
    let first = cluster.broker(1).addr();
    assert_eq!(metadata_error(first, 8, "lonely", true).await, codes::INVALID_REPLICATION_FACTOR);
    assert!(!cluster.exists("/brokers/topics/lonely").await);

    // A second broker with auto.create.topics.enable=false never creates; the first now can.
    cluster.add_broker(2, &["auto.create.topics.enable=false", "default.replication.factor=2"]).await;
    let second = cluster.broker(2).addr();
    assert_eq!(metadata_error(second, 8, "nope", true).await, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(!cluster.exists("/brokers/topics/nope").await);
    assert_eq!(metadata_error(first, 8, "now", true).await, codes::LEADER_NOT_AVAILABLE);
    let now = TopicZNode::decode("now", cluster.json("/brokers/topics/now").await.unwrap().as_bytes()).unwrap();
    assert!(now.assignment.values().all(|a| a.replicas.len() == 2), "default.replication.factor");

    // Deletion disabled: TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST before; nothing queued.
    assert_eq!(delete_topics(first, 3, &["now"], 0).await, vec![("now".into(), codes::TOPIC_DELETION_DISABLED)]);
    assert_eq!(delete_topics(first, 1, &["now"], 0).await, vec![("now".into(), codes::INVALID_REQUEST)]);
    assert!(!cluster.exists("/admin/delete_topics/now").await);

    // Controlled shutdown, the broker's side: a stale broker epoch is refused every time, and the
    // broker gives up after max.retries attempts.
    let controller_addr = cluster.broker(cluster.controller().await).addr();
    let r = create_topics(controller_addr, 4, vec![topic("moving", 4, 2)], 15_000, false).await;
    assert_eq!(outcomes(&r), vec![("moving".into(), codes::NONE, None)]);
    let settings = ControlledShutdownSettings { max_retries: 2, backoff: Duration::from_millis(100), request_timeout: Duration::from_secs(10), inter_broker_listener_name: "PLAINTEXT".into() };
    let leader_ids = leaders(second, "moving", 4).await;
    let stopping = leader_ids[0];
    let zk = cluster.broker(stopping).handle.zk_client().unwrap().clone();
    let started = tokio::time::Instant::now();
    assert!(!controlled_shutdown(&zk, stopping, || 1, settings.clone()).await, "epoch 1 is stale");
    assert!(started.elapsed() >= Duration::from_millis(100), "one backoff between the two attempts");

    // With its real epoch the controller moves every leadership it has off the broker, which is
    // still up and registered.
    let epoch = cluster.broker(stopping).handle.replica_manager().broker_epoch();
    assert!(controlled_shutdown(&zk, stopping, || epoch, settings).await);
    let survivor = cluster.brokers.iter().find(|b| b.handle.replica_manager().broker_id() != stopping).unwrap().addr();
    let after = eventually("leadership to leave the stopping broker", || async {
        let l = leaders(survivor, "moving", 4).await;
        (!l.contains(&stopping)).then_some(l)
    })
    .await;
    assert_eq!(after.len(), 4);
    assert!(cluster.exists(&format!("/brokers/ids/{stopping}")).await, "still registered: nothing but leadership moved");

    cluster.shutdown().await;
}
