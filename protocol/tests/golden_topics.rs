//! Golden bytes for the topic APIs' flexible versions, written out by hand from Kafka 2.8's
//! message schemas (`MetadataRequest.json`/`MetadataResponse.json`, `CreateTopics*.json`,
//! `DeleteTopics*.json`): Metadata v0 and v9–11, CreateTopics v5–7, DeleteTopics v4–6. Requests
//! must decode to the right fields through `parse_request` (request header v2 for flexible
//! versions, unknown tagged fields skipped); responses must encode to exactly these bytes through
//! `encode_response` (response header v1: correlation id and an empty tag buffer).

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsResponse, DeleteTopicsResponse, MetadataResponse, RequestKind,
    ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::encode_response;
use uuid::Uuid;

mod golden_bytes;
use golden_bytes::*;

/// The topic id used throughout: 16 distinct bytes.
const TOPIC_ID: [u8; 16] = [
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f,
];

#[test]
fn metadata_v0_request_with_an_empty_list_decodes_to_an_empty_list() {
    // v0 has no null array: the empty list is how it asks for every topic.
    let mut frame = header_v1(ApiKey::Metadata, 0, 1);
    frame.put_i32(0);
    let RequestKind::Metadata(body) = parse(frame).body else {
        panic!()
    };
    assert_eq!(body.topics.map(|t| t.len()), Some(0));
    assert!(
        body.allow_auto_topic_creation,
        "v0–3 always allow auto-creation"
    );
}

#[test]
fn metadata_flexible_requests_v9_to_v11() {
    for version in 9..=11 {
        let mut frame = header_v2(ApiKey::Metadata, version, 2);
        compact_len(&mut frame, 1);
        if version >= 10 {
            frame.put_slice(&[0; 16]);
        }
        compact_string(&mut frame, "orders");
        no_tags(&mut frame);
        frame.put_u8(0); // allow_auto_topic_creation
        if version <= 10 {
            frame.put_u8(1); // include_cluster_authorized_operations
        }
        frame.put_u8(1); // include_topic_authorized_operations
                         // One unknown tagged field (tag 9, two bytes): skipped.
        frame.put_slice(&[1, 9, 2, 0xab, 0xcd]);
        let RequestKind::Metadata(body) = parse(frame).body else {
            panic!()
        };
        let topics = body.topics.expect("a list");
        assert_eq!(topics.len(), 1, "v{version}");
        assert_eq!(
            topics[0].name.as_ref().map(|n| n.0.to_string()),
            Some("orders".to_string())
        );
        assert!(topics[0].topic_id.is_nil());
        assert!(!body.allow_auto_topic_creation);
        assert_eq!(
            body.include_cluster_authorized_operations,
            version <= 10,
            "v{version}"
        );
        assert!(body.include_topic_authorized_operations);
    }
    // v10: a null name with a topic id (what Kafka 2.8 refuses, but must decode).
    let mut frame = header_v2(ApiKey::Metadata, 10, 3);
    compact_len(&mut frame, 1);
    frame.put_slice(&TOPIC_ID);
    frame.put_u8(0); // null name
    no_tags(&mut frame);
    frame.put_slice(&[1, 0, 0]);
    no_tags(&mut frame);
    let RequestKind::Metadata(body) = parse(frame).body else {
        panic!()
    };
    let topics = body.topics.expect("a list");
    assert_eq!(
        (topics[0].name.clone(), topics[0].topic_id),
        (None, Uuid::from_bytes(TOPIC_ID))
    );
}

fn metadata_response() -> ResponseKind {
    ResponseKind::Metadata(
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("h"))
                .with_port(9092)])
            .with_cluster_id(Some(StrBytes::from_static_str("cid")))
            .with_controller_id(BrokerId(1))
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(name("t")))
                .with_topic_id(Uuid::from_bytes(TOPIC_ID))
                .with_partitions(vec![MetadataResponsePartition::default()
                    .with_partition_index(0)
                    .with_leader_id(BrokerId(1))
                    .with_leader_epoch(4)
                    .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                    .with_isr_nodes(vec![BrokerId(1)])
                    .with_offline_replicas(vec![BrokerId(2)])])]),
    )
}

#[test]
fn metadata_responses_v0_and_v9_to_v11() {
    // v0: brokers (no rack), no cluster id, no controller, topics without is_internal.
    let mut v0 = BytesMut::new();
    v0.put_i32(50);
    v0.put_i32(1);
    v0.put_i32(1);
    string(&mut v0, "h");
    v0.put_i32(9092);
    v0.put_i32(1);
    v0.put_i16(0);
    string(&mut v0, "t");
    v0.put_i32(1);
    v0.put_i16(0);
    v0.put_i32(0);
    v0.put_i32(1);
    v0.put_slice(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    v0.put_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(
        body_of(encode_response(ApiKey::Metadata, 0, 50, &metadata_response()).unwrap()),
        v0.to_vec()
    );

    for version in 9..=11 {
        let mut expected = response_header_v1(51);
        expected.put_i32(0); // throttle_time_ms
        compact_len(&mut expected, 1);
        expected.put_i32(1);
        compact_string(&mut expected, "h");
        expected.put_i32(9092);
        expected.put_u8(0); // null rack
        no_tags(&mut expected);
        compact_string(&mut expected, "cid");
        expected.put_i32(1); // controller
        compact_len(&mut expected, 1);
        expected.put_i16(0);
        compact_string(&mut expected, "t");
        if version >= 10 {
            expected.put_slice(&TOPIC_ID);
        }
        expected.put_u8(0); // is_internal
        compact_len(&mut expected, 1);
        expected.put_i16(0);
        expected.put_i32(0);
        expected.put_i32(1);
        expected.put_i32(4); // leader epoch
        expected.put_slice(&[3, 0, 0, 0, 1, 0, 0, 0, 2]);
        expected.put_slice(&[2, 0, 0, 0, 1]);
        expected.put_slice(&[2, 0, 0, 0, 2]);
        no_tags(&mut expected);
        expected.put_i32(i32::MIN); // topic_authorized_operations: not requested
        no_tags(&mut expected);
        if version <= 10 {
            expected.put_i32(i32::MIN); // cluster_authorized_operations, gone in v11
        }
        no_tags(&mut expected);
        assert_eq!(
            body_of(encode_response(ApiKey::Metadata, version, 51, &metadata_response()).unwrap()),
            expected.to_vec(),
            "v{version}"
        );
    }
}

#[test]
fn create_topics_flexible_request_v5_to_v7() {
    for version in 5..=7 {
        let mut frame = header_v2(ApiKey::CreateTopics, version, 60);
        compact_len(&mut frame, 1);
        compact_string(&mut frame, "a");
        frame.put_i32(-1);
        frame.put_i16(-1);
        compact_len(&mut frame, 1); // assignments
        frame.put_i32(0);
        frame.put_slice(&[3, 0, 0, 0, 1, 0, 0, 0, 2]);
        no_tags(&mut frame);
        compact_len(&mut frame, 1); // configs
        compact_string(&mut frame, "cleanup.policy");
        compact_string(&mut frame, "compact");
        no_tags(&mut frame);
        no_tags(&mut frame);
        frame.put_i32(2500);
        frame.put_u8(1);
        no_tags(&mut frame);
        let RequestKind::CreateTopics(body) = parse(frame).body else {
            panic!()
        };
        let t = &body.topics[0];
        assert_eq!(
            (t.name.0.as_str(), t.num_partitions, t.replication_factor),
            ("a", -1, -1),
            "v{version}"
        );
        assert_eq!(t.assignments[0].broker_ids, vec![BrokerId(1), BrokerId(2)]);
        assert_eq!(
            t.configs[0].value.as_ref().map(|v| v.to_string()),
            Some("compact".to_string())
        );
        assert_eq!((body.timeout_ms, body.validate_only), (2500, true));
    }
}

#[test]
fn create_topics_responses_v5_to_v7() {
    let response = ResponseKind::CreateTopics(
        CreateTopicsResponse::default().with_topics(vec![
            CreatableTopicResult::default()
                .with_name(name("a"))
                .with_topic_id(Uuid::from_bytes(TOPIC_ID))
                .with_error_message(None)
                .with_num_partitions(3)
                .with_replication_factor(2)
                .with_configs(Some(vec![CreatableTopicConfigs::default()
                    .with_name(StrBytes::from_static_str("cleanup.policy"))
                    .with_value(Some(StrBytes::from_static_str("compact")))
                    .with_config_source(1)])),
            CreatableTopicResult::default()
                .with_name(name("b"))
                .with_error_code(36)
                .with_error_message(Some(StrBytes::from_static_str("exists")))
                .with_configs(Some(vec![])),
        ]),
    );
    for version in 5..=7 {
        let mut expected = response_header_v1(61);
        expected.put_i32(0);
        compact_len(&mut expected, 2);
        compact_string(&mut expected, "a");
        if version >= 7 {
            expected.put_slice(&TOPIC_ID);
        }
        expected.put_i16(0);
        expected.put_u8(0); // null error message
        expected.put_i32(3);
        expected.put_i16(2);
        compact_len(&mut expected, 1);
        compact_string(&mut expected, "cleanup.policy");
        compact_string(&mut expected, "compact");
        expected.put_slice(&[0, 1, 0]); // read_only, config_source TOPIC_CONFIG, is_sensitive
        no_tags(&mut expected);
        no_tags(&mut expected);
        compact_string(&mut expected, "b");
        if version >= 7 {
            expected.put_slice(&[0; 16]);
        }
        expected.put_i16(36);
        compact_string(&mut expected, "exists");
        expected.put_i32(-1);
        expected.put_i16(-1);
        compact_len(&mut expected, 0);
        no_tags(&mut expected);
        no_tags(&mut expected);
        assert_eq!(
            body_of(encode_response(ApiKey::CreateTopics, version, 61, &response).unwrap()),
            expected.to_vec(),
            "v{version}"
        );
    }
}

#[test]
fn delete_topics_flexible_requests_v4_to_v6() {
    for version in 4..=5 {
        let mut frame = header_v2(ApiKey::DeleteTopics, version, 70);
        compact_len(&mut frame, 2);
        compact_string(&mut frame, "x");
        compact_string(&mut frame, "y");
        frame.put_i32(1500);
        no_tags(&mut frame);
        let RequestKind::DeleteTopics(body) = parse(frame).body else {
            panic!()
        };
        assert_eq!(
            body.topic_names
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>(),
            vec!["x", "y"],
            "v{version}"
        );
        assert_eq!(body.timeout_ms, 1500);
    }
    // v6: topics by name or by id.
    let mut frame = header_v2(ApiKey::DeleteTopics, 6, 71);
    compact_len(&mut frame, 2);
    compact_string(&mut frame, "x");
    frame.put_slice(&[0; 16]);
    no_tags(&mut frame);
    frame.put_u8(0); // null name
    frame.put_slice(&TOPIC_ID);
    no_tags(&mut frame);
    frame.put_i32(1500);
    no_tags(&mut frame);
    let RequestKind::DeleteTopics(body) = parse(frame).body else {
        panic!()
    };
    let named: Vec<_> = body
        .topics
        .iter()
        .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
        .collect();
    assert_eq!(
        named,
        vec![
            (Some("x".to_string()), Uuid::nil()),
            (None, Uuid::from_bytes(TOPIC_ID))
        ]
    );
    assert!(body.topic_names.is_empty());
}

#[test]
fn delete_topics_responses_v4_to_v6() {
    let response = ResponseKind::DeleteTopics(
        DeleteTopicsResponse::default().with_responses(vec![
            // The codec's default message is "", Kafka's null.
            DeletableTopicResult::default()
                .with_name(Some(name("x")))
                .with_error_code(0)
                .with_error_message(None),
            DeletableTopicResult::default()
                .with_name(None)
                .with_topic_id(Uuid::from_bytes(TOPIC_ID))
                .with_error_code(100)
                .with_error_message(None),
        ]),
    );
    let mut v6 = response_header_v1(72);
    v6.put_i32(0);
    compact_len(&mut v6, 2);
    compact_string(&mut v6, "x");
    v6.put_slice(&[0; 16]);
    v6.put_i16(0);
    v6.put_u8(0); // null error message
    no_tags(&mut v6);
    v6.put_u8(0); // null name: an id no topic has
    v6.put_slice(&TOPIC_ID);
    v6.put_i16(100);
    v6.put_u8(0);
    no_tags(&mut v6);
    no_tags(&mut v6);
    assert_eq!(
        body_of(encode_response(ApiKey::DeleteTopics, 6, 72, &response).unwrap()),
        v6.to_vec()
    );

    let response = ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(
        vec![DeletableTopicResult::default()
        .with_name(Some(name("x")))
        .with_error_code(42)
        .with_error_message(Some(StrBytes::from_static_str("bad")))],
    ));
    for version in 4..=5 {
        let mut expected = response_header_v1(73);
        expected.put_i32(0);
        compact_len(&mut expected, 1);
        compact_string(&mut expected, "x");
        expected.put_i16(42);
        if version >= 5 {
            compact_string(&mut expected, "bad");
        }
        no_tags(&mut expected);
        no_tags(&mut expected);
        assert_eq!(
            body_of(encode_response(ApiKey::DeleteTopics, version, 73, &response).unwrap()),
            expected.to_vec(),
            "v{version}"
        );
    }
}
