//! `ReplicaManager`: the partitions this broker hosts and the control requests that change them
//! (`becomeLeaderOrFollower`, `stopReplicas`, reference §3.2–3.3). Produce and Fetch handlers look
//! partitions up here; the log itself lives in the `LogManager`.
//!
//! Control requests are applied one at a time under `state_change_lock`, as Kafka's
//! `replicaStateChangeLock` does, so epochs are compared and stored atomically.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use odradek_log::{LogManager, TopicPartition};
use odradek_protocol::error_codes as codes;
use tracing::{info, warn};
use uuid::Uuid;

use crate::errors::log_error_code;
use crate::partition::{LeaderAndIsrState, Partition};

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
}

impl ReplicaManager {
    pub fn new(broker_id: i32, log_manager: Arc<LogManager>) -> ReplicaManager {
        ReplicaManager {
            broker_id,
            log_manager,
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(0),
            broker_epoch: AtomicI64::new(-1),
            state_change_lock: Mutex::new(()),
        }
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
    pub fn become_leader_or_follower(
        &self,
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<LeaderAndIsrPartition>,
    ) -> Result<Vec<(String, Uuid, i32, i16)>, ControlRequestError> {
        let _guard = self.state_change_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.check_control_epochs(controller_epoch, broker_epoch)?;
        let mut results = Vec::with_capacity(partitions.len());
        for p in partitions {
            let code = self.apply_leader_and_isr(&p);
            results.push((p.topic, p.state.topic_id, p.partition, code));
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
            existing.update_state(p.state.clone());
            return codes::NONE;
        }
        match self.log_manager.get_or_create_log(&tp, None) {
            Ok(log) => {
                let partition = Arc::new(Partition::new(tp.clone(), self.broker_id, log, p.state.clone()));
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
