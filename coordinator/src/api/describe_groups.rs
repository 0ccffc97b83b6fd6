//! DescribeGroups (API key 15): state, protocol and members of groups (kafka-consumer-groups --describe).
//!
//! Member subscriptions and assignments are only shown for a Stable group, as in Kafka: in any other
//! state they belong to a generation that is being replaced.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;

/// Kafka's "authorized operations not requested / not computed" marker.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl GroupCoordinator {
    pub fn describe_groups(
        &self,
        request: DescribeGroupsRequest,
        version: i16,
    ) -> DescribeGroupsResponse {
        let mgr = self.lock();
        let groups = request
            .groups
            .iter()
            .map(|group_id| {
                let mut described = DescribedGroup::default()
                    .with_group_id(group_id.clone())
                    .with_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
                if let Some(error) = self.validate_group_status(&mgr, group_id.0.as_str(), true) {
                    return described.with_error_code(error);
                }
                let Some(group) = mgr.groups.get(group_id.0.as_str()) else {
                    return described
                        .with_group_state(StrBytes::from_static_str(GroupState::Dead.name()));
                };
                let stable = group.is(GroupState::Stable);
                let protocol = if stable {
                    group.protocol_name.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                described.group_state = StrBytes::from_static_str(group.state().name());
                described.protocol_type =
                    StrBytes::from_string(group.protocol_type.clone().unwrap_or_default());
                described.protocol_data = StrBytes::from_string(protocol.clone());
                described.members = group
                    .members
                    .values()
                    .map(|m| {
                        let mut member = DescribedGroupMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id.clone()))
                            .with_client_id(StrBytes::from_string(m.client_id.clone()))
                            .with_client_host(StrBytes::from_string(m.client_host.clone()));
                        if version >= 4 {
                            member.group_instance_id =
                                m.group_instance_id.clone().map(StrBytes::from_string);
                        }
                        if stable {
                            member.member_metadata = m.metadata(&protocol);
                            member.member_assignment = m.assignment.clone();
                        }
                        member
                    })
                    .collect();
                described.with_error_code(ec::NONE)
            })
            .collect();
        DescribeGroupsResponse::default().with_groups(groups)
    }
}
