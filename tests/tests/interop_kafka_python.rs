//! kafka-python 3.0.12 against a real broker process, with the broker version auto-detected from
//! ApiVersions: `tests/interop/kafka_python_roundtrip.py` produces keyed records (idempotence off:
//! no InitProducerId yet), checks ListOffsets, consumes the assigned partitions from offset 0
//! without a group and compares every record with its acknowledgement.

use odradek_tests::{
    create_topic_blocking, unique_topic, BrokerProcess, PartitionOnDisk, RoundTrip,
};

const BROKER_ID: i32 = 3;

fn round_trip(partitions: i32, count: usize, acks: &str) -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!("kafka-python-acks-{acks}"));
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
    .run("kafka_python_roundtrip.py", &[])?;

    let mut on_disk = 0;
    for partition in 0..partitions {
        on_disk +=
            PartitionOnDisk::read(&broker.log_dir(), &topic, partition)?.check_contiguous()?;
    }
    assert_eq!(on_disk, count as i64, "records in the segment files");
    Ok(())
}

#[test]
fn kafka_python_round_trip_acks_all() -> anyhow::Result<()> {
    round_trip(4, 5_000, "all")
}

#[test]
fn kafka_python_round_trip_acks_1() -> anyhow::Result<()> {
    round_trip(2, 2_000, "1")
}

#[test]
fn kafka_python_gzip_round_trip() -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic("kafka-python-gzip");
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 1)?;
    RoundTrip {
        bootstrap: &broker.bootstrap(),
        topic: &topic,
        partitions: 1,
        count: 2_000,
        acks: "all",
        compression: "gzip",
        check_partitioner: true,
    }
    .run("kafka_python_roundtrip.py", &[])?;
    let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, 0)?;
    assert_eq!(disk.check_contiguous()?, 2_000);
    for batch in &disk.batches {
        assert_eq!(
            batch.codec(),
            Some(odradek_tests::Codec::Gzip),
            "batch at offset {} is not gzip",
            batch.base_offset
        );
    }
    Ok(())
}

#[test]
fn kafka_python_infers_kafka_2_8_from_api_versions() -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    // The stand-alone broker lists itself in Metadata once a controller has sent UpdateMetadata.
    create_topic_blocking(broker.addr(), BROKER_ID, &unique_topic("kafka-python-version"), 1)?;
    let mut cmd = std::process::Command::new(odradek_tests::venv_python());
    cmd.arg(odradek_tests::interop_script("kafka_python_version.py")).args(["--bootstrap", &broker.bootstrap()]);
    let output = odradek_tests::run_checked(&mut cmd, None, odradek_tests::python::SCRIPT_TIMEOUT, "kafka_python_version.py")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), "inferred 2.8", "kafka-python's test_kafka_version_infer expects 2.8");
    Ok(())
}
