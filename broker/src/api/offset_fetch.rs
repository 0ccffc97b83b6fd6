//! OffsetFetch (key 9), v0–7 (flexible from 6; v7 may require stable offsets): a group's committed offsets (−1 where none). v0 reads
//! `__consumer_offsets` too, not ZooKeeper (docs/COMPATIBILITY.md).
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, OffsetFetchRequest, ResponseKind};

use super::{respond_later, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_offset_fetch(&self, request: OffsetFetchRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let coordinator = Arc::clone(&self.group_coordinator);
        respond_later(ApiKey::OffsetFetch, version, correlation_id, async move { ResponseKind::OffsetFetch(coordinator.offset_fetch(request, version).await) })
    }
}
