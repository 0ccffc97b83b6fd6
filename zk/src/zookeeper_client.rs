//! The session layer, Kafka's `ZooKeeperClient`: one ZooKeeper session, re-created when it
//! expires, with every request retried across connection losses. This is the only file that
//! talks to the `zookeeper-client` crate's request API; [`crate::KafkaZkClient`] builds Kafka's
//! operations on the small set of primitives here.
//!
//! - **Chroot.** `zookeeper.connect` may end in a path (`h1:2181,h2:2181/odradek`). As
//!   `KafkaServer.initZkClient` does, the chroot is created first through a session without it,
//!   then the real session is opened inside it; every path in this crate is relative to it.
//! - **Connection loss** (`retryRequestUntilConnected`): a request whose connection dropped is
//!   sent again once the session is reconnected. Its first attempt may have been applied, so
//!   callers treat NODEEXISTS / BADVERSION on a retried create or conditional write the way Kafka
//!   does (see `register_broker` and `register_controller_and_increment_controller_epoch`).
//! - **Expiry** (`reinitialize`): a supervisor task notices the expired session, tells every
//!   [`ZkSessionEvent`] subscriber, connects a new session (retrying every second, forever, like
//!   Kafka), swaps it in and tells them again. Requests made with the old session fail with
//!   SESSIONEXPIRED; none is retried on the new session, since their ephemeral context is gone.

use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use zookeeper_client as zk;
// The session task is spawned through `spawns`; linking its tokio feature registers the spawner
// (without it, `Client::connect` panics with "no spawner").
use spawns as _;

use crate::error::{ClientError, Result, ZkError, ZooKeeperError};
use crate::watch::{ZNodeChange, ZkSessionEvent, ZkWatch};
use crate::zk_data::ZkVersion;

mod config;
mod ops;

pub use self::config::ZkClientConfig;
use self::ops::{commit, map_multi_outcome};
pub use self::ops::{CreateMode, ZkOp, ZkOpResult, ZkStat};
pub(crate) use self::ops::{MultiFailure, NodeData};

/// Kafka's `retryRequestUntilConnected`: a future that evaluates `$op` (a request on `$client`,
/// the current session's client) and, after a connection loss, again once reconnected. A macro rather than a
/// function taking an async closure so the resulting futures stay `Send`.
macro_rules! retry_until_connected {
    ($zk:expr, |$client:ident| $op:expr) => {
        async {
            loop {
                let $client = $zk.current().await?;
                match $op.await {
                    Err(ClientError::ConnectionLoss) => wait_until_connected(&$client).await?,
                    result => break result,
                }
            }
        }
    };
}

/// A ZooKeeper session that is re-created on expiry. Cheap to clone; the session closes when the
/// last clone is dropped or [`ZooKeeperClient::close`] is called.
#[derive(Clone)]
pub(crate) struct ZooKeeperClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ZkClientConfig,
    /// `None` once closed.
    client: RwLock<Option<zk::Client>>,
    /// Bumped whenever `client` is replaced or closed, waking requests that wait for the session
    /// that follows an expired one.
    generation: watch::Sender<u64>,
    /// The session before the last expiry: its ephemeral znodes may linger until the ensemble
    /// reaps them (ZOOKEEPER-2985), and may be replaced.
    previous_session_id: Mutex<Option<i64>>,
    /// Kafka's `stateChangeHandlers`: each returns false once its receiver is gone.
    session_subscribers: Mutex<Vec<SessionSubscriber>>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.supervisor).take() {
            task.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ZooKeeperClient {
    /// Connects (creating the chroot first if there is one) and starts the session supervisor.
    pub(crate) async fn connect(config: ZkClientConfig) -> Result<ZooKeeperClient> {
        let (hosts, chroot) = config.split_chroot()?;
        if let Some(chroot) = chroot {
            let root = connect_session(&config, hosts).await?;
            // A freshly started ensemble may drop a connection a moment after accepting it (a
            // node still settling into the quorum): retry across connection losses, as every
            // other request does, within the connection timeout.
            let deadline = tokio::time::Instant::now() + config.connection_timeout;
            loop {
                match root.mkdir(chroot, &CreateMode::Persistent.options()).await {
                    Ok(()) => break,
                    Err(ClientError::ConnectionLoss) if tokio::time::Instant::now() < deadline => {
                        let wait = tokio::time::timeout_at(deadline, wait_until_connected(&root));
                        if let Ok(Err(source)) = wait.await {
                            return Err(ZkError::from_client("create", chroot, ZkVersion::MATCH_ANY, source));
                        }
                    }
                    Err(source) => {
                        return Err(ZkError::from_client("create", chroot, ZkVersion::MATCH_ANY, source))
                    }
                }
            }
            info!(chroot, "created the ZooKeeper chroot (or found it)");
        }
        let client = connect_session(&config, &config.connect).await?;
        let states = client.state_watcher();
        info!(connect = %config.connect, session = %client.session_id(), "ZooKeeper session established");
        let inner = Arc::new(Inner {
            config,
            client: RwLock::new(Some(client)),
            generation: watch::Sender::new(0),
            previous_session_id: Mutex::new(None),
            session_subscribers: Mutex::new(Vec::new()),
            supervisor: Mutex::new(None),
        });
        let task = tokio::spawn(supervise(Arc::downgrade(&inner), states));
        *lock(&inner.supervisor) = Some(task);
        Ok(ZooKeeperClient { inner })
    }

    pub(crate) fn config(&self) -> &ZkClientConfig {
        &self.inner.config
    }

    /// The current session's client, or `Closed`. While an expired session is being replaced,
    /// waits for the new one (Kafka's requests wait on `initializationLock` likewise), at most
    /// the connection timeout.
    async fn current(&self) -> std::result::Result<zk::Client, ClientError> {
        let deadline = tokio::time::Instant::now() + self.inner.config.connection_timeout;
        loop {
            let mut generation = self.inner.generation.subscribe();
            let client = self.current_now()?;
            if client.state() != zk::SessionState::Expired {
                return Ok(client);
            }
            if tokio::time::timeout_at(deadline, generation.changed())
                .await
                .is_err()
            {
                return Err(ClientError::SessionExpired);
            }
        }
    }

    fn current_now(&self) -> std::result::Result<zk::Client, ClientError> {
        let client = self
            .inner
            .client
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        client.clone().ok_or(ClientError::ClientClosed)
    }

    /// The current session id (0 once closed).
    pub(crate) fn session_id(&self) -> i64 {
        self.current_now().map(|c| c.session_id().0).unwrap_or(0)
    }

    pub(crate) fn previous_session_id(&self) -> Option<i64> {
        *lock(&self.inner.previous_session_id)
    }

    /// Subscribes to session expiry and re-initialization.
    pub(crate) fn subscribe_session_events(&self) -> UnboundedReceiver<ZkSessionEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.register_session_event_handler(tx);
        rx
    }

    /// Sends session events, converted, into `events` (e.g. the controller's event queue).
    pub(crate) fn register_session_event_handler<E>(&self, events: UnboundedSender<E>)
    where
        E: From<ZkSessionEvent> + Send + 'static,
    {
        let subscriber: SessionSubscriber =
            Box::new(move |event| events.send(E::from(event)).is_ok());
        lock(&self.inner.session_subscribers).push(subscriber);
    }

    /// Closes the session (its ephemeral znodes go at once) and waits for the ensemble to
    /// acknowledge, at most one session timeout.
    pub(crate) async fn close(&self) {
        if let Some(task) = lock(&self.inner.supervisor).take() {
            task.abort();
        }
        let client = self
            .inner
            .client
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.inner.generation.send_modify(|g| *g += 1);
        if let Some(client) = client {
            let mut states = client.state_watcher();
            let session = client.session_id();
            drop(client); // The last handle: the session task sends CloseSession.
            let closed = async {
                while !states.peek_state().is_terminated() {
                    states.changed().await;
                }
            };
            if tokio::time::timeout(self.inner.config.session_timeout, closed)
                .await
                .is_err()
            {
                warn!(%session, "ZooKeeper session still open after close; requests in flight hold it");
            } else {
                info!(%session, "ZooKeeper session closed");
            }
        }
    }

    /// The znode's data and stat, `None` if it does not exist.
    pub(crate) async fn get_data(&self, path: &str) -> Result<Option<(Vec<u8>, ZkStat)>> {
        match retry_until_connected!(self, |c| c.get_data(path)).await {
            Ok((data, stat)) => Ok(Some((data, stat.into()))),
            Err(ClientError::NoNode) => Ok(None),
            Err(e) => Err(ZkError::from_client(
                "getData",
                path,
                ZkVersion::MATCH_ANY,
                e,
            )),
        }
    }

    /// Reads many znodes, pipelined (Kafka's `getDataRequests` batches): `None` for each
    /// znode that does not exist.
    pub(crate) async fn get_data_batch(&self, paths: &[String]) -> Result<Vec<Option<NodeData>>> {
        let mut results: Vec<Option<Option<NodeData>>> = vec![None; paths.len()];
        let mut pending: Vec<usize> = (0..paths.len()).collect();
        while !pending.is_empty() {
            let client = self
                .current()
                .await
                .map_err(|e| ZkError::from_client("getData", "/", ZkVersion::MATCH_ANY, e))?;
            let in_flight: Vec<_> = pending
                .iter()
                .map(|&i| (i, client.get_data(&paths[i])))
                .collect();
            let mut lost = Vec::new();
            for (i, reply) in in_flight {
                match reply.await {
                    Ok((data, stat)) => results[i] = Some(Some((data, stat.into()))),
                    Err(ClientError::NoNode) => results[i] = Some(None),
                    Err(ClientError::ConnectionLoss) => lost.push(i),
                    Err(e) => {
                        return Err(ZkError::from_client(
                            "getData",
                            &paths[i],
                            ZkVersion::MATCH_ANY,
                            e,
                        ))
                    }
                }
            }
            if let Some(&first) = lost.first() {
                wait_until_connected(&client).await.map_err(|e| {
                    ZkError::from_client("getData", &paths[first], ZkVersion::MATCH_ANY, e)
                })?;
            }
            pending = lost;
        }
        Ok(results.into_iter().map(Option::flatten).collect())
    }

    /// The znode's children (names, unsorted), `None` if it does not exist.
    pub(crate) async fn get_children(&self, path: &str) -> Result<Option<Vec<String>>> {
        match retry_until_connected!(self, |c| c.list_children(path)).await {
            Ok(children) => Ok(Some(children)),
            Err(ClientError::NoNode) => Ok(None),
            Err(e) => Err(ZkError::from_client(
                "getChildren",
                path,
                ZkVersion::MATCH_ANY,
                e,
            )),
        }
    }

    /// The znode's stat, `None` if it does not exist.
    pub(crate) async fn exists(&self, path: &str) -> Result<Option<ZkStat>> {
        retry_until_connected!(self, |c| c.check_stat(path))
            .await
            .map(|stat| stat.map(ZkStat::from))
            .map_err(|e| ZkError::from_client("exists", path, ZkVersion::MATCH_ANY, e))
    }

    /// Creates a znode and returns its path (with the sequence number for a sequential create).
    pub(crate) async fn create(&self, path: &str, data: &[u8], mode: CreateMode) -> Result<String> {
        let options = mode.options();
        let (_, sequence) = retry_until_connected!(self, |c| c.create(path, data, &options))
            .await
            .map_err(|e| ZkError::from_client("create", path, ZkVersion::MATCH_ANY, e))?;
        Ok(if mode == CreateMode::PersistentSequential {
            format!("{path}{sequence}")
        } else {
            path.to_string()
        })
    }

    /// Sets a znode's data if its version is `version` (or any, for [`ZkVersion::MATCH_ANY`]).
    pub(crate) async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: ZkVersion,
    ) -> Result<ZkStat> {
        retry_until_connected!(self, |c| c.set_data(path, data, version.expected()))
            .await
            .map(ZkStat::from)
            .map_err(|e| ZkError::from_client("setData", path, version, e))
    }

    /// Deletes a znode if its version is `version` (or any).
    pub(crate) async fn delete(&self, path: &str, version: ZkVersion) -> Result<()> {
        retry_until_connected!(self, |c| c.delete(path, version.expected()))
            .await
            .map_err(|e| ZkError::from_client("delete", path, version, e))
    }

    /// Creates `path` and any missing parents, all persistent and empty (`mkdir -p`).
    pub(crate) async fn make_persistent_path(&self, path: &str) -> Result<()> {
        let options = CreateMode::Persistent.options();
        retry_until_connected!(self, |c| c.mkdir(path, &options))
            .await
            .map_err(|e| ZkError::from_client("create", path, ZkVersion::MATCH_ANY, e))
    }

    /// Commits one multi (all or nothing).
    pub(crate) async fn multi(
        &self,
        ops: &[ZkOp],
    ) -> std::result::Result<Vec<ZkOpResult>, MultiFailure> {
        let mut results = self
            .multi_batch(std::slice::from_ref(&ops.to_vec()))
            .await
            .map_err(|error| MultiFailure { index: None, error })?;
        results.pop().unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Commits many independent multis, pipelined: all are sent before the first reply is
    /// awaited (Kafka's `retryRequestsUntilConnected` over a batch). Multis lost to a connection
    /// loss are sent again after reconnection.
    pub(crate) async fn multi_batch(
        &self,
        batch: &[Vec<ZkOp>],
    ) -> Result<Vec<std::result::Result<Vec<ZkOpResult>, MultiFailure>>> {
        let mut results: Vec<Option<std::result::Result<Vec<ZkOpResult>, MultiFailure>>> =
            (0..batch.len()).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        while !pending.is_empty() {
            let client = self
                .current()
                .await
                .map_err(|e| ZkError::from_client("multi", "/", ZkVersion::MATCH_ANY, e))?;
            // Send everything first (the client writes requests when the future is created).
            let in_flight: Vec<_> = pending
                .iter()
                .map(|&i| (i, commit(&client, &batch[i])))
                .collect();
            let mut lost = Vec::new();
            for (i, commit) in in_flight {
                let outcome = match commit {
                    Ok(future) => future.await,
                    Err(failure) => Err(failure),
                };
                match outcome {
                    Err(zk::MultiWriteError::RequestFailed {
                        source: ClientError::ConnectionLoss,
                    }) => lost.push(i),
                    outcome => results[i] = Some(map_multi_outcome(&batch[i], outcome)),
                }
            }
            if !lost.is_empty() {
                wait_until_connected(&client).await.map_err(|e| {
                    ZkError::from_client(
                        "multi",
                        batch[lost[0]].first().map_or("/", ZkOp::path),
                        ZkVersion::MATCH_ANY,
                        e,
                    )
                })?;
            }
            pending = lost;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Ok(Vec::new())))
            .collect())
    }

    /// Registers a persistent watch on `path` (the znode need not exist) whose changes are sent
    /// to `events`.
    pub(crate) async fn watch<E>(&self, path: &str, events: UnboundedSender<E>) -> Result<ZkWatch>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let watcher = retry_until_connected!(self, |c| c.watch(path, zk::AddWatchMode::Persistent))
            .await
            .map_err(|e| ZkError::from_client("addWatch", path, ZkVersion::MATCH_ANY, e))?;
        Ok(ZkWatch::forward(path, watcher, events))
    }

    /// Expires the current session from a second connection that takes it over and closes it
    /// (the trick ZooKeeper's own tests use), then waits until this client has noticed. A chaos
    /// tool: it has the effect of a pause longer than the session timeout.
    pub(crate) async fn force_session_expiry(&self) -> Result<()> {
        let client = self
            .current()
            .await
            .map_err(|e| ZkError::from_client("expire", "/", ZkVersion::MATCH_ANY, e))?;
        let mut states = client.state_watcher();
        let mut generation = self.inner.generation.subscribe();
        let connect = &self.inner.config.connect;
        let intruder = zk::Client::connector()
            .with_session(client.session().clone())
            .with_session_timeout(self.inner.config.session_timeout)
            .connect(connect)
            .await
            .map_err(|source| ZkError::Connect {
                connect: connect.clone(),
                source: ZooKeeperError(source),
            })?;
        drop(intruder); // Sends CloseSession for the shared session.
        drop(client);
        // Noticed once the old client reports the expiry, or once this client has already
        // replaced it with a new session (the old client's watcher then never changes again).
        let expired = async {
            while !states.peek_state().is_terminated() {
                tokio::select! {
                    _ = states.changed() => {}
                    _ = generation.changed() => return,
                }
            }
        };
        // Generous: on a loaded machine the reconnect that learns of the expiry can take a while.
        tokio::time::timeout(self.inner.config.session_timeout * 4, expired)
            .await
            .map_err(|_| {
                ZkError::from_client("expire", "/", ZkVersion::MATCH_ANY, ClientError::Timeout)
            })
    }
}

/// Opens a session to `connect` within the configured connection timeout.
async fn connect_session(config: &ZkClientConfig, connect: &str) -> Result<zk::Client> {
    let connecting = zk::Client::connector()
        .with_session_timeout(config.session_timeout)
        .connect(connect);
    match tokio::time::timeout(config.connection_timeout, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(ClientError::BadArguments(reason))) => Err(ZkError::InvalidConnectString {
            connect: connect.to_string(),
            reason: reason.to_string(),
        }),
        Ok(Err(source)) => Err(ZkError::Connect {
            connect: connect.to_string(),
            source: ZooKeeperError(source),
        }),
        Err(_) => Err(ZkError::ConnectTimeout {
            connect: connect.to_string(),
            timeout_ms: config.connection_timeout.as_millis(),
        }),
    }
}

/// `waitUntilConnected`: returns once `client`'s session is connected, or fails if it ended.
async fn wait_until_connected(client: &zk::Client) -> std::result::Result<(), ClientError> {
    let mut states = client.state_watcher();
    loop {
        match states.peek_state() {
            zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => return Ok(()),
            zk::SessionState::Expired => return Err(ClientError::SessionExpired),
            zk::SessionState::AuthFailed => return Err(ClientError::AuthFailed),
            zk::SessionState::Closed => return Err(ClientError::ClientClosed),
            _ => {
                states.changed().await;
            }
        }
    }
}

/// Kafka's `ZooKeeperClient` session handling: on expiry, tell the subscribers, connect a new
/// session (retrying every second), swap it in, tell them again.
async fn supervise(inner: Weak<Inner>, mut states: zk::StateWatcher) {
    loop {
        let state = states.changed().await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        match state {
            zk::SessionState::Expired => {
                let expired = session_id_of(&strong);
                warn!(
                    session = format!("{expired:#x}"),
                    "ZooKeeper session expired; creating a new session"
                );
                notify(
                    &strong,
                    ZkSessionEvent::Expired {
                        session_id: expired,
                    },
                );
                drop(strong);
                states = loop {
                    let Some(strong) = inner.upgrade() else {
                        return;
                    };
                    let connect = strong.config.connect.clone();
                    match connect_session(&strong.config, &connect).await {
                        Ok(client) => {
                            let states = client.state_watcher();
                            let session_id = client.session_id().0;
                            {
                                let mut current = strong
                                    .client
                                    .write()
                                    .unwrap_or_else(PoisonError::into_inner);
                                if current.is_none() {
                                    return; // Closed meanwhile.
                                }
                                *current = Some(client);
                            }
                            strong.generation.send_modify(|g| *g += 1);
                            *lock(&strong.previous_session_id) = Some(expired);
                            info!(
                                session = format!("{session_id:#x}"),
                                "new ZooKeeper session established"
                            );
                            notify(&strong, ZkSessionEvent::Reinitialized { session_id });
                            break states;
                        }
                        Err(e) => {
                            warn!("cannot create a new ZooKeeper session, retrying in 1 s: {e}");
                            drop(strong);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                };
            }
            zk::SessionState::AuthFailed => {
                warn!("ZooKeeper authentication failed");
                notify(&strong, ZkSessionEvent::AuthFailed);
                return;
            }
            zk::SessionState::Closed => return,
            zk::SessionState::Disconnected => {
                info!("disconnected from ZooKeeper; reconnecting")
            }
            state => info!(%state, "ZooKeeper session state"),
        }
    }
}

fn session_id_of(inner: &Inner) -> i64 {
    inner
        .client
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or(0, |c| c.session_id().0)
}

type SessionSubscriber = Box<dyn Fn(ZkSessionEvent) -> bool + Send + Sync>;

fn notify(inner: &Inner, event: ZkSessionEvent) {
    lock(&inner.session_subscribers).retain(|subscriber| subscriber(event));
}
