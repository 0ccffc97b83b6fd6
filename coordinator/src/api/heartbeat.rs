//! Heartbeat (API key 12): proves a member is alive and tells it when to rejoin.
//!
//! A valid heartbeat re-arms the member's session timer. During PreparingRebalance the answer is
//! REBALANCE_IN_PROGRESS, which is how members of a Stable group learn that they must send JoinGroup.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;

impl GroupCoordinator {
    pub async fn heartbeat(&self, request: HeartbeatRequest, version: i16) -> HeartbeatResponse {
        let instance = if version >= 3 {
            request.group_instance_id.as_deref()
        } else {
            None
        };
        let error = self.handle_heartbeat(
            request.group_id.0.as_str(),
            request.generation_id,
            request.member_id.as_str(),
            instance,
        );
        HeartbeatResponse::default().with_error_code(error)
    }

    fn handle_heartbeat(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> i16 {
        let mut mgr = self.lock();
        if let Some(error) = self.validate_group_status(&mgr, group_id, false) {
            // While loading, answer blindly: the member's session is restored once the load finishes.
            return if error == ec::COORDINATOR_LOAD_IN_PROGRESS {
                ec::NONE
            } else {
                error
            };
        }
        let Some(group) = mgr.groups.get_mut(group_id) else {
            return ec::UNKNOWN_MEMBER_ID;
        };
        if group.is(GroupState::Dead) {
            return ec::COORDINATOR_NOT_AVAILABLE;
        }
        if group.is_static_member_fenced(member_id, instance) {
            return ec::FENCED_INSTANCE_ID;
        }
        let Some(session) = group.members.get(member_id).map(|m| m.session_timeout_ms) else {
            return ec::UNKNOWN_MEMBER_ID;
        };
        if generation_id != group.generation_id {
            return ec::ILLEGAL_GENERATION;
        }
        match group.state() {
            GroupState::Empty => ec::UNKNOWN_MEMBER_ID,
            GroupState::Dead => ec::COORDINATOR_NOT_AVAILABLE,
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.schedule_heartbeat(group, member_id, session);
                ec::NONE
            }
            GroupState::PreparingRebalance => {
                self.schedule_heartbeat(group, member_id, session);
                ec::REBALANCE_IN_PROGRESS
            }
        }
    }
}
