//! ListOffsets bounded by the high watermark, Kafka's `Partition.fetchOffsetForTimestamp`: a
//! leader of a two-replica partition whose follower never fetches keeps its HW below its log
//! end, with the test playing the controller. A consumer is never told an offset at or above
//! the HW; a replica is answered up to the log end; and a leader that takes a new epoch with its
//! HW below the epoch's start answers OFFSET_NOT_AVAILABLE (KAFKA-9807) until the HW catches up.

mod common;

use bytes::Bytes;
use common::InProcessBroker;
use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::wire::{encode_batch, produce};
use uuid::Uuid;

const TOPIC: &str = "bounded";
const LEADER: i32 = 1;
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

/// Broker 1 leading `TOPIC`-0 with replicas [1, 2]; broker 2 is never started, so it never
/// fetches, and while it stays in the ISR the HW cannot pass 0.
struct Leader {
    broker: InProcessBroker,
    topic_id: Uuid,
}

impl Leader {
    async fn start() -> anyhow::Result<Leader> {
        // Nothing may shrink the ISR behind the test's back.
        let broker = InProcessBroker::start(LEADER, &["replica.lag.time.max.ms=3600000"]).await?;
        let leader = Leader { broker, topic_id: Uuid::new_v4() };
        leader.lead(0, &[1, 2]).await?;
        Ok(leader)
    }

    /// LeaderAndIsr v5 making broker 1 leader at `epoch` with `isr`, replicas [1, 2].
    async fn lead(&self, epoch: i32, isr: &[i32]) -> anyhow::Result<()> {
        let request = LeaderAndIsrRequest::default()
            .with_controller_id(BrokerId(9))
            .with_controller_epoch(1)
            .with_broker_epoch(-1)
            .with_topic_states(vec![LeaderAndIsrTopicState::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_topic_id(self.topic_id)
                .with_partition_states(vec![LeaderAndIsrPartitionState::default()
                    .with_partition_index(0)
                    .with_controller_epoch(1)
                    .with_leader(BrokerId(LEADER))
                    .with_leader_epoch(epoch)
                    .with_isr(isr.iter().copied().map(BrokerId).collect())
                    .with_partition_epoch(epoch)
                    .with_replicas(vec![BrokerId(1), BrokerId(2)])])]);
        let response = Connection::connect(self.broker.addr()).await?.send(&request, 5).await?;
        anyhow::ensure!(response.error_code == 0 && response.topics.iter().all(|t| t.partition_errors.iter().all(|p| p.error_code == 0)), "LeaderAndIsr: {response:?}");
        Ok(())
    }

    /// Appends `count` records with acks=1 (answered without the follower) and returns the base offset.
    async fn append(&self, count: usize) -> anyhow::Result<i64> {
        let records: Vec<(Option<Bytes>, Option<Bytes>)> = (0..count).map(|i| (None, Some(Bytes::from(format!("v{i}"))))).collect();
        let mut conn = Connection::connect(self.broker.addr()).await?;
        let ack = produce(&mut conn, TOPIC, 0, encode_batch(&records, Compression::None)?, 1).await?;
        anyhow::ensure!(ack.error_code == 0, "Produce: {ack:?}");
        Ok(ack.base_offset)
    }

    /// ListOffsets at `version` for `timestamp`, as `replica_id` (−1 a consumer) with
    /// `isolation_level` (1 = read_committed): (error code, timestamp, offset).
    async fn list(&self, version: i16, replica_id: i32, isolation_level: i8, timestamp: i64) -> anyhow::Result<(i16, i64, i64)> {
        let mut request = ListOffsetsRequest::default().with_replica_id(BrokerId(replica_id)).with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(timestamp).with_current_leader_epoch(-1)])]);
        if version >= 2 {
            request = request.with_isolation_level(isolation_level);
        }
        let response = Connection::connect(self.broker.addr()).await?.send(&request, version).await?;
        let p = &response.topics[0].partitions[0];
        Ok((p.error_code, p.timestamp, p.offset))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_lookup_never_finds_a_record_at_or_above_the_high_watermark() -> anyhow::Result<()> {
    let leader = Leader::start().await?;
    let before = odradek_log::now_ms();
    assert_eq!(leader.append(3).await?, 0);

    for version in [1, 5] {
        assert_eq!(leader.list(version, -1, 0, LATEST).await?, (0, -1, 0), "v{version}: latest is the HW, not the log end");
        let (code, timestamp, offset) = leader.list(version, -1, 0, before).await?;
        assert_eq!((code, timestamp, offset), (0, -1, -1), "v{version}: the records at or after {before} are all above the HW");
        assert_eq!(leader.list(version, -1, 0, EARLIEST).await?, (0, -1, 0), "v{version}");
    }
    assert_eq!(leader.list(5, -1, 1, before).await?, (0, -1, -1), "read_committed is bounded by the LSO, here the HW");

    // A replica (and the debugging tool) reads up to the log end.
    for replica_id in [2, -2] {
        assert_eq!(leader.list(5, replica_id, 0, LATEST).await?, (0, -1, 3), "replica {replica_id}: latest is the log end");
        let (code, timestamp, offset) = leader.list(5, replica_id, 0, before).await?;
        assert_eq!((code, offset), (0, 0), "replica {replica_id}: the first record is found");
        assert!(timestamp >= before, "replica {replica_id}: the record's timestamp {timestamp} is at or after {before}");
    }
    leader.broker.handle.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_whose_high_watermark_lags_its_epoch_start_answers_offset_not_available() -> anyhow::Result<()> {
    let leader = Leader::start().await?;
    let before = odradek_log::now_ms();
    assert_eq!(leader.append(3).await?, 0);
    // Epoch 1 starts at the log end, 3, while the HW is still 0.
    leader.lead(1, &[1, 2]).await?;

    for version in [1, 5] {
        assert_eq!(leader.list(version, -1, 0, LATEST).await?.0, codes::OFFSET_NOT_AVAILABLE, "v{version}: latest");
        assert_eq!(leader.list(version, -1, 0, before).await?.0, codes::OFFSET_NOT_AVAILABLE, "v{version}: a timestamp past the HW");
        assert_eq!(leader.list(version, -1, 0, EARLIEST).await?, (0, -1, 0), "v{version}: earliest is still the log start");
    }
    assert_eq!(leader.list(5, -1, 1, LATEST).await?.0, codes::OFFSET_NOT_AVAILABLE, "read_committed too");
    assert_eq!(leader.list(5, -1, 0, before + 3_600_000).await?.0, codes::OFFSET_NOT_AVAILABLE, "no record found and the HW lags");
    assert_eq!(leader.list(5, 2, 0, LATEST).await?, (0, -1, 3), "a replica is never refused");

    // The ISR shrinks to the leader: the HW reaches the log end, past the epoch start.
    leader.lead(2, &[1]).await?;
    assert_eq!(leader.list(5, -1, 0, LATEST).await?, (0, -1, 3));
    assert_eq!(leader.list(5, -1, 0, before).await?.2, 0);
    leader.broker.handle.shutdown().await?;
    Ok(())
}
