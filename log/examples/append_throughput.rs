//! Rough append/read throughput of one partition log: ~1 MB batches of 100-byte records.
//! `cargo run --release -p odradek-log --example append_throughput -- [dir] [batches]`

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use odradek_log::{Log, LogConfig, TopicPartition};

fn one_mb_batch() -> (Vec<u8>, usize) {
    let records: Vec<Record> = (0..9_000)
        .map(|i| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: i as i32 - 1,
            timestamp: 1_700_000_000_000 + i,
            key: None,
            value: Some(Bytes::from(vec![b'x'; 100])),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression: Compression::None }).expect("encode");
    (buf.to_vec(), records.len())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("odradek-append-throughput"));
    let batches: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let _ = std::fs::remove_dir_all(&dir);
    let (batch, per_batch) = one_mb_batch();
    let log = Log::open(&dir, TopicPartition::new("perf", 0), LogConfig::default(), None, 0).expect("open");
    let start = Instant::now();
    for _ in 0..batches {
        log.append_as_leader(&batch, 0, 0).expect("append");
    }
    let secs = start.elapsed().as_secs_f64();
    let records = (batches * per_batch) as f64;
    println!(
        "appended {batches} batches of {} bytes: {:.2} s, {:.0} records/s, {:.0} MB/s, {} segments",
        batch.len(),
        secs,
        records / secs,
        (batches * batch.len()) as f64 / secs / 1e6,
        log.num_segments()
    );
    let start = Instant::now();
    let mut offset = 0;
    let mut reads = 0;
    while let Some(slice) = log.read(offset, 1 << 20, i64::MAX, true).expect("read").records {
        reads += 1;
        offset += per_batch as i64 * (slice.len as i64 / batch.len() as i64).max(1);
    }
    println!("{reads} reads of 1 MiB slices: {:.1} µs each", start.elapsed().as_secs_f64() * 1e6 / reads as f64);
    log.close().expect("close");
    let _ = std::fs::remove_dir_all(&dir);
}
