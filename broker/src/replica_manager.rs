//! `ReplicaManager`: the partitions this broker hosts and the control requests that change them
//! (`becomeLeaderOrFollower`, `stopReplicas`, reference §3.2–3.3). Produce and Fetch handlers look
//! partitions up here; the log itself lives in the `LogManager`.
//!
//! Control requests are applied one at a time under `state_change_lock`, as Kafka's
//! `replicaStateChangeLock` does, so epochs are compared and stored atomically.
//!
//! Replication: a partition this broker follows is handed to the `ReplicaFetcherManager`
//! (fetching from its leader), one it leads is taken from it; ISR changes the leaders propose
//! go to the controller through the AlterIsr sender (`alter_isr_manager`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use odradek_log::{LogManager, TopicPartition};
use odradek_protocol::error_codes as codes;
use tokio::sync::mpsc;
use tracing::{info, warn};
use uuid::Uuid;

use crate::api::now_ms;
use crate::errors::log_error_code;
use crate::partition::{IsrChange, LeaderAndIsrState, Partition, PartitionSettings};
use crate::replica_fetcher::{FetcherConfig, ReplicaFetcherManager};

/// The replication settings partitions and fetchers use.
#[derive(Clone, Copy, Debug)]
pub struct ReplicationConfig {
    pub replica_lag_time_max_ms: i64,
    /// `min.insync.replicas`, unless the topic overrides it.
    pub min_insync_replicas: i32,
    pub fetcher: FetcherConfig,
}

impl Default for ReplicationConfig {
    fn default() -> ReplicationConfig {
        ReplicationConfig {
            replica_lag_time_max_ms: 30_000,
            min_insync_replicas: 1,
            fetcher: FetcherConfig { max_wait_ms: 500, min_bytes: 1, max_bytes: 10_485_760, partition_max_bytes: 1_048_576, backoff_ms: 1000, socket_timeout_ms: 30_000 },
        }
    }
}

/// One partition of a LeaderAndIsr request, version-independent.
#[derive(Clone, Debug)]
pub struct LeaderAndIsrPartition {
    pub topic: String,
    pub partition: i32,
    pub state: LeaderAndIsrState,
}

/// One partition of a StopReplica request.
#[derive(Clone, Debug)]
pub struct StopReplicaPartition {
    pub topic: String,
    pub partition: i32,
    /// −1 = no epoch (old versions), −2 = the topic is being deleted.
    pub leader_epoch: i32,
    pub delete: bool,
}

/// A whole control request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlRequestError {
    #[error("controller epoch {request} is older than {current}")]
    StaleControllerEpoch { request: i32, current: i32 },
    #[error("broker epoch {request} is older than this broker's {current}")]
    StaleBrokerEpoch { request: i64, current: i64 },
}

impl ControlRequestError {
    pub fn code(self) -> i16 {
        match self {
            ControlRequestError::StaleControllerEpoch { .. } => codes::STALE_CONTROLLER_EPOCH,
            ControlRequestError::StaleBrokerEpoch { .. } => codes::STALE_BROKER_EPOCH,
        }
    }
}

pub struct ReplicaManager {
    broker_id: i32,
    log_manager: Arc<LogManager>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Highest controller epoch seen in a control request.
    controller_epoch: AtomicI32,
    /// This broker's epoch (czxid of its registration znode); −1 until registered.
    broker_epoch: AtomicI64,
    state_change_lock: Mutex<()>,
    config: ReplicationConfig,
    fetchers: ReplicaFetcherManager,
    /// High watermarks read from `replication-offset-checkpoint` at startup.
    checkpointed_high_watermarks: HashMap<TopicPartition, i64>,
    /// Where proposed ISR changes go (the AlterIsr sender), once started.
    isr_changes: OnceLock<mpsc::UnboundedSender<IsrChange>>,
    /// Reads and applies each partition's topic config, when in a cluster (`dynamic_config`).
    topic_configs: OnceLock<Arc<crate::dynamic_config::TopicConfigHandler>>,
}

impl ReplicaManager {
    pub fn new(broker_id: i32, log_manager: Arc<LogManager>) -> ReplicaManager {
        ReplicaManager::with_config(broker_id, log_manager, ReplicationConfig::default())
    }

    pub fn with_config(broker_id: i32, log_manager: Arc<LogManager>, config: ReplicationConfig) -> ReplicaManager {
        let checkpointed_high_watermarks = log_manager.read_high_watermarks();
        ReplicaManager {
            broker_id,
            fetchers: ReplicaFetcherManager::new(broker_id, config.fetcher),
            log_manager,
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(0),
            broker_epoch: AtomicI64::new(-1),
            state_change_lock: Mutex::new(()),
            config,
            checkpointed_high_watermarks,
            isr_changes: OnceLock::new(),
            topic_configs: OnceLock::new(),
        }
    }

    /// Starts sending proposed ISR changes to `sender` (the AlterIsr manager).
    pub fn set_isr_change_sender(&self, sender: mpsc::UnboundedSender<IsrChange>) {
        let _ = self.isr_changes.set(sender);
    }

    /// Topic configs are read from ZooKeeper when a partition is created, and follow changes.
    pub fn set_topic_config_handler(&self, handler: Arc<crate::dynamic_config::TopicConfigHandler>) {
        let _ = self.topic_configs.set(handler);
    }

    /// Hands a proposed ISR change to the AlterIsr sender (dropped without one: a standalone
    /// broker has no controller, and its ISRs never change).
    pub fn submit_isr_change(&self, change: IsrChange) {
        match self.isr_changes.get() {
            Some(tx) => {
                let _ = tx.send(change);
            }
            None => warn!(partition = %change.tp, "no controller to send an ISR change to"),
        }
    }

    /// `maybeShrinkIsr` over every partition this broker leads.
    pub fn shrink_isrs(&self, now_ms: i64) {
        for partition in self.all_partitions() {
            if let Some(change) = partition.maybe_shrink_isr(now_ms) {
                self.submit_isr_change(change);
            }
        }
    }

    /// Every partition's high watermark, for `replication-offset-checkpoint`.
    pub fn high_watermarks(&self) -> HashMap<TopicPartition, i64> {
        self.all_partitions().into_iter().map(|p| (p.tp.clone(), p.high_watermark())).collect()
    }

    /// Stops the replica fetchers (broker shutdown).
    pub fn shutdown_fetchers(&self) {
        self.fetchers.shutdown();
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    pub fn log_manager(&self) -> &Arc<LogManager> {
        &self.log_manager
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner()).get(tp).cloned()
    }

    /// Looks a partition up by topic name and index without building a `TopicPartition` key
    /// on the caller's side.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.get_partition(&TopicPartition::new(topic, partition))
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// The high watermark of a hosted partition (retention must stay below it).
    pub fn high_watermark(&self, tp: &TopicPartition) -> Option<i64> {
        self.get_partition(tp).map(|p| p.high_watermark())
    }

    /// This broker's epoch: the czxid of its `/brokers/ids/<id>` registration, −1 without ZooKeeper.
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::Acquire)
    }

    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::Release);
    }

    /// Kafka's control-request checks: a stale controller epoch or broker epoch refuses the
    /// whole request; otherwise the controller epoch is remembered.
    pub fn check_control_epochs(&self, controller_epoch: i32, broker_epoch: i64) -> Result<(), ControlRequestError> {
        let current = self.broker_epoch.load(Ordering::Acquire);
        if broker_epoch >= 0 && current >= 0 && broker_epoch < current {
            return Err(ControlRequestError::StaleBrokerEpoch { request: broker_epoch, current });
        }
        let seen = self.controller_epoch.load(Ordering::Acquire);
        if controller_epoch < seen {
            return Err(ControlRequestError::StaleControllerEpoch { request: controller_epoch, current: seen });
        }
        self.controller_epoch.store(controller_epoch, Ordering::Release);
        Ok(())
    }

    /// LeaderAndIsr (`becomeLeaderOrFollower`): per partition, a newer leader epoch is applied;
    /// an equal or older one is answered STALE_CONTROLLER_EPOCH (Kafka's code for a stale epoch);
    /// a partition whose replicas do not include this broker is UNKNOWN_TOPIC_OR_PARTITION.
    /// `becomeLeaderOrFollower`. `live_leaders` maps the leaders' broker ids to their endpoints,
    /// where followers fetch from.
    pub fn become_leader_or_follower(
        &self,
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<LeaderAndIsrPartition>,
        live_leaders: &HashMap<i32, (String, i32)>,
    ) -> Result<Vec<(String, Uuid, i32, i16)>, ControlRequestError> {
        let _guard = self.state_change_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.check_control_epochs(controller_epoch, broker_epoch)?;
        let mut results = Vec::with_capacity(partitions.len());
        let mut led = Vec::new();
        let mut followed: HashMap<i32, Vec<(Arc<Partition>, i32)>> = HashMap::new();
        for p in partitions {
            let code = self.apply_leader_and_isr(&p);
            if code == codes::NONE {
                let tp = TopicPartition::new(p.topic.clone(), p.partition);
                if let Some(partition) = self.get_partition(&tp) {
                    if p.state.leader == self.broker_id || p.state.leader < 0 || !live_leaders.contains_key(&p.state.leader) {
                        led.push(tp);
                    } else {
                        followed.entry(p.state.leader).or_default().push((partition, p.state.leader_epoch));
                    }
                }
            }
            results.push((p.topic, p.state.topic_id, p.partition, code));
        }
        // Leaders (and followers of an offline leader) stop fetching; followers fetch from theirs.
        self.fetchers.remove_partitions(&led);
        for (leader, partitions) in followed {
            if let Some(endpoint) = live_leaders.get(&leader) {
                self.fetchers.add_partitions(leader, endpoint.clone(), partitions);
            }
        }
        Ok(results)
    }

    fn apply_leader_and_isr(&self, p: &LeaderAndIsrPartition) -> i16 {
        let tp = TopicPartition::new(p.topic.clone(), p.partition);
        if !p.state.replicas.contains(&self.broker_id) {
            warn!(target: "state_change", partition = %tp, replicas = ?p.state.replicas, "ignoring LeaderAndIsr: this broker is not a replica");
            return codes::UNKNOWN_TOPIC_OR_PARTITION;
        }
        if let Some(existing) = self.get_partition(&tp) {
            let local = existing.state();
            if !local.topic_id.is_nil() && !p.state.topic_id.is_nil() && local.topic_id != p.state.topic_id {
                return codes::INCONSISTENT_TOPIC_ID;
            }
            if p.state.leader_epoch <= local.leader_epoch {
                info!(target: "state_change", partition = %tp, request_epoch = p.state.leader_epoch, local_epoch = local.leader_epoch, "ignoring LeaderAndIsr with stale leader epoch");
                return codes::STALE_CONTROLLER_EPOCH;
            }
            existing.update_state(p.state.clone(), now_ms());
            return codes::NONE;
        }
        match self.log_manager.get_or_create_log(&tp, None) {
            Ok(log) => {
                let hw = self.checkpointed_high_watermarks.get(&tp).copied().unwrap_or(0);
                // In a cluster the topic's config is read from ZooKeeper first (acks=all waits for it).
                let min_insync_replicas = if self.topic_configs.get().is_some() { None } else { Some(self.config.min_insync_replicas) };
                let settings = PartitionSettings { replica_lag_time_max_ms: self.config.replica_lag_time_max_ms, min_insync_replicas, initial_high_watermark: hw };
                let partition = Arc::new(Partition::new(tp.clone(), self.broker_id, log, p.state.clone(), settings, now_ms()));
                self.read_topic_config(&partition);
                self.partitions.write().unwrap_or_else(|e| e.into_inner()).insert(tp, partition);
                codes::NONE
            }
            Err(e) => {
                warn!(target: "state_change", partition = %tp, error = %e, "cannot create log; partition offline");
                log_error_code(&e)
            }
        }
    }

    /// StopReplica (`stopReplicas`): a partition is stopped if the request's epoch is −1, −2 or
    /// newer than the local one (else FENCED_LEADER_EPOCH), and its log deleted if asked.
    /// Reads the topic's config from `/config/topics/<t>` in the background, retried until it
    /// succeeds, and keeps it current (`dynamic_config::TopicConfigHandler`).
    fn read_topic_config(&self, partition: &Arc<Partition>) {
        if let Some(handler) = self.topic_configs.get() {
            handler.load(partition);
        }
    }

    pub fn stop_replicas(
        &self,
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<StopReplicaPartition>,
    ) -> Result<Vec<(String, i32, i16)>, ControlRequestError> {
        let _guard = self.state_change_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.check_control_epochs(controller_epoch, broker_epoch)?;
        let mut results = Vec::with_capacity(partitions.len());
        for p in partitions {
            let tp = TopicPartition::new(p.topic.clone(), p.partition);
            let code = self.stop_replica(&tp, p.leader_epoch, p.delete);
            results.push((p.topic, p.partition, code));
        }
        Ok(results)
    }

    fn stop_replica(&self, tp: &TopicPartition, request_epoch: i32, delete: bool) -> i16 {
        if let Some(existing) = self.get_partition(tp) {
            let local = existing.leader_epoch();
            if request_epoch >= 0 && request_epoch <= local {
                return codes::FENCED_LEADER_EPOCH;
            }
            self.fetchers.remove_partitions(std::slice::from_ref(tp));
            self.partitions.write().unwrap_or_else(|e| e.into_inner()).remove(tp);
            existing.watchers.wake_all();
            info!(target: "state_change", partition = %tp, delete, "stopped replica");
        }
        if delete && self.log_manager.get_log(tp).is_some() {
            if let Err(e) = self.log_manager.delete_log(tp) {
                warn!(target: "state_change", partition = %tp, error = %e, "cannot delete log");
                return log_error_code(&e);
            }
        }
        codes::NONE
    }
}
