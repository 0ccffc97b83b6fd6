//! `KafkaApis`: one handler per API key, one file each. A handler gets the decoded request and
//! returns a [`PendingResponse`]; per-partition failures are error codes inside the response,
//! never an early return.

mod api_versions;
mod fetch;
mod find_coordinator;
mod leader_and_isr;
mod list_offsets;
mod metadata;
mod produce;
mod stop_replica;
mod update_metadata;

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use odradek_protocol::{encode_response, Request};
use tracing::error;

use crate::config::KafkaConfig;
use crate::metadata_cache::MetadataCache;
use crate::network::{NetworkMetrics, PendingResponse, Response};
use crate::replica_manager::ReplicaManager;

pub struct KafkaApis {
    config: Arc<KafkaConfig>,
    replica_manager: Arc<ReplicaManager>,
    metadata_cache: Arc<MetadataCache>,
    metrics: Arc<NetworkMetrics>,
}

impl KafkaApis {
    pub fn new(
        config: Arc<KafkaConfig>,
        replica_manager: Arc<ReplicaManager>,
        metadata_cache: Arc<MetadataCache>,
        metrics: Arc<NetworkMetrics>,
    ) -> KafkaApis {
        KafkaApis { config, replica_manager, metadata_cache, metrics }
    }

    pub fn config(&self) -> &Arc<KafkaConfig> {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<NetworkMetrics> {
        &self.metrics
    }

    /// Dispatches one request. Ordered work (appends, control requests) happens before this
    /// returns; only waiting (a long-polling fetch) is deferred.
    pub fn handle(self: &Arc<Self>, request: Request) -> PendingResponse {
        let version = request.api_version();
        let correlation_id = request.correlation_id();
        let api_key = request.api_key;
        let body = match request.body {
            RequestKind::ApiVersions(_) => api_versions::handle(version),
            RequestKind::Metadata(r) => self.handle_metadata(r, version),
            RequestKind::Produce(r) => return PendingResponse::Ready(self.handle_produce(r, version, correlation_id)),
            RequestKind::Fetch(r) => return self.handle_fetch(r, version, correlation_id),
            RequestKind::ListOffsets(r) => self.handle_list_offsets(r, version),
            RequestKind::FindCoordinator(r) => self.handle_find_coordinator(r, version),
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
