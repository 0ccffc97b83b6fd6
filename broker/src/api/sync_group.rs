//! SyncGroup (key 14), v0–5 (flexible from 4; v5 names the protocol, KIP-559): the leader hands in the assignment; every member waits for its
//! share until the group record is written to `__consumer_offsets`.
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, SyncGroupRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_sync_group(&self, request: SyncGroupRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::SyncGroup, version, correlation_id, async move { ResponseKind::SyncGroup(coordinator.sync_group(request, version).await) })
    }
}
