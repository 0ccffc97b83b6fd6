//! Golden bytes for the flexible responses of the APIs the other golden files leave out: the
//! ApiVersions v3 answer (flexible body under a v0 response header, Kafka's one exception), the
//! control plane's LeaderAndIsr v4–5, StopReplica v3, UpdateMetadata v7 and AlterIsr v0, and the
//! config APIs' DescribeConfigs v4, AlterConfigs v2 and IncrementalAlterConfigs v1. Each expected
//! frame is written out byte by byte from Kafka 2.8's message schemas.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::alter_partition_response::{PartitionData, TopicData};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::leader_and_isr_response::{
    LeaderAndIsrPartitionError, LeaderAndIsrTopicError,
};
use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsResponse,
    AlterPartitionResponse, ApiKey, BrokerId, DescribeConfigsResponse,
    IncrementalAlterConfigsResponse, LeaderAndIsrResponse, ResponseKind, StopReplicaResponse,
    UpdateMetadataResponse,
};
use odradek_protocol::response::api_versions_body;
use odradek_protocol::{encode_response, SUPPORTED_APIS};
use uuid::Uuid;

mod golden_bytes;
use golden_bytes::*;

const TOPIC_ID: [u8; 16] = [
    0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17, 0x28, 0x39, 0x4a, 0x5b, 0x6c, 0x7d, 0x8e, 0x9f,
];

fn encoded(key: ApiKey, version: i16, correlation_id: i32, body: ResponseKind) -> Vec<u8> {
    body_of(encode_response(key, version, correlation_id, &body).unwrap())
}

#[test]
fn api_versions_v3_is_a_flexible_body_under_a_v0_header() {
    let mut expected = BytesMut::new();
    expected.put_i32(41); // response header v0: no tag section
    expected.put_i16(0);
    compact_len(&mut expected, SUPPORTED_APIS.len());
    for &(key, min, max) in SUPPORTED_APIS {
        expected.put_i16(key as i16);
        expected.put_i16(min);
        expected.put_i16(max);
        no_tags(&mut expected);
    }
    expected.put_i32(0); // throttle
    no_tags(&mut expected); // no features (a ZooKeeper-mode 2.8 broker supports none)
    assert_eq!(
        encoded(
            ApiKey::ApiVersions,
            3,
            41,
            ResponseKind::ApiVersions(api_versions_body(0))
        ),
        expected.to_vec()
    );
}

#[test]
fn leader_and_isr_v4_names_topics_and_v5_carries_topic_ids() {
    let partition = |p: i32, code: i16| {
        LeaderAndIsrPartitionError::default()
            .with_partition_index(p)
            .with_error_code(code)
    };

    let v4 = LeaderAndIsrResponse::default().with_partition_errors(vec![
        partition(0, 0).with_topic_name(name("t")),
        partition(1, 6).with_topic_name(name("t")),
    ]);
    let mut expected = response_header_v1(50);
    expected.put_i16(0);
    compact_len(&mut expected, 2);
    for (p, code) in [(0, 0i16), (1, 6)] {
        compact_string(&mut expected, "t");
        expected.put_i32(p);
        expected.put_i16(code);
        no_tags(&mut expected);
    }
    no_tags(&mut expected);
    assert_eq!(
        encoded(ApiKey::LeaderAndIsr, 4, 50, ResponseKind::LeaderAndIsr(v4)),
        expected.to_vec()
    );

    let v5 = LeaderAndIsrResponse::default().with_topics(vec![LeaderAndIsrTopicError::default()
        .with_topic_id(Uuid::from_bytes(TOPIC_ID))
        .with_partition_errors(vec![partition(0, 0), partition(1, 6)])]);
    let mut expected = response_header_v1(51);
    expected.put_i16(0);
    compact_len(&mut expected, 1);
    expected.put_slice(&TOPIC_ID);
    compact_len(&mut expected, 2);
    for (p, code) in [(0, 0i16), (1, 6)] {
        expected.put_i32(p);
        expected.put_i16(code);
        no_tags(&mut expected);
    }
    no_tags(&mut expected); // topic
    no_tags(&mut expected); // response
    assert_eq!(
        encoded(ApiKey::LeaderAndIsr, 5, 51, ResponseKind::LeaderAndIsr(v5)),
        expected.to_vec()
    );
}

#[test]
fn stop_replica_v3_and_update_metadata_v7() {
    let stop = StopReplicaResponse::default().with_partition_errors(vec![
        StopReplicaPartitionError::default()
            .with_topic_name(name("orders"))
            .with_partition_index(2)
            .with_error_code(0),
    ]);
    let mut expected = response_header_v1(60);
    expected.put_i16(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "orders");
    expected.put_i32(2);
    expected.put_i16(0);
    no_tags(&mut expected);
    no_tags(&mut expected);
    assert_eq!(
        encoded(ApiKey::StopReplica, 3, 60, ResponseKind::StopReplica(stop)),
        expected.to_vec()
    );

    let mut expected = response_header_v1(61);
    expected.put_i16(11); // STALE_CONTROLLER_EPOCH
    no_tags(&mut expected);
    assert_eq!(
        encoded(
            ApiKey::UpdateMetadata,
            7,
            61,
            ResponseKind::UpdateMetadata(UpdateMetadataResponse::default().with_error_code(11))
        ),
        expected.to_vec()
    );
}

#[test]
fn alter_isr_v0() {
    let response = AlterPartitionResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(name("t"))
        .with_partitions(vec![PartitionData::default()
            .with_partition_index(3)
            .with_error_code(0)
            .with_leader_id(BrokerId(2))
            .with_leader_epoch(7)
            .with_isr(vec![BrokerId(2), BrokerId(1)])
            .with_partition_epoch(12)])]);
    let mut expected = response_header_v1(70);
    expected.put_i32(0); // throttle
    expected.put_i16(0);
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "t");
    compact_len(&mut expected, 1);
    expected.put_i32(3);
    expected.put_i16(0);
    expected.put_i32(2);
    expected.put_i32(7);
    compact_len(&mut expected, 2);
    expected.put_i32(2);
    expected.put_i32(1);
    expected.put_i32(12); // CurrentIsrVersion (the codec's PartitionEpoch)
    no_tags(&mut expected); // partition
    no_tags(&mut expected); // topic
    no_tags(&mut expected); // response
    assert_eq!(
        encoded(
            ApiKey::AlterPartition,
            0,
            70,
            ResponseKind::AlterPartition(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn describe_configs_v4() {
    let config = DescribeConfigsResourceResult::default()
        .with_name(s("retention.ms"))
        .with_value(Some(s("1000")))
        .with_read_only(false)
        .with_config_source(1) // DYNAMIC_TOPIC_CONFIG
        .with_is_sensitive(false)
        .with_synonyms(vec![DescribeConfigsSynonym::default()
            .with_name(s("retention.ms"))
            .with_value(Some(s("1000")))
            .with_source(1)])
        .with_config_type(5) // LONG
        .with_documentation(None);
    let response =
        DescribeConfigsResponse::default().with_results(vec![DescribeConfigsResult::default()
            .with_error_code(0)
            .with_error_message(None)
            .with_resource_type(2)
            .with_resource_name(s("t"))
            .with_configs(vec![config])]);
    let mut expected = response_header_v1(80);
    expected.put_i32(0); // throttle
    compact_len(&mut expected, 1);
    expected.put_i16(0);
    expected.put_u8(0); // null error message
    expected.put_i8(2);
    compact_string(&mut expected, "t");
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "retention.ms");
    compact_string(&mut expected, "1000");
    expected.put_u8(0); // read only: false
    expected.put_i8(1);
    expected.put_u8(0); // sensitive: false
    compact_len(&mut expected, 1);
    compact_string(&mut expected, "retention.ms");
    compact_string(&mut expected, "1000");
    expected.put_i8(1);
    no_tags(&mut expected); // synonym
    expected.put_i8(5);
    expected.put_u8(0); // null documentation
    no_tags(&mut expected); // config
    no_tags(&mut expected); // result
    no_tags(&mut expected); // response
    assert_eq!(
        encoded(
            ApiKey::DescribeConfigs,
            4,
            80,
            ResponseKind::DescribeConfigs(response)
        ),
        expected.to_vec()
    );
}

#[test]
fn alter_configs_v2_and_incremental_alter_configs_v1() {
    // Both answer one result per resource: error, message, resource type and name.
    let expected_for = |correlation_id: i32| {
        let mut expected = response_header_v1(correlation_id);
        expected.put_i32(0); // throttle
        compact_len(&mut expected, 1);
        expected.put_i16(40); // INVALID_CONFIG
        compact_string(&mut expected, "bad value");
        expected.put_i8(2);
        compact_string(&mut expected, "t");
        no_tags(&mut expected);
        no_tags(&mut expected);
        expected.to_vec()
    };
    let alter = AlterConfigsResponse::default().with_responses(vec![
        alter_configs_response::AlterConfigsResourceResponse::default()
            .with_error_code(40)
            .with_error_message(Some(s("bad value")))
            .with_resource_type(2)
            .with_resource_name(s("t")),
    ]);
    assert_eq!(
        encoded(
            ApiKey::AlterConfigs,
            2,
            90,
            ResponseKind::AlterConfigs(alter)
        ),
        expected_for(90)
    );
    let incremental = IncrementalAlterConfigsResponse::default().with_responses(vec![
        incremental_alter_configs_response::AlterConfigsResourceResponse::default()
            .with_error_code(40)
            .with_error_message(Some(s("bad value")))
            .with_resource_type(2)
            .with_resource_name(s("t")),
    ]);
    assert_eq!(
        encoded(
            ApiKey::IncrementalAlterConfigs,
            1,
            91,
            ResponseKind::IncrementalAlterConfigs(incremental)
        ),
        expected_for(91)
    );
}
