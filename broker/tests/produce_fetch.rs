//! Produce, Fetch and ListOffsets over real TCP against an in-process broker with a temp log dir.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::controller_stub::create_topic;
use odradek_tests::wire::{encode_batch, fetch, fetch_all, produce};

fn kv(i: usize) -> (Option<Bytes>, Option<Bytes>) {
    (Some(Bytes::from(format!("key-{i}"))), Some(Bytes::from(format!("value-{i}-{}", "x".repeat(i % 50)))))
}

fn batch(range: std::ops::Range<usize>) -> Bytes {
    let records: Vec<_> = range.map(kv).collect();
    encode_batch(&records, Compression::None).unwrap()
}

fn fetch_request(topic: &str, partitions: &[(i32, i64, i32)], max_wait_ms: i32, min_bytes: i32, max_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(TopicName(StrBytes::from_string(topic.into()))).with_partitions(
            partitions
                .iter()
                .map(|&(p, offset, max)| {
                    FetchPartition::default().with_partition(p).with_fetch_offset(offset).with_current_leader_epoch(-1).with_log_start_offset(-1).with_partition_max_bytes(max)
                })
                .collect(),
        )])
}

fn records_len(r: &FetchResponse, partition: i32) -> usize {
    r.responses[0].partitions.iter().find(|p| p.partition_index == partition).and_then(|p| p.records.as_ref()).map_or(0, |b| b.len())
}

#[tokio::test]
async fn produce_then_fetch_round_trips_and_moves_records_by_sendfile() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "orders", 2).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();

    let a = produce(&mut conn, "orders", 0, batch(0..10), 1).await.unwrap();
    let b = produce(&mut conn, "orders", 0, batch(10..25), -1).await.unwrap();
    assert_eq!((a.error_code, a.base_offset), (0, 0));
    assert_eq!((b.error_code, b.base_offset), (0, 10), "offsets continue from the log end");

    let before = broker.handle.metrics().sendfile_bytes();
    let records = fetch_all(&mut conn, "orders", 0, 0).await.unwrap();
    let sent = broker.handle.metrics().sendfile_bytes() - before;
    assert_eq!(records.len(), 25);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!((r.key.clone(), r.value.clone()), kv(i));
    }
    let segment = std::fs::metadata(broker.log_dir().join("orders-0/00000000000000000000.log")).unwrap().len();
    assert!(sent >= segment, "record bytes went by sendfile: sent {sent}, segment holds {segment}");
    assert_eq!(broker.handle.metrics().copied_bytes(), 0, "no copy fallback on a plain fetch");
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_bad_acks_are_refused() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let req = |acks: i16, batch: Bytes| {
        ProduceRequest::default().with_acks(acks).with_timeout_ms(1000).with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(batch))])])
    };
    // acks=0 then acks=1 pipelined: the first answer on the wire belongs to the acks=1 request.
    conn.write_request(&req(0, batch(0..3)), 7).await.unwrap();
    let id = conn.write_request(&req(1, batch(3..5)), 7).await.unwrap();
    let resp = conn.read_response::<ProduceRequest>(7, id).await.unwrap();
    assert_eq!(resp.responses[0].partition_responses[0].base_offset, 3, "the acks=0 batch was appended first");

    let resp = conn.send(&req(2, batch(0..1)), 7).await.unwrap();
    assert_eq!(resp.responses[0].partition_responses[0].error_code, codes::INVALID_REQUIRED_ACKS);
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_batches_and_unknown_partitions_get_their_error_codes() {
    let broker = InProcessBroker::start(0, &["message.max.bytes=2000"]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();

    let mut corrupt = batch(0..5).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff; // inside the CRC range
    let ack = produce(&mut conn, "t", 0, Bytes::from(corrupt), 1).await.unwrap();
    assert_eq!(ack.error_code, codes::CORRUPT_MESSAGE);

    let big: Vec<_> = (0..1).map(|_| (None, Some(Bytes::from(vec![7u8; 3000])))).collect();
    let ack = produce(&mut conn, "t", 0, encode_batch(&big, Compression::None).unwrap(), 1).await.unwrap();
    assert_eq!(ack.error_code, codes::MESSAGE_TOO_LARGE);

    let mut two = batch(0..2).to_vec();
    two.extend_from_slice(&batch(2..4));
    let ack = produce(&mut conn, "t", 0, Bytes::from(two), 1).await.unwrap();
    assert_eq!(ack.error_code, codes::INVALID_RECORD, "exactly one batch per partition");

    let ack = produce(&mut conn, "nope", 0, batch(0..1), 1).await.unwrap();
    assert_eq!(ack.error_code, codes::UNKNOWN_TOPIC_OR_PARTITION);
    let ack = produce(&mut conn, "t", 9, batch(0..1), 1).await.unwrap();
    assert_eq!(ack.error_code, codes::UNKNOWN_TOPIC_OR_PARTITION);

    // Nothing bad was stored: the log is empty and still takes good batches at offset 0.
    let ack = produce(&mut conn, "t", 0, batch(0..2), 1).await.unwrap();
    assert_eq!((ack.error_code, ack.base_offset), (0, 0));

    let resp = conn.send(&fetch_request("t", &[(0, 50, 1 << 20)], 0, 1, 1 << 20), 11).await.unwrap();
    assert_eq!(resp.responses[0].partitions[0].error_code, codes::OFFSET_OUT_OF_RANGE);
    let err = fetch(&mut conn, "nope", 0, 0, 1024).await.unwrap_err().to_string();
    assert!(err.contains("error code 3"), "{err}");
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn long_poll_waits_for_an_append_and_times_out_empty() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut consumer = Connection::connect(broker.addr()).await.unwrap();

    // No data: the fetch parks for max_wait_ms and answers empty.
    let started = Instant::now();
    let resp = consumer.send(&fetch_request("t", &[(0, 0, 1 << 20)], 300, 1, 1 << 20), 11).await.unwrap();
    assert_eq!(records_len(&resp, 0), 0);
    assert!(started.elapsed() >= Duration::from_millis(250), "answered after {:?}", started.elapsed());

    // A parked fetch is woken by an append from another connection, long before its 30 s wait.
    let addr = broker.addr();
    let waiting = tokio::spawn(async move { consumer.send(&fetch_request("t", &[(0, 0, 1 << 20)], 30_000, 1, 1 << 20), 11).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut producer = Connection::connect(addr).await.unwrap();
    produce(&mut producer, "t", 0, batch(0..4), 1).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("woken by the append").unwrap().unwrap();
    assert!(records_len(&resp, 0) > 0);
    assert_eq!(resp.responses[0].partitions[0].high_watermark, 4);
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn byte_limits_and_the_kip74_first_batch_rule() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 2).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let first = batch(0..40);
    let first_len = first.len();
    produce(&mut conn, "t", 0, first, 1).await.unwrap();
    produce(&mut conn, "t", 0, batch(40..80), 1).await.unwrap();
    produce(&mut conn, "t", 1, batch(0..40), 1).await.unwrap();

    // Limits smaller than one batch: the first partition still gets its whole first batch;
    // the second gets nothing because the response budget is spent.
    let resp = conn.send(&fetch_request("t", &[(0, 0, 10), (1, 0, 10)], 0, 1, 10), 11).await.unwrap();
    assert_eq!(records_len(&resp, 0), first_len, "KIP-74: one whole batch");
    assert_eq!(records_len(&resp, 1), 0);

    // Partition max bytes caps each partition; the request max caps the sum.
    let resp = conn.send(&fetch_request("t", &[(0, 0, first_len as i32 + 100), (1, 0, 1 << 20)], 0, 1, 1 << 20), 11).await.unwrap();
    assert_eq!(records_len(&resp, 0), first_len + 100, "cut mid-batch at partition_max_bytes");
    assert!(records_len(&resp, 1) > 0);
    let resp = conn.send(&fetch_request("t", &[(0, 0, 1 << 20), (1, 0, 1 << 20)], 0, 1, first_len as i32 + 10), 11).await.unwrap();
    assert_eq!(records_len(&resp, 0) + records_len(&resp, 1), first_len + 10);
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_earliest_latest_and_by_timestamp() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let t0 = odradek_log::now_ms();
    produce(&mut conn, "t", 0, batch(0..5), 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t1 = odradek_log::now_ms();
    produce(&mut conn, "t", 0, batch(5..9), 1).await.unwrap();

    let list = |ts: i64| {
        ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(ts).with_current_leader_epoch(-1)])])
    };
    let offset = |r: kafka_protocol::messages::ListOffsetsResponse| {
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        p.offset
    };
    for version in [1, 5] {
        assert_eq!(offset(conn.send(&list(-2), version).await.unwrap()), 0);
        assert_eq!(offset(conn.send(&list(-1), version).await.unwrap()), 9);
        assert_eq!(offset(conn.send(&list(t0), version).await.unwrap()), 0);
        assert_eq!(offset(conn.send(&list(t1), version).await.unwrap()), 5);
        assert_eq!(offset(conn.send(&list(t1 + 60_000), version).await.unwrap()), -1, "no record that late");
    }
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn old_produce_versions_take_v2_batches_and_up_convert_legacy_message_sets() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "t", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let req = |records: Bytes| {
        ProduceRequest::default().with_acks(1).with_timeout_ms(1000).with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(records))])])
    };
    for (version, expected_offset) in [(0i16, 0i64), (2, 3)] {
        let resp = conn.send(&req(batch(0..3)), version).await.unwrap();
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, expected_offset), "v{version}");
    }
    // A magic-1 message set is up-converted to a v2 batch (broker/tests/old_formats.rs reads it
    // back); the same bytes with a garbled CRC are CORRUPT_MESSAGE, as Kafka answers.
    let mut legacy = bytes::BytesMut::new();
    let records: Vec<_> = kafka_protocol::records::RecordBatchDecoder::decode(&mut batch(0..2)).unwrap().records;
    kafka_protocol::records::RecordBatchEncoder::encode(&mut legacy, &records, &kafka_protocol::records::RecordEncodeOptions { version: 1, compression: Compression::None }).unwrap();
    let resp = conn.send(&req(legacy.clone().freeze()), 2).await.unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (codes::NONE, 6));
    let last = legacy.len() - 1;
    legacy[last] ^= 1;
    let resp = conn.send(&req(legacy.freeze()), 2).await.unwrap();
    assert_eq!(resp.responses[0].partition_responses[0].error_code, codes::CORRUPT_MESSAGE);
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn find_coordinator_says_not_available_until_groups_exist() {
    use kafka_protocol::messages::FindCoordinatorRequest;
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for version in 0..=2 {
        let req = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("group"));
        let resp = conn.send(&req, version).await.unwrap();
        assert_eq!((resp.error_code, resp.node_id.0), (codes::COORDINATOR_NOT_AVAILABLE, -1), "v{version}");
    }
    broker.handle.shutdown().await.unwrap();
}
