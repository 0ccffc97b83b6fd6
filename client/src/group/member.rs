//! A consumer group member: Kafka's `ConsumerCoordinator` without the consumer around it. It
//! joins (JoinGroup, then SyncGroup, the leader running the assignor in between), keeps its
//! generation alive through the [`Heartbeat`] task, commits and fetches offsets under that
//! generation, and leaves. It does not fetch records: the caller consumes the [`Assignment`] it
//! returns and calls [`GroupMember::join`] again when [`GroupMember::rejoin_needed`] says so,
//! after committing what it consumed (Kafka's `onJoinPrepare` commits the same way), so the next
//! owner of each partition starts where this one stopped.
//!
//! Eager rebalancing only: every member gives up all its partitions on every rebalance.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::assignor::{self, Subscriptions};
use super::consumer_protocol::{Assignment, Subscription};
use super::coordinator::{
    find_coordinator, is_coordinator_error, BrokerConnection, REQUEST_TIMEOUT, RETRY_BACKOFF,
};
use super::heartbeat::{Generation, Heartbeat, HeartbeatState};
use super::{group_id, GroupError};

/// Kafka's `ConsumerProtocol.PROTOCOL_TYPE`.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";
/// How many JoinGroup/SyncGroup rounds one [`GroupMember::join`] may take.
const JOIN_ATTEMPTS: u32 = 30;

/// How a member joins.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub group_id: String,
    /// Kafka's `client.id`: shown as CLIENT-ID, and the prefix of the member id the coordinator
    /// mints.
    pub client_id: String,
    pub topics: Vec<String>,
    /// Assignors in order of preference (`partition.assignment.strategy`).
    pub assignors: Vec<String>,
    /// `session.timeout.ms` (2.8 default 10 s).
    pub session_timeout: Duration,
    /// `max.poll.interval.ms`, sent as the rebalance timeout (how long the coordinator waits for
    /// every member to rejoin).
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms` (3 s).
    pub heartbeat_interval: Duration,
}

impl MemberConfig {
    /// Kafka 2.8's consumer defaults, with the range assignor first and roundrobin second.
    pub fn new(group_id: &str, client_id: &str, topics: Vec<String>) -> MemberConfig {
        MemberConfig {
            group_id: group_id.to_string(),
            client_id: client_id.to_string(),
            topics,
            assignors: vec![
                assignor::RANGE.to_string(),
                assignor::ROUND_ROBIN.to_string(),
            ],
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(3),
        }
    }
}

/// Offsets by `(topic, partition)`.
pub type Offsets = BTreeMap<(String, i32), i64>;

pub struct GroupMember {
    config: MemberConfig,
    bootstrap: Vec<String>,
    coordinator: BrokerConnection,
    member_id: String,
    state: Arc<HeartbeatState>,
    heartbeat: Heartbeat,
}

impl GroupMember {
    /// Finds the group's coordinator through `bootstrap` and connects to it. Not yet a member:
    /// call [`GroupMember::join`].
    pub async fn connect(
        bootstrap: Vec<String>,
        config: MemberConfig,
    ) -> Result<GroupMember, GroupError> {
        let addr = find_coordinator(&bootstrap, &config.group_id, &config.client_id)
            .await?
            .addr();
        let coordinator = BrokerConnection::connect(&addr, &config.client_id).await?;
        let state = Arc::new(HeartbeatState::default());
        let heartbeat = start_heartbeat(&addr, &config, &state);
        Ok(GroupMember {
            config,
            bootstrap,
            coordinator,
            member_id: String::new(),
            state,
            heartbeat,
        })
    }

    pub fn group_id(&self) -> &str {
        &self.config.group_id
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The current generation; `None` while not a member.
    pub fn generation(&self) -> Option<Generation> {
        self.state.generation()
    }

    /// Whether the heartbeat task learnt of a rebalance or lost the generation.
    pub fn rejoin_needed(&self) -> bool {
        self.state.rejoin_needed.load(Ordering::SeqCst)
    }

    /// Joins (or rejoins) the group and returns this member's assignment. `partitions_per_topic`
    /// is what the leader assigns from: the partition counts Metadata gives for the subscribed
    /// topics (a topic missing from it is not assigned).
    pub async fn join(
        &mut self,
        partitions_per_topic: &BTreeMap<String, i32>,
    ) -> Result<Assignment, GroupError> {
        self.state.rejoin_needed.store(false, Ordering::SeqCst);
        self.state.set_generation(None);
        let mut last = String::new();
        for attempt in 0..JOIN_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
            if self.state.coordinator_lost.swap(false, Ordering::SeqCst) {
                if let Err(e) = self.rediscover().await {
                    last = e.to_string();
                    continue;
                }
            }
            match self.join_once(partitions_per_topic).await {
                Ok(assignment) => return Ok(assignment),
                Err(e) => {
                    let Some(code) = e.code() else { return Err(e) };
                    if code == ResponseError::MemberIdRequired.code() {
                        // KIP-394: `join_once` kept the minted id; rejoin with it at once.
                    } else if code == ResponseError::UnknownMemberId.code() {
                        self.member_id.clear();
                    } else if is_coordinator_error(code) {
                        self.state.coordinator_lost.store(true, Ordering::SeqCst);
                    } else if code != ResponseError::RebalanceInProgress.code()
                        && code != ResponseError::IllegalGeneration.code()
                    {
                        return Err(e);
                    }
                    last = e.to_string();
                }
            }
        }
        Err(GroupError::JoinGaveUp {
            group: self.config.group_id.clone(),
            attempts: JOIN_ATTEMPTS,
            last,
        })
    }

    /// One JoinGroup and, when it succeeds, one SyncGroup.
    async fn join_once(
        &mut self,
        partitions_per_topic: &BTreeMap<String, i32>,
    ) -> Result<Assignment, GroupError> {
        let group = self.config.group_id.clone();
        let refused = |api, code| GroupError::Refused {
            api,
            group: group.clone(),
            code,
        };
        // v1 adds the rebalance timeout, v4 MEMBER_ID_REQUIRED; v8 adds a reason field.
        let version = self
            .coordinator
            .version::<JoinGroupRequest>(1..=7, "JoinGroup")?;
        let metadata = Subscription::new(self.config.topics.clone()).encode()?;
        let request = JoinGroupRequest::default()
            .with_group_id(group_id(&group))
            .with_session_timeout_ms(millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis(self.config.rebalance_timeout))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(CONSUMER_PROTOCOL_TYPE))
            .with_protocols(
                self.config
                    .assignors
                    .iter()
                    .map(|name| {
                        JoinGroupRequestProtocol::default()
                            .with_name(StrBytes::from_string(name.clone()))
                            .with_metadata(metadata.clone())
                    })
                    .collect(),
            );
        // The coordinator parks a JoinGroup until every member rejoined or the rebalance timeout.
        let timeout = self.config.rebalance_timeout + REQUEST_TIMEOUT;
        let joined = self
            .coordinator
            .send(&request, version, "JoinGroup", timeout)
            .await?;
        if joined.error_code == ResponseError::MemberIdRequired.code() {
            self.member_id = joined.member_id.to_string();
        }
        if joined.error_code != 0 {
            return Err(refused("JoinGroup", joined.error_code));
        }
        self.member_id = joined.member_id.to_string();
        let protocol = joined
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();

        let assignments = if joined.leader == joined.member_id {
            let mut subscriptions = Subscriptions::new();
            for member in &joined.members {
                let subscription = Subscription::decode(&member.metadata)?;
                subscriptions.insert(member.member_id.to_string(), subscription.topics);
            }
            let assigned = assignor::assign(&protocol, &subscriptions, partitions_per_topic)
                .ok_or_else(|| GroupError::UnknownProtocol {
                    group: group.clone(),
                    protocol: protocol.clone(),
                })?;
            assigned
                .into_iter()
                .map(|(member, partitions)| {
                    Ok(SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member))
                        .with_assignment(Assignment::new(partitions).encode()?))
                })
                .collect::<Result<Vec<_>, GroupError>>()?
        } else {
            Vec::new()
        };

        let version = self
            .coordinator
            .version::<SyncGroupRequest>(0..=5, "SyncGroup")?;
        let mut request = SyncGroupRequest::default()
            .with_group_id(group_id(&group))
            .with_generation_id(joined.generation_id)
            .with_member_id(joined.member_id.clone())
            .with_assignments(assignments);
        if version >= 5 {
            request = request
                .with_protocol_type(Some(StrBytes::from_static_str(CONSUMER_PROTOCOL_TYPE)))
                .with_protocol_name(joined.protocol_name.clone());
        }
        // Followers are parked until the leader's SyncGroup arrives.
        let synced = self
            .coordinator
            .send(&request, version, "SyncGroup", timeout)
            .await?;
        if synced.error_code != 0 {
            return Err(refused("SyncGroup", synced.error_code));
        }
        let assignment = Assignment::decode(&synced.assignment)?;
        self.state.set_generation(Some(Generation {
            generation_id: joined.generation_id,
            member_id: self.member_id.clone(),
        }));
        Ok(assignment)
    }

    /// Commits `offsets` (the next offset to consume, per partition) under the current
    /// generation. The first partition error, if any, is returned.
    pub async fn commit(&mut self, offsets: &Offsets) -> Result<(), GroupError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let group = self.config.group_id.clone();
        let generation = self.generation().unwrap_or(Generation {
            generation_id: -1,
            member_id: String::new(),
        });
        // v2 is the first without a commit timestamp per partition; v8 is flexible.
        let version = self
            .coordinator
            .version::<OffsetCommitRequest>(2..=7, "OffsetCommit")?;
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((topic, partition), &offset) in offsets {
            topics.entry(topic).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(*partition)
                    .with_committed_offset(offset)
                    .with_committed_metadata(Some(StrBytes::from_static_str(""))),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(group_id(&group))
            .with_generation_id_or_member_epoch(generation.generation_id)
            .with_member_id(StrBytes::from_string(generation.member_id))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(name))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let response = self
            .coordinator
            .send(&request, version, "OffsetCommit", REQUEST_TIMEOUT)
            .await?;
        let code = response
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| p.error_code)
            .find(|&c| c != 0);
        match code {
            None => Ok(()),
            Some(code) => {
                if is_coordinator_error(code) {
                    self.state.coordinator_lost.store(true, Ordering::SeqCst);
                }
                self.state.rejoin_needed.store(true, Ordering::SeqCst);
                Err(GroupError::Refused {
                    api: "OffsetCommit",
                    group,
                    code,
                })
            }
        }
    }

    /// The committed offsets of `partitions`; a partition with none is absent.
    pub async fn committed(&mut self, partitions: &[(String, i32)]) -> Result<Offsets, GroupError> {
        fetch_committed(
            &mut self.coordinator,
            &self.config.group_id,
            Some(partitions),
        )
        .await
    }

    /// Leaves the group (LeaveGroup), so that the others rebalance now rather than after the
    /// session timeout. Stops heartbeating first.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        self.state.set_generation(None);
        if self.member_id.is_empty() {
            return Ok(());
        }
        let group = self.config.group_id.clone();
        let version = self
            .coordinator
            .version::<LeaveGroupRequest>(0..=4, "LeaveGroup")?;
        let member_id = StrBytes::from_string(self.member_id.clone());
        let mut request = LeaveGroupRequest::default().with_group_id(group_id(&group));
        // v3 (KIP-345) replaced the single member id with a list of members.
        if version >= 3 {
            request =
                request.with_members(vec![MemberIdentity::default().with_member_id(member_id)]);
        } else {
            request = request.with_member_id(member_id);
        }
        let response = self
            .coordinator
            .send(&request, version, "LeaveGroup", REQUEST_TIMEOUT)
            .await?;
        let code = std::iter::once(response.error_code)
            .chain(response.members.iter().map(|m| m.error_code))
            .find(|&c| c != 0);
        self.member_id.clear();
        match code {
            None => Ok(()),
            Some(code) => Err(GroupError::Refused {
                api: "LeaveGroup",
                group,
                code,
            }),
        }
    }

    /// Asks FindCoordinator again and reconnects (the heartbeat task too).
    async fn rediscover(&mut self) -> Result<(), GroupError> {
        let addr = find_coordinator(
            &self.bootstrap,
            &self.config.group_id,
            &self.config.client_id,
        )
        .await?
        .addr();
        self.coordinator = BrokerConnection::connect(&addr, &self.config.client_id).await?;
        self.heartbeat = start_heartbeat(&addr, &self.config, &self.state);
        Ok(())
    }
}

fn start_heartbeat(addr: &str, config: &MemberConfig, state: &Arc<HeartbeatState>) -> Heartbeat {
    Heartbeat::start(
        addr.to_string(),
        config.client_id.clone(),
        config.group_id.clone(),
        config.heartbeat_interval,
        state.clone(),
    )
}

/// OffsetFetch for `partitions` (`None`: every partition the group has offsets for). A partition
/// without a committed offset (−1) is absent. Shared by members and `groups describe`.
pub async fn fetch_committed(
    coordinator: &mut BrokerConnection,
    group: &str,
    partitions: Option<&[(String, i32)]>,
) -> Result<Offsets, GroupError> {
    // v1 reads offsets from Kafka (v0: ZooKeeper); v2 adds "all topics" and a top-level error;
    // v8 batches groups.
    let version = coordinator.version::<OffsetFetchRequest>(1..=7, "OffsetFetch")?;
    let topics = match partitions {
        Some(partitions) => {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in partitions {
                by_topic.entry(topic).or_default().push(*partition);
            }
            Some(
                by_topic
                    .into_iter()
                    .map(|(name, indexes)| {
                        OffsetFetchRequestTopic::default()
                            .with_name(topic_name(name))
                            .with_partition_indexes(indexes)
                    })
                    .collect(),
            )
        }
        None if version >= 2 => None,
        None => {
            return Err(GroupError::Version {
                api: "OffsetFetch (all topics)",
                addr: coordinator.addr.clone(),
            })
        }
    };
    let request = OffsetFetchRequest::default()
        .with_group_id(group_id(group))
        .with_topics(topics);
    let response = coordinator
        .send(&request, version, "OffsetFetch", REQUEST_TIMEOUT)
        .await?;
    let refused = |code| GroupError::Refused {
        api: "OffsetFetch",
        group: group.to_string(),
        code,
    };
    if response.error_code != 0 {
        return Err(refused(response.error_code));
    }
    let mut offsets = Offsets::new();
    for topic in &response.topics {
        for partition in &topic.partitions {
            // Kafka's consumer reports UNKNOWN_TOPIC_OR_PARTITION per partition as "no offset".
            if partition.error_code != 0
                && partition.error_code != ResponseError::UnknownTopicOrPartition.code()
            {
                return Err(refused(partition.error_code));
            }
            if partition.error_code == 0 && partition.committed_offset >= 0 {
                offsets.insert(
                    (topic.name.0.to_string(), partition.partition_index),
                    partition.committed_offset,
                );
            }
        }
    }
    Ok(offsets)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}
