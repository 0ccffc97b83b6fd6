//! Heartbeat (key 12), v0–4 (flexible from 4): keeps a member's session alive and tells it when to rejoin.
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, HeartbeatRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_heartbeat(&self, request: HeartbeatRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::Heartbeat, version, correlation_id, async move { ResponseKind::Heartbeat(coordinator.heartbeat(request, version).await) })
    }
}
