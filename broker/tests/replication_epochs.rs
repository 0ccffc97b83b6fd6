//! Leader epochs across leader changes (KIP-101/279, reference §4.5–4.6), with two in-process
//! brokers and the test playing the controller, so the timing of every LeaderAndIsr is chosen:
//!
//! - a deposed leader that was never told keeps accepting acks=all writes that can never be
//!   replicated: they time out, consumers never see them, and once it follows the new leader it
//!   truncates them away (its first fetch's diverging epoch) and copies the new leader's log;
//! - a follower that missed whole epochs (two quick leader changes it heard nothing of) truncates
//!   to the first epoch boundary it shares with the leader and ends up identical;
//! - a follower's fetch that diverges from the leader's log (Fetch v12) is answered at once with
//!   the leader's epoch end and no records, and does not count as the follower's log end;
//! - the leader's high watermark never moves backwards.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::wire::{encode_batch, fetch};
use odradek_tests::PartitionOnDisk;
use uuid::Uuid;

const TOPIC: &str = "epochs";
const REQUEST_TIMED_OUT: i16 = 7;

struct Pair {
    a: InProcessBroker,
    b: InProcessBroker,
    topic_id: Uuid,
    controller_epoch: i32,
}

impl Pair {
    async fn start() -> anyhow::Result<Pair> {
        let overrides = ["replica.fetch.wait.max.ms=100", "replica.fetch.backoff.ms=100"];
        Ok(Pair { a: InProcessBroker::start(1, &overrides).await?, b: InProcessBroker::start(2, &overrides).await?, topic_id: Uuid::new_v4(), controller_epoch: 1 })
    }

    fn addr(&self, id: i32) -> std::net::SocketAddr {
        if id == 1 { self.a.addr() } else { self.b.addr() }
    }

    /// LeaderAndIsr to broker `to`: `leader` leads at `epoch` with `isr`, replicas [1, 2].
    async fn tell(&self, to: i32, leader: i32, epoch: i32, isr: &[i32]) -> anyhow::Result<()> {
        let live: Vec<LeaderAndIsrLiveLeader> = [1, 2]
            .iter()
            .map(|&id| LeaderAndIsrLiveLeader::default().with_broker_id(BrokerId(id)).with_host_name(StrBytes::from_static_str("127.0.0.1")).with_port(self.addr(id).port() as i32))
            .collect();
        let request = LeaderAndIsrRequest::default()
            .with_controller_id(BrokerId(9))
            .with_controller_epoch(self.controller_epoch)
            .with_broker_epoch(-1)
            .with_live_leaders(live)
            .with_topic_states(vec![LeaderAndIsrTopicState::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_topic_id(self.topic_id)
                .with_partition_states(vec![LeaderAndIsrPartitionState::default()
                    .with_partition_index(0)
                    .with_controller_epoch(self.controller_epoch)
                    .with_leader(BrokerId(leader))
                    .with_leader_epoch(epoch)
                    .with_isr(isr.iter().copied().map(BrokerId).collect())
                    .with_partition_epoch(epoch)
                    .with_replicas(vec![BrokerId(1), BrokerId(2)])])]);
        let response = Connection::connect(self.addr(to)).await?.send(&request, 5).await?;
        anyhow::ensure!(response.error_code == 0 && response.topics.iter().all(|t| t.partition_errors.iter().all(|p| p.error_code == 0)), "LeaderAndIsr to {to}: {response:?}");
        Ok(())
    }

    async fn produce(&self, to: i32, prefix: &str, count: usize, acks: i16, timeout_ms: i32) -> anyhow::Result<(i16, i64)> {
        let records: Vec<(Option<Bytes>, Option<Bytes>)> = (0..count).map(|i| (Some(Bytes::from("k")), Some(Bytes::from(format!("{prefix}-{i}"))))).collect();
        let batch = encode_batch(&records, Compression::None)?;
        let mut conn = Connection::connect(self.addr(to)).await?;
        let request = kafka_protocol::messages::ProduceRequest::default().with_acks(acks).with_timeout_ms(timeout_ms).with_topic_data(vec![
            kafka_protocol::messages::produce_request::TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partition_data(vec![kafka_protocol::messages::produce_request::PartitionProduceData::default().with_index(0).with_records(Some(batch))]),
        ]);
        let response = conn.send(&request, 7).await?;
        let p = &response.responses[0].partition_responses[0];
        Ok((p.error_code, p.base_offset))
    }

    /// (high watermark, values) a consumer reads from broker `from`.
    async fn consume(&self, from: i32) -> anyhow::Result<(i64, Vec<String>)> {
        let mut conn = Connection::connect(self.addr(from)).await?;
        let (hw, records) = fetch(&mut conn, TOPIC, 0, 0, 1 << 20).await?;
        Ok((hw, records.iter().map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()).collect()))
    }

    fn on_disk(&self, id: i32) -> anyhow::Result<Vec<(i64, i32, u32)>> {
        let dir = if id == 1 { self.a.log_dir() } else { self.b.log_dir() };
        let disk = PartitionOnDisk::read(&dir, TOPIC, 0)?;
        disk.check_contiguous()?;
        Ok(disk.batches.iter().map(|b| (b.base_offset, b.partition_leader_epoch, b.crc)).collect())
    }
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leaders_acks_all_writes_never_show_and_are_truncated_away() -> anyhow::Result<()> {
    let pair = Pair::start().await?;
    pair.tell(1, 1, 0, &[1, 2]).await?;
    pair.tell(2, 1, 0, &[1, 2]).await?;
    let (code, _) = pair.produce(1, "committed", 10, -1, 30_000).await?;
    assert_eq!(code, 0, "acks=all with both replicas in sync");
    eventually("broker 2 to hold the committed batch", async || pair.on_disk(2).ok().filter(|d| d.len() == 1)).await?;

    // Broker 2 becomes leader at epoch 1; broker 1 is not told (a zombie still at epoch 0).
    pair.tell(2, 2, 1, &[2]).await?;
    let (code, _) = pair.produce(1, "zombie", 5, -1, 1500).await?;
    assert_eq!(code, REQUEST_TIMED_OUT, "nobody replicates the zombie's write, so acks=all cannot be answered");
    let (hw, values) = pair.consume(1).await?;
    assert_eq!((hw, values.len()), (10, 10), "the zombie's unreplicated write is invisible to consumers");
    let (code, base) = pair.produce(2, "new-leader", 3, -1, 30_000).await?;
    assert_eq!((code, base), (0, 10));

    // Told at last, the old leader follows: it truncates its epoch-0 tail at the epoch boundary
    // (offset 10) and copies the new leader's log.
    pair.tell(1, 2, 1, &[2]).await?;
    let leader = pair.on_disk(2)?;
    let follower = eventually("broker 1 to match the leader", async || pair.on_disk(1).ok().filter(|d| *d == leader)).await?;
    assert_eq!(follower.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(), vec![(0, 0), (10, 1)]);
    let (hw, values) = pair.consume(2).await?;
    assert_eq!(hw, 13);
    assert!(values.iter().all(|v| !v.starts_with("zombie")), "{values:?}");
    let epochs = std::fs::read_to_string(pair.a.log_dir().join(format!("{TOPIC}-0/leader-epoch-checkpoint")))?;
    assert_eq!(epochs, "0\n2\n0 0\n1 10\n");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_missed_two_leader_changes_truncates_to_the_shared_boundary() -> anyhow::Result<()> {
    let pair = Pair::start().await?;
    // Epoch 0: broker 1 leads alone (broker 2 is not started as a follower yet).
    pair.tell(1, 1, 0, &[1]).await?;
    pair.produce(1, "e0", 4, 1, 30_000).await?;
    pair.tell(2, 1, 0, &[1]).await?;
    eventually("broker 2 to copy epoch 0", async || pair.on_disk(2).ok().filter(|d| d.len() == 1)).await?;
    // Broker 2 is cut off as a follower: it becomes leader at epoch 1 on its own...
    pair.tell(2, 2, 1, &[2]).await?;
    pair.produce(2, "e1-on-2", 2, 1, 30_000).await?;
    // ...while broker 1, never told, keeps writing at epoch 0 past the boundary...
    pair.produce(1, "e0-tail", 3, 1, 30_000).await?;
    // ...then broker 1 is made leader at epoch 2 (two changes later) and writes more.
    pair.tell(1, 1, 2, &[1]).await?;
    pair.produce(1, "e2", 2, 1, 30_000).await?;
    // Broker 2 finally follows broker 1 at epoch 2: its epoch-1 entries are unknown to the
    // leader, so it truncates to where epoch 0 ended on the leader's side of history (offset 4
    // is where its own epoch 1 began) and copies the rest.
    pair.tell(2, 1, 2, &[1]).await?;
    let leader = pair.on_disk(1)?;
    let follower = eventually("broker 2 to match the leader", async || pair.on_disk(2).ok().filter(|d| *d == leader)).await?;
    assert_eq!(follower.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(), vec![(0, 0), (4, 0), (7, 2)]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_high_watermark_never_moves_backwards() -> anyhow::Result<()> {
    let pair = Pair::start().await?;
    pair.tell(1, 1, 0, &[1, 2]).await?;
    pair.tell(2, 1, 0, &[1, 2]).await?;
    let mut last = 0;
    for round in 0..20 {
        let (code, _) = pair.produce(1, &format!("r{round}"), 5, if round % 2 == 0 { -1 } else { 1 }, 30_000).await?;
        assert_eq!(code, 0);
        let (hw, _) = pair.consume(1).await?;
        assert!(hw >= last, "HW went from {last} back to {hw}");
        last = hw;
    }
    let hw = eventually("the HW to cover every record", async || pair.consume(1).await.ok().map(|(hw, _)| hw).filter(|hw| *hw == 100)).await?;
    assert_eq!(hw, 100);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isr_shrinking_below_min_insync_while_waiting_answers_not_enough_replicas_after_append() -> anyhow::Result<()> {
    let overrides = ["replica.fetch.wait.max.ms=100", "replica.fetch.backoff.ms=100", "min.insync.replicas=2"];
    let pair = Pair { a: InProcessBroker::start(1, &overrides).await?, b: InProcessBroker::start(2, &overrides).await?, topic_id: Uuid::new_v4(), controller_epoch: 1 };
    pair.tell(1, 1, 0, &[1, 2]).await?;
    pair.tell(2, 1, 0, &[1, 2]).await?;
    assert_eq!(pair.produce(1, "both", 2, -1, 30_000).await?.0, 0);
    // The follower stops fetching (it leads elsewhere now); a write to broker 1 waits for it...
    pair.tell(2, 2, 1, &[2]).await?;
    let waiting = {
        let addr = pair.addr(1);
        tokio::spawn(async move {
            let records = vec![(Some(Bytes::from("k")), Some(Bytes::from("stranded")))];
            let batch = encode_batch(&records, Compression::None)?;
            let mut conn = Connection::connect(addr).await?;
            let request = kafka_protocol::messages::ProduceRequest::default().with_acks(-1).with_timeout_ms(20_000).with_topic_data(vec![
                kafka_protocol::messages::produce_request::TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                    .with_partition_data(vec![kafka_protocol::messages::produce_request::PartitionProduceData::default().with_index(0).with_records(Some(batch))]),
            ]);
            anyhow::Ok(conn.send(&request, 7).await?.responses[0].partition_responses[0].error_code)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "acks=all must wait while the ISR lacks the batch");
    // ...until the ISR shrinks to the leader alone: the HW passes the batch, but one in-sync
    // replica is fewer than min.insync.replicas=2.
    pair.tell(1, 1, 1, &[1]).await?;
    let code = tokio::time::timeout(Duration::from_secs(10), waiting).await???;
    assert_eq!(code, 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    // And with the ISR that small, the next acks=all write is refused before the append.
    let (code, _) = pair.produce(1, "refused", 1, -1, 30_000).await?;
    assert_eq!(code, 19, "NOT_ENOUGH_REPLICAS");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_for_leader_epoch_answers_epoch_ends_and_fences_stale_callers() -> anyhow::Result<()> {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
    use kafka_protocol::messages::OffsetForLeaderEpochRequest;
    let pair = Pair::start().await?;
    pair.tell(1, 1, 0, &[1]).await?;
    pair.produce(1, "e0", 5, 1, 30_000).await?;
    pair.tell(1, 1, 3, &[1]).await?;
    pair.produce(1, "e3", 2, 1, 30_000).await?;
    let ask = |current: i32, epoch: i32| {
        let addr = pair.addr(1);
        async move {
            let request = OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![OffsetForLeaderTopic::default()
                .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partitions(vec![OffsetForLeaderPartition::default().with_partition(0).with_current_leader_epoch(current).with_leader_epoch(epoch)])]);
            let response = Connection::connect(addr).await?.send(&request, 3).await?;
            let p = &response.topics[0].partitions[0];
            anyhow::Ok((p.error_code, p.leader_epoch, p.end_offset))
        }
    };
    assert_eq!(ask(3, 0).await?, (0, 0, 5), "epoch 0 ends where epoch 3 starts");
    assert_eq!(ask(3, 2).await?, (0, 0, 5), "an unknown epoch answers the largest known below it");
    assert_eq!(ask(3, 3).await?, (0, 3, 7), "the current epoch ends at the log end");
    assert_eq!(ask(-1, 3).await?, (0, 3, 7), "no current epoch: not checked");
    assert_eq!(ask(2, 3).await?.0, 74, "FENCED_LEADER_EPOCH");
    assert_eq!(ask(4, 3).await?.0, 75, "UNKNOWN_LEADER_EPOCH");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diverging_follower_fetch_is_answered_at_once_with_the_epoch_end_and_moves_nothing() -> anyhow::Result<()> {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::FetchRequest;
    let pair = Pair::start().await?;
    // Broker 1 leads with [1, 2] in sync; broker 2 is never told, so the test fetches as it.
    pair.tell(1, 1, 0, &[1, 2]).await?;
    pair.produce(1, "e0", 5, 1, 30_000).await?;
    pair.tell(1, 1, 1, &[1, 2]).await?;
    pair.produce(1, "e1", 2, 1, 30_000).await?;
    let follower_fetch = |last_fetched_epoch: i32, fetch_offset: i64, min_bytes: i32| {
        let addr = pair.addr(1);
        async move {
            let request = FetchRequest::default()
                .with_replica_id(BrokerId(2))
                .with_max_wait_ms(5_000)
                .with_min_bytes(min_bytes)
                .with_max_bytes(1 << 20)
                .with_session_epoch(-1)
                .with_topics(vec![FetchTopic::default().with_topic(TopicName(StrBytes::from_static_str(TOPIC))).with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(1)
                    .with_fetch_offset(fetch_offset)
                    .with_last_fetched_epoch(last_fetched_epoch)
                    .with_log_start_offset(0)
                    .with_partition_max_bytes(1 << 20)])]);
            let started = tokio::time::Instant::now();
            let response = Connection::connect(addr).await?.send(&request, 12).await?;
            let p = response.responses[0].partitions[0].clone();
            anyhow::Ok((p.error_code, (p.diverging_epoch.epoch, p.diverging_epoch.end_offset), p.records.map_or(0, |r| r.len()), p.high_watermark, started.elapsed()))
        }
    };
    // The follower claims epoch-0 records up to offset 7; the leader's epoch 0 ends at 5.
    let (code, diverging, bytes, hw, took) = follower_fetch(0, 7, 1 << 20).await?;
    assert_eq!((code, diverging, bytes), (0, (0, 5), 0), "diverging epoch, no records");
    assert!(took < Duration::from_secs(3), "a diverging answer does not wait for min_bytes ({took:?})");
    assert_eq!(hw, 0, "the follower never fetched consistently: nothing is replicated");
    // Its fetch offset 7 counts records the leader does not have: the HW must not move to it.
    let (hw, _) = pair.consume(1).await?;
    assert_eq!(hw, 0, "a diverging fetch does not update the follower's state (KAFKA-13141)");
    // Cut back to 5, the follower's fetch agrees with the leader's log and is answered records.
    let (code, diverging, bytes, _, _) = follower_fetch(0, 5, 1).await?;
    assert_eq!((code, diverging), (0, (-1, -1)), "consistent: no diverging epoch");
    assert!(bytes > 0, "the leader's epoch-1 records from offset 5");
    let (hw, _) = pair.consume(1).await?;
    assert_eq!(hw, 5, "a consistent fetch at 5 moves the HW there");
    Ok(())
}
