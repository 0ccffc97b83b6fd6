//! The conformance table: every API key the broker advertises in ApiVersions, at every version it
//! advertises, sent over a real socket to an in-process broker. Each answer must carry the
//! request's correlation id under the response header version for that key and version, decode
//! with `kafka-protocol` at exactly that version with no byte left over, and leave the connection
//! open for the next request. The data-path APIs are also checked for a successful answer at every
//! version (a produced batch is acknowledged, fetched back and listed), so a version that decodes
//! but answers wrongly fails too.
//!
//! The table is driven by `SUPPORTED_APIS`: a version added there is tested here without a change,
//! and an API added there without a request below fails `every_advertised_key_has_a_request`.

mod common;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::InProcessBroker;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_protocol::SUPPORTED_APIS;
use odradek_tests::controller_stub::create_topic;
use odradek_tests::wire::encode_batch;

const TOPIC: &str = "conformance";

fn s(v: &'static str) -> StrBytes {
    StrBytes::from_static_str(v)
}

fn topic() -> TopicName {
    TopicName(s(TOPIC))
}

/// A request for `key` at `version`, with content the broker can act on where that matters
/// (the test topic, a valid batch), or `None` for a key this table does not know.
fn request(key: ApiKey, version: i16, batch: &Bytes) -> Option<RequestKind> {
    let group = || GroupId(s("conformance-group"));
    Some(match key {
        ApiKey::Produce => RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(1)
                .with_timeout_ms(5_000)
                .with_topic_data(vec![produce_request::TopicProduceData::default()
                    .with_name(topic())
                    .with_partition_data(vec![
                        produce_request::PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch.clone())),
                    ])]),
        ),
        ApiKey::Fetch => RequestKind::Fetch(
            FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_session_epoch(-1)
                .with_topics(vec![fetch_request::FetchTopic::default()
                    .with_topic(topic())
                    .with_partitions(vec![fetch_request::FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(0)
                        .with_current_leader_epoch(-1)
                        .with_last_fetched_epoch(-1)
                        .with_log_start_offset(-1)
                        .with_partition_max_bytes(1 << 20)])]),
        ),
        ApiKey::ListOffsets => RequestKind::ListOffsets(
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic())
                    .with_partitions(vec![
                        list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_current_leader_epoch(-1)
                            .with_timestamp(-1)
                            .with_max_num_offsets(1),
                    ])]),
        ),
        ApiKey::Metadata => RequestKind::Metadata(
            MetadataRequest::default()
                .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                )
                .with_name(Some(topic()))]))
                // Always true before v4 (the field is absent); not wanted here.
                .with_allow_auto_topic_creation(version < 4),
        ),
        // The control-plane requests come from a controller epoch this broker has not seen, so
        // the broker answers them (STALE_CONTROLLER_EPOCH or an empty result) without acting.
        ApiKey::LeaderAndIsr => RequestKind::LeaderAndIsr(
            LeaderAndIsrRequest::default()
                .with_controller_id(BrokerId(1))
                .with_controller_epoch(0),
        ),
        ApiKey::StopReplica => RequestKind::StopReplica(
            StopReplicaRequest::default()
                .with_controller_id(BrokerId(1))
                .with_controller_epoch(0),
        ),
        ApiKey::UpdateMetadata => RequestKind::UpdateMetadata(
            UpdateMetadataRequest::default()
                .with_controller_id(BrokerId(1))
                .with_controller_epoch(0),
        ),
        ApiKey::ControlledShutdown => RequestKind::ControlledShutdown(
            ControlledShutdownRequest::default()
                .with_broker_id(BrokerId(0))
                .with_broker_epoch(-1),
        ),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(
            OffsetCommitRequest::default()
                .with_group_id(group())
                .with_generation_id_or_member_epoch(-1)
                .with_member_id(s(""))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic())
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(1),
                        ]),
                ]),
        ),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(
            OffsetFetchRequest::default()
                .with_group_id(group())
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic())
                        .with_partition_indexes(vec![0]),
                ])),
        ),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(
            FindCoordinatorRequest::default().with_key(s("conformance-group")),
        ),
        ApiKey::JoinGroup => RequestKind::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(group())
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(10_000)
                .with_member_id(s(""))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(
                    b"\0\x01\0\0\0\x01\0\x0bconformance\0\0\0\0",
                ))]),
        ),
        ApiKey::Heartbeat => RequestKind::Heartbeat(
            HeartbeatRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(s("nobody")),
        ),
        ApiKey::LeaveGroup => {
            let r = LeaveGroupRequest::default().with_group_id(group());
            RequestKind::LeaveGroup(if version >= 3 {
                r.with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(s("nobody"))
                ])
            } else {
                r.with_member_id(s("nobody"))
            })
        }
        ApiKey::SyncGroup => RequestKind::SyncGroup(
            SyncGroupRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(s("nobody")),
        ),
        ApiKey::DescribeGroups => {
            RequestKind::DescribeGroups(DescribeGroupsRequest::default().with_groups(vec![group()]))
        }
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(
            ApiVersionsRequest::default()
                .with_client_software_name(s("conformance"))
                .with_client_software_version(s("1.0")),
        ),
        ApiKey::CreateTopics => RequestKind::CreateTopics(
            CreateTopicsRequest::default()
                .with_timeout_ms(1_000)
                .with_validate_only(version >= 1)
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(TopicName(s("conformance-created")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)]),
        ),
        ApiKey::DeleteTopics => {
            let r = DeleteTopicsRequest::default().with_timeout_ms(1_000);
            RequestKind::DeleteTopics(if version >= 6 {
                r.with_topics(vec![delete_topics_request::DeleteTopicState::default()
                    .with_name(Some(TopicName(s("no-such-topic"))))])
            } else {
                r.with_topic_names(vec![TopicName(s("no-such-topic"))])
            })
        }
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(
            OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(topic())
                        .with_partitions(vec![
                            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                                .with_partition(0)
                                .with_current_leader_epoch(-1)
                                .with_leader_epoch(0),
                        ]),
                ]),
        ),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(
            DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("no-such-group"))]),
        ),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(
            DescribeConfigsRequest::default().with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(TOPIC))
                    .with_configuration_keys(None),
            ]),
        ),
        ApiKey::AlterConfigs => RequestKind::AlterConfigs(
            AlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(TOPIC))
                    .with_configs(vec![alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("1000")))])]),
        ),
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(
            IncrementalAlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![
                    incremental_alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(TOPIC))
                        .with_configs(vec![
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(s("retention.ms"))
                                .with_config_operation(0)
                                .with_value(Some(s("1000"))),
                        ]),
                ]),
        ),
        ApiKey::AlterPartition => RequestKind::AlterPartition(
            AlterPartitionRequest::default()
                .with_broker_id(BrokerId(0))
                .with_broker_epoch(-1),
        ),
        _ => return None,
    })
}

/// Sends `body` as `key` v`version` and returns the response body bytes after the header,
/// checking the correlation id under the header version Kafka uses for that key and version.
async fn round_trip(
    conn: &mut Connection,
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &RequestKind,
) -> Bytes {
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(s("conformance"));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("the test's {key:?} v{version} request does not encode: {e:#}"));
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    conn.write_raw(&buf).await.unwrap();
    let mut frame = conn
        .read_frame()
        .await
        .unwrap_or_else(|e| panic!("{key:?} v{version}: no answer (connection closed?): {e}"));
    let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
        .unwrap_or_else(|e| {
            panic!(
                "{key:?} v{version}: response header v{} does not decode: {e}",
                key.response_header_version(version)
            )
        });
    assert_eq!(
        header.correlation_id, correlation_id,
        "{key:?} v{version}: correlation id"
    );
    frame
}

fn decode_exactly(key: ApiKey, version: i16, mut body: Bytes) -> ResponseKind {
    let response = ResponseKind::decode(key, &mut body, version)
        .unwrap_or_else(|e| panic!("{key:?} v{version}: response does not decode: {e:#}"));
    assert!(
        !body.has_remaining(),
        "{key:?} v{version}: {} bytes left after the response",
        body.remaining()
    );
    response
}

/// What must hold of a successful answer, for the APIs whose answer this test can predict.
fn check(key: ApiKey, version: i16, response: &ResponseKind, produced_at: &mut Vec<i64>) {
    let at = format!("{key:?} v{version}");
    match response {
        ResponseKind::ApiVersions(r) => {
            assert_eq!(r.error_code, codes::NONE, "{at}");
            let served: Vec<(i16, i16, i16)> = r
                .api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version))
                .collect();
            let advertised: Vec<(i16, i16, i16)> = SUPPORTED_APIS
                .iter()
                .map(|&(k, min, max)| (k as i16, min, max))
                .collect();
            assert_eq!(served, advertised, "{at}");
        }
        ResponseKind::Produce(r) => {
            let p = &r.responses[0].partition_responses[0];
            assert_eq!(p.error_code, codes::NONE, "{at}");
            produced_at.push(p.base_offset);
        }
        ResponseKind::Fetch(r) => {
            let p = &r.responses[0].partitions[0];
            assert_eq!(p.error_code, codes::NONE, "{at}");
            assert!(p.high_watermark > 0, "{at}: HW {}", p.high_watermark);
            let mut records = p.records.clone().unwrap_or_default();
            assert!(!records.is_empty(), "{at}: no records");
            let first = RecordBatchDecoder::decode(&mut records)
                .unwrap_or_else(|e| panic!("{at}: records do not decode: {e:#}"));
            assert_eq!(first.records[0].offset, 0, "{at}");
            assert_eq!(
                first.records[0].value.as_deref(),
                Some(&b"conformance"[..]),
                "{at}"
            );
        }
        ResponseKind::ListOffsets(r) => {
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, codes::NONE, "{at}");
            let end = if version == 0 {
                p.old_style_offsets.first().copied().unwrap_or(-1)
            } else {
                p.offset
            };
            assert!(end > 0, "{at}: log end {end}");
        }
        ResponseKind::Metadata(r) => {
            let t = r
                .topics
                .iter()
                .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(TOPIC))
                .unwrap_or_else(|| panic!("{at}: topic missing"));
            assert_eq!(t.error_code, codes::NONE, "{at}");
            assert_eq!(t.partitions.len(), 1, "{at}");
            assert_eq!(t.partitions[0].leader_id, BrokerId(0), "{at}");
        }
        ResponseKind::OffsetForLeaderEpoch(r) => {
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, codes::NONE, "{at}");
            assert!(p.end_offset > 0, "{at}: end offset {}", p.end_offset);
        }
        _ => {}
    }
}

#[test]
fn every_advertised_key_has_a_request() {
    let batch = Bytes::new();
    for &(key, _, _) in SUPPORTED_APIS {
        assert!(
            request(key, 0, &batch).is_some(),
            "{key:?} is advertised but the conformance table has no request for it"
        );
    }
}

#[tokio::test]
async fn every_advertised_version_of_every_key_answers_in_its_own_format() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, TOPIC, 1).await.unwrap();
    let batch = encode_batch(
        &[(None, Some(Bytes::from_static(b"conformance")))],
        Compression::None,
    )
    .unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let mut produced_at = Vec::new();
    let mut correlation_id = 1_000;
    let mut tried = 0;
    // Produce first, so every Fetch and ListOffsets version has something to find.
    let mut order: Vec<_> = SUPPORTED_APIS.to_vec();
    order.sort_by_key(|&(key, _, _)| key != ApiKey::Produce);
    for (key, min, max) in order {
        for version in min..=max {
            let body =
                request(key, version, &batch).unwrap_or_else(|| panic!("no request for {key:?}"));
            correlation_id += 1;
            let answer = round_trip(&mut conn, key, version, correlation_id, &body).await;
            let response = decode_exactly(key, version, answer);
            check(key, version, &response, &mut produced_at);
            tried += 1;
        }
    }
    let produce_versions = SUPPORTED_APIS
        .iter()
        .find(|(k, _, _)| *k == ApiKey::Produce)
        .map(|&(_, min, max)| (max - min + 1) as usize)
        .unwrap();
    assert_eq!(
        produced_at,
        (0..produce_versions as i64).collect::<Vec<_>>(),
        "one record appended per Produce version, in order"
    );
    assert!(tried >= SUPPORTED_APIS.len(), "{tried} requests");
}
