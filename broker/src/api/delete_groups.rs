//! DeleteGroups (key 42), v0–2 (flexible from 2): removes empty groups and their offsets (tombstones in
//! `__consumer_offsets`).
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, DeleteGroupsRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_delete_groups(&self, request: DeleteGroupsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::DeleteGroups, version, correlation_id, async move { ResponseKind::DeleteGroups(coordinator.delete_groups(request, version).await) })
    }
}
