//! Golden bytes for the group APIs, FindCoordinator and OffsetForLeaderEpoch at their first
//! flexible versions and at Kafka 2.8's highest, written out by hand from Kafka's message schemas
//! (`clients/src/main/resources/common/message/*.json`). Flexible messages use compact strings,
//! arrays and bytes (unsigned-varint length + 1, 0 for null) and end every struct with a tagged
//! field count; their request header is v2 (the client id stays a classic int16 string, then
//! tagged fields) and their response header v1 (correlation id, then tagged fields).
//!
//! Responses must encode to exactly these bytes through `encode_response`; requests must decode to
//! the right fields through `parse_request`, skipping a tagged field the codec does not know.

use bytes::{BufMut, Bytes};
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DeleteGroupsResponse, DescribeGroupsResponse, FindCoordinatorResponse,
    GroupId, HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, ListGroupsResponse,
    OffsetCommitResponse, OffsetFetchResponse, OffsetForLeaderEpochResponse, RequestKind,
    ResponseKind, SyncGroupResponse, TopicName,
};
use odradek_protocol::encode_response;

mod golden_bytes;
use golden_bytes::*;

fn encoded(key: ApiKey, version: i16, correlation_id: i32, body: ResponseKind) -> Vec<u8> {
    body_of(encode_response(key, version, correlation_id, &body).unwrap())
}

#[test]
fn join_group_v7_request_and_response() {
    let mut frame = header_v2(ApiKey::JoinGroup, 7, 100);
    compact_string(&mut frame, "g");
    frame.put_i32(10_000); // session timeout
    frame.put_i32(300_000); // rebalance timeout
    compact_string(&mut frame, "m-1");
    compact_string(&mut frame, "i-1"); // group instance id
    compact_string(&mut frame, "consumer");
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "range");
    compact_bytes(&mut frame, &[1, 2]);
    no_tags(&mut frame);
    unknown_tag(&mut frame);
    let r = parse(frame);
    assert_eq!(
        (r.api_key, r.api_version(), r.correlation_id()),
        (ApiKey::JoinGroup, 7, 100)
    );
    assert_eq!(r.header.client_id.as_deref(), Some("golden"));
    let RequestKind::JoinGroup(body) = r.body else {
        panic!("{:?}", r.body)
    };
    assert_eq!(
        (
            &*body.group_id.0,
            body.session_timeout_ms,
            body.rebalance_timeout_ms
        ),
        ("g", 10_000, 300_000)
    );
    assert_eq!(
        (body.member_id.as_str(), body.group_instance_id.as_deref()),
        ("m-1", Some("i-1"))
    );
    assert_eq!(body.protocol_type.as_str(), "consumer");
    assert_eq!(body.protocols.len(), 1);
    assert_eq!(
        (
            body.protocols[0].name.as_str(),
            &body.protocols[0].metadata[..]
        ),
        ("range", &[1u8, 2][..])
    );

    let response = JoinGroupResponse::default()
        .with_error_code(0)
        .with_generation_id(3)
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_leader(s("m-1"))
        .with_member_id(s("m-1"))
        .with_members(vec![JoinGroupResponseMember::default()
            .with_member_id(s("m-1"))
            .with_group_instance_id(Some(s("i-1")))
            .with_metadata(Bytes::from_static(&[9]))]);
    let mut expected = response_header_v1(101);
    expected.put_i32(0); // throttle
    expected.put_i16(0);
    expected.put_i32(3);
    compact_string(&mut expected, "consumer"); // v7: protocol type
    compact_string(&mut expected, "range");
    compact_string(&mut expected, "m-1");
    compact_string(&mut expected, "m-1");
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "m-1");
    compact_string(&mut expected, "i-1");
    compact_bytes(&mut expected, &[9]);
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::JoinGroup,
            7,
            101,
            ResponseKind::JoinGroup(response.clone())
        ),
        expected.to_vec()
    );

    // v6 is flexible but has no protocol type; the rest is the same.
    let mut v6 = response_header_v1(101);
    v6.put_i32(0);
    v6.put_i16(0);
    v6.put_i32(3);
    compact_string(&mut v6, "range");
    compact_string(&mut v6, "m-1");
    compact_string(&mut v6, "m-1");
    compact_len(&mut v6, 1);
    compact_string(&mut v6, "m-1");
    compact_string(&mut v6, "i-1");
    compact_bytes(&mut v6, &[9]);
    no_tags(&mut v6);
    no_tags(&mut v6);
    let response = response.with_protocol_type(None);
    assert_eq!(
        encoded(ApiKey::JoinGroup, 6, 101, ResponseKind::JoinGroup(response)),
        v6.to_vec()
    );

    // An error answer at v7: null protocol type and name (KafkaApis passes `orNull` from v7).
    let error = JoinGroupResponse::default()
        .with_error_code(79) // MEMBER_ID_REQUIRED
        .with_generation_id(-1)
        .with_protocol_type(None)
        .with_protocol_name(None)
        .with_member_id(s("c-1"));
    let mut expected = response_header_v1(102);
    expected.put_i32(0);
    expected.put_i16(79);
    expected.put_i32(-1);
    expected.put_u8(0); // null protocol type
    expected.put_u8(0); // null protocol name
    compact_string(&mut expected, ""); // leader
    compact_string(&mut expected, "c-1");
    compact_len(&mut expected, 0);
    no_tags(&mut expected);
    assert_eq!(
        encoded(ApiKey::JoinGroup, 7, 102, ResponseKind::JoinGroup(error)),
        expected.to_vec()
    );
}

#[test]
fn sync_group_v5_request_and_response() {
    let mut frame = header_v2(ApiKey::SyncGroup, 5, 110);
    compact_string(&mut frame, "g");
    frame.put_i32(3);
    compact_string(&mut frame, "m-1");
    frame.put_u8(0); // null group instance id
    compact_string(&mut frame, "consumer");
    compact_string(&mut frame, "range");
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "m-1");
    compact_bytes(&mut frame, &[0, 1]);
    no_tags(&mut frame);
    no_tags(&mut frame);
    let RequestKind::SyncGroup(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(
        (
            &*body.group_id.0,
            body.generation_id,
            body.member_id.as_str()
        ),
        ("g", 3, "m-1")
    );
    assert_eq!(body.group_instance_id, None);
    assert_eq!(
        (body.protocol_type.as_deref(), body.protocol_name.as_deref()),
        (Some("consumer"), Some("range"))
    );
    assert_eq!(
        (
            body.assignments[0].member_id.as_str(),
            &body.assignments[0].assignment[..]
        ),
        ("m-1", &[0u8, 1][..])
    );

    let response = SyncGroupResponse::default()
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignment(Bytes::from_static(&[0, 1]));
    let mut expected = response_header_v1(111);
    expected.put_i32(0);
    expected.put_i16(0);
    compact_string(&mut expected, "consumer");
    compact_string(&mut expected, "range");
    compact_bytes(&mut expected, &[0, 1]);
    no_tags(&mut expected);
    assert_eq!(
        encoded(ApiKey::SyncGroup, 5, 111, ResponseKind::SyncGroup(response)),
        expected.to_vec()
    );

    // An error answer names no protocol: nulls.
    let error = SyncGroupResponse::default().with_error_code(23);
    let mut expected = response_header_v1(112);
    expected.put_i32(0);
    expected.put_i16(23);
    expected.put_u8(0);
    expected.put_u8(0);
    compact_bytes(&mut expected, &[]);
    no_tags(&mut expected);
    assert_eq!(
        encoded(ApiKey::SyncGroup, 5, 112, ResponseKind::SyncGroup(error)),
        expected.to_vec()
    );
}

#[test]
fn heartbeat_and_leave_group_v4() {
    let mut frame = header_v2(ApiKey::Heartbeat, 4, 120);
    compact_string(&mut frame, "g");
    frame.put_i32(3);
    compact_string(&mut frame, "m-1");
    compact_string(&mut frame, "i-1");
    no_tags(&mut frame);
    let RequestKind::Heartbeat(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(
        (
            body.generation_id,
            body.member_id.as_str(),
            body.group_instance_id.as_deref()
        ),
        (3, "m-1", Some("i-1"))
    );
    let mut expected = response_header_v1(121);
    expected.put_i32(0);
    expected.put_i16(27); // REBALANCE_IN_PROGRESS
    no_tags(&mut expected);
    let response = ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(27));
    assert_eq!(
        encoded(ApiKey::Heartbeat, 4, 121, response),
        expected.to_vec()
    );

    let mut frame = header_v2(ApiKey::LeaveGroup, 4, 122);
    compact_string(&mut frame, "g");
    compact_len(&mut frame, 2);
    compact_string(&mut frame, "m-1");
    frame.put_u8(0);
    no_tags(&mut frame);
    compact_string(&mut frame, "");
    compact_string(&mut frame, "i-2");
    no_tags(&mut frame);
    no_tags(&mut frame);
    let RequestKind::LeaveGroup(body) = parse(frame).body else {
        panic!()
    };
    let members: Vec<(&str, Option<&str>)> = body
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.group_instance_id.as_deref()))
        .collect();
    assert_eq!(members, vec![("m-1", None), ("", Some("i-2"))]);
    let response = LeaveGroupResponse::default().with_members(vec![
        // The schema's default for a nullable string is "", so a null must be set (as KafkaApis does).
        MemberResponse::default()
            .with_member_id(s("m-1"))
            .with_group_instance_id(None)
            .with_error_code(0),
        MemberResponse::default()
            .with_member_id(s(""))
            .with_group_instance_id(Some(s("i-2")))
            .with_error_code(25),
    ]);
    let mut expected = response_header_v1(123);
    expected.put_i32(0);
    expected.put_i16(0);
    compact_len(&mut expected, 2);
    compact_string(&mut expected, "m-1");
    expected.put_u8(0);
    expected.put_i16(0);
    no_tags(&mut expected);
    compact_string(&mut expected, "");
    compact_string(&mut expected, "i-2");
    expected.put_i16(25);
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::LeaveGroup,
            4,
            123,
            ResponseKind::LeaveGroup(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn offset_commit_v8_request_and_response() {
    let mut frame = header_v2(ApiKey::OffsetCommit, 8, 130);
    compact_string(&mut frame, "g");
    frame.put_i32(3);
    compact_string(&mut frame, "m-1");
    compact_string(&mut frame, "i-1");
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "t");
    compact_len(&mut frame, 1);
    frame.put_i32(0);
    frame.put_i64(42);
    frame.put_i32(5); // committed leader epoch
    compact_string(&mut frame, "meta");
    unknown_tag(&mut frame);
    no_tags(&mut frame);
    no_tags(&mut frame);
    let RequestKind::OffsetCommit(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(
        (
            &*body.group_id.0,
            body.generation_id_or_member_epoch,
            body.member_id.as_str()
        ),
        ("g", 3, "m-1")
    );
    assert_eq!(body.group_instance_id.as_deref(), Some("i-1"));
    let p = &body.topics[0].partitions[0];
    assert_eq!(
        (
            &*body.topics[0].name.0,
            p.partition_index,
            p.committed_offset,
            p.committed_leader_epoch
        ),
        ("t", 0, 42, 5)
    );
    assert_eq!(p.committed_metadata.as_deref(), Some("meta"));

    let response =
        OffsetCommitResponse::default().with_topics(vec![OffsetCommitResponseTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![
                OffsetCommitResponsePartition::default()
                    .with_partition_index(0)
                    .with_error_code(0),
                OffsetCommitResponsePartition::default()
                    .with_partition_index(1)
                    .with_error_code(22),
            ])]);
    let mut expected = response_header_v1(131);
    expected.put_i32(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "t");
    compact_len(&mut expected, 2);
    expected.put_i32(0);
    expected.put_i16(0);
    no_tags(&mut expected);
    expected.put_i32(1);
    expected.put_i16(22); // ILLEGAL_GENERATION
    no_tags(&mut expected);
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::OffsetCommit,
            8,
            131,
            ResponseKind::OffsetCommit(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn offset_fetch_v7_request_and_response() {
    let mut frame = header_v2(ApiKey::OffsetFetch, 7, 140);
    compact_string(&mut frame, "g");
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "t");
    compact_len(&mut frame, 2);
    frame.put_i32(0);
    frame.put_i32(1);
    no_tags(&mut frame);
    frame.put_u8(1); // require_stable
    no_tags(&mut frame);
    let RequestKind::OffsetFetch(body) = parse(frame).body else {
        panic!()
    };
    assert!(body.require_stable);
    let topics = body.topics.expect("a topic list");
    assert_eq!(
        (&*topics[0].name.0, topics[0].partition_indexes.clone()),
        ("t", vec![0, 1])
    );

    // v6 and v7 allow a null topic list (all committed partitions), as from v2.
    let mut frame = header_v2(ApiKey::OffsetFetch, 7, 141);
    compact_string(&mut frame, "g");
    frame.put_u8(0);
    frame.put_u8(0);
    no_tags(&mut frame);
    let RequestKind::OffsetFetch(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!((body.topics, body.require_stable), (None, false));

    let response =
        OffsetFetchResponse::default().with_topics(vec![OffsetFetchResponseTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![
                OffsetFetchResponsePartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(42)
                    .with_committed_leader_epoch(5)
                    .with_metadata(Some(s("meta"))),
                OffsetFetchResponsePartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(-1)
                    .with_committed_leader_epoch(-1)
                    .with_metadata(Some(s("")))
                    .with_error_code(88), // UNSTABLE_OFFSET_COMMIT
            ])]);
    let mut expected = response_header_v1(142);
    expected.put_i32(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "t");
    compact_len(&mut expected, 2);
    expected.put_i32(0);
    expected.put_i64(42);
    expected.put_i32(5);
    compact_string(&mut expected, "meta");
    expected.put_i16(0);
    no_tags(&mut expected);
    expected.put_i32(1);
    expected.put_i64(-1);
    expected.put_i32(-1);
    compact_string(&mut expected, "");
    expected.put_i16(88);
    no_tags(&mut expected);
    no_tags(&mut expected);
    expected.put_i16(0); // top-level error
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::OffsetFetch,
            7,
            142,
            ResponseKind::OffsetFetch(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn find_coordinator_v3_request_and_response() {
    let mut frame = header_v2(ApiKey::FindCoordinator, 3, 150);
    compact_string(&mut frame, "g");
    frame.put_i8(0);
    no_tags(&mut frame);
    let RequestKind::FindCoordinator(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!((body.key.as_str(), body.key_type), ("g", 0));

    let response = FindCoordinatorResponse::default()
        .with_error_message(Some(s("NONE")))
        .with_node_id(BrokerId(2))
        .with_host(s("h"))
        .with_port(9092);
    let mut expected = response_header_v1(151);
    expected.put_i32(0);
    expected.put_i16(0);
    compact_string(&mut expected, "NONE"); // Kafka's Errors.NONE.message()
    expected.put_i32(2);
    compact_string(&mut expected, "h");
    expected.put_i32(9092);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::FindCoordinator,
            3,
            151,
            ResponseKind::FindCoordinator(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn list_groups_v4_request_and_response() {
    let mut frame = header_v2(ApiKey::ListGroups, 4, 160);
    compact_len(&mut frame, 2);
    compact_string(&mut frame, "Stable");
    compact_string(&mut frame, "Empty");
    no_tags(&mut frame);
    let RequestKind::ListGroups(body) = parse(frame).body else {
        panic!()
    };
    let states: Vec<&str> = body.states_filter.iter().map(|s| s.as_str()).collect();
    assert_eq!(states, vec!["Stable", "Empty"]);

    let response = ListGroupsResponse::default().with_groups(vec![ListedGroup::default()
        .with_group_id(GroupId(s("g")))
        .with_protocol_type(s("consumer"))
        .with_group_state(s("Stable"))]);
    let mut expected = response_header_v1(161);
    expected.put_i32(0);
    expected.put_i16(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "g");
    compact_string(&mut expected, "consumer");
    compact_string(&mut expected, "Stable");
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::ListGroups,
            4,
            161,
            ResponseKind::ListGroups(response.clone())
        ),
        expected.to_vec()
    );

    // v3 is flexible without the state, which the codec leaves out.
    let mut v3 = response_header_v1(161);
    v3.put_i32(0);
    v3.put_i16(0);
    compact_len(&mut v3, 1);
    compact_string(&mut v3, "g");
    compact_string(&mut v3, "consumer");
    no_tags(&mut v3);
    no_tags(&mut v3);
    let response = ResponseKind::ListGroups(response.with_groups(vec![ListedGroup::default()
        .with_group_id(GroupId(s("g")))
        .with_protocol_type(s("consumer"))]));
    assert_eq!(encoded(ApiKey::ListGroups, 3, 161, response), v3.to_vec());
}

#[test]
fn describe_groups_v5_and_delete_groups_v2() {
    let mut frame = header_v2(ApiKey::DescribeGroups, 5, 170);
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "g");
    frame.put_u8(1); // include authorized operations
    no_tags(&mut frame);
    let RequestKind::DescribeGroups(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(
        (&*body.groups[0].0, body.include_authorized_operations),
        ("g", true)
    );

    let response = DescribeGroupsResponse::default().with_groups(vec![DescribedGroup::default()
        .with_group_id(GroupId(s("g")))
        .with_group_state(s("Stable"))
        .with_protocol_type(s("consumer"))
        .with_protocol_data(s("range"))
        .with_members(vec![DescribedGroupMember::default()
            .with_member_id(s("m-1"))
            .with_group_instance_id(Some(s("i-1")))
            .with_client_id(s("c"))
            .with_client_host(s("/127.0.0.1"))
            .with_member_metadata(Bytes::from_static(&[1]))
            .with_member_assignment(Bytes::from_static(&[2]))])
        .with_authorized_operations(328)]);
    let mut expected = response_header_v1(171);
    expected.put_i32(0);
    compact_len(&mut expected, 1);
    expected.put_i16(0);
    compact_string(&mut expected, "g");
    compact_string(&mut expected, "Stable");
    compact_string(&mut expected, "consumer");
    compact_string(&mut expected, "range");
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "m-1");
    compact_string(&mut expected, "i-1");
    compact_string(&mut expected, "c");
    compact_string(&mut expected, "/127.0.0.1");
    compact_bytes(&mut expected, &[1]);
    compact_bytes(&mut expected, &[2]);
    no_tags(&mut expected);
    expected.put_i32(328); // READ | DELETE | DESCRIBE
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::DescribeGroups,
            5,
            171,
            ResponseKind::DescribeGroups(response)
        ),
        expected.to_vec()
    );

    let mut frame = header_v2(ApiKey::DeleteGroups, 2, 180);
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "g");
    no_tags(&mut frame);
    let RequestKind::DeleteGroups(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(&*body.groups_names[0].0, "g");
    let response =
        DeleteGroupsResponse::default().with_results(vec![DeletableGroupResult::default()
            .with_group_id(GroupId(s("g")))
            .with_error_code(68)]);
    let mut expected = response_header_v1(181);
    expected.put_i32(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "g");
    expected.put_i16(68); // NON_EMPTY_GROUP
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::DeleteGroups,
            2,
            181,
            ResponseKind::DeleteGroups(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn offset_for_leader_epoch_v4_request_and_response() {
    let mut frame = header_v2(ApiKey::OffsetForLeaderEpoch, 4, 190);
    frame.put_i32(-1); // replica id: a consumer
    compact_len(&mut frame, 1);
    compact_string(&mut frame, "t");
    compact_len(&mut frame, 1);
    frame.put_i32(0);
    frame.put_i32(7); // current leader epoch
    frame.put_i32(6); // leader epoch asked
    no_tags(&mut frame);
    no_tags(&mut frame);
    unknown_tag(&mut frame);
    let RequestKind::OffsetForLeaderEpoch(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(body.replica_id.0, -1);
    let p = &body.topics[0].partitions[0];
    assert_eq!(
        (
            &*body.topics[0].topic.0,
            p.partition,
            p.current_leader_epoch,
            p.leader_epoch
        ),
        ("t", 0, 7, 6)
    );

    let response = OffsetForLeaderEpochResponse::default().with_topics(vec![
        OffsetForLeaderTopicResult::default()
            .with_topic(TopicName(s("t")))
            .with_partitions(vec![
                EpochEndOffset::default()
                    .with_partition(0)
                    .with_leader_epoch(6)
                    .with_end_offset(100),
                EpochEndOffset::default()
                    .with_error_code(6)
                    .with_partition(1)
                    .with_leader_epoch(-1)
                    .with_end_offset(-1),
            ]),
    ]);
    let mut expected = response_header_v1(191);
    expected.put_i32(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "t");
    compact_len(&mut expected, 2);
    expected.put_i16(0);
    expected.put_i32(0);
    expected.put_i32(6);
    expected.put_i64(100);
    no_tags(&mut expected);
    expected.put_i16(6); // NOT_LEADER_OR_FOLLOWER
    expected.put_i32(1);
    expected.put_i32(-1);
    expected.put_i64(-1);
    no_tags(&mut expected);
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::OffsetForLeaderEpoch,
            4,
            191,
            ResponseKind::OffsetForLeaderEpoch(response)
        ),
        expected.to_vec()
    );
}
