//! ListGroups (key 16), v0–4 (flexible from 3; v4 filters by state): the groups this broker coordinates (clients ask every broker).
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use kafka_protocol::messages::{ListGroupsRequest, ResponseKind};

use super::KafkaApis;

impl KafkaApis {
    pub(super) fn handle_list_groups(&self, request: ListGroupsRequest, version: i16) -> ResponseKind {
        ResponseKind::ListGroups(self.group_coordinator.list_groups(request, version))
    }
}
