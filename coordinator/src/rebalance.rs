//! The rebalance protocol's moving parts: starting a join phase, finishing it, and the timers that
//! drive both (Kafka's `DelayedJoin`, `InitialDelayedJoin` and `DelayedHeartbeat` purgatories).
//!
//! A join phase (PreparingRebalance) ends when every known member has a parked JoinGroup, or when the
//! group's rebalance timeout (the largest member `max.poll.interval.ms`) expires; members that did
//! not rejoin by then are dropped. The first join phase of an Empty group instead waits
//! `group.initial.rebalance.delay.ms` so that a fleet of consumers starting together produces one
//! rebalance instead of one per consumer, extending itself while new members keep arriving.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::{GroupMetadata, GroupState, JoinTimer};
use crate::manager;
use crate::member::{JoinGroupResult, SyncGroupResult};

impl GroupCoordinator {
    /// Kafka's `maybePrepareRebalance`.
    pub(crate) fn maybe_prepare_rebalance(&self, group: &mut GroupMetadata, reason: &str) {
        if group.can_rebalance() {
            self.prepare_rebalance(group, reason);
        }
    }

    /// Kafka's `prepareRebalance`: enter PreparingRebalance and arm the join-phase timer.
    pub(crate) fn prepare_rebalance(&self, group: &mut GroupMetadata, reason: &str) {
        if group.is(GroupState::CompletingRebalance) {
            reset_and_propagate_assignment_error(self, group, ec::REBALANCE_IN_PROGRESS);
        }
        let initial = group.is(GroupState::Empty);
        if !group.transition_to(GroupState::PreparingRebalance, self.now_ms()) {
            return;
        }
        tracing::info!(group = %group.group_id, generation = group.generation_id, reason, "preparing to rebalance group");
        if initial {
            let delay_ms = self.config.group_initial_rebalance_delay_ms;
            let remaining_ms = (group.rebalance_timeout_ms() - delay_ms).max(0);
            group.join_timer = Some(JoinTimer::Initial {
                delay_ms,
                remaining_ms,
            });
            self.arm_join_timer(group, delay_ms);
        } else {
            group.join_timer = Some(JoinTimer::Regular);
            self.arm_join_timer(group, group.rebalance_timeout_ms());
            self.try_complete_join(group);
        }
    }

    fn arm_join_timer(&self, group: &mut GroupMetadata, delay_ms: i32) {
        let epoch = self.next_timer_id();
        group.join_timer_epoch = epoch;
        let (group_id, incarnation) = (group.group_id.clone(), group.incarnation);
        self.spawn_timer(Duration::from_millis(delay_ms.max(0) as u64), move |c| {
            c.on_join_timer(&group_id, incarnation, epoch)
        });
    }

    /// Completes the join phase early if every member has rejoined (never during the initial delay).
    pub(crate) fn try_complete_join(&self, group: &mut GroupMetadata) {
        if group.is(GroupState::PreparingRebalance)
            && group.join_timer == Some(JoinTimer::Regular)
            && group.has_all_members_joined()
        {
            self.complete_join(group);
        }
    }

    fn on_join_timer(&self, group_id: &str, incarnation: u64, epoch: u64) {
        let mut mgr = self.lock();
        let Some(group) = mgr.group_mut(group_id, incarnation) else {
            return;
        };
        if group.join_timer_epoch != epoch || !group.is(GroupState::PreparingRebalance) {
            return;
        }
        match group.join_timer {
            Some(JoinTimer::Initial {
                delay_ms,
                remaining_ms,
            }) if group.new_member_added && remaining_ms > 0 => {
                group.new_member_added = false;
                let next_delay = self
                    .config
                    .group_initial_rebalance_delay_ms
                    .min(remaining_ms);
                let next_remaining = (remaining_ms - delay_ms).max(0);
                group.join_timer = Some(JoinTimer::Initial {
                    delay_ms: next_delay,
                    remaining_ms: next_remaining,
                });
                self.arm_join_timer(group, next_delay);
            }
            _ => self.complete_join(group),
        }
    }

    /// Kafka's `onCompleteJoin`.
    pub(crate) fn complete_join(&self, group: &mut GroupMetadata) {
        group.join_timer = None;
        group.join_timer_epoch = self.next_timer_id();
        let dropped: Vec<String> = group
            .not_yet_rejoined_members()
            .into_iter()
            .filter(|id| group.members.get(id).is_some_and(|m| !m.is_static()))
            .collect();
        for id in dropped {
            tracing::info!(group = %group.group_id, member = %id, "member did not rejoin in time; removing it");
            group.remove(&id);
        }
        if group.is(GroupState::Dead) {
            return;
        }
        if !group.maybe_elect_new_joined_leader() && !group.members.is_empty() {
            tracing::error!(group = %group.group_id, generation = group.generation_id, "group could not complete rebalance because no members rejoined");
            group.join_timer = Some(JoinTimer::Regular);
            self.arm_join_timer(group, group.rebalance_timeout_ms());
            return;
        }
        group.init_next_generation(self.now_ms());
        if group.is(GroupState::Empty) {
            let record = manager::group_record(group, &HashMap::new());
            self.spawn_fire_and_forget_append(&group.group_id, vec![record]);
            return;
        }
        tracing::info!(group = %group.group_id, generation = group.generation_id, protocol = ?group.protocol_name, members = group.members.len(), "stabilized group join phase");
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for id in ids {
            let result = JoinGroupResult {
                members: if group.is_leader(&id) {
                    group.current_member_metadata()
                } else {
                    Vec::new()
                },
                member_id: id.clone(),
                generation_id: group.generation_id,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                leader_id: group.leader_id().unwrap_or_default().to_string(),
                error: ec::NONE,
            };
            let Some(member) = group.members.get_mut(&id) else {
                continue;
            };
            member.invoke_join(result);
            member.is_new = false;
            let session = member.session_timeout_ms;
            self.schedule_heartbeat(group, &id, session);
        }
    }

    /// A session timer fired: remove the member unless it is legitimately waiting in a rebalance.
    pub(crate) fn on_heartbeat_expired(
        &self,
        group_id: &str,
        incarnation: u64,
        member_id: &str,
        epoch: u64,
    ) {
        let mut mgr = self.lock();
        let Some(group) = mgr.group_mut(group_id, incarnation) else {
            return;
        };
        let Some(member) = group.members.get(member_id) else {
            return;
        };
        if member.heartbeat_epoch != epoch {
            return;
        }
        // Kafka's `hasSatisfiedHeartbeat`: members parked in a rebalance are alive, except new members,
        // which must complete their first join within NEW_MEMBER_JOIN_TIMEOUT_MS.
        if !member.is_new && (member.is_awaiting_join() || member.is_awaiting_sync()) {
            return;
        }
        tracing::info!(group = %group_id, member = %member_id, generation = group.generation_id, "member failed: session timeout expired");
        self.remove_member_and_update_group(
            group,
            member_id,
            "removing member on heartbeat expiration",
        );
    }

    /// Kafka's `removeMemberAndUpdateGroup`.
    pub(crate) fn remove_member_and_update_group(
        &self,
        group: &mut GroupMetadata,
        member_id: &str,
        reason: &str,
    ) {
        if let Some(mut member) = group.remove(member_id) {
            // Kafka answers a parked JoinGroup of a removed member with no member id, so the client
            // rejoins as a new member.
            member.invoke_join(JoinGroupResult::error("", ec::UNKNOWN_MEMBER_ID));
            member.invoke_sync(SyncGroupResult::error(ec::UNKNOWN_MEMBER_ID));
        }
        match group.state() {
            GroupState::Dead | GroupState::Empty => {}
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(group, reason)
            }
            GroupState::PreparingRebalance => self.try_complete_join(group),
        }
    }

    /// A minted member id (MEMBER_ID_REQUIRED) expires if the client does not rejoin with it.
    pub(crate) fn schedule_pending_member_expiry(
        &self,
        group: &GroupMetadata,
        member_id: &str,
        timeout_ms: i32,
    ) {
        let (group_id, incarnation, member_id) = (
            group.group_id.clone(),
            group.incarnation,
            member_id.to_string(),
        );
        self.spawn_timer(Duration::from_millis(timeout_ms.max(0) as u64), move |c| {
            let mut mgr = c.lock();
            let Some(group) = mgr.group_mut(&group_id, incarnation) else {
                return;
            };
            if group.pending_members.remove(&member_id) {
                tracing::debug!(group = %group_id, member = %member_id, "pending member expired");
                if group.is(GroupState::PreparingRebalance) {
                    c.try_complete_join(group);
                }
            }
        });
    }

    /// Appends `records` for `group_id` without waiting; failures are logged (empty-group records, tombstones).
    pub(crate) fn spawn_fire_and_forget_append(
        &self,
        group_id: &str,
        records: Vec<crate::offsets_log::OffsetsRecord>,
    ) {
        let Some(me) = self.arc() else { return };
        let partition = self.partition_for(group_id);
        let group_id = group_id.to_string();
        self.spawn(async move {
            if let Err(code) = me.append(partition, records).await {
                tracing::warn!(group = %group_id, partition, error = code, "failed to write group metadata to __consumer_offsets");
            }
        });
    }
}

/// Kafka's `resetAndPropagateAssignmentError`: clear assignments and fail every parked SyncGroup.
pub(crate) fn reset_and_propagate_assignment_error(
    c: &GroupCoordinator,
    group: &mut GroupMetadata,
    error: i16,
) {
    for member in group.members.values_mut() {
        member.assignment = Bytes::new();
    }
    propagate_assignment(c, group, error);
}

/// Kafka's `setAndPropagateAssignment`.
pub(crate) fn set_and_propagate_assignment(
    c: &GroupCoordinator,
    group: &mut GroupMetadata,
    assignment: &HashMap<String, Bytes>,
) {
    for member in group.members.values_mut() {
        member.assignment = assignment
            .get(&member.member_id)
            .cloned()
            .unwrap_or_default();
    }
    propagate_assignment(c, group, ec::NONE);
}

fn propagate_assignment(c: &GroupCoordinator, group: &mut GroupMetadata, error: i16) {
    // An error answer names no protocol, as Kafka's `propagateAssignment`.
    let (protocol_type, protocol_name) = if error == ec::NONE {
        (group.protocol_type.clone(), group.protocol_name.clone())
    } else {
        (None, None)
    };
    let ids: Vec<String> = group.members.keys().cloned().collect();
    for id in ids {
        let Some(member) = group.members.get_mut(&id) else {
            continue;
        };
        if !member.is_awaiting_sync() {
            continue;
        }
        member.invoke_sync(SyncGroupResult {
            protocol_type: protocol_type.clone(),
            protocol_name: protocol_name.clone(),
            assignment: member.assignment.clone(),
            error,
        });
        let session = member.session_timeout_ms;
        c.schedule_heartbeat(group, &id, session);
    }
}
