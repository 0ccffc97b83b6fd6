//! LeaveGroup (API key 13): a member departs without waiting for its session to time out.
//!
//! v0–2 name one member; v3+ (KIP-345) carry a list, each answered with its own error, so an
//! operator can remove static members by `group.instance.id`. Removing a member from a Stable or
//! CompletingRebalance group starts a rebalance.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;

impl GroupCoordinator {
    pub async fn leave_group(
        &self,
        request: LeaveGroupRequest,
        version: i16,
    ) -> LeaveGroupResponse {
        let leaving: Vec<(String, Option<String>)> = if version >= 3 {
            request
                .members
                .iter()
                .map(|m| {
                    (
                        m.member_id.to_string(),
                        m.group_instance_id.as_ref().map(|s| s.to_string()),
                    )
                })
                .collect()
        } else {
            vec![(request.member_id.to_string(), None)]
        };
        let (top_error, member_errors) =
            self.handle_leave_group(request.group_id.0.as_str(), &leaving);
        if version >= 3 {
            let members = leaving
                .into_iter()
                .zip(member_errors)
                .map(|((member_id, instance), error)| {
                    MemberResponse::default()
                        .with_member_id(StrBytes::from_string(member_id))
                        .with_group_instance_id(instance.map(StrBytes::from_string))
                        .with_error_code(error)
                })
                .collect();
            LeaveGroupResponse::default()
                .with_error_code(top_error)
                .with_members(members)
        } else {
            // Kafka's LeaveGroupResponse for v0–2: the top-level error, else the member's.
            let error = if top_error != ec::NONE {
                top_error
            } else {
                member_errors
                    .into_iter()
                    .find(|e| *e != ec::NONE)
                    .unwrap_or(ec::NONE)
            };
            LeaveGroupResponse::default().with_error_code(error)
        }
    }

    /// Returns the top-level error and, when it is NONE, one error per leaving member.
    fn handle_leave_group(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> (i16, Vec<i16>) {
        let mut mgr = self.lock();
        if let Some(error) = self.validate_group_status(&mgr, group_id, false) {
            return (error, Vec::new());
        }
        let Some(group) = mgr.groups.get_mut(group_id) else {
            return (ec::NONE, vec![ec::UNKNOWN_MEMBER_ID; leaving.len()]);
        };
        if group.is(GroupState::Dead) {
            return (ec::COORDINATOR_NOT_AVAILABLE, Vec::new());
        }
        let mut errors = Vec::with_capacity(leaving.len());
        for (member_id, instance) in leaving {
            let instance = instance.as_deref();
            let error = if !member_id.is_empty() && group.is_static_member_fenced(member_id, instance) {
                ec::FENCED_INSTANCE_ID
            } else if !member_id.is_empty() && group.is_pending_member(member_id) {
                group.pending_members.remove(member_id);
                if group.is(GroupState::PreparingRebalance) {
                    self.try_complete_join(group);
                }
                ec::NONE
            } else {
                // A static member may be named by instance id alone (admin removal, KIP-345).
                let target = match instance.and_then(|i| group.static_member_id(i)) {
                    Some(id) if member_id.is_empty() => Some(id.to_string()),
                    _ if group.has(member_id) => Some(member_id.clone()),
                    _ => None,
                };
                match target {
                    Some(id) => {
                        tracing::info!(group = %group_id, member = %id, "member left the group");
                        self.remove_member_and_update_group(
                            group,
                            &id,
                            "removing member on LeaveGroup",
                        );
                        ec::NONE
                    }
                    None => ec::UNKNOWN_MEMBER_ID,
                }
            };
            errors.push(error);
        }
        (ec::NONE, errors)
    }
}
