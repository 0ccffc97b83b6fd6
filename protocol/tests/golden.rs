//! Golden bytes for the admin and controlled-shutdown APIs, written out by hand from Kafka's
//! message schemas (`clients/src/main/resources/common/message/*.json`), at every served
//! version's boundaries: requests must decode to the right fields through `parse_request` and
//! responses must encode to exactly these bytes through `encode_response`, header versions
//! included (ControlledShutdown v0 has a request header without a client id; v3 is flexible, with
//! a v2 request header and a v1 response header).

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    ApiKey, ControlledShutdownResponse, CreateTopicsResponse, DeleteTopicsResponse, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::encode_response;

mod golden_bytes;
use golden_bytes::*;

#[test]
fn controlled_shutdown_requests_v0_to_v3() {
    // v0: request header v0 (no client id), BrokerId.
    let mut v0 = BytesMut::new();
    v0.put_i16(7);
    v0.put_i16(0);
    v0.put_i32(11);
    v0.put_i32(3);
    let r = parse(v0);
    // (Read with a v1 header, the broker id's first two bytes would be taken as a client id.)
    assert_eq!((r.api_key, r.correlation_id()), (ApiKey::ControlledShutdown, 11));
    let RequestKind::ControlledShutdown(body) = r.body else { panic!("{:?}", r.body) };
    assert_eq!((body.broker_id.0, body.broker_epoch), (3, -1), "v0 has no broker epoch: -1, unknown");

    // v1: header v1, BrokerId.
    let mut v1 = header_v1(ApiKey::ControlledShutdown, 1, 12);
    v1.put_i32(4);
    let RequestKind::ControlledShutdown(body) = parse(v1).body else { panic!() };
    assert_eq!((body.broker_id.0, body.broker_epoch), (4, -1));

    // v2: BrokerId, BrokerEpoch.
    let mut v2 = header_v1(ApiKey::ControlledShutdown, 2, 13);
    v2.put_i32(5);
    v2.put_i64(0x1_0000_0042);
    let RequestKind::ControlledShutdown(body) = parse(v2).body else { panic!() };
    assert_eq!((body.broker_id.0, body.broker_epoch), (5, 0x1_0000_0042));

    // v3: request header v2 (client id stays a classic string, then tagged fields), flexible body.
    let mut v3 = header_v1(ApiKey::ControlledShutdown, 3, 14);
    v3.put_u8(0); // header tagged fields
    v3.put_i32(6);
    v3.put_i64(77);
    v3.put_u8(0); // body tagged fields
    let r = parse(v3);
    assert_eq!(r.header.client_id.as_deref(), Some("golden"));
    let RequestKind::ControlledShutdown(body) = r.body else { panic!() };
    assert_eq!((body.broker_id.0, body.broker_epoch), (6, 77));
}

#[test]
fn controlled_shutdown_responses_v0_and_v3() {
    let response = ResponseKind::ControlledShutdown(
        ControlledShutdownResponse::default()
            .with_error_code(0)
            .with_remaining_partitions(vec![RemainingPartition::default().with_topic_name(name("t")).with_partition_index(2)]),
    );
    for version in 0..=2 {
        let mut expected = BytesMut::new();
        expected.put_i32(21); // correlation id, response header v0
        expected.put_i16(0);
        expected.put_i32(1);
        string(&mut expected, "t");
        expected.put_i32(2);
        assert_eq!(body_of(encode_response(ApiKey::ControlledShutdown, version, 21, &response).unwrap()), expected.to_vec(), "v{version}");
    }
    let mut expected = BytesMut::new();
    expected.put_i32(21);
    expected.put_u8(0); // response header v1: tagged fields
    expected.put_i16(0);
    expected.put_u8(2); // compact array of 1
    compact_string(&mut expected, "t");
    expected.put_i32(2);
    expected.put_u8(0); // partition tagged fields
    expected.put_u8(0); // body tagged fields
    assert_eq!(body_of(encode_response(ApiKey::ControlledShutdown, 3, 21, &response).unwrap()), expected.to_vec());
}

/// A CreateTopics body: topic "a" with 3 partitions, RF −1, no assignments, one config; topic
/// "b" with an explicit assignment; timeout 5000; (v1+) validate_only.
fn create_topics_body(buf: &mut BytesMut, version: i16) {
    buf.put_i32(2);
    string(buf, "a");
    buf.put_i32(3);
    buf.put_i16(-1);
    buf.put_i32(0);
    buf.put_i32(1);
    string(buf, "retention.ms");
    string(buf, "1000");
    string(buf, "b");
    buf.put_i32(-1);
    buf.put_i16(-1);
    buf.put_i32(1);
    buf.put_i32(0); // partition 0
    buf.put_i32(2);
    buf.put_i32(1);
    buf.put_i32(2);
    buf.put_i32(0);
    buf.put_i32(5000);
    if version >= 1 {
        buf.put_u8(1);
    }
}

#[test]
fn create_topics_requests_v0_to_v4() {
    for version in 0..=4 {
        let mut frame = header_v1(ApiKey::CreateTopics, version, 30);
        create_topics_body(&mut frame, version);
        let RequestKind::CreateTopics(body) = parse(frame).body else { panic!() };
        assert_eq!(body.timeout_ms, 5000);
        assert_eq!(body.validate_only, version >= 1, "v{version}");
        let [a, b] = body.topics.as_slice() else { panic!("{:?}", body.topics) };
        assert_eq!((&*a.name.0, a.num_partitions, a.replication_factor), ("a", 3, -1));
        assert_eq!(a.configs[0].name.as_str(), "retention.ms");
        assert_eq!(a.configs[0].value.as_deref(), Some("1000"));
        assert_eq!(b.assignments[0].broker_ids.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 2]);
    }
}

#[test]
fn create_topics_responses_v0_to_v4() {
    let response = ResponseKind::CreateTopics(CreateTopicsResponse::default().with_topics(vec![
        CreatableTopicResult::default().with_name(name("a")).with_error_code(0).with_error_message(None),
        CreatableTopicResult::default()
            .with_name(name("b"))
            .with_error_code(38)
            .with_error_message(Some(StrBytes::from_static_str("too big"))),
    ]));
    for version in 0..=4 {
        let mut expected = BytesMut::new();
        expected.put_i32(31);
        if version >= 2 {
            expected.put_i32(0); // throttle_time_ms
        }
        expected.put_i32(2);
        string(&mut expected, "a");
        expected.put_i16(0);
        if version >= 1 {
            expected.put_i16(-1); // null error message
        }
        string(&mut expected, "b");
        expected.put_i16(38);
        if version >= 1 {
            string(&mut expected, "too big");
        }
        assert_eq!(body_of(encode_response(ApiKey::CreateTopics, version, 31, &response).unwrap()), expected.to_vec(), "v{version}");
    }
}

#[test]
fn delete_topics_requests_and_responses_v0_to_v3() {
    for version in 0..=3 {
        let mut frame = header_v1(ApiKey::DeleteTopics, version, 40);
        frame.put_i32(2);
        string(&mut frame, "x");
        string(&mut frame, "y");
        frame.put_i32(1500);
        let RequestKind::DeleteTopics(body) = parse(frame).body else { panic!() };
        assert_eq!(body.topic_names.iter().map(|t| t.0.to_string()).collect::<Vec<_>>(), vec!["x", "y"]);
        assert_eq!(body.timeout_ms, 1500);

        let response = ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(vec![
            DeletableTopicResult::default().with_name(Some(name("x"))).with_error_code(0),
            DeletableTopicResult::default().with_name(Some(name("y"))).with_error_code(3),
        ]));
        let mut expected = BytesMut::new();
        expected.put_i32(41);
        if version >= 1 {
            expected.put_i32(0);
        }
        expected.put_i32(2);
        string(&mut expected, "x");
        expected.put_i16(0);
        string(&mut expected, "y");
        expected.put_i16(3);
        assert_eq!(body_of(encode_response(ApiKey::DeleteTopics, version, 41, &response).unwrap()), expected.to_vec(), "v{version}");
    }
}
