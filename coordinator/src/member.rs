//! `MemberMetadata`: one consumer (or Connect worker, or any client of the group protocol) in a group.
//!
//! A member advertises the protocols it can run (for consumers: assignor names such as "range",
//! each with an opaque subscription) and, once the leader has computed it, holds an opaque
//! assignment. The coordinator never interprets either. A member with a JoinGroup or SyncGroup in
//! flight holds the channel its answer will be sent on: that is Kafka's `awaitingJoinCallback` /
//! `awaitingSyncCallback`, and it is how a rebalance parks requests until every member has arrived.

use bytes::Bytes;
use tokio::sync::oneshot;

/// One member of a JoinGroup response's member list (only the leader receives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// What a JoinGroup request is answered with (Kafka's `JoinGroupResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResult {
    pub members: Vec<JoinedMember>,
    pub member_id: String,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub error: i16,
}

impl JoinGroupResult {
    /// An error answer: generation -1, no leader, no members.
    pub fn error(member_id: &str, error: i16) -> Self {
        JoinGroupResult {
            members: Vec::new(),
            member_id: member_id.to_string(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader_id: String::new(),
            error,
        }
    }
}

/// What a SyncGroup request is answered with (Kafka's `SyncGroupResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResult {
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
    pub error: i16,
}

impl SyncGroupResult {
    pub fn error(error: i16) -> Self {
        SyncGroupResult {
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
            error,
        }
    }
}

/// Kafka's `MemberMetadata`.
#[derive(Debug)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// (protocol name, metadata) in the member's order of preference.
    pub supported_protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<oneshot::Sender<JoinGroupResult>>,
    pub awaiting_sync: Option<oneshot::Sender<SyncGroupResult>>,
    /// Joined but not yet through a completed join phase: such a member is expired after
    /// `NEW_MEMBER_JOIN_TIMEOUT_MS` even while its JoinGroup is parked.
    pub is_new: bool,
    /// Bumped whenever the session timer is re-armed; a timer that fires with a stale epoch is ignored.
    pub heartbeat_epoch: u64,
}

impl MemberMetadata {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        member_id: String,
        group_instance_id: Option<String>,
        client_id: String,
        client_host: String,
        rebalance_timeout_ms: i32,
        session_timeout_ms: i32,
        protocol_type: String,
        supported_protocols: Vec<(String, Bytes)>,
    ) -> Self {
        MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            protocol_type,
            supported_protocols,
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            heartbeat_epoch: 0,
        }
    }

    pub fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }

    pub fn is_awaiting_join(&self) -> bool {
        self.awaiting_join.is_some()
    }

    pub fn is_awaiting_sync(&self) -> bool {
        self.awaiting_sync.is_some()
    }

    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.supported_protocols
            .iter()
            .map(|(name, _)| name.as_str())
    }

    /// The subscription this member sent for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.supported_protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Whether a rejoin carries exactly the protocols and metadata this member already has.
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.supported_protocols == protocols
    }

    /// The member's most preferred protocol among `candidates` (Kafka's `vote`).
    pub fn vote<'a>(&'a self, candidates: &[&str]) -> Option<&'a str> {
        self.protocols().find(|p| candidates.contains(p))
    }

    /// Sends the parked JoinGroup its answer, if one is parked (Kafka's `maybeInvokeJoinCallback`).
    pub fn invoke_join(&mut self, result: JoinGroupResult) {
        if let Some(tx) = self.awaiting_join.take() {
            let _ = tx.send(result);
        }
    }

    /// Sends the parked SyncGroup its answer, if one is parked (Kafka's `maybeInvokeSyncCallback`).
    pub fn invoke_sync(&mut self, result: SyncGroupResult) {
        if let Some(tx) = self.awaiting_sync.take() {
            let _ = tx.send(result);
        }
    }
}
