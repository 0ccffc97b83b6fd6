//! kafka-python 3.0.12 pinned to old broker versions, so it speaks the pre-0.11 protocol: legacy
//! message sets in Produce v2 (magic 1), Fetch v2–3 read down-converted, and at 0.10.0 ListOffsets
//! v0 for the beginning and end offsets. The broker stores magic-2 batches throughout.

use odradek_tests::{
    create_topic_blocking, unique_topic, BrokerProcess, PartitionOnDisk, RoundTrip,
};

const BROKER_ID: i32 = 4;

fn pinned_round_trip(api_version: &str, compression: &str) -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!(
        "kafka-python-{}-{compression}",
        api_version.replace('.', "-")
    ));
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 2)?;
    RoundTrip {
        bootstrap: &broker.bootstrap(),
        topic: &topic,
        partitions: 2,
        count: 2_000,
        acks: "all",
        compression,
        check_partitioner: true,
    }
    .run("kafka_python_roundtrip.py", &["--api-version", api_version])?;
    let mut on_disk = 0;
    for partition in 0..2 {
        let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, partition)?;
        on_disk += disk.check_contiguous()?;
    }
    assert_eq!(
        on_disk, 2_000,
        "records in the segment files, as v2 batches"
    );
    Ok(())
}

#[test]
fn kafka_python_0_10_1_produces_magic_1_and_fetches_v3() -> anyhow::Result<()> {
    pinned_round_trip("0.10.1", "none")
}

#[test]
fn kafka_python_0_10_0_gzip_wrappers_and_list_offsets_v0() -> anyhow::Result<()> {
    pinned_round_trip("0.10.0", "gzip")
}
