//! Golden bytes for the Produce and ListOffsets versions added with the old message formats,
//! written out by hand from Kafka 2.8's `ProduceRequest.json`/`ProduceResponse.json` and
//! `ListOffsetsRequest.json`/`ListOffsetsResponse.json`: the flexible Produce v9 and ListOffsets
//! v6 (request header v2, response header v1, compact strings and arrays, tagged fields), and
//! ListOffsets v0 with its `MaxNumOffsets` and `OldStyleOffsets`.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{
    ApiKey, ListOffsetsResponse, ProduceResponse, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::encode_response;

mod golden_bytes;
use golden_bytes::*;

#[test]
fn produce_v9_request_decodes_with_compact_records() {
    let records = [0xaa, 0xbb, 0xcc];
    let mut frame = header_v2(ApiKey::Produce, 9, 5);
    frame.put_u8(0); // TransactionalId: null compact string
    frame.put_i16(-1); // Acks
    frame.put_i32(1500); // TimeoutMs
    frame.put_u8(2); // TopicData: compact array of 1
    compact_string(&mut frame, "t");
    frame.put_u8(2); // PartitionData: compact array of 1
    frame.put_i32(4); // Index
    frame.put_u8(records.len() as u8 + 1); // Records: compact bytes
    frame.put_slice(&records);
    frame.put_u8(1); // one unknown tagged field: skipped
    frame.put_u8(9);
    frame.put_u8(1);
    frame.put_u8(0xff);
    frame.put_u8(0); // topic tagged fields
    frame.put_u8(0); // request tagged fields

    let request = parse(frame);
    assert_eq!(
        (
            request.api_key,
            request.api_version(),
            request.correlation_id()
        ),
        (ApiKey::Produce, 9, 5)
    );
    let RequestKind::Produce(produce) = request.body else {
        panic!("{:?}", request.body)
    };
    assert_eq!(
        (produce.transactional_id, produce.acks, produce.timeout_ms),
        (None, -1, 1500)
    );
    let partition = &produce.topic_data[0].partition_data[0];
    assert_eq!(produce.topic_data[0].name.0.as_str(), "t");
    assert_eq!(
        (partition.index, partition.records.as_deref()),
        (4, Some(&records[..]))
    );
}

#[test]
fn produce_v9_response_carries_record_errors_compactly() {
    let refused = PartitionProduceResponse::default()
        .with_index(1)
        .with_error_code(87)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_record_errors(vec![
            BatchIndexAndErrorMessage::default().with_batch_index(2)
        ])
        .with_error_message(Some(StrBytes::from_static_str("bad")));
    let written = PartitionProduceResponse::default()
        .with_index(0)
        .with_base_offset(42)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(7);
    let response = ProduceResponse::default()
        .with_responses(vec![TopicProduceResponse::default()
            .with_name(name("t"))
            .with_partition_responses(vec![written, refused])])
        .with_throttle_time_ms(0);

    let mut expected = BytesMut::new();
    expected.put_i32(5); // correlation id
    expected.put_u8(0); // response header v1: tagged fields
    expected.put_u8(2); // Responses: compact array of 1
    compact_string(&mut expected, "t");
    expected.put_u8(3); // PartitionResponses: compact array of 2
                        // partition 0: written at 42
    expected.put_i32(0);
    expected.put_i16(0);
    expected.put_i64(42);
    expected.put_i64(-1); // LogAppendTimeMs
    expected.put_i64(7); // LogStartOffset
    expected.put_u8(1); // RecordErrors: compact array of 0
    expected.put_u8(0); // ErrorMessage: null
    expected.put_u8(0); // partition tagged fields
                        // partition 1: INVALID_RECORD naming record 2
    expected.put_i32(1);
    expected.put_i16(87);
    expected.put_i64(-1);
    expected.put_i64(-1);
    expected.put_i64(-1);
    expected.put_u8(2); // RecordErrors: compact array of 1
    expected.put_i32(2); // BatchIndex
    expected.put_u8(0); // BatchIndexErrorMessage: null
    expected.put_u8(0); // record error tagged fields
    compact_string(&mut expected, "bad"); // ErrorMessage
    expected.put_u8(0); // partition tagged fields
    expected.put_u8(0); // topic tagged fields
    expected.put_i32(0); // ThrottleTimeMs
    expected.put_u8(0); // response tagged fields
    let frame = encode_response(ApiKey::Produce, 9, 5, &ResponseKind::Produce(response)).unwrap();
    assert_eq!(body_of(frame), expected.to_vec());
}

#[test]
fn list_offsets_v6_request_and_response() {
    let mut frame = header_v2(ApiKey::ListOffsets, 6, 8);
    frame.put_i32(-1); // ReplicaId
    frame.put_i8(1); // IsolationLevel
    frame.put_u8(2); // Topics: compact array of 1
    compact_string(&mut frame, "t");
    frame.put_u8(2); // Partitions: compact array of 1
    frame.put_i32(3); // PartitionIndex
    frame.put_i32(5); // CurrentLeaderEpoch
    frame.put_i64(-1); // Timestamp: latest
    frame.put_u8(0); // partition tagged fields
    frame.put_u8(0); // topic tagged fields
    frame.put_u8(0); // request tagged fields
    let request = parse(frame);
    let RequestKind::ListOffsets(list) = request.body else {
        panic!("{:?}", request.body)
    };
    assert_eq!((list.replica_id.0, list.isolation_level), (-1, 1));
    let p = &list.topics[0].partitions[0];
    assert_eq!(
        (p.partition_index, p.current_leader_epoch, p.timestamp),
        (3, 5, -1)
    );

    let response =
        ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(name("t"))
            .with_partitions(vec![ListOffsetsPartitionResponse::default()
                .with_partition_index(3)
                .with_timestamp(-1)
                .with_offset(120)
                .with_leader_epoch(5)])]);
    let mut expected = BytesMut::new();
    expected.put_i32(8);
    expected.put_u8(0); // response header v1
    expected.put_i32(0); // ThrottleTimeMs
    expected.put_u8(2); // Topics: compact array of 1
    compact_string(&mut expected, "t");
    expected.put_u8(2); // Partitions: compact array of 1
    expected.put_i32(3);
    expected.put_i16(0);
    expected.put_i64(-1); // Timestamp
    expected.put_i64(120); // Offset
    expected.put_i32(5); // LeaderEpoch
    expected.put_u8(0); // partition tagged fields
    expected.put_u8(0); // topic tagged fields
    expected.put_u8(0); // response tagged fields
    let frame = encode_response(
        ApiKey::ListOffsets,
        6,
        8,
        &ResponseKind::ListOffsets(response),
    )
    .unwrap();
    assert_eq!(body_of(frame), expected.to_vec());
}

#[test]
fn list_offsets_v0_asks_for_several_offsets_and_gets_old_style_offsets() {
    let mut frame = header_v1(ApiKey::ListOffsets, 0, 4);
    frame.put_i32(-1); // ReplicaId
    frame.put_i32(1); // Topics: array of 1
    frame.put_i16(1);
    frame.put_slice(b"t");
    frame.put_i32(1); // Partitions: array of 1
    frame.put_i32(0); // PartitionIndex
    frame.put_i64(-1); // Timestamp
    frame.put_i32(10); // MaxNumOffsets
    let request = parse(frame);
    let RequestKind::ListOffsets(list) = request.body else {
        panic!("{:?}", request.body)
    };
    let p = &list.topics[0].partitions[0];
    assert_eq!(
        (p.partition_index, p.timestamp, p.max_num_offsets),
        (0, -1, 10)
    );

    let response =
        ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(name("t"))
            .with_partitions(vec![ListOffsetsPartitionResponse::default()
                .with_partition_index(0)
                .with_old_style_offsets(vec![250, 0])])]);
    let mut expected = BytesMut::new();
    expected.put_i32(4); // response header v0
    expected.put_i32(1); // Topics
    expected.put_i16(1);
    expected.put_slice(b"t");
    expected.put_i32(1); // Partitions
    expected.put_i32(0);
    expected.put_i16(0);
    expected.put_i32(2); // OldStyleOffsets
    expected.put_i64(250);
    expected.put_i64(0);
    let frame = encode_response(
        ApiKey::ListOffsets,
        0,
        4,
        &ResponseKind::ListOffsets(response),
    )
    .unwrap();
    assert_eq!(body_of(frame), expected.to_vec());
}
