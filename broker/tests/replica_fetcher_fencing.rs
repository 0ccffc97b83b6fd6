//! The replica fetcher against a fake leader this test controls, deterministically: which
//! requests it sends, and which answers it applies.
//!
//! - Truncation on fetch: a follower whose log diverges (epochs the new leader never had) learns
//!   it from the `DivergingEpoch` of its v12 fetches, truncates exactly where the leader's answers
//!   say, asking again while its epoch differs (KIP-279), then replicates.
//! - A diverging epoch that arrives after its partition moved to another leader is not applied.
//! - Review finding 1: a follower must never apply a Fetch answer from a leader it no longer
//!   follows in that epoch.
//!
//! For the last: broker 1 follows three partitions from broker 2 (a fake leader) in epoch 5.
//! The fake holds broker 1's Fetch; meanwhile LeaderAndIsr epoch 6 moves `t-0` to broker 3 (a
//! fake that never answers) and makes broker 1 the leader of `t-1`; `t-2` stays with broker 2, so
//! its fetcher keeps running. Then the fake releases the held answer with a record for every
//! partition, as a deposed leader that appended an unacknowledged record would. Broker 1 must
//! drop the answer for `t-0` and `t-1` (their logs stay empty, `t-1`'s epoch cache holds only its
//! own epoch 6) and keep the one for `t-2`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{EpochEndOffset as DivergingEpoch, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{FetchResponse, OffsetForLeaderEpochResponse, RequestKind, ResponseKind};
use kafka_protocol::records::Compression;
use odradek_broker::partition::LeaderAndIsrState;
use odradek_broker::replica_manager::{LeaderAndIsrPartition, ReplicaManager};
use odradek_client::batch::{encode_batch, BatchRecord};
use odradek_log::{LogConfig, LogManager};
use odradek_protocol::{encode_response, parse_request, ParsedRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(60);

/// A request that reached the fake leader, and where its answer goes.
struct Held {
    body: RequestKind,
    answer: oneshot::Sender<ResponseKind>,
    api_version: i16,
}

/// A fake broker: every request is handed to the test, which answers it (or never does).
async fn fake_broker() -> (String, mpsc::UnboundedReceiver<Held>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, tx.clone()));
        }
    });
    (addr, rx)
}

async fn serve(mut socket: TcpStream, requests: mpsc::UnboundedSender<Held>) {
    loop {
        let mut size = [0u8; 4];
        if socket.read_exact(&mut size).await.is_err() {
            return;
        }
        let mut frame = BytesMut::zeroed(i32::from_be_bytes(size) as usize);
        if socket.read_exact(&mut frame).await.is_err() {
            return;
        }
        let Ok(ParsedRequest::Request(request)) = parse_request(frame.freeze()) else { return };
        let (answer, answered) = oneshot::channel();
        let (api_key, api_version, correlation_id) = (request.api_key, request.api_version(), request.correlation_id());
        if requests.send(Held { body: request.body, answer, api_version }).is_err() {
            return;
        }
        let Ok(body) = answered.await else { return };
        let bytes = encode_response(api_key, api_version, correlation_id, &body).expect("encode");
        if socket.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

async fn next(requests: &mut mpsc::UnboundedReceiver<Held>) -> Held {
    tokio::time::timeout(DEADLINE, requests.recv()).await.expect("a request in time").expect("fake broker running")
}

fn state(leader: i32, leader_epoch: i32) -> LeaderAndIsrState {
    LeaderAndIsrState { topic_id: Uuid::nil(), controller_epoch: 1, leader, leader_epoch, isr: vec![1, 2, 3], zk_version: leader_epoch, replicas: vec![1, 2, 3], is_new: false }
}

fn lai(partition: i32, leader: i32, leader_epoch: i32) -> LeaderAndIsrPartition {
    LeaderAndIsrPartition { topic: "t".to_string(), partition, state: state(leader, leader_epoch) }
}

/// One record at offset 0 written by the leader of `epoch` (the epoch sits outside the CRC).
fn leader_batch(epoch: i32) -> Bytes {
    batch_at(0, epoch, 1)
}

/// `count` records from `base_offset` written by the leader of `epoch` (both outside the CRC).
fn batch_at(base_offset: i64, epoch: i32, count: usize) -> Bytes {
    let records: Vec<BatchRecord> = (0..count).map(|_| BatchRecord::new(None, Some(Bytes::from_static(b"stale")))).collect();
    let mut batch = BytesMut::from(&encode_batch(&records, Compression::None, 0).expect("batch")[..]);
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
    batch.freeze()
}

/// Answers an OffsetForLeaderEpoch: the follower's (empty) log matches, end offset 0 in epoch 5.
fn epoch_end_offsets(held: &Held) -> ResponseKind {
    let RequestKind::OffsetForLeaderEpoch(r) = &held.body else { panic!("expected OffsetForLeaderEpoch, got {:?}", held.body) };
    let topics = r
        .topics
        .iter()
        .map(|t| OffsetForLeaderTopicResult::default().with_topic(t.topic.clone()).with_partitions(t.partitions.iter().map(|p| EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(5).with_end_offset(0)).collect()))
        .collect();
    ResponseKind::OffsetForLeaderEpoch(OffsetForLeaderEpochResponse::default().with_topics(topics))
}

/// The fetched partitions of a Fetch and their fetch offsets.
fn fetched(held: &Held) -> HashMap<i32, i64> {
    let RequestKind::Fetch(r) = &held.body else { panic!("expected Fetch, got {:?}", held.body) };
    r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (p.partition, p.fetch_offset))).collect()
}

/// The fetched partitions of a v12 Fetch with their (fetch offset, last fetched epoch).
fn fetched_with_epochs(held: &Held) -> HashMap<i32, (i64, i32)> {
    let RequestKind::Fetch(r) = &held.body else { panic!("expected Fetch, got {:?}", held.body) };
    assert_eq!(held.api_version, 12, "followers fetch with v12, which carries the last fetched epoch");
    r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (p.partition, (p.fetch_offset, p.last_fetched_epoch)))).collect()
}

/// A Fetch answer for topic `t`.
fn fetch_answer(partitions: Vec<PartitionData>) -> ResponseKind {
    let topic = FetchableTopicResponse::default().with_topic(kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_static_str("t"))).with_partitions(partitions);
    ResponseKind::Fetch(FetchResponse::default().with_responses(vec![topic]))
}

/// A partition's answer: no records, the leader's `(epoch, end offset)` where the logs diverge.
fn diverging(partition: i32, epoch: i32, end_offset: i64, high_watermark: i64) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_high_watermark(high_watermark)
        .with_last_stable_offset(high_watermark)
        .with_log_start_offset(0)
        .with_diverging_epoch(DivergingEpoch::default().with_epoch(epoch).with_end_offset(end_offset))
        .with_records(Some(Bytes::new()))
}

fn epochs(replica_manager: &ReplicaManager, partition: i32) -> Vec<(i32, i64)> {
    replica_manager.partition("t", partition).expect("hosted").log().leader_epoch_entries().iter().map(|e| (e.epoch, e.start_offset)).collect()
}

/// Broker 1 appends `count` one-record batches to `t-<partition>` as its leader.
fn append_as_leader(replica_manager: &ReplicaManager, partition: i32, count: usize) {
    let p = replica_manager.partition("t", partition).expect("hosted");
    for _ in 0..count {
        p.append_records_to_leader(&leader_batch(0), 1, 0).expect("append as leader");
    }
}

fn endpoint(addr: &str) -> (String, i32) {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    (host.to_string(), port.parse::<i32>().expect("port"))
}

/// Broker 1 wrote offsets 0..3 in epoch 0 and 3..5 leading epoch 2 alone; the new leader (the
/// fake, epoch 3) has epoch 0 up to offset 2 and epoch 1 from there, so the logs agree only
/// below offset 2. Broker 1 fetches at once (no OffsetForLeaderEpoch), and the diverging epochs
/// of two answers walk it back: epoch 1 is unknown to it, so it cuts where its epoch 0 ends (3)
/// and asks again with epoch 0; the leader's epoch 0 ends at 2, and there it is cut. Then it
/// copies the leader's epoch-1 batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diverging_follower_truncates_on_fetch_exactly_then_replicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_manager = Arc::new(LogManager::startup(vec![dir.path().to_path_buf()], LogConfig::default(), 1, 0).expect("log manager"));
    let replica_manager = Arc::new(ReplicaManager::new(1, log_manager));
    let (leader_b, mut b) = fake_broker().await;
    let live: HashMap<i32, (String, i32)> = [(2, endpoint(&leader_b))].into();

    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 1, 0)], &live).expect("lead in epoch 0");
    append_as_leader(&replica_manager, 0, 3);
    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 1, 2)], &live).expect("lead in epoch 2");
    append_as_leader(&replica_manager, 0, 2);
    assert_eq!(epochs(&replica_manager, 0), vec![(0, 0), (2, 3)]);

    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 2, 3)], &live).expect("follow broker 2 in epoch 3");
    let first = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&first), [(0, (5, 2))].into(), "a log with epochs fetches at once from its log end");
    first.answer.send(fetch_answer(vec![diverging(0, 1, 4, 4)])).expect("fetcher waiting");

    let second = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&second), [(0, (3, 0))].into(), "epoch 1 is unknown here: cut where epoch 0 ends, ask with epoch 0");
    assert_eq!(epochs(&replica_manager, 0), vec![(0, 0)]);
    second.answer.send(fetch_answer(vec![diverging(0, 0, 2, 4)])).expect("fetcher waiting");

    let third = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&third), [(0, (2, 0))].into(), "cut where the leader's epoch 0 ends");
    let log = replica_manager.partition("t", 0).expect("hosted").log().clone();
    assert_eq!(log.log_end_offset(), 2);
    let records = PartitionData::default().with_partition_index(0).with_high_watermark(4).with_last_stable_offset(4).with_log_start_offset(0).with_records(Some(batch_at(2, 1, 2)));
    third.answer.send(fetch_answer(vec![records])).expect("fetcher waiting");

    let fourth = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&fourth), [(0, (4, 1))].into(), "the appended batch's epoch is the next last fetched epoch");
    assert_eq!(epochs(&replica_manager, 0), vec![(0, 0), (1, 2)], "the follower's epochs are the leader's");
    assert_eq!((log.log_end_offset(), replica_manager.partition("t", 0).expect("hosted").high_watermark()), (4, 4));
    drop(b);
}

/// Broker 1 follows `t-0` and `t-1` from broker 2 (the fake) in epoch 1, each with three
/// records of epoch 0. The fake holds broker 1's Fetch while LeaderAndIsr epoch 2 moves `t-0` to
/// broker 3 (a fake that never answers); then it answers both with a diverging epoch. The one for
/// `t-0` comes from a leader `t-0` no longer follows and must not cut its log; the one for `t-1`
/// applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diverging_epoch_for_a_partition_that_moved_is_never_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_manager = Arc::new(LogManager::startup(vec![dir.path().to_path_buf()], LogConfig::default(), 1, 0).expect("log manager"));
    let replica_manager = Arc::new(ReplicaManager::new(1, log_manager));
    let (leader_b, mut b) = fake_broker().await;
    let (leader_c, mut c) = fake_broker().await;
    let live: HashMap<i32, (String, i32)> = [(2, endpoint(&leader_b)), (3, endpoint(&leader_c))].into();

    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 1, 0), lai(1, 1, 0)], &live).expect("lead in epoch 0");
    append_as_leader(&replica_manager, 0, 3);
    append_as_leader(&replica_manager, 1, 3);
    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 2, 1), lai(1, 2, 1)], &live).expect("follow broker 2 in epoch 1");
    let held = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&held), [(0, (3, 0)), (1, (3, 0))].into());

    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 3, 2)], &live).expect("t-0 moves to broker 3 in epoch 2");
    let c_fetch = next(&mut c).await; // broker 3 never answers
    assert_eq!(fetched_with_epochs(&c_fetch), [(0, (3, 0))].into());

    held.answer.send(fetch_answer(vec![diverging(0, 0, 0, 0), diverging(1, 0, 1, 1)])).expect("fetcher waiting");
    // The fetcher's next Fetch to broker 2 shows the answer was processed: t-1 was cut to 1.
    let after = next(&mut b).await;
    assert_eq!(fetched_with_epochs(&after), [(1, (1, 0))].into(), "only t-1 is still fetched from broker 2, from where it was cut");
    let log = |p: i32| replica_manager.partition("t", p).expect("hosted").log().clone();
    assert_eq!((log(0).log_end_offset(), epochs(&replica_manager, 0)), (3, vec![(0, 0)]), "t-0 follows broker 3 now: broker 2's stale diverging epoch must not cut it");
    assert_eq!(log(1).log_end_offset(), 1, "t-1 still follows broker 2 and is cut where it said");
    drop((b, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_answer_for_a_partition_that_moved_is_never_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_manager = Arc::new(LogManager::startup(vec![dir.path().to_path_buf()], LogConfig::default(), 1, 0).expect("log manager"));
    let replica_manager = Arc::new(ReplicaManager::new(1, log_manager));
    let (leader_b, mut b) = fake_broker().await;
    let (leader_c, mut c) = fake_broker().await;
    let endpoint = |addr: &str| {
        let (host, port) = addr.rsplit_once(':').expect("host:port");
        (host.to_string(), port.parse::<i32>().expect("port"))
    };
    let live: HashMap<i32, (String, i32)> = [(2, endpoint(&leader_b)), (3, endpoint(&leader_c))].into();

    replica_manager.become_leader_or_follower(1, -1, (0..3).map(|p| lai(p, 2, 5)).collect(), &live).expect("follow broker 2 in epoch 5");
    // Truncation: one OffsetForLeaderEpoch for the three partitions; nothing to cut.
    let truncation = next(&mut b).await;
    let answer = epoch_end_offsets(&truncation);
    truncation.answer.send(answer).expect("fetcher waiting");
    // The Fetch the fake holds.
    let held = next(&mut b).await;
    assert_eq!(fetched(&held), [(0, 0), (1, 0), (2, 0)].into(), "all three fetched from offset 0");

    // Epoch 6: t-0 moves to broker 3, broker 1 leads t-1.
    replica_manager.become_leader_or_follower(1, -1, vec![lai(0, 3, 6), lai(1, 1, 6)], &live).expect("epoch 6");
    let _c_truncation = next(&mut c).await; // broker 3 never answers

    // The deposed leader answers the old Fetch with a record for every partition.
    let records = leader_batch(5);
    let partitions = (0..3)
        .map(|p| PartitionData::default().with_partition_index(p).with_high_watermark(1).with_last_stable_offset(1).with_log_start_offset(0).with_records(Some(records.clone())))
        .collect();
    let version = held.api_version;
    let topic = FetchableTopicResponse::default().with_topic(kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_static_str("t"))).with_partitions(partitions);
    held.answer.send(ResponseKind::Fetch(FetchResponse::default().with_responses(vec![topic]))).expect("fetcher waiting");
    // The fetcher's next Fetch to broker 2 shows the answer was processed: t-2 moved on to 1.
    let after = next(&mut b).await;
    assert_eq!(fetched(&after), [(2, 1)].into(), "only t-2 is still fetched from broker 2, past the record (fetch v{version})");

    let log = |p: i32| replica_manager.partition("t", p).expect("hosted").log().clone();
    assert_eq!(log(0).log_end_offset(), 0, "t-0 follows broker 3 now: broker 2's record must not be appended");
    assert_eq!(log(1).log_end_offset(), 0, "t-1 is led here now: a stale follower append must not land");
    let epochs: Vec<(i32, i64)> = log(1).leader_epoch_entries().iter().map(|e| (e.epoch, e.start_offset)).collect();
    assert_eq!(epochs, vec![(6, 0)], "t-1's epoch cache holds only its own epoch");
    assert_eq!(log(2).log_end_offset(), 1, "t-2 still follows broker 2 and takes the record");
    // Keep the fakes' connections open until the checks are done.
    drop((b, c));
}
