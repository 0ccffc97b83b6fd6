//! `KafkaController`: the controller's event loop, as it runs inside every broker
//! (`KafkaController.scala` + `ControllerEventManager.scala`, reference §2.1–2.2).
//!
//! All controller work is serialized on one task that takes [`ControllerEvent`]s off one queue;
//! ZooKeeper watches and session events only enqueue (they convert with `From`), and the loop
//! re-reads ZooKeeper. Every broker runs the loop; the one that wins `/controller` is *active*:
//!
//! - `Startup`, `Reelect` (`/controller` deleted, new session): if `/controller` names a broker,
//!   stay a follower; else one ZooKeeper multi creates `/controller` and bumps
//!   `/controller_epoch`. The winner runs `onControllerFailover`: watch `/brokers/ids`, read every
//!   live broker and its epoch, start one request sender per broker, and send UpdateMetadata with
//!   no partitions and the full live-broker list to every live broker (§2.2 step 6).
//! - `BrokerChange` (active only): re-read the brokers, adjust the senders, send the new
//!   UpdateMetadata to every live broker.
//! - `ControllerChange` (`/controller` created or changed): resign if another broker took over.
//! - `Expire`: the session is gone, and `/controller` with it: resign at once.
//!
//! Invariant: only the active controller has request senders; resigning drops them (and the
//! `/brokers/ids` watch), so a deposed controller sends nothing more.
//!
//! This first cut covers election, failover and the live-broker list; the ControllerContext of
//! topics and partitions and the state machines (§2.2 steps 4–10) build on it.

use odradek_zk::{BrokerId, ControllerEpoch, KafkaZkClient, ZNodeChange, ZNodeChangeKind, ZkError, ZkSessionEvent, ZkVersion, ZkWatch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::channel_manager::{ControlRequest, ControllerChannelManager};
use crate::request_batch::{self, ControllerStamp, LiveBroker};

const CONTROLLER_PATH: &str = "/controller";
/// How long to wait before retrying an election that failed on a ZooKeeper error (not lost).
const REELECT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// The controller's closed set of events (`ControllerEvent.scala`, the part built so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerEvent {
    /// The broker started: watch `/controller` and try to become controller.
    Startup,
    /// `/controller` was created or changed (or must be re-read): resign if it is not us.
    ControllerChange,
    /// `/controller` was deleted, or a new session is up: resign if needed, then elect.
    Reelect,
    /// `/brokers/ids` changed: the live brokers changed.
    BrokerChange,
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
            // `/brokers/ids`, the only other watched path: children changed, or a reconnection;
            // re-read either way.
            _ => ControllerEvent::BrokerChange,
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
    task: JoinHandle<()>,
}

impl KafkaController {
    /// `KafkaController.startup`: registers for session events, enqueues `Startup` and starts
    /// the event loop.
    pub fn start(zk: KafkaZkClient, broker_id: BrokerId) -> KafkaController {
        let (events, rx) = mpsc::unbounded_channel();
        zk.register_session_event_handler(events.clone());
        let _ = events.send(ControllerEvent::Startup);
        let state = ControllerLoop { zk, broker_id, events: events.clone(), controller_watch: None, active_controller_id: None, active: None };
        let task = tokio::spawn(state.run(rx));
        KafkaController { events, task }
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
    }
}

/// What only the active controller holds.
struct ActiveController {
    epoch: ControllerEpoch,
    /// The `/controller_epoch` zkVersion that fences this controller's ZooKeeper writes.
    epoch_zk_version: ZkVersion,
    _broker_watch: ZkWatch,
    live_brokers: Vec<LiveBroker>,
    channel_manager: ControllerChannelManager,
}

/// The event loop's state, owned by its task.
struct ControllerLoop {
    zk: KafkaZkClient,
    broker_id: BrokerId,
    events: mpsc::UnboundedSender<ControllerEvent>,
    controller_watch: Option<ZkWatch>,
    /// Who `/controller` named when last read.
    active_controller_id: Option<BrokerId>,
    active: Option<ActiveController>,
}

impl ControllerLoop {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ControllerEvent>) {
        while let Some(event) = rx.recv().await {
            let result = match event {
                ControllerEvent::Startup => self.process_startup().await,
                ControllerEvent::ControllerChange => self.process_controller_change().await,
                ControllerEvent::Reelect => self.process_reelect().await,
                ControllerEvent::BrokerChange => self.process_broker_change().await,
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
                self.handle_error(&event, e).await;
            }
        }
    }

    /// A failed event. A lost ZooKeeper race resigns. An expired session resigns and waits for
    /// the new session's `Reelect`; a closed client (the broker is stopping) just resigns. Any
    /// other failure gives `/controller` up, fenced on the epoch zkVersion (Kafka's
    /// `triggerControllerMove`), resigns, and retries the election after [`REELECT_BACKOFF`].
    async fn handle_error(&mut self, event: &ControllerEvent, e: ZkError) {
        if matches!(e, ZkError::ControllerMoved { .. }) {
            warn!(target: "state_change", broker_id = self.broker_id.0, "{event:?}: {e}");
            self.on_controller_resignation();
            return;
        }
        if matches!(e, ZkError::Closed) || e.is_session_expired() {
            warn!(broker_id = self.broker_id.0, error = %e, "controller event {event:?} failed");
            self.on_controller_resignation();
            return;
        }
        error!(broker_id = self.broker_id.0, error = %e, "controller event {event:?} failed; retrying the election in {REELECT_BACKOFF:?}");
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

    /// `onControllerFailover` (§2.2), the part built so far: watch `/brokers/ids`, read the live
    /// brokers with their epochs, start a sender per broker, then UpdateMetadata to all.
    async fn on_controller_failover(&mut self, epoch: ControllerEpoch, epoch_zk_version: ZkVersion) -> Result<(), ZkError> {
        let (_, broker_watch) = self.zk.watch_broker_ids(self.events.clone()).await?;
        let live_brokers = self.read_live_brokers().await?;
        let mut channel_manager = ControllerChannelManager::new(self.broker_id.0);
        channel_manager.set_live_brokers(&live_brokers);
        info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = epoch.0, live_brokers = ?ids(&live_brokers), "controller failover: became the active controller");
        self.active = Some(ActiveController { epoch, epoch_zk_version, _broker_watch: broker_watch, live_brokers, channel_manager });
        self.send_update_metadata_to_all();
        Ok(())
    }

    /// `processBrokerChange`: re-read the brokers; tell everyone the new live-broker list.
    async fn process_broker_change(&mut self) -> Result<(), ZkError> {
        if self.active.is_none() {
            return Ok(());
        }
        let live_brokers = self.read_live_brokers().await?;
        let Some(active) = self.active.as_mut() else { return Ok(()) };
        let (old, new) = (ids(&active.live_brokers), ids(&live_brokers));
        let bounced: Vec<i32> = live_brokers.iter().filter(|b| active.live_brokers.iter().any(|o| o.id == b.id && o.epoch != b.epoch)).map(|b| b.id).collect();
        if old == new && bounced.is_empty() {
            return Ok(());
        }
        let newly: Vec<i32> = new.iter().copied().filter(|id| !old.contains(id)).collect();
        let dead: Vec<i32> = old.iter().copied().filter(|id| !new.contains(id)).collect();
        info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = active.epoch.0, "broker change: new brokers {newly:?}, dead brokers {dead:?}, bounced brokers {bounced:?}, all live brokers {new:?}");
        active.channel_manager.set_live_brokers(&live_brokers);
        active.live_brokers = live_brokers;
        self.send_update_metadata_to_all();
        Ok(())
    }

    /// UpdateMetadata with no partitions and every live broker, to every live broker.
    fn send_update_metadata_to_all(&self) {
        let Some(active) = &self.active else { return };
        let stamp = ControllerStamp { controller_id: self.broker_id.0, controller_epoch: active.epoch.0 };
        let batch = request_batch::build(stamp, &active.live_brokers, &[], &|_, _| None);
        for (broker_id, request) in batch.update_metadata {
            active.channel_manager.send(broker_id, ControlRequest::UpdateMetadata(request));
        }
        info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = active.epoch.0, "sending UpdateMetadata with live brokers {:?} to brokers {:?}", ids(&active.live_brokers), active.channel_manager.brokers());
    }

    /// `onControllerResignation`: stop the senders and the broker watch.
    fn on_controller_resignation(&mut self) {
        if let Some(active) = self.active.take() {
            info!(target: "state_change", broker_id = self.broker_id.0, controller_epoch = active.epoch.0, "resigning as controller");
        }
    }

    /// `getAllBrokerAndEpochsInCluster`, as the controller's live-broker list (first endpoint).
    async fn read_live_brokers(&self) -> Result<Vec<LiveBroker>, ZkError> {
        let brokers = self.zk.get_all_brokers().await?;
        Ok(brokers
            .into_iter()
            .filter_map(|(info, epoch)| {
                let endpoint = info.endpoints.first()?;
                Some(LiveBroker { id: info.id.0, epoch, host: endpoint.host.clone(), port: endpoint.port, rack: info.rack.clone() })
            })
            .collect())
    }
}

fn ids(brokers: &[LiveBroker]) -> Vec<i32> {
    brokers.iter().map(|b| b.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: ZNodeChangeKind) -> ControllerEvent {
        ControllerEvent::from(ZNodeChange { path: path.to_string(), kind })
    }

    #[test]
    fn watches_and_session_events_map_to_controller_events() {
        assert_eq!(change("/controller", ZNodeChangeKind::Deleted), ControllerEvent::Reelect);
        assert_eq!(change("/controller", ZNodeChangeKind::Created), ControllerEvent::ControllerChange);
        assert_eq!(change("/controller", ZNodeChangeKind::DataChanged), ControllerEvent::ControllerChange);
        assert_eq!(change("/controller", ZNodeChangeKind::Resync), ControllerEvent::ControllerChange);
        assert_eq!(change("/brokers/ids", ZNodeChangeKind::ChildrenChanged), ControllerEvent::BrokerChange);
        assert_eq!(change("/brokers/ids", ZNodeChangeKind::Resync), ControllerEvent::BrokerChange);
        assert_eq!(ControllerEvent::from(ZkSessionEvent::Expired { session_id: 1 }), ControllerEvent::Expire);
        assert_eq!(ControllerEvent::from(ZkSessionEvent::Reinitialized { session_id: 2 }), ControllerEvent::Reelect);
    }
}
