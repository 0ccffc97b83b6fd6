//! Compressed batches (gzip, snappy, lz4, zstd) from kcat (librdkafka 2.0.2) and confluent-kafka
//! (librdkafka 2.16.0) are stored as produced and returned unchanged (kafka-clients.md §4.5-10,
//! `compression.type=producer`): consumers read the records back intact, and every batch in the
//! segment files still carries the producer's codec in its attributes (byte 21 of the 61-byte
//! header, low 3 bits).
//!
//! librdkafka decides from the broker's ApiVersions whether it may compress at all, and silently
//! sends uncompressed batches when it thinks it may not; the on-disk check is what catches that.
//! The `wire_*` tests take the clients' gating out of the picture: they produce batches compressed
//! by `kafka_protocol` over `odradek-client` and check the broker hands back the very same bytes.

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::kcat::{consume_partition, produce};
use odradek_tests::segment_files::{first_batch_header, segment_file_name};
use odradek_tests::wire::{self, complete_batches, decode_records, encode_batch, fetch_raw};
use odradek_tests::workload::compressible_records;
use odradek_tests::{
    create_topic_blocking, unique_topic, BrokerProcess, Codec, PartitionOnDisk, RoundTrip,
};

const BROKER_ID: i32 = 4;

/// Why a librdkafka producer asked for a codec sends uncompressed batches instead (it logs
/// "Broker does not support compression type X: not compressing batch" at debug level `msg`).
const UNCOMPRESSED_HINT: &str = "\n  the producer sent UNCOMPRESSED batches: librdkafka <= 2.11.0 (Debian's kcat) \
     compresses gzip/snappy/lz4 only if the broker's ApiVersions range for Produce includes v0 \
     (rdkafka_msgset_writer.c compr_req), and every librdkafka needs FindCoordinator advertised for \
     lz4 (feature LZ4); zstd needs Produce 7 and Fetch 10";

/// Checks the segment files of `topic`-`partition` hold `records` records, all in `codec` batches.
fn assert_on_disk(
    broker: &BrokerProcess,
    topic: &str,
    partition: i32,
    records: i64,
    codec: Codec,
) -> anyhow::Result<()> {
    let disk = PartitionOnDisk::read(&broker.log_dir(), topic, partition)?;
    assert_eq!(
        disk.check_contiguous()?,
        records,
        "{topic}-{partition}: log end offset on disk"
    );
    let first = first_batch_header(&disk.dir.join(segment_file_name(0)))?;
    assert_eq!(
        first.attributes & 0x7,
        codec as i16,
        "{topic}-{partition}: first batch attributes {:#06x}, expected codec {} ({}){}",
        first.attributes,
        codec as i16,
        codec.name(),
        if first.attributes & 0x7 == 0 {
            UNCOMPRESSED_HINT
        } else {
            ""
        }
    );
    for batch in &disk.batches {
        assert_eq!(
            batch.codec(),
            Some(codec),
            "{topic}-{partition}: batch at offset {} has attributes {:#06x}, expected {}",
            batch.base_offset,
            batch.attributes,
            codec.name()
        );
    }
    Ok(())
}

fn kcat_codec(codec: Codec) -> anyhow::Result<()> {
    const RECORDS: usize = 5_000;
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!("kcat-{}", codec.name()));
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 1)?;
    let records = compressible_records(RECORDS, codec.name());
    produce(
        &broker.bootstrap(),
        &topic,
        &records,
        &["-z", codec.name(), "-X", "linger.ms=20"],
    )?;

    let consumed = consume_partition(&broker.bootstrap(), &topic, 0)?;
    assert_eq!(consumed.len(), RECORDS, "records consumed back");
    for (i, (got, (key, value))) in consumed.iter().zip(&records).enumerate() {
        assert_eq!(got.offset, i as i64);
        assert_eq!(&got.key, key, "offset {i}");
        assert!(&got.value == value, "offset {i}: value differs");
    }
    assert_on_disk(&broker, &topic, 0, RECORDS as i64, codec)?;
    // Stored as compressed, not decompressed on the way in.
    let raw: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
    let stored = PartitionOnDisk::read(&broker.log_dir(), &topic, 0)?.batch_bytes();
    assert!(
        (stored as usize) < raw / 2,
        "{} batches take {stored} bytes for {raw} raw bytes",
        codec.name()
    );
    Ok(())
}

fn confluent_codec(codec: Codec) -> anyhow::Result<()> {
    const RECORDS: usize = 3_000;
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!("confluent-{}", codec.name()));
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 2)?;
    RoundTrip {
        bootstrap: &broker.bootstrap(),
        topic: &topic,
        partitions: 2,
        count: RECORDS,
        acks: "all",
        compression: codec.name(),
        check_partitioner: true,
    }
    .run("confluent_roundtrip.py", &[])?;
    let mut total = 0;
    for partition in 0..2 {
        let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, partition)?;
        let records = disk.check_contiguous()?;
        assert_on_disk(&broker, &topic, partition, records, codec)?;
        total += records;
    }
    assert_eq!(total, RECORDS as i64);
    Ok(())
}

#[test]
fn kcat_gzip() -> anyhow::Result<()> {
    kcat_codec(Codec::Gzip)
}

#[test]
fn kcat_snappy() -> anyhow::Result<()> {
    kcat_codec(Codec::Snappy)
}

#[test]
fn kcat_lz4() -> anyhow::Result<()> {
    kcat_codec(Codec::Lz4)
}

#[test]
fn kcat_zstd() -> anyhow::Result<()> {
    kcat_codec(Codec::Zstd)
}

#[test]
fn confluent_kafka_gzip() -> anyhow::Result<()> {
    confluent_codec(Codec::Gzip)
}

#[test]
fn confluent_kafka_snappy() -> anyhow::Result<()> {
    confluent_codec(Codec::Snappy)
}

#[test]
fn confluent_kafka_lz4() -> anyhow::Result<()> {
    confluent_codec(Codec::Lz4)
}

#[test]
fn confluent_kafka_zstd() -> anyhow::Result<()> {
    confluent_codec(Codec::Zstd)
}

/// Produces three `codec` batches over the wire and checks the broker returns each one byte for
/// byte, except the two fields Kafka's leader stamps outside the CRC: BaseOffset (bytes 0..8)
/// and PartitionLeaderEpoch (bytes 12..16).
fn wire_codec(codec: Codec, compression: Compression) -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic(&format!("wire-{}", codec.name()));
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, 1)?;
    odradek_tests::controller_stub::block_on(async {
        let mut conn = Connection::connect(broker.addr()).await?;
        let mut sent = Vec::new();
        for b in 0..3 {
            let records: Vec<_> = compressible_records(200, codec.name())
                .into_iter()
                .map(|(k, v)| {
                    (
                        Some(Bytes::from(k)),
                        Some(Bytes::from(
                            [format!("batch {b} ").into_bytes(), v].concat(),
                        )),
                    )
                })
                .collect();
            let batch = encode_batch(&records, compression)?;
            let ack = wire::produce(&mut conn, &topic, 0, batch.clone(), -1).await?;
            assert_eq!(
                ack.error_code,
                0,
                "{} batch {b}: produce error",
                codec.name()
            );
            assert_eq!(
                ack.base_offset,
                200 * b,
                "{} batch {b}: base offset",
                codec.name()
            );
            sent.push((batch, records));
        }
        let (high_watermark, bytes) = fetch_raw(&mut conn, &topic, 0, 0, 4 << 20).await?;
        assert_eq!(high_watermark, 600);
        let returned = complete_batches(&bytes);
        let mut position = 0;
        for (b, (batch, records)) in sent.iter().enumerate() {
            let got = returned.slice(position..(position + batch.len()).min(returned.len()));
            assert_eq!(
                got.len(),
                batch.len(),
                "{} batch {b}: returned {} bytes, sent {}",
                codec.name(),
                got.len(),
                batch.len()
            );
            assert_eq!(
                i64::from_be_bytes(got[0..8].try_into()?),
                200 * b as i64,
                "{} batch {b}: BaseOffset",
                codec.name()
            );
            assert_eq!(
                i32::from_be_bytes(got[12..16].try_into()?),
                0,
                "{} batch {b}: PartitionLeaderEpoch",
                codec.name()
            );
            assert!(
                got[8..12] == batch[8..12] && got[16..] == batch[16..],
                "{} batch {b}: the broker changed the batch",
                codec.name()
            );
            let decoded = decode_records(&got)?;
            let values: Vec<_> = decoded.iter().map(|r| r.value.clone()).collect();
            let expected: Vec<_> = records.iter().map(|(_, v)| v.clone()).collect();
            assert_eq!(values, expected, "{} batch {b}: records", codec.name());
            position += batch.len();
        }
        assert_eq!(
            position,
            returned.len(),
            "{}: more batches returned than produced",
            codec.name()
        );
        anyhow::Ok(())
    })?;
    assert_on_disk(&broker, &topic, 0, 600, codec)
}

#[test]
fn wire_gzip_batches_are_returned_verbatim() -> anyhow::Result<()> {
    wire_codec(Codec::Gzip, Compression::Gzip)
}

#[test]
fn wire_snappy_batches_are_returned_verbatim() -> anyhow::Result<()> {
    wire_codec(Codec::Snappy, Compression::Snappy)
}

#[test]
fn wire_lz4_batches_are_returned_verbatim() -> anyhow::Result<()> {
    wire_codec(Codec::Lz4, Compression::Lz4)
}

#[test]
fn wire_zstd_batches_are_returned_verbatim() -> anyhow::Result<()> {
    wire_codec(Codec::Zstd, Compression::Zstd)
}
