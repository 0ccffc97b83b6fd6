//! The cluster of the compose backend: the docker-compose project (zk1..zk3, broker1..broker3)
//! seen from the host, as the clients see it. Unlike [`super::cluster::ChaosCluster`] the harness
//! does not talk to ZooKeeper: it learns the controller, the leaders and who is registered from
//! the brokers' Metadata, and creates the topic with CreateTopics sent to the controller.
//!
//! The faults need two networks (docs/CHAOS.md, "Chaos in containers"; [`crate::compose`]):
//! `internal` carries ZooKeeper and inter-broker traffic and is the only one the ZooKeeper nodes
//! are on; the brokers' published client ports go through `external`. Disconnecting a broker
//! from `internal` cuts it off from ZooKeeper and the other brokers while the host still reaches
//! it: a zombie leader. Disconnecting a ZooKeeper node from `internal` cuts it from the other two.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, CreateTopicsResponse, MetadataRequest, MetadataResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::runtime::Handle;

use super::leaders;
use crate::compose::{
    self, ComposeProject, BROKER_SERVICES, EXTERNAL_NETWORK, INTERNAL_NETWORK, ZK_SERVICES,
};

/// How long the project may take from `up` to every broker listing every broker.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// CreateTopics' own timeout (the controller answers once the partitions have leaders).
const CREATE_TIMEOUT_MS: i32 = 30_000;

pub use crate::compose::broker_service;

pub fn zk_service(node: usize) -> String {
    format!("zk{node}")
}

/// The compose file: `explicit`, else the workspace's docker-compose.yml.
pub fn compose_file(explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(compose::compose_file, Path::to_path_buf)
}

pub struct ContainerCluster {
    pub project: ComposeProject,
    brokers: BTreeMap<i32, SocketAddr>,
    /// Services disconnected from the internal network.
    cut: BTreeSet<String>,
    runtime: Handle,
}

impl ContainerCluster {
    /// Builds the images where missing, brings the project up under a unique name with free
    /// host ports for brokers `ids` (1, 2, 3: the compose file's), waits for every service's
    /// health check and until every broker lists them all and a controller.
    pub fn start(runtime: &Handle, file: &Path, ids: &[i32]) -> anyhow::Result<ContainerCluster> {
        anyhow::ensure!(
            ids == [1, 2, 3],
            "the compose backend runs the compose file's brokers 1, 2, 3, not {ids:?}"
        );
        compose::docker_available()?;
        compose::ensure_images()?;
        let ports = compose::free_ports(ids.len())?;
        let brokers: BTreeMap<i32, SocketAddr> = ids
            .iter()
            .zip(&ports)
            .map(|(&id, &port)| (id, SocketAddr::from(([127, 0, 0, 1], port))))
            .collect();
        let env: Vec<(String, String)> = brokers
            .iter()
            .map(|(&id, addr)| (compose::broker_port_env(id), addr.port().to_string()))
            .collect();
        let name = compose::unique_project_name("odradek-chaos");
        let ports_by_id = brokers.iter().map(|(&id, a)| (id, a.port())).collect();
        let mut project = ComposeProject::up_file(file, &name, &env, ports_by_id)?;
        let services: Vec<&str> = ZK_SERVICES
            .iter()
            .chain(&BROKER_SERVICES)
            .copied()
            .collect();
        project.wait_healthy(&services, START_TIMEOUT)?;
        for service in &services {
            project.container(service)?;
        }
        let cluster = ContainerCluster {
            project,
            brokers,
            cut: BTreeSet::new(),
            runtime: runtime.clone(),
        };
        cluster.wait_for_brokers(START_TIMEOUT)?;
        Ok(cluster)
    }

    /// Why a broker cannot be cut off from ZooKeeper while clients still reach it, if so: a
    /// broker must be on the internal and the external network, the ZooKeeper nodes on the
    /// internal one only.
    pub fn zk_cut_unsupported(&mut self) -> Option<String> {
        let internal = self.project.network(INTERNAL_NETWORK);
        let external = self.project.network(EXTERNAL_NETWORK);
        for service in BROKER_SERVICES.iter().chain(&ZK_SERVICES) {
            let networks = match self.project.networks(service) {
                Ok(networks) => networks,
                Err(e) => return Some(format!("{e:#}")),
            };
            let wanted = if service.starts_with("zk") {
                vec![internal.clone()]
            } else {
                vec![external.clone(), internal.clone()]
            };
            let mut sorted = networks.clone();
            sorted.sort();
            let mut wanted_sorted = wanted.clone();
            wanted_sorted.sort();
            if sorted != wanted_sorted {
                return Some(format!(
                    "{service} is on {networks:?}, not {wanted:?}: docker-compose.yml needs the \
                     layout of docs/CHAOS.md, \"Chaos in containers\""
                ));
            }
        }
        None
    }

    pub fn ids(&self) -> Vec<i32> {
        self.brokers.keys().copied().collect()
    }

    pub fn addr(&self, id: i32) -> SocketAddr {
        self.brokers[&id]
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.brokers.values().copied().collect()
    }

    pub fn bootstrap(&self) -> String {
        self.addrs()
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The Docker network a cut takes a service off.
    pub fn internal_network(&self) -> String {
        self.project.network(INTERNAL_NETWORK)
    }

    /// Creates `topic` with CreateTopics to the controller: partition `p` on brokers `ids[p],
    /// ids[p+1], ...` (leadership starts spread evenly), with `configs`.
    pub fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: usize,
        configs: &[(String, String)],
    ) -> anyhow::Result<()> {
        let ids = self.ids();
        let assignments = (0..partitions)
            .map(|p| {
                CreatableReplicaAssignment::default()
                    .with_partition_index(p)
                    .with_broker_ids(
                        (0..replication_factor)
                            .map(|i| BrokerId(ids[(p as usize + i) % ids.len()]))
                            .collect(),
                    )
            })
            .collect();
        let creatable = CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect(),
            );
        let request = CreateTopicsRequest::default()
            .with_topics(vec![creatable])
            .with_timeout_ms(CREATE_TIMEOUT_MS);
        let controller = self.controller().context("no broker names a controller")?;
        let addr = self.addr(controller);
        let response: CreateTopicsResponse = self.runtime.block_on(async {
            let mut conn = leaders::connect(addr).await?;
            let wait = Duration::from_millis(CREATE_TIMEOUT_MS as u64 + 10_000);
            match tokio::time::timeout(wait, conn.send(&request, 4)).await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(e)) => Err(anyhow::anyhow!("CreateTopics to broker {controller}: {e}")),
                Err(_) => Err(anyhow::anyhow!(
                    "CreateTopics to broker {controller} timed out"
                )),
            }
        })?;
        let code = response
            .topics
            .iter()
            .find(|t| t.name.0.as_str() == topic)
            .map(|t| t.error_code)
            .context("the CreateTopics response does not mention the topic")?;
        anyhow::ensure!(code == 0, "cannot create topic {topic}: error code {code}");
        Ok(())
    }

    /// Waits until every broker's Metadata lists all brokers and a controller among them, and
    /// every partition of `topic` led by one of them.
    pub fn wait_until_recovered(
        &self,
        topic: &str,
        partitions: i32,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recovered(Some((topic, partitions))) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("not recovered within {timeout:?}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    fn wait_for_brokers(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recovered(None) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!(
                        "the compose project's brokers did not all come up within {timeout:?}"
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    fn recovered(&self, topic: Option<(&str, i32)>) -> anyhow::Result<()> {
        let ids = self.ids();
        for (id, addr) in &self.brokers {
            let m = self.runtime.block_on(async {
                match topic {
                    Some((topic, _)) => leaders::metadata(*addr, topic).await,
                    None => brokers_metadata(*addr).await,
                }
            })?;
            let mut listed: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
            listed.sort_unstable();
            anyhow::ensure!(listed == ids, "broker {id} lists brokers {listed:?}");
            anyhow::ensure!(
                ids.contains(&m.controller_id.0),
                "broker {id} names controller {}",
                m.controller_id.0
            );
            if let Some((topic, partitions)) = topic {
                let led = m
                    .topics
                    .iter()
                    .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
                    .flat_map(|t| t.partitions.iter())
                    .filter(|p| p.error_code == 0 && ids.contains(&p.leader_id.0))
                    .count();
                anyhow::ensure!(
                    led == partitions as usize,
                    "broker {id} shows {led} of {partitions} partitions with a live leader"
                );
            }
        }
        Ok(())
    }

    /// The controller most brokers that answer name (−1 and silence are no answer).
    pub fn controller(&self) -> Option<i32> {
        let mut votes: BTreeMap<i32, usize> = BTreeMap::new();
        for addr in self.brokers.values() {
            if let Ok(m) = self.runtime.block_on(brokers_metadata(*addr)) {
                if m.controller_id.0 >= 0 {
                    *votes.entry(m.controller_id.0).or_default() += 1;
                }
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(id, _)| id)
    }

    /// The leader of `topic`-`partition` at the highest leader epoch any broker reports.
    pub fn leader_of(&self, topic: &str, partition: i32) -> Option<i32> {
        let mut best: Option<(i32, i32)> = None;
        for addr in self.brokers.values() {
            let Ok(m) = self.runtime.block_on(leaders::metadata(*addr, topic)) else {
                continue;
            };
            let found = m
                .topics
                .iter()
                .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == partition && p.error_code == 0);
            if let Some(p) = found {
                if p.leader_id.0 >= 0 && best.is_none_or(|(_, epoch)| p.leader_epoch > epoch) {
                    best = Some((p.leader_id.0, p.leader_epoch));
                }
            }
        }
        best.map(|(leader, _)| leader)
    }

    /// Per partition of `topic`, the (leader, leader epoch) at the highest epoch any broker
    /// reports; partitions no broker reports are left out.
    pub fn leaders(&self, topic: &str, partitions: i32) -> BTreeMap<i32, (i32, i32)> {
        let mut best: BTreeMap<i32, (i32, i32)> = BTreeMap::new();
        for addr in self.brokers.values() {
            let Ok(m) = self.runtime.block_on(leaders::metadata(*addr, topic)) else {
                continue;
            };
            let found = m
                .topics
                .iter()
                .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
                .flat_map(|t| t.partitions.iter())
                .filter(|p| p.error_code == 0 && (0..partitions).contains(&p.partition_index));
            for p in found {
                let entry = best.entry(p.partition_index).or_insert((-1, -1));
                if p.leader_epoch > entry.1 {
                    *entry = (p.leader_id.0, p.leader_epoch);
                }
            }
        }
        best
    }

    /// Whether a broker other than `id` still lists it (its registration in `/brokers/ids`,
    /// as the controller announced it); `None` if none of them answered.
    pub fn is_registered(&self, id: i32) -> Option<bool> {
        let mut answered = false;
        for (other, addr) in &self.brokers {
            if *other == id {
                continue;
            }
            if let Ok(m) = self.runtime.block_on(brokers_metadata(*addr)) {
                answered = true;
                if m.brokers.iter().any(|b| b.node_id.0 == id) {
                    return Some(true);
                }
            }
        }
        answered.then_some(false)
    }

    /// Whether broker `id`'s container runs (a paused one does).
    pub fn broker_running(&mut self, id: i32) -> bool {
        self.project
            .state(&broker_service(id))
            .is_ok_and(|s| s == "running" || s == "paused")
    }

    /// Takes `service` off the internal network (a broker: cut from ZooKeeper and the other
    /// brokers, clients still reach it; a ZooKeeper node: cut from the other two).
    pub fn cut(&mut self, service: &str) -> anyhow::Result<String> {
        self.project.disconnect(service, INTERNAL_NETWORK)?;
        self.cut.insert(service.to_string());
        Ok(self.internal_network())
    }

    /// Puts `service` back on the internal network, if [`Self::cut`] took it off.
    pub fn heal_cut(&mut self, service: &str) -> anyhow::Result<()> {
        if self.cut.remove(service) {
            self.project.connect(service, INTERNAL_NETWORK)?;
        }
        Ok(())
    }

    /// Services still cut off.
    pub fn cut_services(&self) -> Vec<String> {
        self.cut.iter().cloned().collect()
    }

    /// The lines of broker `id`'s output with all of `needles`.
    pub fn broker_log_lines(&mut self, id: i32, needles: &[&str]) -> Vec<String> {
        self.project
            .logs(&broker_service(id), 100_000)
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect()
    }
}

/// Metadata without topics (the live brokers and the controller) from `addr`, within the
/// connect and request deadlines.
async fn brokers_metadata(addr: SocketAddr) -> anyhow::Result<MetadataResponse> {
    let mut conn = leaders::connect(addr).await?;
    let request = MetadataRequest::default()
        .with_topics(Some(Vec::new()))
        .with_allow_auto_topic_creation(false);
    match tokio::time::timeout(leaders::METADATA_TIMEOUT, conn.send(&request, 8)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(anyhow::anyhow!("Metadata from {addr}: {e}")),
        Err(_) => Err(anyhow::anyhow!("Metadata from {addr} timed out")),
    }
}
