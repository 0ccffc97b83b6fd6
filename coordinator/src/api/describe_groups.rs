//! DescribeGroups (API key 15): state, protocol and members of groups (kafka-consumer-groups --describe).
//!
//! Member subscriptions and assignments are only shown for a Stable group, as in Kafka: in any other
//! state they belong to a generation that is being replaced.
//!
//! From v3 (KIP-430) a client may ask for the operations it is allowed on each group. Odradek has
//! no authorizer, and Kafka 2.8 without one answers every operation a group supports (READ,
//! DESCRIBE, DELETE, as a bit per ACL operation code); a group that answers an error, or a request
//! that did not ask, carries Kafka's "omitted" marker instead.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;

/// Kafka's "authorized operations not requested / not computed" marker.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;
/// `AclEntry.supportedOperations(GROUP)` as `Utils.to32BitField`: READ (3), DELETE (6), DESCRIBE (8).
const GROUP_AUTHORIZED_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

impl GroupCoordinator {
    pub fn describe_groups(
        &self,
        request: DescribeGroupsRequest,
        version: i16,
    ) -> DescribeGroupsResponse {
        let include_operations = version >= 3 && request.include_authorized_operations;
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
                if include_operations {
                    described.authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
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
