//! `KafkaApis`: one handler per API key, one file each. A handler gets the decoded request and
//! returns a [`PendingResponse`]; per-partition failures are error codes inside the response,
//! never an early return.
//!
//! Handlers that must talk to ZooKeeper or the controller (CreateTopics, DeleteTopics,
//! ControlledShutdown, the config APIs, a Metadata request that auto-creates topics) answer
//! [`PendingResponse::Later`]: the work runs when the connection's writer reaches the response,
//! so it starts after the connection's earlier responses are out, as with Kafka's muted channel.

mod alter_configs;
mod alter_isr;
mod api_versions;
mod controlled_shutdown;
mod create_topics;
mod delete_groups;
mod delete_topics;
mod describe_configs;
mod describe_groups;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod join_group;
mod leader_and_isr;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod stop_replica;
mod sync_group;
mod update_metadata;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use odradek_controller::ControllerHandle;
use odradek_coordinator::{GroupConfig, GroupCoordinator};
use odradek_protocol::{encode_response, Request};
use odradek_zk::KafkaZkClient;
use tracing::error;

use crate::admin_manager::ZkAdminManager;
use crate::auto_topic_creation::AutoTopicCreationManager;
use crate::config::{GroupCoordinatorConfig, KafkaConfig};
use crate::metadata_cache::MetadataCache;
use crate::network::{NetworkMetrics, PendingResponse, Response};
use crate::offsets_log::ReplicaOffsetsLog;
use crate::replica_manager::ReplicaManager;

pub struct KafkaApis {
    config: Arc<KafkaConfig>,
    replica_manager: Arc<ReplicaManager>,
    metadata_cache: Arc<MetadataCache>,
    metrics: Arc<NetworkMetrics>,
    /// Topic creation and deletion through ZooKeeper; `None` without `zookeeper.connect`.
    admin_manager: Option<Arc<ZkAdminManager>>,
    /// Metadata's and FindCoordinator's auto-creation; `None` without ZooKeeper.
    auto_topic_creation: Option<Arc<AutoTopicCreationManager>>,
    /// The group coordinator for the `__consumer_offsets` partitions this broker leads.
    group_coordinator: Arc<GroupCoordinator>,
    /// This broker's controller module, set once it has started (after registration).
    controller: OnceLock<ControllerHandle>,
    /// DescribeConfigs, AlterConfigs, IncrementalAlterConfigs; set when in a cluster.
    config_admin: OnceLock<Arc<crate::dynamic_config::ConfigAdmin>>,
    /// `/cluster/id`, as Metadata v2+ reports it; `None` without ZooKeeper.
    cluster_id: Option<String>,
}

impl KafkaApis {
    pub fn new(
        config: Arc<KafkaConfig>,
        replica_manager: Arc<ReplicaManager>,
        metadata_cache: Arc<MetadataCache>,
        metrics: Arc<NetworkMetrics>,
        zk: Option<KafkaZkClient>,
        cluster_id: Option<String>,
    ) -> KafkaApis {
        let admin_manager = zk.map(|zk| Arc::new(ZkAdminManager::new(Arc::clone(&config), zk, Arc::clone(&metadata_cache))));
        let auto_topic_creation = admin_manager.as_ref().map(|admin| Arc::new(AutoTopicCreationManager::new(Arc::clone(&config), Arc::clone(admin))));
        let offsets_log = Arc::new(ReplicaOffsetsLog::new(Arc::clone(&replica_manager), Arc::clone(&metadata_cache)));
        let group_coordinator = GroupCoordinator::new(config.broker_id, group_config(&config.group), offsets_log);
        KafkaApis {
            config,
            replica_manager,
            metadata_cache,
            metrics,
            admin_manager,
            auto_topic_creation,
            group_coordinator,
            controller: OnceLock::new(),
            config_admin: OnceLock::new(),
            cluster_id,
        }
    }

    /// Hands the config APIs their ZooKeeper-backed admin (only the first call counts).
    pub fn set_config_admin(&self, admin: Arc<crate::dynamic_config::ConfigAdmin>) {
        let _ = self.config_admin.set(admin);
    }

    pub fn group_coordinator(&self) -> &Arc<GroupCoordinator> {
        &self.group_coordinator
    }

    /// Hands the handlers this broker's controller (`KafkaServer.startup` starts it after
    /// registering). Only the first call counts.
    pub fn set_controller(&self, handle: ControllerHandle) {
        let _ = self.controller.set(handle);
    }

    /// True while this broker is the active controller: only then are CreateTopics and
    /// DeleteTopics served.
    fn is_active_controller(&self) -> bool {
        self.controller.get().is_some_and(ControllerHandle::is_active)
    }

    pub fn config(&self) -> &Arc<KafkaConfig> {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<NetworkMetrics> {
        &self.metrics
    }

    /// Dispatches one request that arrived from `peer` on the listener named `listener` (Kafka's
    /// `RequestContext.listenerName`: Metadata and FindCoordinator answer that listener's
    /// endpoints). Ordered work (appends, control requests) happens before this returns; only
    /// waiting (a long-polling fetch) is deferred.
    pub fn handle(self: &Arc<Self>, request: Request, peer: SocketAddr, listener: &str) -> PendingResponse {
        let version = request.api_version();
        let correlation_id = request.correlation_id();
        let api_key = request.api_key;
        let client_id = request.header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default();
        let body = match request.body {
            RequestKind::ApiVersions(_) => api_versions::handle(version),
            RequestKind::Metadata(r) => return self.handle_metadata(r, version, correlation_id, listener),
            RequestKind::CreateTopics(r) => return self.handle_create_topics(r, version, correlation_id),
            RequestKind::DeleteTopics(r) => return self.handle_delete_topics(r, version, correlation_id),
            RequestKind::DescribeConfigs(r) => return self.handle_describe_configs(r, version, correlation_id),
            RequestKind::AlterConfigs(r) => return self.handle_alter_configs(r, version, correlation_id),
            RequestKind::IncrementalAlterConfigs(r) => return self.handle_incremental_alter_configs(r, version, correlation_id),
            RequestKind::ControlledShutdown(r) => return self.handle_controlled_shutdown(r, version, correlation_id),
            RequestKind::OffsetForLeaderEpoch(r) => self.handle_offset_for_leader_epoch(r, version),
            RequestKind::AlterPartition(r) => return self.handle_alter_isr(r, version, correlation_id),
            RequestKind::Produce(r) => return self.handle_produce(r, version, correlation_id),
            RequestKind::Fetch(r) => return self.handle_fetch(r, version, correlation_id),
            RequestKind::ListOffsets(r) => self.handle_list_offsets(r, version),
            RequestKind::FindCoordinator(r) => return self.handle_find_coordinator(r, version, correlation_id, listener),
            // Kafka prints the client host as `InetAddress.toString`: "/127.0.0.1".
            RequestKind::JoinGroup(r) => return self.handle_join_group(r, version, correlation_id, client_id, format!("/{}", peer.ip())),
            RequestKind::SyncGroup(r) => return self.handle_sync_group(r, version, correlation_id),
            RequestKind::Heartbeat(r) => return self.handle_heartbeat(r, version, correlation_id),
            RequestKind::LeaveGroup(r) => return self.handle_leave_group(r, version, correlation_id),
            RequestKind::OffsetCommit(r) => return self.handle_offset_commit(r, version, correlation_id),
            RequestKind::OffsetFetch(r) => return self.handle_offset_fetch(r, version, correlation_id),
            RequestKind::DeleteGroups(r) => return self.handle_delete_groups(r, version, correlation_id),
            RequestKind::ListGroups(r) => self.handle_list_groups(r, version),
            RequestKind::DescribeGroups(r) => self.handle_describe_groups(r, version),
            RequestKind::LeaderAndIsr(r) => self.handle_leader_and_isr(r, version),
            RequestKind::UpdateMetadata(r) => self.handle_update_metadata(r, version),
            RequestKind::StopReplica(r) => self.handle_stop_replica(r, version),
            other => {
                // Unreachable while `SUPPORTED_APIS` and this match agree; close rather than guess.
                error!(?api_key, "request kind without a handler: {:?}", std::mem::discriminant(&other));
                return PendingResponse::Ready(Response::Close);
            }
        };
        PendingResponse::Ready(respond(api_key, version, correlation_id, &body))
    }
}

/// The coordinator's settings from the broker's `offsets.*` and `group.*` keys.
fn group_config(c: &GroupCoordinatorConfig) -> GroupConfig {
    GroupConfig {
        group_min_session_timeout_ms: c.group_min_session_timeout_ms,
        group_max_session_timeout_ms: c.group_max_session_timeout_ms,
        group_initial_rebalance_delay_ms: c.group_initial_rebalance_delay_ms,
        group_max_size: c.group_max_size,
        offset_metadata_max_bytes: c.offset_metadata_max_bytes.max(0) as usize,
        offsets_commit_timeout_ms: c.offsets_commit_timeout_ms,
        offsets_retention_ms: c.offsets_retention_ms,
        offsets_retention_check_interval_ms: c.offsets_retention_check_interval_ms,
        offsets_topic_num_partitions: c.offsets_topic_num_partitions,
    }
}

/// Encodes a response body, or closes the connection if that is impossible (a broker bug).
pub(crate) fn respond(api_key: ApiKey, version: i16, correlation_id: i32, body: &ResponseKind) -> Response {
    match encode_response(api_key, version, correlation_id, body) {
        Ok(frame) => Response::Frame(frame),
        Err(e) => {
            error!(?api_key, version, error = %e, "cannot encode response; closing connection");
            Response::Close
        }
    }
}

/// A response whose body `work` computes when the connection's writer gets to it.
pub(crate) fn respond_later(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    work: impl Future<Output = ResponseKind> + Send + 'static,
) -> PendingResponse {
    PendingResponse::Later(Box::pin(async move { respond(api_key, version, correlation_id, &work.await) }))
}

pub(crate) use odradek_log::now_ms;
pub(crate) use odradek_protocol::topic_name;
