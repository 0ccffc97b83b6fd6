//! OffsetCommit (key 8), v0–8 (flexible from 8): commits are appended to the group's `__consumer_offsets` partition
//! with acks=−1 and acknowledged once replicated. v0 is stored there too, not in ZooKeeper
//! (docs/COMPATIBILITY.md).
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_offset_commit(&self, request: OffsetCommitRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::OffsetCommit, version, correlation_id, async move { ResponseKind::OffsetCommit(coordinator.offset_commit(request, version).await) })
    }
}
