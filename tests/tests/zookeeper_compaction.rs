//! Log compaction in a running broker (`cleanup.policy=compact`, Kafka's LogCleaner): a topic
//! created with compaction settings in `/config/topics/<t>` is cleaned by the broker's
//! `log-cleaner` task until only the latest record of each key remains below the active segment,
//! at the offsets it was written at; a tombstone is removed once older than `delete.retention.ms`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::cluster::{wait_until, Cluster};
use odradek_tests::controller_stub::block_on;
use odradek_tests::{unique_topic, wire};

const KEYS: usize = 20;
const ROUNDS: usize = 10;

fn produce(addr: SocketAddr, topic: &str, records: &[(Option<Bytes>, Option<Bytes>)]) -> anyhow::Result<i64> {
    let batch = wire::encode_batch(records, Compression::None)?;
    let ack = block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        wire::produce(&mut conn, topic, 0, batch, -1).await
    })?;
    anyhow::ensure!(ack.error_code == 0, "produce to {topic} failed with error {}", ack.error_code);
    Ok(ack.base_offset)
}

fn read_all(addr: SocketAddr, topic: &str) -> anyhow::Result<Vec<wire::FetchedRecord>> {
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        wire::fetch_all(&mut conn, topic, 0, 0).await
    })
}

fn keyed(key: &str, value: Option<&str>) -> (Option<Bytes>, Option<Bytes>) {
    (Some(Bytes::from(key.to_string())), value.map(|v| Bytes::from(v.to_string())))
}

#[test]
fn a_compacted_topic_keeps_the_latest_record_per_key_at_its_offset() -> anyhow::Result<()> {
    let cluster = Cluster::start(&[1], &[("log.cleaner.backoff.ms", "200")])?;
    let topic = unique_topic("compacted");
    let zk = cluster.zk()?;
    let configs = [("cleanup.policy", "compact"), ("segment.bytes", "2048"), ("delete.retention.ms", "0"), ("min.cleanable.dirty.ratio", "0.01")];
    zk.create_topic_with_configs(&topic, &BTreeMap::from([(0, vec![1])]), &configs)?;
    cluster.wait_for_leaders(1, &topic, 1, &[1], Duration::from_secs(20))?;
    // The broker applies /config/topics/<t> right after creating the log; give it a moment so the
    // first batches already roll at 2 KiB.
    std::thread::sleep(Duration::from_millis(500));

    let addr = cluster.addr(1);
    let mut latest_offsets = BTreeMap::new();
    for round in 0..ROUNDS {
        let records: Vec<_> = (0..KEYS).map(|k| keyed(&format!("k{k}"), Some(&format!("r{round}-k{k}")))).collect();
        let base = produce(addr, &topic, &records)?;
        for k in 0..KEYS {
            latest_offsets.insert(format!("k{k}"), (base + k as i64, format!("r{round}-k{k}")));
        }
    }
    // Delete k0: a tombstone, then enough other keys that it leaves the active segment.
    produce(addr, &topic, &[keyed("k0", None)])?;
    latest_offsets.remove("k0");
    let written = ROUNDS * KEYS + 1;

    let mut filler = 0;
    let compacted = wait_until(Duration::from_secs(60), "the log to be compacted and the tombstone removed", || {
        // Fresh keys keep dirtying the log so the cleaner runs again past the delete horizon.
        let records: Vec<_> = (0..KEYS).map(|i| keyed(&format!("f{filler}-{i}"), Some("x"))).collect();
        filler += 1;
        produce(addr, &topic, &records).ok()?;
        std::thread::sleep(Duration::from_millis(300));
        let records = read_all(addr, &topic).ok()?;
        let of_k: Vec<_> = records.iter().filter(|r| r.key.as_ref().is_some_and(|k| k.starts_with(b"k"))).cloned().collect();
        (of_k.len() == KEYS - 1).then_some((records, of_k))
    })?;
    let (all, of_k) = compacted;

    // Offsets only increase, with gaps where records were removed.
    assert!(all.windows(2).all(|w| w[0].offset < w[1].offset), "offsets must increase");
    assert!(all.len() < written, "{} records left of the {written} first written", all.len());
    // Each surviving key holds its latest value at the offset it was written at; k0 is gone.
    for r in &of_k {
        let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
        let (offset, value) = latest_offsets.get(&key).unwrap_or_else(|| panic!("unexpected key {key} (k0 was deleted)"));
        assert_eq!(r.offset, *offset, "{key} moved");
        assert_eq!(r.value.as_deref(), Some(value.as_bytes()), "{key} is not its latest value");
    }
    // The cleaner checkpoint is on disk, in Kafka's offset-checkpoint format.
    let checkpoint = std::fs::read_to_string(cluster.brokers[&1].log_dir().join("cleaner-offset-checkpoint"))?;
    assert!(checkpoint.lines().any(|l| l.starts_with(&format!("{topic} 0 "))), "no entry for {topic} in:\n{checkpoint}");
    Ok(())
}
