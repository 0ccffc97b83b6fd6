//! LeaveGroup (key 13), v0–4 (flexible from 4): members leave at once instead of timing out (v3+ leave a batch).
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_leave_group(&self, request: LeaveGroupRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::LeaveGroup, version, correlation_id, async move { ResponseKind::LeaveGroup(coordinator.leave_group(request, version).await) })
    }
}
