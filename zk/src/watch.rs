//! Watches and session events, as values on channels.
//!
//! In Kafka, ZooKeeper watches only enqueue events: a `ZNodeChildChangeHandler` on `/brokers/ids`
//! puts `BrokerChange` on the controller's queue, and the single controller thread re-reads
//! ZooKeeper. Here a watch sends a [`ZNodeChange`] into the owner's channel (converted with
//! `From`, so the controller can have its own event enum), and the owner re-reads.
//!
//! Watches are ZooKeeper *persistent* watches (3.6+): registered once, they report every change
//! of the znode (created, deleted, data changed, children changed) until dropped, so no event is
//! lost between a trigger and the re-arm of a one-shot watch. ZooKeeper does not replay changes
//! made while the client was disconnected (ZOOKEEPER-4698), so after a reconnection each watch
//! reports [`ZNodeChangeKind::Resync`]: "re-read, you may have missed something".
//!
//! Session expiry ends every watch (the server forgets them with the session) and is reported
//! once to every [`ZkSessionEvent`] subscriber, Kafka's `StateChangeHandler`, whose owners then
//! re-register (the broker its `/brokers/ids/<id>`, the controller its watches and election).

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use zookeeper_client as zk;

/// What happened to a watched znode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZNodeChangeKind {
    /// `handleCreation`.
    Created,
    /// `handleDeletion`.
    Deleted,
    /// `handleDataChange`.
    DataChanged,
    /// `handleChildChange`.
    ChildrenChanged,
    /// The connection was lost and re-established within the session: changes in between may
    /// not have been reported. Re-read the znode.
    Resync,
}

/// A change to a watched znode, Kafka's `ZNodeChangeHandler` / `ZNodeChildChangeHandler`
/// callbacks as a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZNodeChange {
    /// The watched path (relative to the chroot).
    pub path: String,
    pub kind: ZNodeChangeKind,
}

/// A session lifecycle event, Kafka's `StateChangeHandler` callbacks as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZkSessionEvent {
    /// `beforeInitializingSession`: the session expired. Its ephemeral znodes (this broker's
    /// registration, `/controller` if this broker was the controller) and all watches are gone;
    /// a controller must resign now. A new session is being established.
    Expired { session_id: i64 },
    /// `afterInitializingSession`: a new session is up. Re-register the broker (new broker
    /// epoch), re-register watches, try to become controller again.
    Reinitialized { session_id: i64 },
    /// `onAuthFailure`: the session failed authentication and will not be retried.
    AuthFailed,
}

/// A registered watch; dropping it stops the reports (Kafka's `unregisterZNode*Handler`).
#[derive(Debug)]
pub struct ZkWatch {
    path: String,
    task: JoinHandle<()>,
}

impl ZkWatch {
    /// The watched path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Starts forwarding `watcher`'s events for `path` into `events`.
    pub(crate) fn forward<E>(
        path: &str,
        mut watcher: zk::PersistentWatcher,
        events: UnboundedSender<E>,
    ) -> ZkWatch
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let watched = path.to_string();
        let task = tokio::spawn(async move {
            let mut disconnected = false;
            loop {
                let event = watcher.changed().await;
                let kind = match event.event_type {
                    zk::EventType::NodeCreated => ZNodeChangeKind::Created,
                    zk::EventType::NodeDeleted => ZNodeChangeKind::Deleted,
                    zk::EventType::NodeDataChanged => ZNodeChangeKind::DataChanged,
                    zk::EventType::NodeChildrenChanged => ZNodeChangeKind::ChildrenChanged,
                    zk::EventType::Session => match event.session_state {
                        zk::SessionState::Disconnected => {
                            disconnected = true;
                            continue;
                        }
                        zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly
                            if disconnected =>
                        {
                            disconnected = false;
                            ZNodeChangeKind::Resync
                        }
                        // Expired, AuthFailed, Closed: the watch is gone with the session, and
                        // the watcher must not be polled again.
                        state if state.is_terminated() => return,
                        _ => continue,
                    },
                };
                if events
                    .send(E::from(ZNodeChange {
                        path: watched.clone(),
                        kind,
                    }))
                    .is_err()
                {
                    return; // The owner is gone.
                }
            }
        });
        ZkWatch {
            path: path.to_string(),
            task,
        }
    }
}

impl Drop for ZkWatch {
    fn drop(&mut self) {
        // Dropping the task drops the client's watcher, which removes it from the session.
        self.task.abort();
    }
}
