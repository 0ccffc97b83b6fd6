//! The cluster a chaos run works on: the harness's [`Cluster`] (a real 3-node ensemble and broker
//! processes), except that each broker reaches ZooKeeper through its own [`ZkProxy`], so the
//! nemesis can cut one broker off from ZooKeeper while clients still reach it. The harness itself
//! talks to the ensemble directly, to find the controller and the leaders the way an operator
//! would (`/controller`, `/brokers/topics/T/partitions/P/state`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use odradek_zk::{
    BrokerId as ZkBrokerId, KafkaZkClient, ReplicaAssignment, TopicId, TopicPartition,
    ZkClientConfig,
};
use tokio::runtime::Handle;

use super::leaders;
use super::zk_proxy::ZkProxy;
use crate::broker_process::BrokerProcess;
use crate::cluster::{Cluster, CHROOT};
use crate::zookeeper::{ZkEnsemble, NODES};

/// How long a ZooKeeper read of the harness may take.
const ZK_TIMEOUT: Duration = Duration::from_secs(5);

/// A partition's `/state` as the harness reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStateView {
    /// −1: no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
}

impl std::fmt::Display for PartitionStateView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "leader {}, leader epoch {}, ISR {:?}",
            self.leader, self.leader_epoch, self.isr
        )
    }
}

pub struct ChaosCluster {
    pub cluster: Cluster,
    proxies: BTreeMap<i32, ZkProxy>,
    zk: KafkaZkClient,
    runtime: Handle,
}

impl ChaosCluster {
    /// Starts an ensemble, a proxy per broker and brokers `ids` (each with `zookeeper.connect`
    /// naming its proxy, and `overrides`), and waits until every broker lists them all and a
    /// controller. The proxies and the harness's ZooKeeper session run on `runtime`.
    pub fn start(
        runtime: &Handle,
        ids: &[i32],
        session_timeout_ms: u64,
        overrides: &[(String, String)],
    ) -> anyhow::Result<ChaosCluster> {
        let ensemble = ZkEnsemble::start()?;
        let upstream: Vec<SocketAddr> =
            (1..=NODES).map(|node| ensemble.client_addr(node)).collect();
        let session = session_timeout_ms.to_string();
        let mut proxies = BTreeMap::new();
        let mut brokers = BTreeMap::new();
        for &id in ids {
            let proxy = runtime
                .block_on(ZkProxy::start(&upstream))
                .context("cannot start a ZooKeeper proxy")?;
            let connect = proxy.connect_string(CHROOT);
            let mut settings = vec![
                ("zookeeper.connect", connect.as_str()),
                ("zookeeper.session.timeout.ms", session.as_str()),
            ];
            settings.extend(overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            brokers.insert(id, BrokerProcess::start(id, &settings)?);
            proxies.insert(id, proxy);
        }
        let zk = runtime
            .block_on(KafkaZkClient::connect(ZkClientConfig::new(
                ensemble.connect_string_with_chroot(CHROOT),
            )))
            .context("cannot connect to ZooKeeper")?;
        let cluster = Cluster { ensemble, brokers };
        cluster.wait_for_live_brokers(ids, Duration::from_secs(30))?;
        Ok(ChaosCluster {
            cluster,
            proxies,
            zk,
            runtime: runtime.clone(),
        })
    }

    pub fn ids(&self) -> Vec<i32> {
        self.cluster.brokers.keys().copied().collect()
    }

    /// The brokers' addresses now (a restart may move a broker to another port).
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.cluster
            .brokers
            .values()
            .map(BrokerProcess::addr)
            .collect()
    }

    pub fn bootstrap(&self) -> String {
        self.addrs()
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Creates `topic` the way `kafka-topics.sh --zookeeper` does, with `configs` (such as
    /// `min.insync.replicas`) in `/config/topics/<topic>` first: partition `p` on brokers
    /// `ids[p], ids[p+1], ...` (so leadership starts spread evenly). Returns the assignment.
    pub fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: usize,
        configs: &[(String, String)],
    ) -> anyhow::Result<BTreeMap<i32, Vec<i32>>> {
        let ids = self.ids();
        anyhow::ensure!(
            (1..=ids.len()).contains(&replication_factor),
            "replication factor {replication_factor} with {} brokers",
            ids.len()
        );
        let assignment: BTreeMap<i32, Vec<i32>> = (0..partitions)
            .map(|p| {
                (
                    p,
                    (0..replication_factor)
                        .map(|i| ids[(p as usize + i) % ids.len()])
                        .collect(),
                )
            })
            .collect();
        let replicas = assignment
            .iter()
            .map(|(p, r)| {
                (
                    *p,
                    ReplicaAssignment::new(r.iter().copied().map(ZkBrokerId).collect()),
                )
            })
            .collect();
        let config: BTreeMap<String, String> = configs.iter().cloned().collect();
        self.zk_call(async {
            self.zk
                .set_or_create_entity_configs("topics", topic, &config)
                .await?;
            self.zk
                .create_topic_assignment(topic, Some(TopicId::random()), &replicas)
                .await
        })
        .with_context(|| format!("creating topic {topic}"))?;
        Ok(assignment)
    }

    /// Waits until every broker's Metadata lists all brokers and a controller among them, and
    /// shows every partition of `topic` led by one of them. Each Metadata request has a deadline,
    /// so a hung broker fails this instead of hanging the run; the error says what was missing.
    pub fn wait_until_recovered(
        &self,
        topic: &str,
        partitions: i32,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recovered(topic, partitions) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("not recovered within {timeout:?}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn recovered(&self, topic: &str, partitions: i32) -> anyhow::Result<()> {
        let ids = self.ids();
        for (id, broker) in &self.cluster.brokers {
            let m = self
                .runtime
                .block_on(leaders::metadata(broker.addr(), topic))?;
            let mut listed: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
            listed.sort_unstable();
            anyhow::ensure!(listed == ids, "broker {id} lists brokers {listed:?}");
            anyhow::ensure!(
                ids.contains(&m.controller_id.0),
                "broker {id} names controller {}",
                m.controller_id.0
            );
            let topic_partitions = m
                .topics
                .iter()
                .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
                .flat_map(|t| t.partitions.iter());
            let led = topic_partitions
                .filter(|p| p.error_code == 0 && ids.contains(&p.leader_id.0))
                .count();
            anyhow::ensure!(
                led == partitions as usize,
                "broker {id} shows {led} of {partitions} partitions with a live leader"
            );
        }
        Ok(())
    }

    /// The broker `/controller` names, if any.
    pub fn controller(&self) -> Option<i32> {
        self.zk_call(self.zk.get_controller_id())
            .ok()
            .flatten()
            .map(|b| b.0)
    }

    /// The leader `/state` names for `topic`-`partition`, if any (−1, no leader, is `None`).
    pub fn leader_of(&self, topic: &str, partition: i32) -> Option<i32> {
        let tp = TopicPartition::new(topic, partition);
        let states = self
            .zk_call(
                self.zk
                    .get_topic_partition_states(std::slice::from_ref(&tp)),
            )
            .ok()?;
        states
            .get(&tp)
            .map(|(state, _)| state.leader.0)
            .filter(|leader| *leader >= 0)
    }

    /// `topic`-`partition`'s `/state`: leader (−1: none), leader epoch and ISR; `None` if
    /// ZooKeeper did not answer or there is none.
    pub fn partition_state(&self, topic: &str, partition: i32) -> Option<PartitionStateView> {
        let tp = TopicPartition::new(topic, partition);
        let states = self
            .zk_call(
                self.zk
                    .get_topic_partition_states(std::slice::from_ref(&tp)),
            )
            .ok()?;
        states.get(&tp).map(|(state, _)| PartitionStateView {
            leader: state.leader.0,
            leader_epoch: state.leader_epoch.0,
            isr: state.isr.iter().map(|b| b.0).collect(),
        })
    }

    /// The lines of broker `id`'s stderr that contain all of `needles`: from every run of the
    /// broker, or only from its latest start on.
    pub fn broker_log_lines(&mut self, id: i32, needles: &[&str], latest_run: bool) -> Vec<String> {
        let path = self.cluster.broker(id).stderr_path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let from = if latest_run {
            text.rfind("==== odradek-tests: starting broker")
                .unwrap_or(0)
        } else {
            0
        };
        text[from..]
            .lines()
            .filter(|line| needles.iter().all(|n| line.contains(n)))
            .map(str::to_string)
            .collect()
    }

    /// Whether `/brokers/ids/<id>` exists (a killed broker's stays until its session expires).
    /// `None` if ZooKeeper did not answer.
    pub fn is_registered(&self, id: i32) -> Option<bool> {
        self.zk_call(self.zk.get_broker_and_epoch(ZkBrokerId(id)))
            .ok()
            .map(|b| b.is_some())
    }

    pub fn kill9(&mut self, id: i32) -> anyhow::Result<()> {
        self.cluster.broker(id).kill9()
    }

    /// Starts a killed broker again on its log dir.
    pub fn restart(&mut self, id: i32) -> anyhow::Result<()> {
        self.cluster.broker(id).restart()
    }

    pub fn pause(&mut self, id: i32) -> anyhow::Result<()> {
        self.signal(id, nix::sys::signal::Signal::SIGSTOP)
    }

    pub fn resume(&mut self, id: i32) -> anyhow::Result<()> {
        self.signal(id, nix::sys::signal::Signal::SIGCONT)
    }

    pub fn cut_zookeeper(&self, id: i32) {
        self.proxies[&id].cut();
    }

    pub fn heal_zookeeper(&self, id: i32) {
        self.proxies[&id].heal();
    }

    /// Deletes `topic`'s partition directories from a (killed) broker's log dir: a disk lost with
    /// the process. Returns how many were deleted.
    pub fn wipe_partitions(&mut self, id: i32, topic: &str) -> anyhow::Result<usize> {
        let log_dir = self.cluster.broker(id).log_dir();
        let prefix = format!("{topic}-");
        let mut wiped = 0;
        for entry in std::fs::read_dir(&log_dir)
            .with_context(|| format!("cannot list {}", log_dir.display()))?
        {
            let path = entry?.path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(&prefix)
                    .is_some_and(|p| p.parse::<i32>().is_ok())
            }) {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?;
                wiped += 1;
            }
        }
        Ok(wiped)
    }

    fn signal(&mut self, id: i32, signal: nix::sys::signal::Signal) -> anyhow::Result<()> {
        let broker = self.cluster.broker(id);
        // A broker that exited has been reaped by now, and its pid may already belong to another
        // process (pid_max is 32768 here): never signal it.
        anyhow::ensure!(broker.is_running(), "broker {id} is not running");
        let pid = broker.pid().with_context(|| format!("broker {id} is not running"))?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
            .with_context(|| format!("cannot send {signal} to broker {id}"))
    }

    fn zk_call<T>(
        &self,
        call: impl std::future::Future<Output = odradek_zk::Result<T>>,
    ) -> anyhow::Result<T> {
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(ZK_TIMEOUT, call).await });
        Ok(result.context("ZooKeeper did not answer in time")??)
    }
}
