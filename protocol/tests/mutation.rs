//! Every served request, at its lowest and highest version, mutated thousands of ways (bit flips,
//! truncations, grown or shrunk length and count fields, random tails): `parse_request` must
//! answer each with a request or an error, never a panic or an unbounded allocation. A cheap,
//! deterministic stand-in for a fuzzer that runs in every CI build.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::{Encodable, StrBytes};
use odradek_protocol::{parse_request, SUPPORTED_APIS};
use uuid::Uuid;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A valid frame body (header + default request) for `key` at `version`.
fn seed(key: ApiKey, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = 7;
    header.client_id = Some(StrBytes::from_static_str("mutation"));
    header.encode(&mut buf, key.request_header_version(version)).unwrap();
    let body = default_request(key, version);
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}

fn default_request(key: ApiKey, version: i16) -> RequestKind {
    use kafka_protocol::messages::*;
    match key {
        ApiKey::Produce => {
            let mut batch = BytesMut::new();
            batch.put_bytes(0, 70);
            RequestKind::Produce(ProduceRequest::default().with_acks(1).with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("topic")))
                .with_partition_data(vec![produce_request::PartitionProduceData::default().with_index(3).with_records(Some(batch.freeze()))])]))
        }
        ApiKey::Fetch => RequestKind::Fetch(FetchRequest::default().with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("topic")))
            .with_partitions(vec![fetch_request::FetchPartition::default().with_partition(1).with_fetch_offset(5)])])),
        ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("topic")))
            .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default()])])),
        ApiKey::Metadata => RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_static_str("t"))))]))),
        ApiKey::LeaderAndIsr => RequestKind::LeaderAndIsr(LeaderAndIsrRequest::default()
            .with_ungrouped_partition_states(vec![])
            .with_live_leaders(vec![leader_and_isr_request::LeaderAndIsrLiveLeader::default().with_host_name(StrBytes::from_static_str("h"))])),
        ApiKey::StopReplica => RequestKind::StopReplica(StopReplicaRequest::default()),
        ApiKey::UpdateMetadata => RequestKind::UpdateMetadata(UpdateMetadataRequest::default()),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("group"))),
        ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::ControlledShutdown => RequestKind::ControlledShutdown(ControlledShutdownRequest::default().with_broker_id(BrokerId(2))),
        ApiKey::CreateTopics => RequestKind::CreateTopics(CreateTopicsRequest::default().with_timeout_ms(100).with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("topic")))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![create_topics_request::CreatableReplicaAssignment::default().with_broker_ids(vec![BrokerId(1), BrokerId(2)])])
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("1")))])])),
        // v6 names topics in `topics` (by name or id), before in `topic_names`.
        ApiKey::DeleteTopics if version >= 6 => RequestKind::DeleteTopics(DeleteTopicsRequest::default().with_topics(vec![
            delete_topics_request::DeleteTopicState::default().with_name(Some(TopicName(StrBytes::from_static_str("topic")))),
            delete_topics_request::DeleteTopicState::default().with_topic_id(Uuid::from_u128(7)),
        ])),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default().with_topic_names(vec![TopicName(StrBytes::from_static_str("topic"))])),
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::default().with_topics(vec![offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![offset_for_leader_epoch_request::OffsetForLeaderPartition::default().with_leader_epoch(3)])])),
        ApiKey::AlterPartition => RequestKind::AlterPartition(AlterPartitionRequest::default().with_broker_id(BrokerId(1)).with_topics(vec![alter_partition_request::TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![alter_partition_request::PartitionData::default().with_new_isr(vec![BrokerId(1), BrokerId(2)])])])),
        ApiKey::JoinGroup => RequestKind::JoinGroup(JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_session_timeout_ms(10_000)
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(bytes::Bytes::from_static(b"\0\x01\0\0\0\x01\0\x01t"))])),
        ApiKey::SyncGroup => RequestKind::SyncGroup(SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_member_id(StrBytes::from_static_str("m"))
            .with_assignments(vec![sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_static_str("m"))
                .with_assignment(bytes::Bytes::from_static(b"abc"))])),
        ApiKey::Heartbeat => RequestKind::Heartbeat(HeartbeatRequest::default().with_group_id(GroupId(StrBytes::from_static_str("g"))).with_member_id(StrBytes::from_static_str("m"))),
        // v0-2 carry one member id, v3 a list: the group id alone encodes at both ends.
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(LeaveGroupRequest::default().with_group_id(GroupId(StrBytes::from_static_str("g")))),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default().with_committed_offset(5)])])),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_topics(Some(vec![offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_indexes(vec![0, 1])]))),
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_static_str("g"))])),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(DeleteGroupsRequest::default().with_groups_names(vec![GroupId(StrBytes::from_static_str("g"))])),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("topic"))
            .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")]))])),
        ApiKey::AlterConfigs => RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("topic"))
            .with_configs(vec![alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("1")))])])),
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::default().with_resources(vec![incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str(""))
            .with_configs(vec![incremental_alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("min.insync.replicas"))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_static_str("2")))])])),
        other => panic!("no seed for {other:?}"),
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if m.is_empty() {
            break;
        }
        let at = rng.below(m.len());
        match rng.below(6) {
            0 => m[at] ^= 1 << rng.below(8),
            1 => m[at] = rng.next() as u8,
            2 => m.truncate(at),
            3 => {
                // Overwrite four bytes with a hostile length or count.
                let v: i32 = [i32::MAX, -1, -2, 0x7fff, 1 << 20, rng.next() as i32][rng.below(6)];
                for (i, b) in v.to_be_bytes().iter().enumerate() {
                    if let Some(slot) = m.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            4 => {
                let extra = rng.below(16);
                m.extend((0..extra).map(|_| rng.next() as u8));
            }
            _ => {
                // Keep the api key and version valid so the body decoder is what gets exercised.
                if at >= 8 {
                    m[at] = 0xff;
                }
            }
        }
    }
    m
}

#[test]
fn mutated_requests_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0usize;
    let mut refused = 0usize;
    for &(key, min, max) in SUPPORTED_APIS {
        for version in [min, max] {
            let seed = seed(key, version);
            assert!(parse_request(seed.clone()).is_ok(), "{key:?} v{version} seed must parse");
            for _ in 0..3000 {
                match parse_request(Bytes::from(mutate(&mut rng, &seed))) {
                    Ok(_) => decoded += 1,
                    Err(_) => refused += 1,
                }
            }
        }
    }
    // Both outcomes occur: the mutations reach the body decoders rather than all dying at the header.
    assert!(decoded > 1000 && refused > 1000, "decoded {decoded}, refused {refused}");
}
