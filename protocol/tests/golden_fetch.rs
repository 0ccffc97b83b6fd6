//! Golden bytes for Fetch v12, the first flexible version (KIP-482), written out by hand from
//! Kafka 2.8's `FetchRequest.json` and `FetchResponse.json`: a v12 request (header v2) must decode
//! through `parse_request`, unknown tags skipped, and the zero-copy encoder must produce exactly
//! the response bytes, with the records as a separate region followed by the partition's tagged
//! fields.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};
use odradek_protocol::fetch::{FetchPartition, FetchTopic, Part, ZeroCopyFetchResponse};
use odradek_protocol::{parse_request, ParsedRequest};

#[test]
fn fetch_v12_request_decodes_with_last_fetched_epoch_and_unknown_tags_skipped() {
    let mut frame = BytesMut::new();
    // request header v2
    frame.put_i16(1); // api key
    frame.put_i16(12); // api version
    frame.put_i32(42); // correlation id
    frame.put_i16(6); // client id: a classic nullable string even in header v2
    frame.put_slice(b"golden");
    frame.put_u8(0); // header tagged fields
                     // body
    frame.put_i32(-1); // ReplicaId
    frame.put_i32(500); // MaxWaitMs
    frame.put_i32(1); // MinBytes
    frame.put_i32(1 << 20); // MaxBytes
    frame.put_i8(1); // IsolationLevel: read_committed
    frame.put_i32(0); // SessionId
    frame.put_i32(-1); // SessionEpoch
    frame.put_u8(2); // Topics: compact array of 1
    frame.put_u8(4); // Topic: compact string of 3
    frame.put_slice(b"abc");
    frame.put_u8(2); // Partitions: compact array of 1
    frame.put_i32(3); // Partition
    frame.put_i32(6); // CurrentLeaderEpoch
    frame.put_i64(100); // FetchOffset
    frame.put_i32(5); // LastFetchedEpoch
    frame.put_i64(-1); // LogStartOffset
    frame.put_i32(65_536); // PartitionMaxBytes
    frame.put_u8(1); // one tagged field, unknown to 2.8: skipped
    frame.put_u8(7); // tag
    frame.put_u8(2); // size
    frame.put_slice(&[0xde, 0xad]);
    frame.put_u8(0); // the topic's tagged fields
    frame.put_u8(1); // ForgottenTopicsData: compact array of 0
    frame.put_u8(3); // RackId: compact string of 2
    frame.put_slice(b"r1");
    frame.put_u8(0); // the request's tagged fields

    let Ok(ParsedRequest::Request(request)) = parse_request(frame.freeze()) else {
        panic!("Fetch v12 is served")
    };
    assert_eq!(
        (
            request.api_key,
            request.api_version(),
            request.correlation_id()
        ),
        (ApiKey::Fetch, 12, 42)
    );
    assert_eq!(request.header.client_id.as_deref(), Some("golden"));
    let RequestKind::Fetch(fetch) = request.body else {
        panic!("{:?}", request.body)
    };
    assert_eq!(
        (
            fetch.replica_id.0,
            fetch.max_wait_ms,
            fetch.min_bytes,
            fetch.max_bytes
        ),
        (-1, 500, 1, 1 << 20)
    );
    assert_eq!(
        (fetch.isolation_level, fetch.session_id, fetch.session_epoch),
        (1, 0, -1)
    );
    assert_eq!(fetch.rack_id.as_str(), "r1");
    let topic = &fetch.topics[0];
    assert_eq!(topic.topic.0.as_str(), "abc");
    let p = &topic.partitions[0];
    assert_eq!(
        (
            p.partition,
            p.current_leader_epoch,
            p.fetch_offset,
            p.last_fetched_epoch
        ),
        (3, 6, 100, 5)
    );
    assert_eq!((p.log_start_offset, p.partition_max_bytes), (-1, 65_536));
}

#[test]
fn fetch_v12_response_with_records_aborted_transactions_and_a_diverging_epoch() {
    let records = Bytes::from_static(b"RECORDS");
    let response = ZeroCopyFetchResponse {
        throttle_time_ms: 5,
        error_code: 0,
        session_id: 0,
        topics: vec![FetchTopic {
            name: "t".into(),
            partitions: vec![
                FetchPartition {
                    partition_index: 0,
                    error_code: 0,
                    high_watermark: 10,
                    last_stable_offset: 10,
                    log_start_offset: 2,
                    aborted_transactions: Some(vec![(7, 3)]),
                    preferred_read_replica: -1,
                    diverging_epoch: None,
                    records: Some(records.clone()),
                },
                FetchPartition {
                    partition_index: 1,
                    error_code: 0,
                    high_watermark: 4,
                    last_stable_offset: 4,
                    log_start_offset: 0,
                    aborted_transactions: None,
                    preferred_read_replica: -1,
                    diverging_epoch: Some((3, 9)),
                    records: None,
                },
            ],
        }],
    };

    let mut head = BytesMut::new();
    head.put_i32(0x0102_0304); // correlation id
    head.put_u8(0); // response header v1: no tagged fields
    head.put_i32(5); // ThrottleTimeMs
    head.put_i16(0); // ErrorCode
    head.put_i32(0); // SessionId
    head.put_u8(2); // Responses: compact array of 1
    head.put_u8(2); // Topic: compact string of 1
    head.put_slice(b"t");
    head.put_u8(3); // Partitions: compact array of 2
                    // partition 0
    head.put_i32(0); // PartitionIndex
    head.put_i16(0); // ErrorCode
    head.put_i64(10); // HighWatermark
    head.put_i64(10); // LastStableOffset
    head.put_i64(2); // LogStartOffset
    head.put_u8(2); // AbortedTransactions: compact array of 1
    head.put_i64(7); // ProducerId
    head.put_i64(3); // FirstOffset
    head.put_u8(0); // the aborted transaction's tagged fields
    head.put_i32(-1); // PreferredReadReplica
    head.put_u8(8); // Records: compact bytes of 7
    let mut tail = BytesMut::new();
    tail.put_u8(0); // partition 0's tagged fields
                    // partition 1
    tail.put_i32(1);
    tail.put_i16(0);
    tail.put_i64(4);
    tail.put_i64(4);
    tail.put_i64(0);
    tail.put_u8(0); // AbortedTransactions: null
    tail.put_i32(-1);
    tail.put_u8(1); // Records: empty (never null)
    tail.put_u8(1); // one tagged field
    tail.put_u8(0); // tag 0: DivergingEpoch
    tail.put_u8(13); // its size
    tail.put_i32(3); // Epoch
    tail.put_i64(9); // EndOffset
    tail.put_u8(0); // DivergingEpoch's tagged fields
    tail.put_u8(0); // the topic's tagged fields
    tail.put_u8(0); // the response's tagged fields

    let size = head.len() + records.len() + tail.len();
    assert_eq!(response.encoded_size(12), size);
    let parts = response.into_parts(12, 0x0102_0304);

    let mut first = BytesMut::new();
    first.put_i32(size as i32);
    first.extend_from_slice(&head);
    assert_eq!(parts.len(), 3, "bytes, the records region, bytes");
    assert!(
        matches!(&parts[0], Part::Bytes(b) if b[..] == first[..]),
        "{:?}",
        parts[0]
    );
    assert!(matches!(&parts[1], Part::Region(r) if *r == records));
    assert!(
        matches!(&parts[2], Part::Bytes(b) if b[..] == tail[..]),
        "{:?}",
        parts[2]
    );
}
