//! kcat (Debian's 1.7.1 on librdkafka 2.0.2) against a real broker process: 100,000 keyed records
//! produced through Kafka's Java partitioner, read back partition by partition, compared byte for
//! byte, and found in Kafka-format segment files on disk.

use std::collections::HashMap;

use odradek_tests::kcat::{consume_partition, produce};
use odradek_tests::workload::line_safe_records;
use odradek_tests::{
    create_topic_blocking, partition_for_key, unique_topic, BrokerProcess, PartitionOnDisk,
};

const BROKER_ID: i32 = 1;
const PARTITIONS: i32 = 6;
const RECORDS: usize = 100_000;

type KeyedRecord = (Vec<u8>, Vec<u8>);

#[test]
fn kcat_round_trips_100k_keyed_records_through_murmur2_partitions() -> anyhow::Result<()> {
    let broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = unique_topic("kcat");
    create_topic_blocking(broker.addr(), BROKER_ID, &topic, PARTITIONS)?;

    let records = line_safe_records(RECORDS, 0x00d7_adec);
    produce(&broker.bootstrap(), &topic, &records, &[])?;

    // What each partition must hold, in production order: Kafka's partitioner is deterministic
    // for keyed records, and one producer's records to one partition keep their order.
    let mut expected: HashMap<i32, Vec<&KeyedRecord>> = HashMap::new();
    for record in &records {
        expected
            .entry(partition_for_key(&record.0, PARTITIONS))
            .or_default()
            .push(record);
    }

    let mut total = 0;
    for partition in 0..PARTITIONS {
        let consumed = consume_partition(&broker.bootstrap(), &topic, partition)?;
        let want = expected.remove(&partition).unwrap_or_default();
        for (i, got) in consumed.iter().enumerate() {
            let key = String::from_utf8_lossy(&got.key);
            let predicted = partition_for_key(&got.key, PARTITIONS);
            assert_eq!(
                predicted, partition,
                "key {key} was consumed from partition {partition}; murmur2 puts it on {predicted}"
            );
            assert_eq!(
                got.offset, i as i64,
                "partition {partition}: record #{i} (key {key}) has offset {}",
                got.offset
            );
            let Some((want_key, want_value)) = want.get(i) else {
                panic!("partition {partition} holds more records than the {} sent to it (extra key {key})", want.len());
            };
            assert_eq!(
                &got.key,
                want_key,
                "partition {partition} offset {i}: key {key}, expected {}",
                String::from_utf8_lossy(want_key)
            );
            assert!(
                &got.value == want_value,
                "partition {partition} offset {i} key {key}: value differs ({} bytes consumed, {} produced)",
                got.value.len(),
                want_value.len()
            );
        }
        assert_eq!(
            consumed.len(),
            want.len(),
            "partition {partition}: consumed {} records, produced {}",
            consumed.len(),
            want.len()
        );
        total += consumed.len();

        // The records are in Kafka-format segment files: batches of magic 2, offsets contiguous
        // from 0, first segment named 00000000000000000000.log.
        let disk = PartitionOnDisk::read(&broker.log_dir(), &topic, partition)?;
        let first_segment = disk.dir.join("00000000000000000000.log");
        assert!(
            first_segment.is_file(),
            "{} does not exist",
            first_segment.display()
        );
        assert_eq!(
            disk.check_contiguous()?,
            want.len() as i64,
            "log end offset on disk of partition {partition}"
        );
        assert_eq!(disk.records(), want.len() as i64);
        // Size: at least the payload plus Kafka's minimum per-record overhead (7 bytes) and one
        // batch header; at most the payload plus the maximum overhead (21 bytes) and one header
        // per record. The files hold at least every whole batch.
        let payload: u64 = want.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        let n = want.len() as u64;
        let bytes = disk.batch_bytes();
        assert!(
            (payload + 7 * n + 61..=payload + (21 + 61) * n).contains(&bytes),
            "partition {partition}: {bytes} bytes of batches for {n} records with {payload} payload bytes"
        );
        assert!(
            disk.file_bytes >= bytes,
            "segment files ({} bytes) are smaller than their batches ({bytes})",
            disk.file_bytes
        );
    }
    assert_eq!(total, RECORDS);
    Ok(())
}
