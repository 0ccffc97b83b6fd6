//! confluent-kafka 2.16.1 (its own bundled librdkafka 2.16.0) against a real broker process:
//! `tests/interop/confluent_roundtrip.py` produces keyed records with Kafka's partitioner, checks
//! the watermarks (ListOffsets), consumes the assigned partitions from offset 0 and compares every
//! record with its delivery report; the Rust side then checks the segment files agree.

use odradek_tests::{
    create_topic_blocking, unique_topic, BrokerProcess, PartitionOnDisk, RoundTrip,
};

const BROKER_ID: i32 = 2;

fn round_trip(partitions: i32, count: usize, acks: &str) -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!("confluent-acks-{acks}"));
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, partitions)?;
    RoundTrip {
        bootstrap: &broker.bootstrap(),
        topic: &topic,
        partitions,
        count,
        acks,
        compression: "none",
        check_partitioner: true,
    }
    .run("confluent_roundtrip.py", &[])?;

    let mut on_disk = 0;
    for partition in 0..partitions {
        let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, partition)?;
        let end = disk.check_contiguous()?;
        assert_eq!(end, disk.records());
        on_disk += end;
    }
    assert_eq!(on_disk, count as i64, "records in the segment files");
    Ok(())
}

#[test]
fn confluent_kafka_round_trip_acks_all() -> anyhow::Result<()> {
    round_trip(4, 20_000, "all")
}

#[test]
fn confluent_kafka_round_trip_acks_1() -> anyhow::Result<()> {
    round_trip(3, 5_000, "1")
}
