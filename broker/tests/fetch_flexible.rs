//! Fetch v12, the first flexible version, over real TCP against an in-process broker: the answer
//! decodes with `kafka-protocol` at v12 to the last byte, carries the produced records, and those
//! records still travel by `sendfile(2)` although tagged fields now follow each of them.

mod common;

use bytes::{Buf, Bytes};
use common::InProcessBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::controller_stub::create_topic;
use odradek_tests::wire::{decode_records, encode_batch, produce};

fn kv(i: usize) -> (Option<Bytes>, Option<Bytes>) {
    (
        Some(Bytes::from(format!("key-{i}"))),
        Some(Bytes::from(format!("value-{i}-{}", "x".repeat(i % 50)))),
    )
}

fn batch(range: std::ops::Range<usize>) -> Bytes {
    let records: Vec<_> = range.map(kv).collect();
    encode_batch(&records, Compression::None).unwrap()
}

/// A read_committed consumer's fetch of `partitions` of `topic`, all from offset 0.
fn fetch_request(topic: &str, partitions: &[i32]) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_isolation_level(1)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&p| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(0)
                            .with_current_leader_epoch(-1)
                            .with_last_fetched_epoch(-1)
                            .with_log_start_offset(-1)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )])
}

/// Reads one response frame and decodes it at `version`, requiring every byte to be used.
async fn read_fetch_response(
    conn: &mut Connection,
    version: i16,
    correlation_id: i32,
) -> FetchResponse {
    let mut frame = conn.read_frame().await.unwrap();
    let header =
        ResponseHeader::decode(&mut frame, ApiKey::Fetch.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, correlation_id);
    let response = FetchResponse::decode(&mut frame, version).unwrap();
    assert_eq!(
        frame.remaining(),
        0,
        "v{version}: the frame size matches its content"
    );
    response
}

#[tokio::test]
async fn fetch_v12_decodes_carries_the_records_and_sends_them_by_sendfile() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "orders", 2).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    produce(&mut conn, "orders", 0, batch(0..10), 1)
        .await
        .unwrap();
    produce(&mut conn, "orders", 1, batch(10..15), 1)
        .await
        .unwrap();

    // v12 then v11 pipelined on one connection: the v12 frame, with bytes after its file regions,
    // must end exactly where the v11 frame begins.
    let before = broker.handle.metrics().sendfile_bytes();
    let request = fetch_request("orders", &[0, 1, 9]);
    let v12 = conn.write_request(&request, 12).await.unwrap();
    let v11 = conn.write_request(&request, 11).await.unwrap();
    let flexible = read_fetch_response(&mut conn, 12, v12).await;
    let classic = read_fetch_response(&mut conn, 11, v11).await;
    let sent = broker.handle.metrics().sendfile_bytes() - before;

    assert_eq!(flexible.error_code, codes::NONE);
    let partitions = &flexible.responses[0].partitions;
    assert_eq!(partitions.len(), 3);
    for (p, range) in partitions[..2].iter().zip([0..10, 10..15]) {
        assert_eq!(p.error_code, codes::NONE, "partition {}", p.partition_index);
        assert_eq!(
            (p.high_watermark, p.last_stable_offset),
            (range.len() as i64, range.len() as i64)
        );
        assert_eq!(
            p.aborted_transactions.as_deref(),
            Some(&[][..]),
            "read_committed: an empty list"
        );
        assert_eq!(
            (p.diverging_epoch.epoch, p.diverging_epoch.end_offset),
            (-1, -1),
            "no DivergingEpoch tag for a consumer"
        );
        let records = decode_records(p.records.as_ref().unwrap()).unwrap();
        let expected: Vec<_> = range.clone().map(kv).collect();
        assert_eq!(
            records
                .iter()
                .map(|r| (r.key.clone(), r.value.clone()))
                .collect::<Vec<_>>(),
            expected
        );
        assert_eq!(
            records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            (0..range.len() as i64).collect::<Vec<_>>()
        );
    }
    let unknown = &partitions[2];
    assert_eq!(unknown.error_code, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(
        unknown.records.as_deref(),
        Some(&b""[..]),
        "empty records, never null"
    );

    // The same records at both versions.
    for (a, b) in flexible.responses[0]
        .partitions
        .iter()
        .zip(&classic.responses[0].partitions)
    {
        assert_eq!(
            (a.partition_index, a.error_code, &a.records),
            (b.partition_index, b.error_code, &b.records)
        );
    }
    let record_bytes: usize = partitions
        .iter()
        .map(|p| p.records.as_ref().map_or(0, Bytes::len))
        .sum();
    assert!(record_bytes > 0);
    assert_eq!(
        sent,
        2 * record_bytes as u64,
        "both answers' records went by sendfile"
    );
    assert_eq!(
        broker.handle.metrics().copied_bytes(),
        0,
        "no copy fallback"
    );
    broker.handle.shutdown().await.unwrap();
}
