//! Debian's segmentio/kafka-go 0.2.1 (a client from before the magic-2 record format) against a
//! real broker process: `tests/interop/go/kafkago_roundtrip` writes magic-1 message sets with
//! Produce v2, plain and gzip-compressed, reads the offsets with ListOffsets v1 and consumes with
//! Fetch v2. The broker up-converts what it is given to magic-2 batches on disk and down-converts
//! what it sends back; the program compares every record, offset included.

use odradek_tests::go::run_go_program;
use odradek_tests::{create_topic_blocking, unique_topic, BrokerProcess, Codec, PartitionOnDisk};

const BROKER_ID: i32 = 4;
const COUNT: usize = 1_000;

#[test]
fn kafka_go_0_2_produces_and_consumes_through_format_conversion() -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic("kafka-go");
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 1)?;
    let stdout = run_go_program(
        "kafkago_roundtrip",
        &[
            "-bootstrap",
            &broker.bootstrap(),
            "-topic",
            &topic,
            "-count",
            &COUNT.to_string(),
        ],
    )?;
    assert!(stdout.contains(&format!("OK: {COUNT} records")), "{stdout}");

    let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, 0)?;
    assert_eq!(
        disk.check_contiguous()?,
        COUNT as i64,
        "records in the segment files"
    );
    assert!(
        disk.batches.iter().all(|b| b.magic == 2),
        "every stored batch is magic 2"
    );
    let codecs: Vec<Option<Codec>> = disk.batches.iter().map(|b| b.codec()).collect();
    assert!(
        codecs.contains(&Some(Codec::None)) && codecs.contains(&Some(Codec::Gzip)),
        "plain and gzip batches kept their codec: {codecs:?}"
    );
    Ok(())
}
