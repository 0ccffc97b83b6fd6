//! The broker's lifecycle, Kafka's `KafkaServer.startup`/`shutdown`: the ZooKeeper session and
//! cluster id (when `zookeeper.connect` is set), log recovery, the socket server (one acceptor per
//! listener, each connection tagged with its listener's name), registration in `/brokers/ids`
//! (one endpoint per advertised listener), and background tasks; on shutdown first the controlled shutdown (the
//! controller moves this broker's leadership away, while the broker still serves), then stop
//! accepting, drain connections, and the clean log shutdown (flush, recovery-point checkpoint,
//! `.kafka_cleanshutdown`).
//!
//! Shutdown is a named mechanism (mini-redis style): a `watch` flag every task selects on, and a
//! completion channel each connection holds a sender of; when every sender is dropped, all
//! in-flight requests have finished and the logs can be closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use odradek_controller::{ControllerConfig, KafkaController};
use odradek_log::{LogError, LogManager};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api::KafkaApis;
use odradek_log::now_ms;
use crate::config::KafkaConfig;
use crate::controlled_shutdown::{controlled_shutdown, ControlledShutdownSettings};
use crate::dynamic_config::{load_dynamic_broker_configs, ConfigAdmin, DynamicBrokerConfig, DynamicConfigManager, TopicConfigHandler};
use crate::config::Listener;
use crate::metadata_cache::{BrokerEndpoint, MetadataCache};
use crate::network::{connection, NetworkMetrics};
use crate::alter_isr_manager;
use crate::replica_fetcher::FetcherConfig;
use crate::replica_manager::{ReplicaManager, ReplicationConfig};
use crate::tasks;
use crate::zk_registration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    Log(#[from] LogError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("log recovery task failed: {0}")]
    Join(String),
    #[error("{0}")]
    ZooKeeper(#[from] odradek_zk::ZkError),
}

/// A running broker.
pub struct BrokerHandle {
    config: Arc<KafkaConfig>,
    local_addr: SocketAddr,
    /// Each listener's name and bound address, in `listeners` order.
    listener_addrs: Vec<(String, SocketAddr)>,
    /// The registered endpoints, in `advertised.listeners` order.
    endpoints: Vec<odradek_zk::EndPoint>,
    endpoint: BrokerEndpoint,
    metrics: Arc<NetworkMetrics>,
    replica_manager: Arc<ReplicaManager>,
    group_coordinator: Arc<odradek_coordinator::GroupCoordinator>,
    shutdown: watch::Sender<bool>,
    connections_done: mpsc::Receiver<()>,
    acceptors: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    /// The ZooKeeper session, when `zookeeper.connect` is set; its end removes the registration.
    zk: Option<odradek_zk::KafkaZkClient>,
    /// The controller event loop every ZooKeeper-coordinated broker runs (active if it won
    /// `/controller`).
    controller: Option<KafkaController>,
}

/// How long a clean shutdown waits for in-flight requests before closing the logs anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn start(config: KafkaConfig) -> Result<BrokerHandle, BrokerError> {
    // Kafka's order: ZooKeeper session and top-level paths, cluster id, dynamic broker configs,
    // then log recovery.
    let zk = match &config.zookeeper_connect {
        Some(connect) => Some(zk_registration::connect(&config, connect).await?),
        None => None,
    };
    let dynamic_config = Arc::new(DynamicBrokerConfig::new(&config));
    if let Some((zk, _)) = &zk {
        load_dynamic_broker_configs(zk, &dynamic_config).await?;
    }
    let config = dynamic_config.effective();
    let dirs = config.log_dirs.clone();
    let log_config = config.log.clone();
    let broker_id = config.broker_id;
    let log_manager = tokio::task::spawn_blocking(move || LogManager::startup(dirs, log_config, broker_id, now_ms()))
        .await
        .map_err(|e| BrokerError::Join(e.to_string()))??;
    let log_manager = Arc::new(log_manager);
    if let Some((_, cluster_id)) = &zk {
        // A log dir that belongs to another cluster stops the broker here.
        log_manager.set_cluster_id(cluster_id)?;
    }

    let mut sockets = Vec::with_capacity(config.listeners.len());
    for l in &config.listeners {
        sockets.push((l.name.clone(), bind(l).await?));
    }
    let listener_addrs: Vec<(String, SocketAddr)> = sockets.iter().map(|(name, (_, addr))| (name.clone(), *addr)).collect();
    let local_addr = listener_addrs.first().map(|(_, addr)| *addr).ok_or_else(|| BrokerError::Bind { addr: "listeners".to_string(), source: std::io::Error::other("no listener configured") })?;
    let endpoints = advertised_endpoints(&config, &listener_addrs);
    let endpoint = first_endpoint(broker_id, &endpoints);

    let replication = ReplicationConfig {
        replica_lag_time_max_ms: config.replica_lag_time_max_ms,
        min_insync_replicas: config.min_insync_replicas,
        fetcher: FetcherConfig {
            max_wait_ms: config.replica_fetch_wait_max_ms,
            min_bytes: config.replica_fetch_min_bytes,
            max_bytes: config.replica_fetch_response_max_bytes,
            partition_max_bytes: config.replica_fetch_max_bytes,
            backoff_ms: config.replica_fetch_backoff_ms,
            socket_timeout_ms: config.replica_socket_timeout_ms,
        },
    };
    let replica_manager = Arc::new(ReplicaManager::with_config(broker_id, Arc::clone(&log_manager), replication));
    let topic_config_handler = zk.as_ref().map(|(zk, _)| Arc::new(TopicConfigHandler::new(zk.clone(), Arc::clone(&dynamic_config))));
    if let Some(handler) = &topic_config_handler {
        replica_manager.set_topic_config_handler(Arc::clone(handler));
    }
    let metadata_cache = Arc::new(MetadataCache::new());
    let metrics = Arc::new(NetworkMetrics::default());
    let apis = Arc::new(KafkaApis::new(
        Arc::clone(&config),
        Arc::clone(&replica_manager),
        Arc::clone(&metadata_cache),
        Arc::clone(&metrics),
        zk.as_ref().map(|(zk, _)| zk.clone()),
        zk.as_ref().map(|(_, cluster_id)| cluster_id.clone()),
    ));
    if let Some((zk, _)) = &zk {
        apis.set_config_admin(Arc::new(ConfigAdmin::new(zk.clone(), Arc::clone(&dynamic_config), Arc::clone(&metadata_cache))));
    }

    let (zk, controller) = match zk {
        Some((zk, cluster_id)) => {
            let epoch = zk_registration::register(&zk, zk_registration::broker_info(broker_id, endpoints.clone()), Arc::clone(&replica_manager)).await?;
            info!(broker_id, broker_epoch = epoch, %cluster_id, "joined the cluster");
            // Kafka's order: the controller starts right after registration.
            let controller_config = ControllerConfig {
                delete_topic_enable: config.delete_topic_enable,
                unclean_leader_election_enable: config.unclean_leader_election_enable,
                inter_broker_listener_name: config.inter_broker_listener_name.clone(),
            };
            let controller = KafkaController::start_with(zk.clone(), odradek_zk::BrokerId(broker_id), controller_config);
            apis.set_controller(controller.handle());
            (Some(zk), Some(controller))
        }
        None => (None, None),
    };
    let group_coordinator = Arc::clone(apis.group_coordinator());
    let (shutdown, shutdown_rx) = watch::channel(false);
    // Kafka starts the DynamicConfigManager just before the socket server accepts requests.
    let config_manager = match (&zk, topic_config_handler) {
        (Some(zk), Some(handler)) => Some(DynamicConfigManager::new(zk.clone(), Arc::clone(&dynamic_config), handler).start(shutdown_rx.clone())),
        _ => None,
    };
    let (done_tx, connections_done) = mpsc::channel::<()>(1);
    let acceptors = sockets
        .into_iter()
        .map(|(name, (socket, _))| tokio::spawn(accept_loop(socket, Arc::from(name), Arc::clone(&apis), shutdown_rx.clone(), done_tx.clone())))
        .collect();
    drop(done_tx);
    let flush_interval = config.log_flush_scheduler_interval_ms.min(config.log.flush_interval_ms);
    let tasks = [
        tasks::log_flusher::start(Arc::clone(&log_manager), flush_interval, shutdown_rx.clone()),
        tasks::recovery_point_checkpoint::start(Arc::clone(&log_manager), config.log_flush_offset_checkpoint_interval_ms, shutdown_rx.clone()),
        tasks::log_retention::start(Arc::clone(&replica_manager), config.log_retention_check_interval_ms, shutdown_rx.clone()),
        tasks::log_cleaner::start(Arc::clone(&replica_manager), config.log_cleaner.enable, config.log_cleaner.backoff_ms, shutdown_rx.clone()),
        tasks::high_watermark_checkpoint::start(Arc::clone(&replica_manager), config.replica_high_watermark_checkpoint_interval_ms, shutdown_rx.clone()),
        tasks::isr_expiration::start(Arc::clone(&replica_manager), config.replica_lag_time_max_ms, shutdown_rx.clone()),
        Some(alter_isr_manager::start(Arc::clone(&replica_manager), Arc::clone(&metadata_cache), config.inter_broker_listener_name.clone(), shutdown_rx.clone())),
        config_manager,
    ]
    .into_iter()
    .flatten()
    .collect();
    let bound: Vec<String> = listener_addrs.iter().map(|(name, addr)| format!("{name}://{addr}")).collect();
    let advertised: Vec<String> = endpoints.iter().map(odradek_zk::EndPoint::connection_string).collect();
    info!(broker_id, listeners = %bound.join(","), advertised = %advertised.join(","), inter_broker_listener = %config.inter_broker_listener_name, "broker started");
    Ok(BrokerHandle { config, local_addr, listener_addrs, endpoints, endpoint, metrics, replica_manager, group_coordinator, shutdown, connections_done, acceptors, tasks, zk, controller })
}

/// Binds one listener; an empty host means every interface.
async fn bind(l: &Listener) -> Result<(TcpListener, SocketAddr), BrokerError> {
    let addr = match l.host.as_str() {
        "" => format!("0.0.0.0:{}", l.port),
        h if h.contains(':') => format!("[{h}]:{}", l.port),
        h => format!("{h}:{}", l.port),
    };
    let socket = TcpListener::bind(&addr).await.map_err(|source| BrokerError::Bind { addr: format!("{}://{addr}", l.name), source })?;
    let local = socket.local_addr().map_err(|source| BrokerError::Bind { addr: format!("{}://{addr}", l.name), source })?;
    Ok((socket, local))
}

/// Kafka's `Acceptor` for one listener: every connection it accepts knows the listener's name.
async fn accept_loop(listener: TcpListener, name: Arc<str>, apis: Arc<KafkaApis>, mut shutdown: watch::Receiver<bool>, done: mpsc::Sender<()>) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                apis.metrics().connections_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (apis, shutdown, done, name) = (Arc::clone(&apis), shutdown.clone(), done.clone(), Arc::clone(&name));
                tokio::spawn(async move {
                    connection::run(stream, peer, name, apis, shutdown).await;
                    drop(done);
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The endpoints registered in ZooKeeper, one per `advertised.listeners` entry: an empty or
/// wildcard host becomes the machine's host name, port 0 the port the same-named listener bound.
fn advertised_endpoints(config: &KafkaConfig, bound: &[(String, SocketAddr)]) -> Vec<odradek_zk::EndPoint> {
    config
        .advertised_listeners
        .iter()
        .map(|l| {
            let host = match l.host.as_str() {
                "" | "0.0.0.0" | "::" => nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".to_string()),
                h => h.to_string(),
            };
            let bound_port = bound.iter().find(|(name, _)| *name == l.name).map_or(0, |(_, addr)| addr.port());
            let port = if l.port == 0 { bound_port } else { l.port };
            // Config validation maps every listener; only PLAINTEXT is served.
            let security_protocol = config.listener_security_protocol_map.get(&l.name).copied().unwrap_or(odradek_zk::SecurityProtocol::Plaintext);
            odradek_zk::EndPoint { host, port: i32::from(port), listener_name: l.name.clone(), security_protocol }
        })
        .collect()
}

/// The first advertised endpoint, as the ready line reports it.
fn first_endpoint(broker_id: i32, endpoints: &[odradek_zk::EndPoint]) -> BrokerEndpoint {
    let (host, port) = endpoints.first().map_or((String::new(), -1), |e| (e.host.clone(), e.port));
    BrokerEndpoint { id: broker_id, host, port, rack: None }
}

impl BrokerHandle {
    /// The bound address of the first listener in `listeners`.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every listener's name and bound address, in `listeners` order.
    pub fn listener_addrs(&self) -> &[(String, SocketAddr)] {
        &self.listener_addrs
    }

    /// The first advertised endpoint.
    pub fn endpoint(&self) -> &BrokerEndpoint {
        &self.endpoint
    }

    /// Every endpoint registered in `/brokers/ids/<id>`, in `advertised.listeners` order.
    pub fn advertised_endpoints(&self) -> &[odradek_zk::EndPoint] {
        &self.endpoints
    }

    pub fn metrics(&self) -> &Arc<NetworkMetrics> {
        &self.metrics
    }

    pub fn replica_manager(&self) -> &Arc<ReplicaManager> {
        &self.replica_manager
    }

    /// The broker's ZooKeeper client, when `zookeeper.connect` is set (for chaos tests that
    /// expire its session).
    pub fn zk_client(&self) -> Option<&odradek_zk::KafkaZkClient> {
        self.zk.as_ref()
    }

    /// Clean shutdown, Kafka's `KafkaServer.shutdown`: with ZooKeeper, first the controlled
    /// shutdown (`controlled.shutdown.enable`), while this broker still serves; then stop
    /// accepting and reading, let in-flight requests finish, flush and close every log and leave
    /// the clean-shutdown marker.
    pub async fn shutdown(mut self) -> Result<(), BrokerError> {
        info!("shutting down");
        if let (Some(zk), true) = (&self.zk, self.config.controlled_shutdown_enable) {
            let replica_manager = Arc::clone(&self.replica_manager);
            let settings = ControlledShutdownSettings::from_config(&self.config);
            controlled_shutdown(zk, self.config.broker_id, || replica_manager.broker_epoch(), settings).await;
        }
        if let Some(controller) = self.controller.take() {
            // Resign first (stop the request senders); `/controller` goes with the session below.
            controller.shutdown().await;
        }
        let _ = self.shutdown.send(true);
        self.group_coordinator.shutdown();
        self.replica_manager.shutdown_fetchers();
        for a in self.acceptors.drain(..) {
            let _ = a.await;
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if tokio::time::timeout(DRAIN_TIMEOUT, self.connections_done.recv()).await.is_err() {
            warn!("connections still busy after {DRAIN_TIMEOUT:?}; closing logs anyway");
        }
        if let Err(e) = self.replica_manager.log_manager().checkpoint_high_watermarks(&self.replica_manager.high_watermarks()) {
            warn!(error = %e, "cannot write replication-offset-checkpoint");
        }
        let log_manager = Arc::clone(self.replica_manager.log_manager());
        tokio::task::spawn_blocking(move || log_manager.shutdown()).await.map_err(|e| BrokerError::Join(e.to_string()))??;
        if let Some(zk) = self.zk.take() {
            // Ends the session: the ephemeral /brokers/ids/<id> goes with it.
            zk.close().await;
        }
        info!(sendfile_bytes = self.metrics.sendfile_bytes(), copied_bytes = self.metrics.copied_bytes(), "shut down cleanly");
        Ok(())
    }
}
