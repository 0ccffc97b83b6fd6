//! The group APIs, FindCoordinator and OffsetForLeaderEpoch over real TCP against an in-process
//! broker, every answer decoded by `kafka-protocol` at the version asked: a whole group lifecycle
//! at Kafka 2.8's highest versions (FindCoordinator 3, JoinGroup 7, SyncGroup 5, Heartbeat 4,
//! OffsetCommit 8, OffsetFetch 7, DescribeGroups 5, ListGroups 4, LeaveGroup 4, DeleteGroups 2,
//! OffsetForLeaderEpoch 4), and a join/sync/heartbeat/leave round plus commit/fetch/describe/list/
//! delete at every version below.
//!
//! The broker runs without ZooKeeper; the test plays the controller (`controller_stub`) to make it
//! leader of `__consumer_offsets` (one partition) and of a data topic, which is what makes its
//! group coordinator load the partition and serve the groups that hash to it.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{eventually, InProcessBroker};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    BrokerId, DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest, GroupId,
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, ListGroupsRequest,
    OffsetCommitRequest, OffsetFetchRequest, OffsetFetchResponse, OffsetForLeaderEpochRequest,
    SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use odradek_client::controller_stub::{announce_leader, Announcement, Leader, TopicInfo};
use odradek_client::Connection;
use odradek_protocol::error_codes as ec;

const BROKER: i32 = 0;
const TOPIC: &str = "t";
const GROUP_READ_DELETE_DESCRIBE: i32 = (1 << 3) | (1 << 6) | (1 << 8);

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn group(v: &str) -> GroupId {
    GroupId(s(v))
}

/// A broker leading `__consumer_offsets` (1 partition) and `t` (2 partitions), its coordinator
/// loaded, with joins that complete at once.
async fn broker_with_groups() -> (InProcessBroker, Connection) {
    let broker = InProcessBroker::start(
        BROKER,
        &[
            "offsets.topic.num.partitions=1",
            "offsets.topic.replication.factor=1",
            "group.initial.rebalance.delay.ms=0",
        ],
    )
    .await
    .unwrap();
    let addr = broker.addr();
    let mut conn = Connection::connect(addr).await.unwrap();
    let leader = Leader {
        broker_id: BROKER,
        host: addr.ip().to_string(),
        port: i32::from(addr.port()),
    };
    for topic in [
        TopicInfo::new("__consumer_offsets", 1),
        TopicInfo::new(TOPIC, 2),
    ] {
        announce_leader(&mut conn, &leader, &topic, Announcement::default())
            .await
            .unwrap();
    }
    eventually(
        "the coordinator to load __consumer_offsets-0",
        Duration::from_secs(20),
        || async move {
            let mut probe = Connection::connect(addr).await.ok()?;
            let answer = probe
                .send(
                    &OffsetFetchRequest::default()
                        .with_group_id(group("probe"))
                        .with_topics(None),
                    7,
                )
                .await
                .ok()?;
            (answer.error_code == ec::NONE).then_some(())
        },
    )
    .await;
    (broker, conn)
}

fn join_request(group_id: &str, member_id: &str, instance: Option<&str>) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(group(group_id))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"sub"))])
}

/// Joins `group_id` alone at `version`, through the MEMBER_ID_REQUIRED round from v4 (KIP-394).
async fn join_alone(conn: &mut Connection, group_id: &str, version: i16) -> JoinGroupResponse {
    let mut member_id = String::new();
    if version >= 4 {
        let first = conn
            .send(&join_request(group_id, "", None), version)
            .await
            .unwrap();
        assert_eq!(first.error_code, ec::MEMBER_ID_REQUIRED, "v{version}");
        assert!(
            first.member_id.starts_with("odradek-client-"),
            "v{version}: minted from the client id: {}",
            first.member_id
        );
        assert_eq!(
            (
                first.generation_id,
                first.leader.as_str(),
                first.members.len()
            ),
            (-1, "", 0)
        );
        member_id = first.member_id.to_string();
    }
    let joined = conn
        .send(&join_request(group_id, &member_id, None), version)
        .await
        .unwrap();
    assert_eq!(
        (joined.error_code, joined.generation_id),
        (ec::NONE, 1),
        "v{version}"
    );
    if version >= 4 {
        assert_eq!(joined.member_id.as_str(), member_id);
    }
    assert_eq!(
        joined.leader, joined.member_id,
        "v{version}: the only member leads"
    );
    assert_eq!(joined.protocol_name.as_deref(), Some("range"), "v{version}");
    let expected_type = if version >= 7 { Some("consumer") } else { None };
    assert_eq!(
        joined.protocol_type.as_deref(),
        expected_type,
        "v{version}: protocol type from v7 only"
    );
    assert_eq!(joined.members.len(), 1);
    assert_eq!(&joined.members[0].metadata[..], b"sub");
    joined
}

fn sync_request(
    group_id: &str,
    joined: &JoinGroupResponse,
    protocol: Option<(&str, &str)>,
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id(joined.generation_id)
        .with_member_id(joined.member_id.clone())
        .with_protocol_type(protocol.map(|(t, _)| s(t)))
        .with_protocol_name(protocol.map(|(_, n)| s(n)))
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(joined.member_id.clone())
            .with_assignment(Bytes::from_static(b"asg"))])
}

fn commit_request(
    group_id: &str,
    generation: i32,
    member_id: &str,
    offset: i64,
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member_id))
        .with_retention_time_ms(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(TOPIC)))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(0)
                .with_committed_metadata(Some(s("meta")))])])
}

fn fetch_request(group_id: &str, require_stable: bool) -> OffsetFetchRequest {
    OffsetFetchRequest::default()
        .with_group_id(group(group_id))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s(TOPIC)))
            .with_partition_indexes(vec![0, 1])]))
        .with_require_stable(require_stable)
}

/// (partition, offset, error) of every partition in an OffsetFetch answer.
fn fetched(response: &OffsetFetchResponse) -> Vec<(i32, i64, i16)> {
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.partition_index, p.committed_offset, p.error_code))
        .collect()
}

async fn listed(conn: &mut Connection, states: &[&str]) -> Vec<(String, String)> {
    let request =
        ListGroupsRequest::default().with_states_filter(states.iter().map(|v| s(v)).collect());
    let response = conn.send(&request, 4).await.unwrap();
    assert_eq!(response.error_code, ec::NONE);
    response
        .groups
        .iter()
        .map(|g| (g.group_id.0.to_string(), g.group_state.to_string()))
        .collect()
}

#[tokio::test]
async fn a_group_lives_and_dies_at_the_highest_versions() {
    let (broker, mut conn) = broker_with_groups().await;
    let addr = broker.addr();
    let g = "lifecycle";

    let found = conn
        .send(&FindCoordinatorRequest::default().with_key(s(g)), 3)
        .await
        .unwrap();
    assert_eq!(
        (found.error_code, found.node_id, found.port),
        (ec::NONE, BrokerId(BROKER), i32::from(addr.port()))
    );
    assert_eq!(
        (found.host.as_str(), found.error_message.as_deref()),
        (addr.ip().to_string().as_str(), Some("NONE"))
    );

    let joined = join_alone(&mut conn, g, 7).await;
    let member = joined.member_id.to_string();

    // v5 needs the protocol type and name, and they must be the group's (KIP-559).
    let missing = conn.send(&sync_request(g, &joined, None), 5).await.unwrap();
    assert_eq!(
        (missing.error_code, missing.protocol_type.as_deref()),
        (ec::INCONSISTENT_GROUP_PROTOCOL, None)
    );
    let wrong = conn
        .send(
            &sync_request(g, &joined, Some(("consumer", "roundrobin"))),
            5,
        )
        .await
        .unwrap();
    assert_eq!(wrong.error_code, ec::INCONSISTENT_GROUP_PROTOCOL);
    let synced = conn
        .send(&sync_request(g, &joined, Some(("consumer", "range"))), 5)
        .await
        .unwrap();
    assert_eq!(synced.error_code, ec::NONE);
    assert_eq!(
        (
            synced.protocol_type.as_deref(),
            synced.protocol_name.as_deref()
        ),
        (Some("consumer"), Some("range"))
    );
    assert_eq!(&synced.assignment[..], b"asg");

    let beat = HeartbeatRequest::default()
        .with_group_id(group(g))
        .with_generation_id(1)
        .with_member_id(s(&member));
    assert_eq!(conn.send(&beat, 4).await.unwrap().error_code, ec::NONE);
    let stale = beat.clone().with_generation_id(0);
    assert_eq!(
        conn.send(&stale, 4).await.unwrap().error_code,
        ec::ILLEGAL_GENERATION
    );

    let committed = conn
        .send(&commit_request(g, 1, &member, 42), 8)
        .await
        .unwrap();
    assert_eq!(committed.topics[0].partitions[0].error_code, ec::NONE);
    let zombie = conn
        .send(&commit_request(g, 0, &member, 7), 8)
        .await
        .unwrap();
    assert_eq!(
        zombie.topics[0].partitions[0].error_code,
        ec::ILLEGAL_GENERATION
    );

    // Nothing is pending once the commit was answered: require_stable sees the committed offset.
    let offsets = conn.send(&fetch_request(g, true), 7).await.unwrap();
    assert_eq!(
        (offsets.error_code, fetched(&offsets)),
        (ec::NONE, vec![(0, 42, ec::NONE), (1, -1, ec::NONE)])
    );
    let p0 = &offsets.topics[0].partitions[0];
    assert_eq!(
        (p0.committed_leader_epoch, p0.metadata.as_deref()),
        (0, Some("meta"))
    );

    let described = conn
        .send(
            &DescribeGroupsRequest::default()
                .with_groups(vec![group(g)])
                .with_include_authorized_operations(true),
            5,
        )
        .await
        .unwrap();
    let d = &described.groups[0];
    assert_eq!(
        (
            d.error_code,
            d.group_state.as_str(),
            d.protocol_type.as_str(),
            d.protocol_data.as_str()
        ),
        (ec::NONE, "Stable", "consumer", "range")
    );
    assert_eq!(
        d.authorized_operations, GROUP_READ_DELETE_DESCRIBE,
        "no authorizer: every group operation"
    );
    assert_eq!(
        (
            d.members[0].member_id.as_str(),
            d.members[0].client_host.as_str()
        ),
        (member.as_str(), "/127.0.0.1")
    );
    assert_eq!(&d.members[0].member_assignment[..], b"asg");

    assert_eq!(
        listed(&mut conn, &[]).await,
        vec![(g.to_string(), "Stable".to_string())]
    );
    assert_eq!(
        listed(&mut conn, &["Stable"]).await,
        vec![(g.to_string(), "Stable".to_string())]
    );
    assert_eq!(listed(&mut conn, &["Empty", "Dead"]).await, vec![]);
    assert_eq!(
        listed(&mut conn, &["stable"]).await,
        vec![],
        "Kafka 2.8 matches state names exactly"
    );

    let busy = conn
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![group(g)]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(busy.results[0].error_code, ec::NON_EMPTY_GROUP);

    let leave = LeaveGroupRequest::default()
        .with_group_id(group(g))
        .with_members(vec![
            MemberIdentity::default().with_member_id(s(&member)),
            MemberIdentity::default().with_member_id(s("ghost")),
        ]);
    let left = conn.send(&leave, 4).await.unwrap();
    assert_eq!(left.error_code, ec::NONE);
    let errors: Vec<(&str, i16)> = left
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.error_code))
        .collect();
    assert_eq!(
        errors,
        vec![
            (member.as_str(), ec::NONE),
            ("ghost", ec::UNKNOWN_MEMBER_ID)
        ]
    );
    assert_eq!(
        listed(&mut conn, &["Empty"]).await,
        vec![(g.to_string(), "Empty".to_string())]
    );

    let deleted = conn
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![group(g)]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            deleted.results[0].group_id.0.as_str(),
            deleted.results[0].error_code
        ),
        (g, ec::NONE)
    );
    let offsets = conn.send(&fetch_request(g, true), 7).await.unwrap();
    assert_eq!(
        fetched(&offsets),
        vec![(0, -1, ec::NONE), (1, -1, ec::NONE)],
        "deleted with the group"
    );
    assert_eq!(listed(&mut conn, &[]).await, vec![]);

    let epochs = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(TopicName(s(TOPIC)))
            .with_partitions(vec![
                OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(0)
                    .with_leader_epoch(0),
                OffsetForLeaderPartition::default()
                    .with_partition(1)
                    .with_current_leader_epoch(1)
                    .with_leader_epoch(0),
                OffsetForLeaderPartition::default()
                    .with_partition(9)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(0),
            ])]);
    let answer = conn.send(&epochs, 4).await.unwrap();
    let got: Vec<(i32, i16, i32, i64)> = answer.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition, p.error_code, p.leader_epoch, p.end_offset))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, ec::NONE, 0, 0),
            (1, ec::UNKNOWN_LEADER_EPOCH, -1, -1),
            (9, ec::UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
        ]
    );
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_version_of_the_group_apis_answers_in_its_own_format() {
    let (broker, mut conn) = broker_with_groups().await;
    for version in 0..=3 {
        let found = conn
            .send(
                &FindCoordinatorRequest::default().with_key(s("any")),
                version,
            )
            .await
            .unwrap();
        assert_eq!(
            (found.error_code, found.node_id),
            (ec::NONE, BrokerId(BROKER)),
            "v{version}"
        );
        if version >= 1 {
            assert_eq!(
                found.error_message.as_deref(),
                Some("NONE"),
                "v{version}: Errors.NONE.message()"
            );
        }
    }
    for version in 0..=7 {
        let g = format!("g-v{version}");
        let joined = join_alone(&mut conn, &g, version).await;
        let sync_version = version.min(5);
        let protocol = (sync_version >= 5).then_some(("consumer", "range"));
        let synced = conn
            .send(&sync_request(&g, &joined, protocol), sync_version)
            .await
            .unwrap();
        assert_eq!(
            (synced.error_code, &synced.assignment[..]),
            (ec::NONE, &b"asg"[..]),
            "SyncGroup v{sync_version}"
        );
        let expected_name = if sync_version >= 5 {
            Some("range")
        } else {
            None
        };
        assert_eq!(
            synced.protocol_name.as_deref(),
            expected_name,
            "SyncGroup v{sync_version}"
        );
        let beat = HeartbeatRequest::default()
            .with_group_id(group(&g))
            .with_generation_id(1)
            .with_member_id(joined.member_id.clone());
        let heartbeat_version = version.min(4);
        assert_eq!(
            conn.send(&beat, heartbeat_version)
                .await
                .unwrap()
                .error_code,
            ec::NONE,
            "Heartbeat v{heartbeat_version}"
        );
        let leave_version = version.min(4);
        let mut leave = LeaveGroupRequest::default().with_group_id(group(&g));
        if leave_version >= 3 {
            leave.members =
                vec![MemberIdentity::default().with_member_id(joined.member_id.clone())];
        } else {
            leave.member_id = joined.member_id.clone();
        }
        let left = conn.send(&leave, leave_version).await.unwrap();
        assert_eq!(left.error_code, ec::NONE, "LeaveGroup v{leave_version}");
        assert_eq!(
            left.members.len(),
            if leave_version >= 3 { 1 } else { 0 },
            "LeaveGroup v{leave_version}"
        );
    }
    // Commits outside group management (generation -1) at every version, read back at every version.
    for version in 0..=8 {
        let g = format!("offsets-v{version}");
        let committed = conn
            .send(
                &commit_request(&g, -1, "", 10 + i64::from(version)),
                version,
            )
            .await
            .unwrap();
        assert_eq!(
            committed.topics[0].partitions[0].error_code,
            ec::NONE,
            "OffsetCommit v{version}"
        );
    }
    for version in 0..=7 {
        let offsets = conn
            .send(&fetch_request("offsets-v8", version >= 7), version)
            .await
            .unwrap();
        assert_eq!(
            fetched(&offsets),
            vec![(0, 18, ec::NONE), (1, -1, ec::NONE)],
            "OffsetFetch v{version}"
        );
        let epoch = offsets.topics[0].partitions[0].committed_leader_epoch;
        assert_eq!(
            epoch,
            if version >= 5 { 0 } else { -1 },
            "OffsetFetch v{version}: leader epoch from v5"
        );
    }
    for version in 0..=5 {
        let request = DescribeGroupsRequest::default()
            .with_groups(vec![group("offsets-v0")])
            .with_include_authorized_operations(version >= 3);
        let described = conn.send(&request, version).await.unwrap();
        let d = &described.groups[0];
        assert_eq!(
            (d.error_code, d.group_state.as_str(), d.members.len()),
            (ec::NONE, "Empty", 0),
            "DescribeGroups v{version}"
        );
        let operations = if version >= 3 {
            GROUP_READ_DELETE_DESCRIBE
        } else {
            i32::MIN
        };
        assert_eq!(
            d.authorized_operations, operations,
            "DescribeGroups v{version}"
        );
    }
    for version in 0..=4 {
        let listed = conn
            .send(&ListGroupsRequest::default(), version)
            .await
            .unwrap();
        assert_eq!(
            listed.groups.len(),
            8 + 9,
            "ListGroups v{version}: every group, empty or not"
        );
        let states: Vec<&str> = listed
            .groups
            .iter()
            .map(|g| g.group_state.as_str())
            .collect();
        assert!(
            states
                .iter()
                .all(|s| *s == if version >= 4 { "Empty" } else { "" }),
            "ListGroups v{version}: {states:?}"
        );
    }
    for version in 0..=2 {
        let request = DeleteGroupsRequest::default()
            .with_groups_names(vec![group(&format!("offsets-v{version}")), group("never")]);
        let deleted = conn.send(&request, version).await.unwrap();
        let errors: Vec<i16> = deleted.results.iter().map(|r| r.error_code).collect();
        assert_eq!(
            errors,
            vec![ec::NONE, ec::GROUP_ID_NOT_FOUND],
            "DeleteGroups v{version}"
        );
    }
    for version in 0..=4 {
        let request = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![OffsetForLeaderTopic::default()
                .with_topic(TopicName(s(TOPIC)))
                .with_partitions(vec![OffsetForLeaderPartition::default()
                    .with_partition(1)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(0)])]);
        let answer = conn.send(&request, version).await.unwrap();
        let p = &answer.topics[0].partitions[0];
        let epoch = if version >= 1 { 0 } else { -1 };
        assert_eq!(
            (p.error_code, p.leader_epoch, p.end_offset),
            (ec::NONE, epoch, 0),
            "OffsetForLeaderEpoch v{version}"
        );
    }
    broker.handle.shutdown().await.unwrap();
}
