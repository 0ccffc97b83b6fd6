//! `ReplicaManager`: the partitions this broker hosts, the data path to them and the control
//! requests that change them (reference §3.2–3.3, §4).
//!
//! Data path: every write goes through [`ReplicaManager::append_records`] (client produces and
//! the group coordinator's offsets records; acks 0, 1 and all), every read through
//! [`ReplicaManager::fetch_messages`] (consumers and follower replicas). Requests that must wait
//! park in one of two purgatories (`DelayedProduce`, `DelayedFetch`), completed by the
//! partitions' own changes. The API handlers only translate between the wire and these calls.
//!
//! Control requests are applied one at a time under `state_change_lock`, as Kafka's
//! `replicaStateChangeLock` does. A LeaderAndIsr first stops the replica fetchers of every
//! partition it changes (after that no reply from an old leader can be applied), then changes
//! each partition's state in one critical section (`Partition::make_leader`/`make_follower`),
//! then hands the followed partitions to their new leaders' fetchers, which fetch from each log
//! end at once and truncate when the leader answers with a diverging epoch (Fetch v12; a log
//! without epochs truncates through OffsetForLeaderEpoch first).
//! ISR changes the leaders propose go to the controller through the AlterIsr sender
//! (`alter_isr_manager`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use odradek_log::{LogManager, TopicPartition};
use odradek_protocol::error_codes as codes;
use tokio::sync::mpsc;
use tracing::{info, warn};
use uuid::Uuid;

use odradek_log::now_ms;
use crate::errors::log_error_code;
use crate::partition::{IsrChange, LeaderAndIsrState, Partition, PartitionSettings, Transition};
use crate::partition_metadata;
use crate::purgatory::DelayedOperations;
use crate::replica_fetcher::{FetcherConfig, ReplicaFetcherManager};

mod append;
mod fetch;

pub use append::{is_valid_required_acks, PartitionResponse};
pub use fetch::{FetchParams, FetchPartitionData, FetchPartitionRequest, LogReadResults};

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

/// One partition's answer to a LeaderAndIsr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderAndIsrResult {
    pub topic: String,
    pub topic_id: Uuid,
    pub partition: i32,
    pub error_code: i16,
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
    /// The produce and fetch purgatories.
    delayed: DelayedOperations,
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
            delayed: DelayedOperations::default(),
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
    /// whole request; otherwise the controller epoch is remembered. The compare and the store
    /// are one atomic step, so concurrent requests never lower the remembered epoch.
    pub fn check_control_epochs(&self, controller_epoch: i32, broker_epoch: i64) -> Result<(), ControlRequestError> {
        let current = self.broker_epoch.load(Ordering::Acquire);
        if broker_epoch >= 0 && current >= 0 && broker_epoch < current {
            return Err(ControlRequestError::StaleBrokerEpoch { request: broker_epoch, current });
        }
        self.controller_epoch
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |seen| (controller_epoch >= seen).then_some(controller_epoch))
            .map(|_| ())
            .map_err(|seen| ControlRequestError::StaleControllerEpoch { request: controller_epoch, current: seen })
    }

    /// The highest controller epoch a control request carried.
    pub fn controller_epoch(&self) -> i32 {
        self.controller_epoch.load(Ordering::Acquire)
    }

    /// LeaderAndIsr (`becomeLeaderOrFollower`): per partition, a newer leader epoch is applied;
    /// an equal or older one is answered STALE_CONTROLLER_EPOCH (Kafka's code for a stale epoch);
    /// a partition whose replicas do not include this broker is UNKNOWN_TOPIC_OR_PARTITION.
    /// `live_leaders` maps the leaders' broker ids to their endpoints, where followers fetch from.
    ///
    /// Order (Kafka's `makeLeaders`/`makeFollowers`): stop the fetchers of every partition that
    /// changes, then change each partition's state, then start fetching from the new leaders.
    pub fn become_leader_or_follower(
        &self,
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<LeaderAndIsrPartition>,
        live_leaders: &HashMap<i32, (String, i32)>,
    ) -> Result<Vec<LeaderAndIsrResult>, ControlRequestError> {
        let _guard = self.state_change_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.check_control_epochs(controller_epoch, broker_epoch)?;
        let checked: Vec<(LeaderAndIsrPartition, i16)> = partitions.into_iter().map(|p| { let code = self.check_leader_and_isr(&p); (p, code) }).collect();
        let changing: Vec<TopicPartition> = checked.iter().filter(|(_, code)| *code == codes::NONE).map(|(p, _)| TopicPartition::new(p.topic.clone(), p.partition)).collect();
        self.fetchers.remove_partitions(&changing);
        let mut results = Vec::with_capacity(checked.len());
        let mut followed: HashMap<i32, Vec<(Arc<Partition>, i32)>> = HashMap::new();
        for (p, code) in checked {
            let code = if code == codes::NONE { self.apply_leader_and_isr(&p) } else { code };
            if code == codes::NONE && !p.state.topic_id.is_nil() {
                self.record_topic_id(&TopicPartition::new(p.topic.clone(), p.partition), p.state.topic_id);
            }
            let fetches_from = p.state.leader != self.broker_id && live_leaders.contains_key(&p.state.leader);
            if code == codes::NONE && fetches_from {
                if let Some(partition) = self.partition(&p.topic, p.partition) {
                    followed.entry(p.state.leader).or_default().push((partition, p.state.leader_epoch));
                }
            }
            results.push(LeaderAndIsrResult { topic: p.topic, topic_id: p.state.topic_id, partition: p.partition, error_code: code });
        }
        for (leader, partitions) in followed {
            if let Some(endpoint) = live_leaders.get(&leader) {
                self.fetchers.add_partitions(leader, endpoint.clone(), partitions);
            }
        }
        Ok(results)
    }

    /// The topic id in the partition's `partition.metadata`, if its log exists and has one. An
    /// unreadable file is logged and treated as absent (it is rewritten on the next LeaderAndIsr).
    fn recorded_topic_id(&self, tp: &TopicPartition) -> Option<Uuid> {
        let log = self.log_manager.get_log(tp)?;
        partition_metadata::read(log.dir()).unwrap_or_else(|e| {
            warn!(target: "state_change", partition = %tp, error = %e, "cannot read partition.metadata");
            None
        })
    }

    /// Writes `partition.metadata` for a partition whose log has none yet (Kafka writes it after
    /// `makeLeaders`/`makeFollowers` when the request carries a topic id).
    fn record_topic_id(&self, tp: &TopicPartition, topic_id: Uuid) {
        let Some(log) = self.log_manager.get_log(tp) else { return };
        if self.recorded_topic_id(tp).is_some() {
            return;
        }
        if let Err(e) = partition_metadata::write(log.dir(), topic_id) {
            warn!(target: "state_change", partition = %tp, error = %e, "cannot write partition.metadata");
        }
    }

    /// The per-partition checks of a LeaderAndIsr, before anything changes.
    fn check_leader_and_isr(&self, p: &LeaderAndIsrPartition) -> i16 {
        let tp = TopicPartition::new(p.topic.clone(), p.partition);
        if !p.state.replicas.contains(&self.broker_id) {
            warn!(target: "state_change", partition = %tp, replicas = ?p.state.replicas, "ignoring LeaderAndIsr: this broker is not a replica");
            return codes::UNKNOWN_TOPIC_OR_PARTITION;
        }
        if let Some(recorded) = self.recorded_topic_id(&tp) {
            if !p.state.topic_id.is_nil() && recorded != p.state.topic_id {
                warn!(target: "state_change", partition = %tp, recorded = %recorded, request = %p.state.topic_id, "ignoring LeaderAndIsr: its topic id is not the one in partition.metadata");
                return codes::INCONSISTENT_TOPIC_ID;
            }
        }
        let Some(existing) = self.get_partition(&tp) else { return codes::NONE };
        let local = existing.state();
        if !local.topic_id.is_nil() && !p.state.topic_id.is_nil() && local.topic_id != p.state.topic_id {
            return codes::INCONSISTENT_TOPIC_ID;
        }
        if p.state.leader_epoch <= local.leader_epoch {
            info!(target: "state_change", partition = %tp, request_epoch = p.state.leader_epoch, local_epoch = local.leader_epoch, "ignoring LeaderAndIsr with stale leader epoch");
            return codes::STALE_CONTROLLER_EPOCH;
        }
        codes::NONE
    }

    /// Applies a checked LeaderAndIsr partition: the transition of an existing partition, or a
    /// new partition (and its log) in its first state.
    fn apply_leader_and_isr(&self, p: &LeaderAndIsrPartition) -> i16 {
        let tp = TopicPartition::new(p.topic.clone(), p.partition);
        if let Some(existing) = self.get_partition(&tp) {
            let transition = if p.state.leader == self.broker_id { existing.make_leader(p.state.clone(), now_ms()) } else { existing.make_follower(p.state.clone(), now_ms()) };
            return match transition {
                Transition::Applied => codes::NONE,
                Transition::StaleLeaderEpoch { .. } => codes::STALE_CONTROLLER_EPOCH,
            };
        }
        match self.log_manager.get_or_create_log(&tp, None) {
            Ok(log) => {
                let hw = self.checkpointed_high_watermarks.get(&tp).copied().unwrap_or(0);
                // In a cluster the topic's config is read from ZooKeeper first (acks=all waits for it).
                let min_insync_replicas = if self.topic_configs.get().is_some() { None } else { Some(self.config.min_insync_replicas) };
                let settings = PartitionSettings { replica_lag_time_max_ms: self.config.replica_lag_time_max_ms, min_insync_replicas, initial_high_watermark: hw };
                let partition = Arc::new(Partition::new(tp.clone(), self.broker_id, log, p.state.clone(), settings, self.delayed.clone(), now_ms()));
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
            // Fetchers first: they rely on the partition being here (Kafka's `stopPartitions`).
            self.fetchers.remove_partitions(std::slice::from_ref(tp));
            // Without delete the partition stays hosted (its log, and its HW in the checkpoint);
            // with delete it goes.
            if delete {
                self.partitions.write().unwrap_or_else(|e| e.into_inner()).remove(tp);
            }
            existing.stopped(delete);
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

#[cfg(test)]
mod tests;
