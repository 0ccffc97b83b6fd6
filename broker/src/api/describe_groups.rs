//! DescribeGroups (key 15), v0–5 (flexible from 5): state, protocol and members of groups this broker coordinates.
//! The semantics live in `odradek_coordinator::GroupCoordinator`; this only routes.

use kafka_protocol::messages::{DescribeGroupsRequest, ResponseKind};

use super::KafkaApis;

impl KafkaApis {
    pub(super) fn handle_describe_groups(&self, request: DescribeGroupsRequest, version: i16) -> ResponseKind {
        ResponseKind::DescribeGroups(self.group_coordinator.describe_groups(request, version))
    }
}
