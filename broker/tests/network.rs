//! The socket server under good and bad input: pipelining, ApiVersions negotiation, and garbage
//! that must close one connection while the broker and other clients carry on.

mod common;

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use common::InProcessBroker;
use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest, ProduceRequest};
use kafka_protocol::protocol::{Decodable, StrBytes};
use odradek_client::Connection;
use odradek_protocol::SUPPORTED_APIS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The connection is closed by the broker: a read sees EOF (or a reset) within a few seconds.
async fn assert_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    });
    read.await.expect("broker closed the connection");
}

/// The broker still serves new clients.
async fn assert_alive(broker: &InProcessBroker) {
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let resp = conn.send(&ApiVersionsRequest::default(), 0).await.unwrap();
    assert_eq!(resp.error_code, 0);
}

fn raw_header(api_key: i16, version: i16, correlation_id: i32) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i32(0);
    b.put_i16(api_key);
    b.put_i16(version);
    b.put_i32(correlation_id);
    b.put_i16(4);
    b.put_slice(b"test");
    b
}

fn finish(mut b: BytesMut) -> BytesMut {
    let n = (b.len() - 4) as i32;
    b[..4].copy_from_slice(&n.to_be_bytes());
    b
}

#[tokio::test]
async fn api_versions_lists_what_is_served_at_every_version() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for version in 0..=3 {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("t"))
            .with_client_software_version(StrBytes::from_static_str("1"));
        let resp = conn.send(&req, version).await.unwrap();
        assert_eq!(resp.error_code, 0);
        let listed: Vec<(i16, i16, i16)> = resp.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        let expected: Vec<(i16, i16, i16)> = SUPPORTED_APIS.iter().map(|&(k, a, b)| (k as i16, a, b)).collect();
        assert_eq!(listed, expected, "v{version}");
    }
}

#[tokio::test]
async fn too_new_api_versions_gets_a_v0_error_and_the_connection_stays_open() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let mut frame = raw_header(18, 9, 71);
    frame.put_slice(&[0, 0, 0]); // whatever a future version carries
    conn.write_raw(&finish(frame)).await.unwrap();
    let mut body = conn.read_frame().await.unwrap();
    assert_eq!(&body[..4], &71i32.to_be_bytes());
    let _ = body.split_to(4);
    let v0 = kafka_protocol::messages::ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(v0.error_code, 35);
    assert!(v0.api_keys.iter().any(|k| k.api_key == 18 && k.max_version == 3));
    // Same connection, retried at a version we serve (what librdkafka and kafka-python do).
    assert_eq!(conn.send(&ApiVersionsRequest::default(), 3).await.unwrap().error_code, 0);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(if i % 2 == 0 {
            conn.write_request(&ApiVersionsRequest::default(), 2).await.unwrap()
        } else {
            conn.write_request(&MetadataRequest::default(), 8).await.unwrap()
        });
    }
    for (i, id) in ids.into_iter().enumerate() {
        if i % 2 == 0 {
            conn.read_response::<ApiVersionsRequest>(2, id).await.unwrap();
        } else {
            conn.read_response::<MetadataRequest>(8, id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn unsupported_versions_and_keys_close_only_that_connection() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut bystander = Connection::connect(broker.addr()).await.unwrap();

    let mut old_produce = TcpStream::connect(broker.addr()).await.unwrap();
    old_produce.write_all(&finish(raw_header(0, 10, 1))).await.unwrap(); // Produce v10: newer than Kafka 2.8
    assert_closed(&mut old_produce).await;

    let mut unknown_key = TcpStream::connect(broker.addr()).await.unwrap();
    unknown_key.write_all(&finish(raw_header(999, 0, 2))).await.unwrap();
    assert_closed(&mut unknown_key).await;

    let mut not_served = TcpStream::connect(broker.addr()).await.unwrap();
    not_served.write_all(&finish(raw_header(65, 0, 3))).await.unwrap(); // DescribeTransactions: not served
    assert_closed(&mut not_served).await;

    assert_eq!(bystander.send(&ApiVersionsRequest::default(), 3).await.unwrap().error_code, 0);
    assert_alive(&broker).await;
}

/// An ApiVersions v3 request (flexible: request header v2, compact strings, tagged fields) with
/// `tags` as the body's tagged-field section.
fn api_versions_v3(correlation_id: i32, name_length: &[u8], tags: &[u8]) -> BytesMut {
    let mut b = raw_header(18, 3, correlation_id);
    b.put_u8(0); // header tagged fields
    b.put_slice(name_length);
    b.put_slice(b"conformance");
    b.put_u8(4); // compact string "1.0"
    b.put_slice(b"1.0");
    b.put_slice(tags);
    finish(b)
}

#[tokio::test]
async fn unknown_tagged_fields_are_skipped_and_a_bad_varint_closes_only_that_connection() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    // Two tagged fields no version defines (tags 7 and 300, varint-encoded), with payloads.
    let unknown = [2, 7, 3, 0xaa, 0xbb, 0xcc, 0xac, 0x02, 1, 0xdd];
    conn.write_raw(&api_versions_v3(5, &[12], &unknown)).await.unwrap();
    let mut body = conn.read_frame().await.unwrap();
    assert_eq!(&body[..4], &5i32.to_be_bytes());
    let _ = body.split_to(4);
    let answer = kafka_protocol::messages::ApiVersionsResponse::decode(&mut body, 3).unwrap();
    assert_eq!(answer.error_code, 0, "the unknown tags were skipped");

    let mut bystander = Connection::connect(broker.addr()).await.unwrap();
    for (what, frame) in [
        // A compact string whose uvarint length never ends (five continuation bytes).
        ("endless varint", api_versions_v3(6, &[0xff, 0xff, 0xff, 0xff, 0xff], &[0])),
        // A compact string length of 2^28: far beyond the frame.
        ("length past the frame", api_versions_v3(7, &[0x81, 0x80, 0x80, 0x80, 0x01], &[0])),
        // A tagged field claiming more bytes than the frame holds.
        ("tag past the frame", api_versions_v3(8, &[12], &[1, 7, 0x7f, 1])),
    ] {
        let mut stream = TcpStream::connect(broker.addr()).await.unwrap();
        stream.write_all(&frame).await.unwrap();
        eprintln!("{what}");
        assert_closed(&mut stream).await;
    }
    assert_eq!(bystander.send(&ApiVersionsRequest::default(), 3).await.unwrap().error_code, 0);
    assert_alive(&broker).await;
}

#[tokio::test]
async fn garbage_truncated_and_oversized_frames_close_the_connection_and_nothing_else() {
    let broker = InProcessBroker::start(0, &["socket.request.max.bytes=1000"]).await.unwrap();
    let mut bystander = Connection::connect(broker.addr()).await.unwrap();

    // Random bytes.
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    s.write_all(&[0, 0, 0, 20, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).await.unwrap();
    assert_closed(&mut s).await;

    // A Produce whose topic array claims i32::MAX entries.
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    let mut f = raw_header(0, 7, 5);
    f.put_i16(-1);
    f.put_i16(1);
    f.put_i32(1000);
    f.put_i32(i32::MAX);
    s.write_all(&finish(f)).await.unwrap();
    assert_closed(&mut s).await;

    // A request cut short, then the client disappears.
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    s.write_all(&[0, 0, 0, 100, 0, 3, 0, 8]).await.unwrap();
    drop(s);

    // Over socket.request.max.bytes.
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    s.write_all(&5000i32.to_be_bytes()).await.unwrap();
    assert_closed(&mut s).await;

    // Negative size.
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    s.write_all(&(-5i32).to_be_bytes()).await.unwrap();
    assert_closed(&mut s).await;

    // A truncated body of a supported request (Metadata v8 with its topic array cut).
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    let mut f = raw_header(3, 8, 6);
    f.put_i32(3);
    f.put_i16(10);
    s.write_all(&finish(f)).await.unwrap();
    assert_closed(&mut s).await;

    assert_eq!(bystander.send(&MetadataRequest::default(), 8).await.unwrap().controller_id.0, -1);
    assert_alive(&broker).await;
    let closed = broker.handle.metrics().connections_closed_for_bad_input.load(std::sync::atomic::Ordering::Relaxed);
    assert!(closed >= 5, "{closed}");
}

#[tokio::test]
async fn acks_zero_produce_that_fails_closes_the_connection() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let req = ProduceRequest::default().with_acks(0).with_topic_data(vec![kafka_protocol::messages::produce_request::TopicProduceData::default()
        .with_name(kafka_protocol::messages::TopicName(StrBytes::from_static_str("missing")))
        .with_partition_data(vec![kafka_protocol::messages::produce_request::PartitionProduceData::default().with_index(0).with_records(Some(bytes::Bytes::from_static(&[0u8; 70])))])]);
    conn.write_request(&req, 7).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), conn.read_frame()).await.expect("closed promptly");
    assert!(err.is_err(), "no response, then the connection is closed");
    assert_alive(&broker).await;
}
