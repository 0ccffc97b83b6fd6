//! JoinGroup (key 11), v0–7 (flexible from 6): a member joins its group; the answer waits for the join phase to end
//! (up to the group's rebalance timeout), as Kafka's `DelayedJoin`.
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, JoinGroupRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_join_group(&self, request: JoinGroupRequest, version: i16, correlation_id: i32, client_id: String, client_host: String) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::JoinGroup, version, correlation_id, async move {
            ResponseKind::JoinGroup(coordinator.join_group(request, version, &client_id, &client_host).await)
        })
    }
}
