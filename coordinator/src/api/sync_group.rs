//! SyncGroup (API key 14): the second half of a rebalance.
//!
//! Every member sends SyncGroup after JoinGroup; only the leader's carries the assignment. Followers
//! are parked until the leader's assignment has been appended to `__consumer_offsets` and
//! acknowledged by the ISR, so that a coordinator failover can never hand out an assignment that was
//! not durable. Then the group is Stable and every parked member receives its own assignment.
//!
//! From v5 (KIP-559) the request must name the protocol type and name the member got in its
//! JoinGroup answer, and the answer repeats the group's: a request without either, or with ones
//! that differ from the group's, is refused with INCONSISTENT_GROUP_PROTOCOL, so a client cannot
//! install an assignment computed for another protocol.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;
use tokio::sync::oneshot;

use crate::coordinator::{GroupCoordinator, Reply};
use crate::group::GroupState;
use crate::manager;
use crate::member::SyncGroupResult;
use crate::offsets_log::store_group_append_error;
use crate::rebalance::{reset_and_propagate_assignment_error, set_and_propagate_assignment};

impl GroupCoordinator {
    pub async fn sync_group(&self, request: SyncGroupRequest, version: i16) -> SyncGroupResponse {
        let result = match self.handle_sync_group(&request, version) {
            Reply::Now(result) => result,
            Reply::Later(rx) => rx
                .await
                .unwrap_or_else(|_| SyncGroupResult::error(ec::UNKNOWN_MEMBER_ID)),
        };
        let mut response = SyncGroupResponse::default()
            .with_error_code(result.error)
            .with_assignment(result.assignment);
        if version >= 5 {
            response.protocol_type = result.protocol_type.map(StrBytes::from_string);
            response.protocol_name = result.protocol_name.map(StrBytes::from_string);
        }
        response
    }

    fn handle_sync_group(
        &self,
        request: &SyncGroupRequest,
        version: i16,
    ) -> Reply<SyncGroupResult> {
        let now_error = |e| Reply::Now(SyncGroupResult::error(e));
        let group_id = request.group_id.0.as_str();
        let member_id = request.member_id.as_str();
        let instance = if version >= 3 {
            request.group_instance_id.as_deref()
        } else {
            None
        };
        // Kafka's `areMandatoryProtocolTypeAndNamePresent`, checked before the group is looked at.
        if version >= 5 && (request.protocol_type.is_none() || request.protocol_name.is_none()) {
            return now_error(ec::INCONSISTENT_GROUP_PROTOCOL);
        }
        let mut mgr = self.lock();
        if let Some(error) = self.validate_group_status(&mgr, group_id, false) {
            // A group still loading was just failed over to us: make the member rejoin.
            return now_error(if error == ec::COORDINATOR_LOAD_IN_PROGRESS {
                ec::REBALANCE_IN_PROGRESS
            } else {
                error
            });
        }
        let Some(group) = mgr.groups.get_mut(group_id) else {
            return now_error(ec::UNKNOWN_MEMBER_ID);
        };
        if group.is(GroupState::Dead) {
            return now_error(ec::COORDINATOR_NOT_AVAILABLE);
        }
        if group.is_static_member_fenced(member_id, instance) {
            return now_error(ec::FENCED_INSTANCE_ID);
        }
        if !group.has(member_id) {
            return now_error(ec::UNKNOWN_MEMBER_ID);
        }
        if request.generation_id != group.generation_id {
            return now_error(ec::ILLEGAL_GENERATION);
        }
        if version >= 5 {
            let type_mismatch = request
                .protocol_type
                .as_deref()
                .is_some_and(|t| group.protocol_type.as_deref() != Some(t));
            let name_mismatch = request
                .protocol_name
                .as_deref()
                .is_some_and(|n| group.protocol_name.as_deref() != Some(n));
            if type_mismatch || name_mismatch {
                return now_error(ec::INCONSISTENT_GROUP_PROTOCOL);
            }
        }
        match group.state() {
            GroupState::Empty => now_error(ec::UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => now_error(ec::REBALANCE_IN_PROGRESS),
            GroupState::Dead => now_error(ec::COORDINATOR_NOT_AVAILABLE),
            GroupState::Stable => {
                let Some(member) = group.members.get(member_id) else {
                    return now_error(ec::UNKNOWN_MEMBER_ID);
                };
                let result = SyncGroupResult {
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol_name.clone(),
                    assignment: member.assignment.clone(),
                    error: ec::NONE,
                };
                let session = member.session_timeout_ms;
                self.schedule_heartbeat(group, member_id, session);
                Reply::Now(result)
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(member) = group.members.get_mut(member_id) {
                    member.awaiting_sync = Some(tx);
                }
                if group.is_leader(member_id) {
                    let mut assignment: HashMap<String, Bytes> = request
                        .assignments
                        .iter()
                        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                        .collect();
                    let missing: Vec<String> = group
                        .members
                        .keys()
                        .filter(|id| !assignment.contains_key(*id))
                        .cloned()
                        .collect();
                    if !missing.is_empty() {
                        tracing::warn!(group = %group_id, missing = missing.len(), "leader's assignment misses members; they get an empty one");
                    }
                    for id in missing {
                        assignment.insert(id, Bytes::new());
                    }
                    let record = manager::group_record(group, &assignment);
                    let (group_id, incarnation, generation) = (
                        group.group_id.clone(),
                        group.incarnation,
                        group.generation_id,
                    );
                    let partition = self.partition_for(&group_id);
                    if let Some(me) = self.arc() {
                        self.spawn(async move {
                            let result = me.append(partition, vec![record]).await;
                            let mut mgr = me.lock();
                            let Some(group) = mgr.group_mut(&group_id, incarnation) else { return };
                            if !group.is(GroupState::CompletingRebalance) || group.generation_id != generation {
                                return;
                            }
                            match result {
                                Ok(()) => {
                                    set_and_propagate_assignment(&me, group, &assignment);
                                    group.transition_to(GroupState::Stable, me.now_ms());
                                    tracing::info!(group = %group_id, generation, "assignment received from leader; group stable");
                                }
                                Err(code) => {
                                    let error = store_group_append_error(code);
                                    tracing::warn!(group = %group_id, generation, append_error = code, error, "failed to persist group assignment");
                                    reset_and_propagate_assignment_error(&me, group, error);
                                    me.maybe_prepare_rebalance(group, "error when storing group assignment during SyncGroup");
                                }
                            }
                        });
                    }
                }
                Reply::Later(rx)
            }
        }
    }
}
