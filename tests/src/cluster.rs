//! A ZooKeeper-coordinated cluster of broker processes, the way an operator runs one: a real
//! 3-node ensemble ([`ZkEnsemble`]) and `odradek-broker` processes registered under one chroot.
//! The tests look at it from outside only: Metadata over the wire from any broker, and the
//! ZooKeeper tree read with [`KafkaZkClient`] (what `zkCli.sh` would show).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use odradek_zk::{BrokerId, KafkaZkClient, LeaderIsrAndControllerEpoch, ReplicaAssignment, TopicId, TopicPartition, ZkClientConfig};

use crate::broker_process::BrokerProcess;
use crate::controller_stub::block_on;
use crate::zookeeper::ZkEnsemble;

/// The chroot the brokers of a test cluster register under.
pub const CHROOT: &str = "/odradek-test";
/// `zookeeper.session.timeout.ms` of a test cluster: a killed broker's registration disappears
/// this long after its last heartbeat.
pub const SESSION_TIMEOUT_MS: u64 = 6_000;
const METADATA_VERSION: i16 = 8;

/// One partition as a broker's Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error_code: i16,
}

pub struct Cluster {
    pub ensemble: ZkEnsemble,
    pub brokers: BTreeMap<i32, BrokerProcess>,
}

impl Cluster {
    /// Starts an ensemble and brokers `ids`, and waits until every broker's Metadata lists them
    /// all and names a controller.
    pub fn start(ids: &[i32], overrides: &[(&str, &str)]) -> anyhow::Result<Cluster> {
        let ensemble = ZkEnsemble::start()?;
        let connect = ensemble.connect_string_with_chroot(CHROOT);
        let session = SESSION_TIMEOUT_MS.to_string();
        let mut settings: Vec<(&str, &str)> = vec![("zookeeper.connect", &connect), ("zookeeper.session.timeout.ms", &session)];
        settings.extend_from_slice(overrides);
        let mut brokers = BTreeMap::new();
        for &id in ids {
            brokers.insert(id, BrokerProcess::start(id, &settings)?);
        }
        let cluster = Cluster { ensemble, brokers };
        cluster.wait_for_live_brokers(ids, Duration::from_secs(30))?;
        Ok(cluster)
    }

    pub fn broker(&mut self, id: i32) -> &mut BrokerProcess {
        self.brokers.get_mut(&id).unwrap_or_else(|| panic!("no broker {id} in this cluster"))
    }

    pub fn addr(&self, id: i32) -> SocketAddr {
        self.brokers[&id].addr()
    }

    /// The running brokers' addresses, comma-separated, as clients take them.
    pub fn bootstrap(&mut self) -> String {
        let mut running = Vec::new();
        for (_, b) in self.brokers.iter_mut() {
            if b.is_running() {
                running.push(b.bootstrap());
            }
        }
        running.join(",")
    }

    /// Metadata from broker `via` (all topics, no auto-creation).
    pub fn metadata(&self, via: i32) -> anyhow::Result<MetadataResponse> {
        metadata(self.addr(via), None)
    }

    /// `topic`'s partitions as broker `via` describes them (empty if it does not know the topic).
    pub fn partitions(&self, via: i32, topic: &str) -> anyhow::Result<BTreeMap<i32, PartitionView>> {
        let response = metadata(self.addr(via), Some(topic))?;
        Ok(response
            .topics
            .iter()
            .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic) && t.error_code == 0)
            .flat_map(|t| t.partitions.iter())
            .map(|p| {
                (
                    p.partition_index,
                    PartitionView {
                        leader: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                        isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                        error_code: p.error_code,
                    },
                )
            })
            .collect())
    }

    /// The controller id broker `via` reports (−1: none known).
    pub fn controller_id(&self, via: i32) -> anyhow::Result<i32> {
        Ok(self.metadata(via)?.controller_id.0)
    }

    /// Waits until broker `via`'s Metadata lists exactly `ids` and a controller among them.
    pub fn wait_for_live_brokers_via(&self, via: i32, ids: &[i32], timeout: Duration) -> anyhow::Result<i32> {
        let mut expected = ids.to_vec();
        expected.sort();
        wait_until(timeout, &format!("broker {via} to list brokers {expected:?} and a controller"), || {
            let m = self.metadata(via).ok()?;
            let mut listed: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
            listed.sort();
            (listed == expected && expected.contains(&m.controller_id.0)).then_some(m.controller_id.0)
        })
    }

    pub fn wait_for_live_brokers(&self, ids: &[i32], timeout: Duration) -> anyhow::Result<i32> {
        let mut controller = -1;
        for &via in ids {
            controller = self.wait_for_live_brokers_via(via, ids, timeout)?;
        }
        Ok(controller)
    }

    /// Waits until broker `via` shows every partition of `topic` with a leader in `live`.
    pub fn wait_for_leaders(&self, via: i32, topic: &str, partitions: usize, live: &[i32], timeout: Duration) -> anyhow::Result<BTreeMap<i32, PartitionView>> {
        wait_until(timeout, &format!("broker {via} to show {partitions} partitions of {topic} led by brokers {live:?}"), || {
            let view = self.partitions(via, topic).ok()?;
            (view.len() == partitions && view.values().all(|p| live.contains(&p.leader) && p.error_code == 0)).then_some(view)
        })
    }

    /// A ZooKeeper client on the cluster's chroot, for reading what the controller wrote.
    pub fn zk(&self) -> anyhow::Result<ZkProbe> {
        // One worker thread keeps the session's heartbeats going between calls (a current-thread
        // runtime only runs them while something blocks on it, and the session would expire).
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().context("cannot build a tokio runtime")?;
        let config = ZkClientConfig::new(self.ensemble.connect_string_with_chroot(CHROOT));
        let client = runtime.block_on(KafkaZkClient::connect(config)).context("cannot connect to ZooKeeper")?;
        Ok(ZkProbe { runtime, client })
    }
}

/// A blocking view of the cluster's ZooKeeper tree.
pub struct ZkProbe {
    runtime: tokio::runtime::Runtime,
    client: KafkaZkClient,
}

impl ZkProbe {
    pub fn client(&self) -> &KafkaZkClient {
        &self.client
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Creates a topic the way `kafka-topics.sh --zookeeper` does (`AdminZkClient.createTopic`):
    /// `/config/topics/<t>` then `/brokers/topics/<t>` with a new topic id; the controller does
    /// the rest.
    pub fn create_topic(&self, topic: &str, assignment: &BTreeMap<i32, Vec<i32>>) -> anyhow::Result<()> {
        self.create_topic_with_configs(topic, assignment, &[])
    }

    /// [`ZkProbe::create_topic`] with topic config overrides (`min.insync.replicas`, ...).
    pub fn create_topic_with_configs(&self, topic: &str, assignment: &BTreeMap<i32, Vec<i32>>, configs: &[(&str, &str)]) -> anyhow::Result<()> {
        let configs: BTreeMap<String, String> = configs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let assignment: BTreeMap<i32, ReplicaAssignment> = assignment.iter().map(|(p, r)| (*p, ReplicaAssignment::new(r.iter().copied().map(BrokerId).collect()))).collect();
        self.runtime.block_on(async {
            self.client.set_or_create_entity_configs("topics", topic, &configs).await?;
            self.client.create_topic_assignment(topic, Some(TopicId::random()), &assignment).await
        })?;
        Ok(())
    }

    /// Each partition's `/state`.
    pub fn partition_states(&self, topic: &str, partitions: i32) -> anyhow::Result<BTreeMap<i32, LeaderIsrAndControllerEpoch>> {
        let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
        let states = self.runtime.block_on(self.client.get_topic_partition_states(&tps))?;
        Ok(states.into_iter().map(|(tp, (state, _))| (tp.partition, state)).collect())
    }

    /// `/controller_epoch`.
    pub fn controller_epoch(&self) -> anyhow::Result<i32> {
        let epoch = self.runtime.block_on(self.client.get_controller_epoch())?;
        Ok(epoch.map_or(0, |(e, _)| e.0))
    }

    /// The raw text of a znode, as `zkCli.sh get` prints it.
    pub fn get(&self, path: &str) -> anyhow::Result<Option<String>> {
        let data = self.runtime.block_on(self.client.get_data_and_stat(path))?;
        Ok(data.map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Metadata v8 from the broker at `addr`: all topics, or just `topic` (never auto-created).
pub fn metadata(addr: SocketAddr, topic: Option<&str>) -> anyhow::Result<MetadataResponse> {
    let topics = topic.map(|t| vec![MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))]);
    let request = MetadataRequest::default().with_topics(topics).with_allow_auto_topic_creation(false);
    block_on(async {
        let mut conn = Connection::connect(addr).await?;
        Ok(conn.send(&request, METADATA_VERSION).await?)
    })
}

/// Polls `check` every 100 ms until it returns a value; fails naming `what` after `timeout`.
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
