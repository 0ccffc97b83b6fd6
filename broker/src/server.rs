//! The broker's lifecycle, Kafka's `KafkaServer.startup`/`shutdown`: the ZooKeeper session and
//! cluster id (when `zookeeper.connect` is set), log recovery, the socket server, registration in
//! `/brokers/ids`, and background tasks; on shutdown first the controlled shutdown (the
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

use crate::api::{now_ms, KafkaApis};
use crate::config::KafkaConfig;
use crate::controlled_shutdown::{controlled_shutdown, ControlledShutdownSettings};
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
    endpoint: BrokerEndpoint,
    metrics: Arc<NetworkMetrics>,
    replica_manager: Arc<ReplicaManager>,
    group_coordinator: Arc<odradek_coordinator::GroupCoordinator>,
    shutdown: watch::Sender<bool>,
    connections_done: mpsc::Receiver<()>,
    acceptor: JoinHandle<()>,
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
    let config = Arc::new(config);
    // Kafka's order: ZooKeeper session and top-level paths, cluster id, then log recovery.
    let zk = match &config.zookeeper_connect {
        Some(connect) => Some(zk_registration::connect(&config, connect).await?),
        None => None,
    };
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

    let bind = format!("{}:{}", if config.listener.host.is_empty() { "0.0.0.0" } else { &config.listener.host }, config.listener.port);
    let listener = TcpListener::bind(&bind).await.map_err(|source| BrokerError::Bind { addr: bind.clone(), source })?;
    let local_addr = listener.local_addr().map_err(|source| BrokerError::Bind { addr: bind.clone(), source })?;
    let endpoint = advertised_endpoint(&config, local_addr);

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
    if let Some((zk, _)) = &zk {
        replica_manager.set_zk_client(zk.clone());
    }
    let metadata_cache = Arc::new(MetadataCache::new());
    let metrics = Arc::new(NetworkMetrics::default());
    let apis = Arc::new(KafkaApis::new(
        Arc::clone(&config),
        Arc::clone(&replica_manager),
        Arc::clone(&metadata_cache),
        Arc::clone(&metrics),
        zk.as_ref().map(|(zk, _)| zk.clone()),
    ));

    let (zk, controller) = match zk {
        Some((zk, cluster_id)) => {
            let epoch = zk_registration::register(&zk, zk_registration::broker_info(broker_id, &endpoint), Arc::clone(&replica_manager)).await?;
            info!(broker_id, broker_epoch = epoch, %cluster_id, "joined the cluster");
            // Kafka's order: the controller starts right after registration.
            let controller_config = ControllerConfig {
                delete_topic_enable: config.delete_topic_enable,
                unclean_leader_election_enable: config.unclean_leader_election_enable,
            };
            let controller = KafkaController::start_with(zk.clone(), odradek_zk::BrokerId(broker_id), controller_config);
            apis.set_controller(controller.handle());
            (Some(zk), Some(controller))
        }
        None => (None, None),
    };
    let group_coordinator = Arc::clone(apis.group_coordinator());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (done_tx, connections_done) = mpsc::channel::<()>(1);
    let acceptor = tokio::spawn(accept_loop(listener, apis, shutdown_rx.clone(), done_tx));
    let flush_interval = config.log_flush_scheduler_interval_ms.min(config.log.flush_interval_ms);
    let tasks = [
        tasks::log_flusher::start(Arc::clone(&log_manager), flush_interval, shutdown_rx.clone()),
        tasks::recovery_point_checkpoint::start(Arc::clone(&log_manager), config.log_flush_offset_checkpoint_interval_ms, shutdown_rx.clone()),
        tasks::log_retention::start(Arc::clone(&replica_manager), config.log_retention_check_interval_ms, shutdown_rx.clone()),
        tasks::log_cleaner::start(Arc::clone(&replica_manager), config.log_cleaner.enable, config.log_cleaner.backoff_ms, shutdown_rx.clone()),
        tasks::high_watermark_checkpoint::start(Arc::clone(&replica_manager), config.replica_high_watermark_checkpoint_interval_ms, shutdown_rx.clone()),
        tasks::isr_expiration::start(Arc::clone(&replica_manager), config.replica_lag_time_max_ms, shutdown_rx.clone()),
        Some(alter_isr_manager::start(Arc::clone(&replica_manager), Arc::clone(&metadata_cache), shutdown_rx.clone())),
    ]
    .into_iter()
    .flatten()
    .collect();
    info!(broker_id, %local_addr, advertised = %format!("{}:{}", endpoint.host, endpoint.port), "broker started");
    Ok(BrokerHandle { config, local_addr, endpoint, metrics, replica_manager, group_coordinator, shutdown, connections_done, acceptor, tasks, zk, controller })
}

async fn accept_loop(listener: TcpListener, apis: Arc<KafkaApis>, mut shutdown: watch::Receiver<bool>, done: mpsc::Sender<()>) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                apis.metrics().connections_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (apis, shutdown, done) = (Arc::clone(&apis), shutdown.clone(), done.clone());
                tokio::spawn(async move {
                    connection::run(stream, peer, apis, shutdown).await;
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

/// The endpoint clients are told about: `advertised.listeners`, else `listeners`; an empty or
/// wildcard host becomes the machine's host name, port 0 the port actually bound.
fn advertised_endpoint(config: &KafkaConfig, bound: SocketAddr) -> BrokerEndpoint {
    let listener = config.advertised_listener.as_ref().unwrap_or(&config.listener);
    let host = match listener.host.as_str() {
        "" | "0.0.0.0" | "::" => nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".to_string()),
        h => h.to_string(),
    };
    let port = if listener.port == 0 { bound.port() } else { listener.port };
    BrokerEndpoint { id: config.broker_id, host, port: port as i32, rack: None }
}

impl BrokerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn endpoint(&self) -> &BrokerEndpoint {
        &self.endpoint
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
        let _ = self.acceptor.await;
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
