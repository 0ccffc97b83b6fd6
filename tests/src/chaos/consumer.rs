//! The consumers: a live one that polls every partition's leader during the faults, and the final
//! reads after healing (raw Fetch from each leader, and kcat), each from offset 0 to the high
//! watermark. Consumers see only what is below the high watermark, i.e. committed records, which
//! is why the checker holds every record read during the run to survive.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use tokio::sync::watch;

use super::history::{ReadPhase, ReadRecord};
use super::leaders::{connect, Leader, LeaderCache};
use crate::{kcat, wire};

/// How long one Fetch may take (the broker waits up to 100 ms for data).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the live consumer polls each partition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
const OFFSET_OUT_OF_RANGE: i16 = 1;
const FETCH_MAX_BYTES: i32 = 1 << 20;

/// What one Fetch of one partition returned.
struct Fetched {
    error_code: i16,
    high_watermark: i64,
    records: Vec<wire::FetchedRecord>,
}

/// One Fetch of `partition` from `offset`. `leader_epoch` is the leader epoch the consumer knows
/// (KIP-320: a broker on an older or newer epoch refuses), −1 for none.
async fn fetch(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    offset: i64,
    leader_epoch: i32,
) -> anyhow::Result<Fetched> {
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(FETCH_MAX_BYTES)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(leader_epoch)
                .with_fetch_offset(offset)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(FETCH_MAX_BYTES)])]);
    let response = tokio::time::timeout(FETCH_TIMEOUT, conn.send(&request, wire::FETCH_VERSION))
        .await
        .context("Fetch timed out")?
        .context("Fetch failed")?;
    anyhow::ensure!(
        response.error_code == 0,
        "Fetch: top-level error code {}",
        response.error_code
    );
    let p = response
        .responses
        .iter()
        .filter(|t| t.topic.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .with_context(|| format!("Fetch response has no entry for {topic}-{partition}"))?;
    let bytes = p.records.clone().unwrap_or_default();
    let records = wire::decode_records(&wire::complete_batches(&bytes))?
        .into_iter()
        .filter(|r| r.offset >= offset)
        .collect();
    Ok(Fetched {
        error_code: p.error_code,
        high_watermark: p.high_watermark,
        records,
    })
}

fn read_record(
    reader: &str,
    phase: ReadPhase,
    partition: i32,
    record: &wire::FetchedRecord,
) -> ReadRecord {
    let value = record.value.as_ref().map_or_else(
        || "<null>".to_string(),
        |v: &Bytes| String::from_utf8_lossy(v).into_owned(),
    );
    ReadRecord {
        reader: reader.to_string(),
        phase,
        partition,
        offset: record.offset,
        value,
    }
}

/// What the live consumer returns: its reads, and a note for each time a leader said its
/// position was out of range (committed data the consumer had read should never be missing, so
/// these are worth a look even when the checker finds nothing).
#[derive(Debug, Default)]
pub struct LiveReads {
    pub reads: Vec<ReadRecord>,
    pub resets: Vec<String>,
}

/// Polls every partition's leader from where it left off until `stop`, sending the leader epoch
/// it knows (KIP-320), so a deposed leader refuses instead of serving its shorter log; a partition
/// whose log no longer reaches that far (OFFSET_OUT_OF_RANGE) is read again from 0, as a consumer
/// with `auto.offset.reset=earliest` would. Times are measured from `clock`.
pub async fn run_live_consumer(
    topic: String,
    partitions: i32,
    bootstrap: Vec<SocketAddr>,
    clock: Instant,
    mut stop: watch::Receiver<bool>,
) -> LiveReads {
    let mut leaders = LeaderCache::new(&topic, &bootstrap);
    let mut conns: BTreeMap<i32, Connection> = BTreeMap::new();
    let mut next: BTreeMap<i32, i64> = (0..partitions).map(|p| (p, 0)).collect();
    let mut live = LiveReads::default();
    while !*stop.borrow() {
        for partition in 0..partitions {
            if leaders.leader(partition).is_none() && !leaders.refresh(partition).await {
                continue;
            }
            let Some(Leader {
                id: leader,
                addr,
                epoch,
            }) = leaders.leader(partition)
            else {
                continue;
            };
            let conn = match conns.entry(leader) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => match connect(addr).await {
                    Ok(conn) => entry.insert(conn),
                    Err(_) => {
                        leaders.forget(partition);
                        continue;
                    }
                },
            };
            let offset = next[&partition];
            match fetch(conn, &topic, partition, offset, epoch).await {
                Ok(f) if f.error_code == 0 => {
                    if let Some(last) = f.records.last() {
                        next.insert(partition, last.offset + 1);
                    }
                    live.reads.extend(
                        f.records
                            .iter()
                            .map(|r| read_record("live", ReadPhase::Live, partition, r)),
                    );
                }
                Ok(f) if f.error_code == OFFSET_OUT_OF_RANGE => {
                    live.resets.push(format!(
                        "[{:>8.3}s] partition {partition}: broker {leader} (leader at epoch {epoch}) \
                         answered OFFSET_OUT_OF_RANGE at offset {offset}; reading again from 0",
                        clock.elapsed().as_secs_f64()
                    ));
                    next.insert(partition, 0);
                }
                Ok(_) => leaders.forget(partition),
                Err(_) => {
                    conns.remove(&leader);
                    leaders.forget(partition);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.wait_for(|stop| *stop) => {}
        }
    }
    live
}

/// Reads `partition` from offset 0 to the high watermark from the leader at `addr`; retries
/// (refreshing nothing: the caller waited for stable leaders) until `deadline`, trying at least
/// once.
pub async fn read_partition(
    addr: SocketAddr,
    topic: &str,
    partition: i32,
    deadline: Instant,
) -> anyhow::Result<Vec<ReadRecord>> {
    loop {
        match read_partition_once(addr, topic, partition).await {
            Ok(reads) => return Ok(reads),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!("reading {topic}-{partition} from {addr}")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn read_partition_once(
    addr: SocketAddr,
    topic: &str,
    partition: i32,
) -> anyhow::Result<Vec<ReadRecord>> {
    let mut conn = connect(addr).await?;
    let mut reads = Vec::new();
    let mut offset = 0;
    let mut high_watermark = None;
    loop {
        let f = fetch(&mut conn, topic, partition, offset, -1).await?;
        anyhow::ensure!(
            f.error_code == 0,
            "Fetch {topic}-{partition} at {offset}: error code {}",
            f.error_code
        );
        let end = *high_watermark.get_or_insert(f.high_watermark);
        if offset >= end {
            return Ok(reads);
        }
        let last = f.records.last().map(|r| r.offset).with_context(|| {
            format!(
                "Fetch {topic}-{partition} at {offset} returned nothing below high watermark {end}"
            )
        })?;
        reads.extend(
            f.records
                .iter()
                .filter(|r| r.offset < end)
                .map(|r| read_record("wire", ReadPhase::Final, partition, r)),
        );
        offset = last + 1;
    }
}

/// `partitions` through kcat (`-o beginning -e`), as a second, independent final reader.
pub fn read_with_kcat(
    bootstrap: &str,
    topic: &str,
    partitions: &[i32],
) -> anyhow::Result<Vec<ReadRecord>> {
    let mut reads = Vec::new();
    for &partition in partitions {
        for r in kcat::consume_partition(bootstrap, topic, partition)? {
            reads.push(ReadRecord {
                reader: "kcat".into(),
                phase: ReadPhase::Final,
                partition,
                offset: r.offset,
                value: String::from_utf8_lossy(&r.value).into_owned(),
            });
        }
    }
    Ok(reads)
}
