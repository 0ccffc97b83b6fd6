//! JoinGroup (API key 11): the first half of a rebalance.
//!
//! A member announces the protocols it supports; the coordinator parks the request until the join
//! phase ends (see `crate::rebalance`) and then answers every member with the new generation, the
//! chosen protocol and the leader, giving only the leader the member list to compute an assignment.
//! From v4 a member without an id is first given one and told MEMBER_ID_REQUIRED (KIP-394), so a
//! client that times out and retries cannot leave ghost members behind. Static members
//! (`group.instance.id`, KIP-345) skip that round, and a restarted static member takes over its
//! previous identity without forcing a rebalance when nothing it subscribes to changed.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;
use tokio::sync::oneshot;

use crate::coordinator::{GroupCoordinator, Reply, NEW_MEMBER_JOIN_TIMEOUT_MS};
use crate::group::{GroupMetadata, GroupState};
use crate::manager;
use crate::member::{JoinGroupResult, MemberMetadata};

/// The parts of a JoinGroup request the decisions need, normalised across versions.
struct JoinParams {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    rebalance_timeout_ms: i32,
    session_timeout_ms: i32,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    require_known_member_id: bool,
}

impl GroupCoordinator {
    pub async fn join_group(
        &self,
        request: JoinGroupRequest,
        version: i16,
        client_id: &str,
        client_host: &str,
    ) -> JoinGroupResponse {
        let group_instance_id = if version >= 5 {
            request.group_instance_id.as_ref().map(|s| s.to_string())
        } else {
            None
        };
        let params = JoinParams {
            member_id: request.member_id.to_string(),
            require_known_member_id: version >= 4 && group_instance_id.is_none(),
            group_instance_id,
            client_id: client_id.to_string(),
            client_host: client_host.to_string(),
            rebalance_timeout_ms: if version >= 1 {
                request.rebalance_timeout_ms
            } else {
                request.session_timeout_ms
            },
            session_timeout_ms: request.session_timeout_ms,
            protocol_type: request.protocol_type.to_string(),
            protocols: request
                .protocols
                .iter()
                .map(|p| (p.name.to_string(), p.metadata.clone()))
                .collect(),
        };
        let fallback_member = params.member_id.clone();
        let result = match self.handle_join_group(request.group_id.0.as_str(), params) {
            Reply::Now(result) => result,
            Reply::Later(rx) => rx.await.unwrap_or_else(|_| {
                JoinGroupResult::error(&fallback_member, ec::UNKNOWN_MEMBER_ID)
            }),
        };
        join_response(result, version)
    }

    fn handle_join_group(&self, group_id: &str, p: JoinParams) -> Reply<JoinGroupResult> {
        let now = self.now_ms();
        let mut mgr = self.lock();
        if let Some(error) = self.validate_group_status(&mgr, group_id, false) {
            return Reply::Now(JoinGroupResult::error(&p.member_id, error));
        }
        if p.session_timeout_ms < self.config.group_min_session_timeout_ms
            || p.session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::INVALID_SESSION_TIMEOUT,
            ));
        }
        let is_unknown_member = p.member_id.is_empty();
        if !mgr.groups.contains_key(group_id) {
            if !is_unknown_member {
                return Reply::Now(JoinGroupResult::error(&p.member_id, ec::UNKNOWN_MEMBER_ID));
            }
            let incarnation = mgr.next_id();
            mgr.groups.insert(
                group_id.to_string(),
                GroupMetadata::new(group_id.to_string(), incarnation, now),
            );
        }
        let Some(group) = mgr.groups.get_mut(group_id) else {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::COORDINATOR_NOT_AVAILABLE,
            ));
        };
        let reply = if !self.accept_joining_member(group, &p.member_id) {
            // Kafka drops the refused member (it is not awaiting a join, so nothing is parked) and
            // answers with no member id; a join phase it was holding up may now complete.
            group.pending_members.remove(&p.member_id);
            group.remove(&p.member_id);
            Reply::Now(JoinGroupResult::error("", ec::GROUP_MAX_SIZE_REACHED))
        } else if is_unknown_member {
            self.do_unknown_join(group, p)
        } else {
            self.do_current_member_join(group, p)
        };
        if group.is(GroupState::PreparingRebalance) {
            self.try_complete_join(group);
        }
        reply
    }

    /// Kafka's `acceptJoiningMember` (`group.max.size`).
    fn accept_joining_member(&self, group: &GroupMetadata, member_id: &str) -> bool {
        let max = usize::try_from(self.config.group_max_size).unwrap_or(0);
        match group.state() {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                group
                    .members
                    .get(member_id)
                    .is_some_and(|m| m.is_awaiting_join())
                    || group.num_awaiting_join() < max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                group.has(member_id) || group.members.len() < max
            }
        }
    }

    fn do_unknown_join(&self, group: &mut GroupMetadata, p: JoinParams) -> Reply<JoinGroupResult> {
        if group.is(GroupState::Dead) {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::COORDINATOR_NOT_AVAILABLE,
            ));
        }
        if !group.supports_protocols(&p.protocol_type, &p.protocols) {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::INCONSISTENT_GROUP_PROTOCOL,
            ));
        }
        let prefix = p.group_instance_id.as_deref().unwrap_or(&p.client_id);
        let new_member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let known_static = p
            .group_instance_id
            .as_deref()
            .is_some_and(|i| group.static_member_id(i).is_some());
        if known_static {
            self.update_static_member_and_rebalance(group, new_member_id, p)
        } else if p.require_known_member_id {
            group.pending_members.insert(new_member_id.clone());
            self.schedule_pending_member_expiry(group, &new_member_id, p.session_timeout_ms);
            tracing::debug!(group = %group.group_id, member = %new_member_id, "minted member id; MEMBER_ID_REQUIRED");
            Reply::Now(JoinGroupResult::error(
                &new_member_id,
                ec::MEMBER_ID_REQUIRED,
            ))
        } else {
            self.add_member_and_rebalance(group, new_member_id, p)
        }
    }

    fn do_current_member_join(
        &self,
        group: &mut GroupMetadata,
        p: JoinParams,
    ) -> Reply<JoinGroupResult> {
        if group.is(GroupState::Dead) {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::COORDINATOR_NOT_AVAILABLE,
            ));
        }
        if !group.supports_protocols(&p.protocol_type, &p.protocols) {
            return Reply::Now(JoinGroupResult::error(
                &p.member_id,
                ec::INCONSISTENT_GROUP_PROTOCOL,
            ));
        }
        if group.is_pending_member(&p.member_id) {
            if p.group_instance_id.is_some() {
                return Reply::Now(JoinGroupResult::error(&p.member_id, ec::UNKNOWN_MEMBER_ID));
            }
            let member_id = p.member_id.clone();
            return self.add_member_and_rebalance(group, member_id, p);
        }
        let instance = p.group_instance_id.as_deref();
        if group.is_static_member_fenced(&p.member_id, instance) {
            return Reply::Now(JoinGroupResult::error(&p.member_id, ec::FENCED_INSTANCE_ID));
        }
        let instance_unknown = instance.is_some_and(|i| group.static_member_id(i).is_none());
        if !group.has(&p.member_id) || instance_unknown {
            return Reply::Now(JoinGroupResult::error(&p.member_id, ec::UNKNOWN_MEMBER_ID));
        }
        let matches = group
            .members
            .get(&p.member_id)
            .is_some_and(|m| m.matches(&p.protocols));
        match group.state() {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(group, p),
            GroupState::CompletingRebalance if matches => {
                Reply::Now(current_join_result(group, &p.member_id, true))
            }
            GroupState::Stable if matches && !group.is_leader(&p.member_id) => {
                Reply::Now(current_join_result(group, &p.member_id, false))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(group, p)
            }
            GroupState::Empty | GroupState::Dead => {
                Reply::Now(JoinGroupResult::error(&p.member_id, ec::UNKNOWN_MEMBER_ID))
            }
        }
    }

    /// Kafka's `addMemberAndRebalance`.
    fn add_member_and_rebalance(
        &self,
        group: &mut GroupMetadata,
        member_id: String,
        p: JoinParams,
    ) -> Reply<JoinGroupResult> {
        let (tx, rx) = oneshot::channel();
        let mut member = MemberMetadata::new(
            member_id.clone(),
            p.group_instance_id,
            p.client_id,
            p.client_host,
            p.rebalance_timeout_ms,
            p.session_timeout_ms,
            p.protocol_type,
            p.protocols,
        );
        member.is_new = true;
        member.awaiting_join = Some(tx);
        if group.is(GroupState::PreparingRebalance) && group.generation_id == 0 {
            group.new_member_added = true;
        }
        group.add(member);
        self.schedule_heartbeat(group, &member_id, NEW_MEMBER_JOIN_TIMEOUT_MS);
        self.maybe_prepare_rebalance(group, "adding new member");
        Reply::Later(rx)
    }

    /// Kafka's `updateMemberAndRebalance`: new protocols (or a leader rejoin) start a rebalance.
    fn update_member_and_rebalance(
        &self,
        group: &mut GroupMetadata,
        p: JoinParams,
    ) -> Reply<JoinGroupResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(member) = group.members.get_mut(&p.member_id) {
            member.supported_protocols = p.protocols;
            member.rebalance_timeout_ms = p.rebalance_timeout_ms;
            member.session_timeout_ms = p.session_timeout_ms;
            member.awaiting_join = Some(tx);
        }
        self.maybe_prepare_rebalance(group, "updating metadata for member");
        Reply::Later(rx)
    }

    /// Kafka's `updateStaticMemberAndRebalance`: a known `group.instance.id` joined with no member id.
    fn update_static_member_and_rebalance(
        &self,
        group: &mut GroupMetadata,
        new_member_id: String,
        p: JoinParams,
    ) -> Reply<JoinGroupResult> {
        let instance = p.group_instance_id.clone().unwrap_or_default();
        let Some(old_member_id) = group.static_member_id(&instance).map(str::to_string) else {
            return Reply::Now(JoinGroupResult::error(&p.member_id, ec::UNKNOWN_MEMBER_ID));
        };
        let current_leader = group.leader_id().unwrap_or_default().to_string();
        let old_protocols = group
            .members
            .get(&old_member_id)
            .map(|m| m.supported_protocols.clone())
            .unwrap_or_default();
        group.replace_static_member(&old_member_id, &new_member_id, ec::FENCED_INSTANCE_ID);
        self.schedule_heartbeat(group, &new_member_id, p.session_timeout_ms);
        let (tx, rx) = oneshot::channel();
        if let Some(member) = group.members.get_mut(&new_member_id) {
            member.supported_protocols = p.protocols;
            member.rebalance_timeout_ms = p.rebalance_timeout_ms;
            member.session_timeout_ms = p.session_timeout_ms;
            member.awaiting_join = Some(tx);
        }
        match group.state() {
            GroupState::Stable if group.select_protocol() == group.protocol_name => {
                tracing::info!(group = %group.group_id, instance = %instance, member = %new_member_id, "static member rejoined a stable group; persisting without rebalance");
                let assignment: HashMap<String, Bytes> = group
                    .members
                    .values()
                    .map(|m| (m.member_id.clone(), m.assignment.clone()))
                    .collect();
                let record = manager::group_record(group, &assignment);
                let (group_id, incarnation, partition) = (
                    group.group_id.clone(),
                    group.incarnation,
                    self.partition_for(&group.group_id),
                );
                let Some(me) = self.arc() else {
                    return Reply::Later(rx);
                };
                self.spawn(async move {
                    let result = me.append(partition, vec![record]).await;
                    let mut mgr = me.lock();
                    let Some(group) = mgr.group_mut(&group_id, incarnation) else { return };
                    match result {
                        Ok(()) => {
                            let answer = JoinGroupResult {
                                members: Vec::new(),
                                member_id: new_member_id.clone(),
                                generation_id: group.generation_id,
                                protocol_type: group.protocol_type.clone(),
                                protocol_name: group.protocol_name.clone(),
                                // The old leader id, so the rejoined member does not think it must assign.
                                leader_id: current_leader,
                                error: ec::NONE,
                            };
                            if let Some(member) = group.members.get_mut(&new_member_id) {
                                member.invoke_join(answer);
                            }
                        }
                        Err(code) => {
                            let error = crate::offsets_log::store_group_append_error(code);
                            tracing::warn!(group = %group_id, instance = %instance, error, "failed to persist static member replacement; reverting");
                            let parked = group.members.get_mut(&new_member_id).and_then(|m| {
                                m.supported_protocols = old_protocols;
                                m.awaiting_join.take()
                            });
                            group.replace_static_member(&new_member_id, &old_member_id, ec::FENCED_INSTANCE_ID);
                            let session = group.members.get(&old_member_id).map(|m| m.session_timeout_ms).unwrap_or_default();
                            me.schedule_heartbeat(group, &old_member_id, session);
                            if let Some(tx) = parked {
                                let mut answer = JoinGroupResult::error("", error);
                                answer.generation_id = group.generation_id;
                                answer.protocol_type = group.protocol_type.clone();
                                answer.protocol_name = group.protocol_name.clone();
                                answer.leader_id = current_leader;
                                let _ = tx.send(answer);
                            }
                        }
                    }
                });
            }
            GroupState::Stable => self
                .maybe_prepare_rebalance(group, "static member joined with a change of protocol"),
            GroupState::CompletingRebalance => {
                self.prepare_rebalance(group, "updating metadata for static member")
            }
            GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {}
        }
        Reply::Later(rx)
    }
}

/// The current generation's answer for a member whose rejoin changes nothing.
fn current_join_result(
    group: &GroupMetadata,
    member_id: &str,
    include_members_if_leader: bool,
) -> JoinGroupResult {
    JoinGroupResult {
        members: if include_members_if_leader && group.is_leader(member_id) {
            group.current_member_metadata()
        } else {
            Vec::new()
        },
        member_id: member_id.to_string(),
        generation_id: group.generation_id,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader_id: group.leader_id().unwrap_or_default().to_string(),
        error: ec::NONE,
    }
}

/// The wire response at `version`: protocol name is non-nullable ("" when unset) before v7, member
/// instance ids exist from v5, protocol type from v7.
fn join_response(result: JoinGroupResult, version: i16) -> JoinGroupResponse {
    let protocol_name = match result.protocol_name {
        Some(name) => Some(StrBytes::from_string(name)),
        None if version >= 7 => None,
        None => Some(StrBytes::default()),
    };
    JoinGroupResponse::default()
        .with_error_code(result.error)
        .with_generation_id(result.generation_id)
        .with_protocol_type(if version >= 7 {
            result.protocol_type.map(StrBytes::from_string)
        } else {
            None
        })
        .with_protocol_name(protocol_name)
        .with_leader(StrBytes::from_string(result.leader_id))
        .with_member_id(StrBytes::from_string(result.member_id))
        .with_members(
            result
                .members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 5 {
                            m.group_instance_id.map(StrBytes::from_string)
                        } else {
                            None
                        })
                        .with_metadata(m.metadata)
                })
                .collect(),
        )
}
