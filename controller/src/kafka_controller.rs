//! `KafkaController`: the controller's event loop, as it runs inside every broker
//! (`KafkaController.scala` + `ControllerEventManager.scala`, reference §2.1–2.2).
//!
//! All controller work is serialized on one task that takes [`ControllerEvent`]s off one queue;
//! ZooKeeper watches and session events only enqueue (they convert with `From`), and the loop
//! re-reads ZooKeeper. Every broker runs the loop; the one that wins `/controller` is *active*:
//!
//! - `Startup`, `Reelect` (`/controller` deleted, new session): if `/controller` names a broker,
//!   stay a follower; else one ZooKeeper multi creates `/controller` and bumps
//!   `/controller_epoch`. The winner runs `onControllerFailover` ([`ActiveController::failover`]):
//!   watches, the context rebuilt from ZooKeeper, the state machines started.
//! - `BrokerChange`, `TopicChange`, `PartitionModifications`, `TopicDeletion`,
//!   `ControlledShutdown`, `StopReplicaResponse` (active only): see [`crate::active`].
//! - `ControllerChange` (`/controller` created or changed): resign if another broker took over.
//! - `Expire`: the session is gone, and `/controller` with it: events queued before it are
//!   dropped (Kafka's `clearAndPut`) and the controller resigns at once.
//!
//! Invariant: only the active controller has request senders and watches beyond `/controller`;
//! resigning drops them, so a deposed controller sends nothing more. Its ZooKeeper writes are
//! fenced on the epoch zkVersion anyway, and brokers refuse its stale controller epoch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use odradek_protocol::error_codes;
use odradek_zk::{BrokerId, ControllerEpoch, KafkaZkClient, ZNodeChange, ZNodeChangeKind, ZkError, ZkSessionEvent, ZkVersion, ZkWatch};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::active::ActiveController;

const CONTROLLER_PATH: &str = "/controller";
const BROKER_IDS_PATH: &str = "/brokers/ids";
const TOPICS_PATH: &str = "/brokers/topics";
const DELETE_TOPICS_PATH: &str = "/admin/delete_topics";
/// How long to wait before retrying an election that failed on a ZooKeeper error (not lost).
const REELECT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// The broker settings the controller acts on.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// `delete.topic.enable` (default true): otherwise deletion requests are removed unanswered.
    pub delete_topic_enable: bool,
    /// `unclean.leader.election.enable` (default false), unless a topic overrides it.
    pub unclean_leader_election_enable: bool,
    /// `inter.broker.listener.name` (default PLAINTEXT): the listener control requests go to and
    /// the one LeaderAndIsr's live leaders are named by.
    pub inter_broker_listener_name: String,
}

impl Default for ControllerConfig {
    fn default() -> ControllerConfig {
        ControllerConfig { delete_topic_enable: true, unclean_leader_election_enable: false, inter_broker_listener_name: "PLAINTEXT".to_string() }
    }
}

/// A broker asking to shut down (the ControlledShutdown request), with where the answer goes.
#[derive(Debug)]
pub struct ControlledShutdownRequest {
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub reply: oneshot::Sender<Result<Vec<(String, i32)>, i16>>,
}

/// One partition of an AlterIsr request: the leader's proposed ISR, with the leader epoch and
/// `/state` zkVersion it was decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterIsrItem {
    pub topic: String,
    pub partition: i32,
    pub leader_epoch: i32,
    pub new_isr: Vec<i32>,
    pub zk_version: i32,
}

/// The controller's answer for one partition: an error, or the state now in ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterIsrOutcome {
    pub topic: String,
    pub partition: i32,
    pub error_code: i16,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
}

/// A leader's AlterIsr request (KIP-497), with where the answer goes.
#[derive(Debug)]
pub struct AlterIsrRequest {
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub items: Vec<AlterIsrItem>,
    pub reply: oneshot::Sender<Result<Vec<AlterIsrOutcome>, i16>>,
}

/// The controller's closed set of events (`ControllerEvent.scala`).
#[derive(Debug)]
pub enum ControllerEvent {
    /// The broker started: watch `/controller` and try to become controller.
    Startup,
    /// `/controller` was created or changed (or must be re-read): resign if it is not us.
    ControllerChange,
    /// `/controller` was deleted, or a new session is up: resign if needed, then elect.
    Reelect,
    /// `/brokers/ids` changed: the live brokers changed.
    BrokerChange,
    /// `/brokers/topics` changed: topics created or deleted.
    TopicChange,
    /// `/brokers/topics/<topic>` changed: partitions added.
    PartitionModifications(String),
    /// `/admin/delete_topics` changed: deletions requested.
    TopicDeletion,
    /// A broker asked to shut down.
    ControlledShutdown(ControlledShutdownRequest),
    /// A partition leader asked to change an ISR (`AlterIsrReceived`).
    AlterIsr(AlterIsrRequest),
    /// A broker answered a StopReplica that deletes partitions
    /// (`TopicDeletionStopReplicaResponseReceived`).
    StopReplicaResponse { broker_id: i32, error_code: i16, partitions: Vec<(String, i32, i16)> },
    /// The ZooKeeper session expired: `/controller` and the watches are gone; resign.
    Expire,
    /// The session failed authentication; nothing more will work.
    AuthFailed,
    /// The broker is shutting down: resign and end the loop.
    Shutdown,
}

impl From<ZNodeChange> for ControllerEvent {
    fn from(change: ZNodeChange) -> ControllerEvent {
        match (change.path.as_str(), change.kind) {
            (CONTROLLER_PATH, ZNodeChangeKind::Deleted) => ControllerEvent::Reelect,
            (CONTROLLER_PATH, _) => ControllerEvent::ControllerChange,
            (BROKER_IDS_PATH, _) => ControllerEvent::BrokerChange,
            (TOPICS_PATH, _) => ControllerEvent::TopicChange,
            (DELETE_TOPICS_PATH, _) => ControllerEvent::TopicDeletion,
            (path, _) => match path.strip_prefix("/brokers/topics/") {
                Some(topic) if !topic.contains('/') => ControllerEvent::PartitionModifications(topic.to_string()),
                // No other path is watched; re-reading the topics is always safe.
                _ => ControllerEvent::TopicChange,
            },
        }
    }
}

impl From<ZkSessionEvent> for ControllerEvent {
    fn from(event: ZkSessionEvent) -> ControllerEvent {
        match event {
            ZkSessionEvent::Expired { .. } => ControllerEvent::Expire,
            ZkSessionEvent::Reinitialized { .. } => ControllerEvent::Reelect,
            ZkSessionEvent::AuthFailed => ControllerEvent::AuthFailed,
        }
    }
}

/// A running controller event loop.
pub struct KafkaController {
    events: mpsc::UnboundedSender<ControllerEvent>,
    active: Arc<AtomicBool>,
    task: JoinHandle<()>,
    session_forwarder: JoinHandle<()>,
}

/// What the broker's request handlers need of the controller: whether this broker is the active
/// controller (CreateTopics and DeleteTopics are served only there), and ControlledShutdown.
#[derive(Clone)]
pub struct ControllerHandle {
    events: mpsc::UnboundedSender<ControllerEvent>,
    active: Arc<AtomicBool>,
}

impl ControllerHandle {
    /// True while this broker is the active controller.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// `KafkaController.controlledShutdown` (reference §2.7): moves leadership away from
    /// `broker_id` and returns the partitions it still leads, or an error code:
    /// STALE_CONTROLLER_EPOCH if this broker is not the active controller, STALE_BROKER_EPOCH,
    /// BROKER_NOT_AVAILABLE.
    pub async fn controlled_shutdown(&self, broker_id: i32, broker_epoch: i64) -> Result<Vec<(String, i32)>, i16> {
        let (reply, rx) = oneshot::channel();
        let request = ControlledShutdownRequest { broker_id, broker_epoch, reply };
        if self.events.send(ControllerEvent::ControlledShutdown(request)).is_err() {
            return Err(error_codes::STALE_CONTROLLER_EPOCH);
        }
        // The loop drops the reply when it resigns or stops first: not the controller any more.
        rx.await.unwrap_or(Err(error_codes::STALE_CONTROLLER_EPOCH))
    }

    /// `KafkaController.alterIsrs` (reference §4.3): writes the leaders' proposed ISRs, each
    /// conditional on its `/state` zkVersion. The answer per partition, or a request-level error
    /// code: NOT_CONTROLLER if this broker is not the active controller, STALE_BROKER_EPOCH.
    pub async fn alter_isr(&self, broker_id: i32, broker_epoch: i64, items: Vec<AlterIsrItem>) -> Result<Vec<AlterIsrOutcome>, i16> {
        let (reply, rx) = oneshot::channel();
        let request = AlterIsrRequest { broker_id, broker_epoch, items, reply };
        if self.events.send(ControllerEvent::AlterIsr(request)).is_err() {
            return Err(error_codes::NOT_CONTROLLER);
        }
        rx.await.unwrap_or(Err(error_codes::NOT_CONTROLLER))
    }
}

impl KafkaController {
    /// `KafkaController.startup` with the default [`ControllerConfig`].
    pub fn start(zk: KafkaZkClient, broker_id: BrokerId) -> KafkaController {
        KafkaController::start_with(zk, broker_id, ControllerConfig::default())
    }

    /// `KafkaController.startup`: registers for session events, enqueues `Startup` and starts
    /// the event loop.
    pub fn start_with(zk: KafkaZkClient, broker_id: BrokerId, config: ControllerConfig) -> KafkaController {
        let (events, rx) = mpsc::unbounded_channel();
        let expire_pending = Arc::new(AtomicBool::new(false));
        let session_forwarder = forward_session_events(&zk, events.clone(), Arc::clone(&expire_pending));
        let _ = events.send(ControllerEvent::Startup);
        let active = Arc::new(AtomicBool::new(false));
        let state = ControllerLoop {
            zk,
            broker_id,
            config,
            events: events.clone(),
            expire_pending,
            active_flag: Arc::clone(&active),
            controller_watch: None,
            active_controller_id: None,
            active: None,
        };
        let task = tokio::spawn(state.run(rx));
        KafkaController { events, active, task, session_forwarder }
    }

    /// What the broker's request handlers use.
    pub fn handle(&self) -> ControllerHandle {
        ControllerHandle { events: self.events.clone(), active: Arc::clone(&self.active) }
    }

    /// True while this broker is the active controller.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// `KafkaController.shutdown`: resigns if active and waits for the loop to end. `/controller`
    /// itself goes when the broker closes its ZooKeeper session.
    pub async fn shutdown(mut self) {
        let _ = self.events.send(ControllerEvent::Shutdown);
        if let Err(e) = (&mut self.task).await {
            error!(error = %e, "the controller event loop failed");
        }
    }
}

impl Drop for KafkaController {
    /// A broker dropped without a clean shutdown (a crash in tests) takes its controller with it,
    /// so the loop's ZooKeeper client does not keep the session alive.
    fn drop(&mut self) {
        self.task.abort();
        self.session_forwarder.abort();
    }
}

/// Session events into the queue. An expiry raises `expire_pending` before its `Expire` is
/// queued, so the loop can drop what was queued before it.
fn forward_session_events(zk: &KafkaZkClient, events: mpsc::UnboundedSender<ControllerEvent>, expire_pending: Arc<AtomicBool>) -> JoinHandle<()> {
    let mut session = zk.subscribe_session_events();
    tokio::spawn(async move {
        while let Some(event) = session.recv().await {
            if matches!(event, ZkSessionEvent::Expired { .. }) {
                expire_pending.store(true, Ordering::Release);
            }
            if events.send(ControllerEvent::from(event)).is_err() {
                return;
            }
        }
    })
}

/// The event loop's state, owned by its task.
struct ControllerLoop {
    zk: KafkaZkClient,
    broker_id: BrokerId,
    config: ControllerConfig,
    events: mpsc::UnboundedSender<ControllerEvent>,
    expire_pending: Arc<AtomicBool>,
    /// Mirrors `active.is_some()` for [`ControllerHandle::is_active`].
    active_flag: Arc<AtomicBool>,
    controller_watch: Option<ZkWatch>,
    /// Who `/controller` named when last read.
    active_controller_id: Option<BrokerId>,
    active: Option<ActiveController>,
}

impl ControllerLoop {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ControllerEvent>) {
        while let Some(mut event) = rx.recv().await {
            if self.expire_pending.swap(false, Ordering::AcqRel) && !matches!(event, ControllerEvent::Expire) {
                // Kafka's `clearAndPut(Expire)`: what was queued before the expiry is stale.
                loop {
                    match event {
                        ControllerEvent::Expire => break,
                        ControllerEvent::Shutdown => {
                            self.on_controller_resignation();
                            return;
                        }
                        stale => debug!(broker_id = self.broker_id.0, "dropping {stale:?}, queued before the session expired"),
                    }
                    match rx.recv().await {
                        Some(next) => event = next,
                        None => return,
                    }
                }
            }
            let name = format!("{event:?}");
            let result = match event {
                ControllerEvent::Startup => self.process_startup().await,
                ControllerEvent::ControllerChange => self.process_controller_change().await,
                ControllerEvent::Reelect => self.process_reelect().await,
                ControllerEvent::BrokerChange => match self.active.as_mut() {
                    Some(active) => active.process_broker_change(&self.zk).await,
                    None => Ok(()),
                },
                ControllerEvent::TopicChange => match self.active.as_mut() {
                    Some(active) => active.process_topic_change(&self.zk).await,
                    None => Ok(()),
                },
                ControllerEvent::PartitionModifications(topic) => match self.active.as_mut() {
                    Some(active) => active.process_partition_modifications(&self.zk, &topic).await,
                    None => Ok(()),
                },
                ControllerEvent::TopicDeletion => match self.active.as_mut() {
                    Some(active) => active.process_topic_deletion(&self.zk).await,
                    None => Ok(()),
                },
                ControllerEvent::StopReplicaResponse { broker_id, error_code, partitions } => match self.active.as_mut() {
                    Some(active) => active.process_stop_replica_response(&self.zk, broker_id, error_code, partitions).await,
                    None => Ok(()),
                },
                ControllerEvent::ControlledShutdown(request) => {
                    let ControlledShutdownRequest { broker_id, broker_epoch, reply } = request;
                    match self.active.as_mut() {
                        None => {
                            let _ = reply.send(Err(error_codes::STALE_CONTROLLER_EPOCH));
                            Ok(())
                        }
                        Some(active) => match active.controlled_shutdown(&self.zk, broker_id, broker_epoch).await {
                            Ok(answer) => {
                                let _ = reply.send(answer);
                                Ok(())
                            }
                            // The reply is dropped: the broker hears "not the controller".
                            Err(e) => Err(e),
                        },
                    }
                }
                ControllerEvent::AlterIsr(request) => {
                    let AlterIsrRequest { broker_id, broker_epoch, items, reply } = request;
                    match self.active.as_mut() {
                        None => {
                            let _ = reply.send(Err(error_codes::NOT_CONTROLLER));
                            Ok(())
                        }
                        Some(active) => match active.alter_isr(&self.zk, broker_id, broker_epoch, items).await {
                            Ok(answer) => {
                                let _ = reply.send(answer);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        },
                    }
                }
                ControllerEvent::Expire => {
                    self.process_expire();
                    Ok(())
                }
                ControllerEvent::AuthFailed => {
                    error!(broker_id = self.broker_id.0, "ZooKeeper authentication failed; the controller stops");
                    self.on_controller_resignation();
                    Ok(())
                }
                ControllerEvent::Shutdown => {
                    self.on_controller_resignation();
                    info!(target: "state_change", broker_id = self.broker_id.0, "controller event loop stopped");
                    return;
                }
            };
            if let Err(e) = result {
                self.handle_error(&name, e).await;
            }
        }
    }

    /// A failed event. A lost ZooKeeper race resigns. An expired session resigns and waits for
    /// the new session's `Reelect`; a closed client (the broker is stopping) just resigns. Any
    /// other failure gives `/controller` up, fenced on the epoch zkVersion (Kafka's
    /// `triggerControllerMove`), resigns, and retries the election after [`REELECT_BACKOFF`].
    async fn handle_error(&mut self, event: &str, e: ZkError) {
        if matches!(e, ZkError::ControllerMoved { .. }) {
            warn!(target: "state_change", broker_id = self.broker_id.0, "{event}: {e}");
            self.on_controller_resignation();
            return;
        }
        if matches!(e, ZkError::Closed) || e.is_session_expired() {
            warn!(broker_id = self.broker_id.0, error = %e, "controller event {event} failed");
            self.on_controller_resignation();
            return;
        }
        error!(broker_id = self.broker_id.0, error = %e, "controller event {event} failed; retrying the election in {REELECT_BACKOFF:?}");
        if let Some(active) = &self.active {
            if let Err(delete) = self.zk.delete_controller(active.epoch_zk_version).await {
                warn!(error = %delete, "cannot delete /controller after a failed controller event");
            }
        }
        self.on_controller_resignation();
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REELECT_BACKOFF).await;
            let _ = events.send(ControllerEvent::Reelect);
        });
    }

    async fn process_startup(&mut self) -> Result<(), ZkError> {
        info!(target: "state_change", broker_id = self.broker_id.0, "controller startup");
        self.elect().await
    }

    /// `processControllerChange`: re-read `/controller`; resign if it is not us any more. After a
    /// reconnection (`Resync`) a deletion may have gone unreported, so an empty `/controller`
    /// also triggers an election.
    async fn process_controller_change(&mut self) -> Result<(), ZkError> {
        self.maybe_resign().await?;
        if self.active_controller_id.is_none() {
            self.elect().await?;
        }
        Ok(())
    }

    /// `processReelect`: resign if needed, then try to win.
    async fn process_reelect(&mut self) -> Result<(), ZkError> {
        self.maybe_resign().await?;
        self.elect().await
    }

    /// `processExpire`: the session, and `/controller` with it, is gone.
    fn process_expire(&mut self) {
        info!(target: "state_change", broker_id = self.broker_id.0, "ZooKeeper session expired");
        self.active_controller_id = None;
        // The watches ended with the session; they are registered again on the next election.
        self.controller_watch = None;
        self.on_controller_resignation();
    }

    async fn maybe_resign(&mut self) -> Result<(), ZkError> {
        self.active_controller_id = self.zk.get_controller_id().await?;
        if self.active.is_some() && self.active_controller_id != Some(self.broker_id) {
            self.on_controller_resignation();
        }
        Ok(())
    }

    /// `elect` (§2.1): stay a follower if `/controller` names a broker, else try to win it.
    async fn elect(&mut self) -> Result<(), ZkError> {
        if self.controller_watch.is_none() {
            let (current, watch) = self.zk.watch_controller(self.events.clone()).await?;
            self.controller_watch = Some(watch);
            self.active_controller_id = current;
        } else {
            self.active_controller_id = self.zk.get_controller_id().await?;
        }
        if let Some(id) = self.active_controller_id {
            if self.active.is_none() {
                let epoch = self.zk.get_controller_epoch().await?.map_or(-1, |(e, _)| e.0);
                info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = epoch, "broker {id} is the controller; this broker stays a follower");
            }
            return Ok(());
        }
        match self.zk.register_controller_and_increment_controller_epoch(self.broker_id).await {
            Ok((epoch, epoch_zk_version)) => {
                self.active_controller_id = Some(self.broker_id);
                info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = epoch.0, "broker {} won the controller election with epoch {epoch} (epoch zkVersion {epoch_zk_version})", self.broker_id);
                if let Err(e) = self.on_controller_failover(epoch, epoch_zk_version).await {
                    // `triggerControllerMove`: give `/controller` up so the election runs again.
                    if let Err(delete) = self.zk.delete_controller(epoch_zk_version).await {
                        warn!(error = %delete, "cannot delete /controller after a failed failover");
                    }
                    return Err(e);
                }
                Ok(())
            }
            Err(ZkError::ControllerMoved { reason }) => {
                self.active_controller_id = self.zk.get_controller_id().await?;
                info!(target: "state_change", broker_id = self.broker_id.0, "lost the controller election: {reason}");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `onControllerFailover` (§2.2): see [`ActiveController::failover`].
    async fn on_controller_failover(&mut self, epoch: ControllerEpoch, epoch_zk_version: ZkVersion) -> Result<(), ZkError> {
        let active = ActiveController::failover(&self.zk, self.broker_id.0, epoch, epoch_zk_version, self.config.clone(), self.events.clone()).await?;
        info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = epoch.0, live_brokers = ?active.broker_ids(), "controller failover: became the active controller");
        self.active = Some(active);
        self.active_flag.store(true, Ordering::Release);
        Ok(())
    }

    /// `onControllerResignation`: drop the context, the watches and the request senders.
    fn on_controller_resignation(&mut self) {
        self.active_flag.store(false, Ordering::Release);
        if let Some(active) = self.active.take() {
            info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = active.epoch.0, "resigning as controller");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: ZNodeChangeKind) -> ControllerEvent {
        ControllerEvent::from(ZNodeChange { path: path.to_string(), kind })
    }

    #[test]
    fn watches_and_session_events_map_to_controller_events() {
        assert!(matches!(change("/controller", ZNodeChangeKind::Deleted), ControllerEvent::Reelect));
        assert!(matches!(change("/controller", ZNodeChangeKind::Created), ControllerEvent::ControllerChange));
        assert!(matches!(change("/controller", ZNodeChangeKind::DataChanged), ControllerEvent::ControllerChange));
        assert!(matches!(change("/controller", ZNodeChangeKind::Resync), ControllerEvent::ControllerChange));
        assert!(matches!(change("/brokers/ids", ZNodeChangeKind::ChildrenChanged), ControllerEvent::BrokerChange));
        assert!(matches!(change("/brokers/ids", ZNodeChangeKind::Resync), ControllerEvent::BrokerChange));
        assert!(matches!(change("/brokers/topics", ZNodeChangeKind::ChildrenChanged), ControllerEvent::TopicChange));
        assert!(matches!(change("/admin/delete_topics", ZNodeChangeKind::ChildrenChanged), ControllerEvent::TopicDeletion));
        assert!(matches!(change("/brokers/topics/orders.v1", ZNodeChangeKind::DataChanged), ControllerEvent::PartitionModifications(t) if t == "orders.v1"));
        assert!(matches!(ControllerEvent::from(ZkSessionEvent::Expired { session_id: 1 }), ControllerEvent::Expire));
        assert!(matches!(ControllerEvent::from(ZkSessionEvent::Reinitialized { session_id: 2 }), ControllerEvent::Reelect));
    }
}
