//! `GroupMetadata`: a group's members, generation, chosen protocol and state, with Kafka's state machine.
//!
//! Pure data and decisions, no I/O and no timers: the coordinator (`crate::coordinator` and the
//! `api` handlers) moves requests, timers and appends around it. The states and their valid
//! predecessors are Kafka 2.8's:
//!
//! * `Empty`: no members (offsets may still be stored); entered from PreparingRebalance.
//! * `PreparingRebalance`: waiting for every known member to send JoinGroup; from Stable,
//!   CompletingRebalance or Empty.
//! * `CompletingRebalance`: the join phase finished (generation bumped); waiting for the leader's
//!   SyncGroup with the assignment; from PreparingRebalance.
//! * `Stable`: assignment persisted and handed out; from CompletingRebalance.
//! * `Dead`: removed (unloaded, expired, deleted); from any state.
//!
//! Invariant: a member is in `pending_members` (minted an id by MEMBER_ID_REQUIRED, not yet rejoined)
//! or in `members`, never both; a static member's instance id maps to exactly one member id.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;

use crate::member::{JoinedMember, MemberMetadata};
use crate::offset::{OffsetAndMetadata, TopicPartition};

/// Kafka's `GroupState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka prints (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// The states this one may be entered from.
    pub fn valid_previous_states(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }
}

/// Which join-phase timer is armed (Kafka's `InitialDelayedJoin` vs `DelayedJoin` in the join purgatory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinTimer {
    /// First rebalance of an Empty group: never completes early; on expiry extends itself while new
    /// members keep arriving and `remaining_ms` lasts.
    Initial { delay_ms: i32, remaining_ms: i32 },
    /// Completes as soon as every known member has rejoined, or at the rebalance timeout.
    Regular,
}

/// Kafka's `GroupMetadata`.
#[derive(Debug)]
pub struct GroupMetadata {
    pub group_id: String,
    /// Distinguishes this object from a later group of the same id, so stale timers do nothing.
    pub incarnation: u64,
    state: GroupState,
    pub current_state_timestamp: Option<i64>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation_id: i32,
    leader_id: Option<String>,
    pub members: BTreeMap<String, MemberMetadata>,
    pub pending_members: BTreeSet<String>,
    static_members: HashMap<String, String>,
    /// Set when a member joins during the initial delayed join, so it extends itself.
    pub new_member_added: bool,
    /// The armed join timer and its epoch (bumped on each arm/disarm to invalidate older timers).
    pub join_timer: Option<JoinTimer>,
    pub join_timer_epoch: u64,
    pub offsets: HashMap<TopicPartition, OffsetAndMetadata>,
    /// Commits appended but not yet acknowledged, by partition (Kafka's `pendingOffsetCommits`).
    pub pending_offset_commits: HashMap<TopicPartition, usize>,
}

impl GroupMetadata {
    pub fn new(group_id: String, incarnation: u64, now_ms: i64) -> Self {
        GroupMetadata {
            group_id,
            incarnation,
            state: GroupState::Empty,
            current_state_timestamp: Some(now_ms),
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: BTreeSet::new(),
            static_members: HashMap::new(),
            new_member_added: false,
            join_timer: None,
            join_timer_epoch: 0,
            offsets: HashMap::new(),
            pending_offset_commits: HashMap::new(),
        }
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub fn can_transition_to(&self, target: GroupState) -> bool {
        target.valid_previous_states().contains(&self.state)
    }

    /// Moves to `target` if Kafka allows it from the current state; returns whether it did.
    pub fn transition_to(&mut self, target: GroupState, now_ms: i64) -> bool {
        if !self.can_transition_to(target) {
            tracing::error!(group = %self.group_id, from = self.state.name(), to = target.name(), "invalid group state transition");
            return false;
        }
        tracing::info!(target: "state_change", group = %self.group_id, from = self.state.name(), to = target.name(), generation = self.generation_id, "group state change");
        self.state = target;
        self.current_state_timestamp = Some(now_ms);
        true
    }

    /// Forces `state` (used only when rebuilding a group from its stored record).
    pub(crate) fn set_loaded_state(&mut self, state: GroupState, timestamp: Option<i64>) {
        self.state = state;
        self.current_state_timestamp = timestamp;
    }

    /// Whether a rebalance may start now (PreparingRebalance's valid previous states).
    pub fn can_rebalance(&self) -> bool {
        self.can_transition_to(GroupState::PreparingRebalance)
    }

    pub fn leader_id(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    pub(crate) fn set_leader(&mut self, leader: Option<String>) {
        self.leader_id = leader;
    }

    pub fn has(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    pub fn is_pending_member(&self, member_id: &str) -> bool {
        self.pending_members.contains(member_id)
    }

    pub fn static_member_id(&self, group_instance_id: &str) -> Option<&str> {
        self.static_members
            .get(group_instance_id)
            .map(String::as_str)
    }

    /// Kafka's `isStaticMemberFenced`: the instance id is known but bound to another member id.
    pub fn is_static_member_fenced(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> bool {
        match group_instance_id.and_then(|i| self.static_member_id(i)) {
            Some(current) => current != member_id,
            None => false,
        }
    }

    /// Adds a member; the first member of a leaderless group becomes leader.
    pub fn add(&mut self, member: MemberMetadata) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member; if it led, another member (or none) takes over.
    pub fn remove(&mut self, member_id: &str) -> Option<MemberMetadata> {
        let removed = self.members.remove(member_id);
        if let Some(instance) = removed.as_ref().and_then(|m| m.group_instance_id.as_ref()) {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.is_leader(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        removed
    }

    /// Kafka's `replaceGroupInstance`: a static member rejoined with a fresh member id. The old id's
    /// parked requests are fenced; the member keeps its assignment and, if it led, the leadership.
    pub fn replace_static_member(
        &mut self,
        old_member_id: &str,
        new_member_id: &str,
        fenced_error: i16,
    ) -> bool {
        let Some(mut member) = self.members.remove(old_member_id) else {
            return false;
        };
        member.invoke_join(crate::member::JoinGroupResult::error(
            old_member_id,
            fenced_error,
        ));
        member.invoke_sync(crate::member::SyncGroupResult::error(fenced_error));
        member.member_id = new_member_id.to_string();
        if let Some(instance) = &member.group_instance_id {
            self.static_members
                .insert(instance.clone(), new_member_id.to_string());
        }
        if self.is_leader(old_member_id) {
            self.leader_id = Some(new_member_id.to_string());
        }
        self.members.insert(new_member_id.to_string(), member);
        true
    }

    pub fn num_awaiting_join(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.is_awaiting_join())
            .count()
    }

    /// Every member has a parked JoinGroup and no minted id is still outstanding.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.len() == self.num_awaiting_join() && self.pending_members.is_empty()
    }

    /// The group's rebalance timeout: the largest of its members'.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Protocols every member supports, in the first member's preference order.
    pub fn candidate_protocols(&self) -> Vec<&str> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return Vec::new();
        };
        let rest: Vec<&MemberMetadata> = members.collect();
        first
            .protocols()
            .filter(|p| rest.iter().all(|m| m.protocols().any(|q| q == *p)))
            .collect()
    }

    /// Kafka's `supportsProtocols`: an Empty group takes any non-empty type and list; otherwise the
    /// type must match and one of the protocols must be supported by every current member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols().any(|p| p == name))
            })
    }

    /// Kafka's `selectProtocol`: every member votes for its most preferred candidate; most votes wins.
    /// Ties go to the candidate the first member prefers (Kafka's tie-break is hash-map order).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: HashMap<&str, usize> = HashMap::new();
        for member in self.members.values() {
            if let Some(vote) = member.vote(&candidates) {
                *votes.entry(vote).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        candidates
            .into_iter()
            .find(|c| votes.get(c) == Some(&best))
            .map(str::to_string)
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keep the leader if it rejoined, else promote a member that
    /// did. Returns false when no member rejoined.
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        match self.leader_id.as_deref().and_then(|l| self.members.get(l)) {
            Some(leader) if leader.is_awaiting_join() => true,
            _ => {
                let joined = self
                    .members
                    .values()
                    .find(|m| m.is_awaiting_join())
                    .map(|m| m.member_id.clone());
                match joined {
                    Some(id) => {
                        self.leader_id = Some(id);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// Kafka's `initNextGeneration`: bump the generation and pick the protocol (CompletingRebalance),
    /// or with no members go Empty with no protocol.
    pub fn init_next_generation(&mut self, now_ms: i64) {
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.transition_to(GroupState::Empty, now_ms);
        } else {
            self.protocol_name = self.select_protocol();
            self.transition_to(GroupState::CompletingRebalance, now_ms);
        }
    }

    /// The member list the leader receives: each member's metadata for the chosen protocol.
    pub fn current_member_metadata(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    /// Members that have not rejoined during the current join phase.
    pub fn not_yet_rejoined_members(&self) -> Vec<String> {
        self.members
            .values()
            .filter(|m| !m.is_awaiting_join())
            .map(|m| m.member_id.clone())
            .collect()
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
