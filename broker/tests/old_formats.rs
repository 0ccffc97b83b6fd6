//! Old message formats over real TCP against an in-process broker: legacy message sets produced
//! at Produce v0–2 are stored as v2 batches, Fetch v0–3 reads them back down-converted,
//! ListOffsets v0 answers old-style offsets, and the newest versions (Produce v8–9, ListOffsets
//! v6) answer what Kafka 2.8 does.

mod common;

use bytes::{Bytes, BytesMut};
use common::InProcessBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    BrokerId, FetchRequest, ListOffsetsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, RecordSet,
    TimestampType,
};
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::controller_stub::create_topic;

fn record(i: i64, timestamp: i64) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i,
        sequence: i as i32 - 1,
        timestamp,
        key: Some(Bytes::from(format!("key-{i}"))),
        value: Some(Bytes::from(format!("value-{i}"))),
        headers: Default::default(),
    }
}

/// Records `range` at `magic` (0, 1 or 2) with `compression`; timestamps are 1000 + i.
fn encode(magic: i8, range: std::ops::Range<i64>, compression: Compression) -> Bytes {
    let records: Vec<Record> = range.map(|i| record(i, 1_000 + i)).collect();
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: magic,
            compression,
        },
    )
    .unwrap();
    out.freeze()
}

async fn produce(
    conn: &mut Connection,
    topic: &str,
    records: Bytes,
    version: i16,
) -> PartitionProduceResponse {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let resp = conn.send(&req, version).await.unwrap();
    resp.responses[0].partition_responses[0].clone()
}

/// One Fetch of partition 0 at `version`: (error code, record bytes).
async fn fetch(
    conn: &mut Connection,
    topic: &str,
    offset: i64,
    partition_max_bytes: i32,
    version: i16,
) -> (i16, Bytes) {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(partition_max_bytes)])]);
    let resp = conn.send(&req, version).await.unwrap();
    let p = &resp.responses[0].partitions[0];
    (p.error_code, p.records.clone().unwrap_or_default())
}

/// The records of a legacy message set, through up-conversion, one top-level message at a time
/// (up-conversion takes one compressed wrapper or only uncompressed messages, as Kafka does).
fn legacy_records(bytes: &Bytes) -> Vec<Record> {
    let mut records = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let end = at + 12 + i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let stored =
            odradek_log::legacy::up_convert(&bytes[at..end]).expect("a valid legacy message");
        records.extend(decode(&Bytes::from(stored)).remove(0).records);
        at = end;
    }
    records
}

fn decode(bytes: &Bytes) -> Vec<RecordSet> {
    RecordBatchDecoder::decode_all(&mut bytes.clone()).expect("decodable record sets")
}

/// (offset, key, value, timestamp) of every record.
fn summary(records: &[Record]) -> Vec<(i64, Bytes, Bytes, i64)> {
    records
        .iter()
        .map(|r| {
            (
                r.offset,
                r.key.clone().unwrap(),
                r.value.clone().unwrap(),
                r.timestamp,
            )
        })
        .collect()
}

fn expected(
    range: std::ops::Range<i64>,
    offset_shift: i64,
    timestamps: bool,
) -> Vec<(i64, Bytes, Bytes, i64)> {
    range
        .map(|i| {
            (
                i + offset_shift,
                Bytes::from(format!("key-{i}")),
                Bytes::from(format!("value-{i}")),
                if timestamps { 1_000 + i } else { -1 },
            )
        })
        .collect()
}

#[tokio::test]
async fn legacy_message_sets_produced_at_v0_to_v2_are_fetched_as_v2_batches() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "legacy", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();

    // v0: magic 0, uncompressed; v1: magic 1, uncompressed; v2: a magic-0 gzip wrapper.
    let sends = [
        (0i16, encode(0, 0..3, Compression::None)),
        (1, encode(1, 0..4, Compression::None)),
        (2, encode(0, 0..2, Compression::Gzip)),
    ];
    let mut base = 0;
    for (version, set) in sends {
        let p = produce(&mut conn, "legacy", set, version).await;
        assert_eq!(
            (p.error_code, p.base_offset),
            (codes::NONE, base),
            "v{version}"
        );
        base += [3, 4, 2][version as usize];
    }

    let (error, bytes) = fetch(&mut conn, "legacy", 0, 1 << 20, 11).await;
    assert_eq!(error, codes::NONE);
    let sets = decode(&bytes);
    assert_eq!(
        sets.iter()
            .map(|s| (s.version, s.records.len()))
            .collect::<Vec<_>>(),
        vec![(2, 3), (2, 4), (2, 2)],
        "one v2 batch per produce"
    );
    assert_eq!(
        sets[2].compression,
        kafka_protocol::records::RecordCompression::RecordBatch(Compression::Gzip),
        "the producer's codec is kept"
    );
    assert_eq!(
        summary(&sets[0].records),
        expected(0..3, 0, false),
        "magic 0 has no timestamps"
    );
    assert_eq!(summary(&sets[1].records), expected(0..4, 3, true));
    assert_eq!(summary(&sets[2].records), expected(0..2, 7, false));
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_v9_then_fetch_v0_and_v2_read_down_converted_messages_by_copy() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "new", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for (batch, base) in [
        (encode(2, 0..3, Compression::None), 0),
        (encode(2, 0..3, Compression::Lz4), 3),
    ] {
        let p = produce(&mut conn, "new", batch, 9).await;
        assert_eq!((p.error_code, p.base_offset), (codes::NONE, base));
    }

    let sendfile_before = broker.handle.metrics().sendfile_bytes();
    let copied_before = broker.handle.metrics().copied_bytes();
    for (version, magic) in [(0i16, 0u8), (1, 0), (2, 1), (3, 1)] {
        let (error, bytes) = fetch(&mut conn, "new", 1, 1 << 20, version).await;
        assert_eq!(error, codes::NONE, "v{version}");
        assert_eq!(bytes[16], magic, "v{version} carries magic {magic}");
        // The uncompressed batch starts below the fetch offset: its record 0 is left out. The
        // lz4 wrapper holds all three of its records. Up-converting reads both back.
        let records = &legacy_records(&bytes);
        let mut want = expected(1..3, 0, magic == 1);
        want.extend(expected(0..3, 2, magic == 1));
        let got: Vec<_> = summary(records)
            .into_iter()
            .map(|(_, k, v, t)| (k, v, t))
            .collect();
        assert_eq!(
            got,
            want.into_iter()
                .map(|(_, k, v, t)| (k, v, t))
                .collect::<Vec<_>>(),
            "v{version}"
        );
    }
    let (_, v2) = fetch(&mut conn, "new", 1, 1 << 20, 2).await;
    assert_eq!(
        i64::from_be_bytes(v2[..8].try_into().unwrap()),
        1,
        "messages keep their absolute offsets, from the fetch offset"
    );
    assert_eq!(
        broker.handle.metrics().sendfile_bytes(),
        sendfile_before,
        "down-converted records are not sent with sendfile"
    );
    assert!(
        broker.handle.metrics().copied_bytes() > copied_before,
        "they are copied"
    );
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_batch_above_the_limit_is_left_out_below_v3_and_sent_whole_from_v3() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "big", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    let batch = encode(2, 0..20, Compression::None);
    assert_eq!(
        produce(&mut conn, "big", batch.clone(), 7).await.error_code,
        codes::NONE
    );

    let limit = (batch.len() / 2) as i32;
    let (error, bytes) = fetch(&mut conn, "big", 0, limit, 2).await;
    assert_eq!(
        (error, bytes.len()),
        (codes::NONE, 0),
        "v0-2 limits are hard: the batch is cut short and nothing converts"
    );
    let (error, bytes) = fetch(&mut conn, "big", 0, limit, 3).await;
    assert_eq!(error, codes::NONE);
    let messages: usize = decode(&bytes).iter().map(|s| s.records.len()).sum();
    assert_eq!(
        messages, 20,
        "v3 returns the first batch whole (KIP-74), converted"
    );
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn legacy_sets_from_v3_on_are_invalid_record() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "strict", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    for version in [3, 7, 8, 9] {
        let p = produce(
            &mut conn,
            "strict",
            encode(1, 0..2, Compression::None),
            version,
        )
        .await;
        assert_eq!(p.error_code, codes::INVALID_RECORD, "v{version}");
        assert!(
            p.record_errors.is_empty() && p.error_message.is_none(),
            "v{version}: a request-level refusal names no record"
        );
    }
    let p = produce(&mut conn, "strict", encode(2, 0..2, Compression::None), 9).await;
    assert_eq!(
        (p.error_code, p.base_offset),
        (codes::NONE, 0),
        "nothing was written before"
    );
    broker.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_v0_answers_segment_offsets_and_v6_the_latest_offset() {
    let broker = InProcessBroker::start(0, &[]).await.unwrap();
    create_topic(broker.addr(), 0, "offsets", 1).await.unwrap();
    let mut conn = Connection::connect(broker.addr()).await.unwrap();
    assert_eq!(
        produce(&mut conn, "offsets", encode(2, 0..5, Compression::None), 7)
            .await
            .error_code,
        codes::NONE
    );

    let ask = |timestamp: i64, max_num_offsets: i32| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("offsets")))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)
                    .with_max_num_offsets(max_num_offsets)])])
    };
    let in_a_day = odradek_log::now_ms() + 86_400_000;
    for (timestamp, max, want) in [
        (-1, 10, vec![5, 0]),
        (-1, 1, vec![5]),
        (-2, 10, vec![0]),
        (0, 10, vec![]),
        (in_a_day, 10, vec![5, 0]),
    ] {
        let resp = conn.send(&ask(timestamp, max), 0).await.unwrap();
        let p = &resp.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.old_style_offsets.clone()),
            (codes::NONE, want),
            "timestamp {timestamp}, max {max}"
        );
    }
    let resp = conn.send(&ask(-1, 1), 0).await.unwrap();
    assert_eq!(resp.topics[0].partitions[0].old_style_offsets, vec![5]);

    let resp = conn
        .send(&ask(-1, 1).with_isolation_level(0), 6)
        .await
        .unwrap();
    let p = &resp.topics[0].partitions[0];
    assert_eq!(
        (p.error_code, p.offset, p.timestamp, p.leader_epoch),
        (codes::NONE, 5, -1, 0)
    );
    broker.handle.shutdown().await.unwrap();
}
