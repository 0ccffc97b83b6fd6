//! The group coordinator's view of `__consumer_offsets`: what Kafka's `GroupMetadataManager` does
//! through `ReplicaManager.appendRecords` (commits and group records, acks=−1) and `Log.read`
//! (loading a partition when this broker becomes its leader).
//!
//! An append is `ReplicaManager::append_records` of one uncompressed record batch with acks=−1,
//! the same path and purgatory as an acks=all Produce: the coordinator answers only once the
//! high watermark covers the batch, so an acknowledged commit survives the leader's death like
//! any acknowledged record.

use std::future::Future;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use odradek_client::batch::BatchRecord;
use odradek_coordinator::{OffsetsLog, OffsetsRecord};
use odradek_log::{BatchHeader, TopicPartition};
use odradek_protocol::error_codes as codes;

use odradek_log::now_ms;
use crate::metadata_cache::MetadataCache;
use crate::partition::Partition;
use crate::replica_manager::ReplicaManager;

/// Kafka's `Topic.GROUP_METADATA_TOPIC_NAME`.
pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";

/// How much of the log one read takes while loading (Kafka's `offsets.load.buffer.size`, 5 MiB).
const LOAD_BUFFER_BYTES: u32 = 5 * 1024 * 1024;

pub struct ReplicaOffsetsLog {
    replica_manager: Arc<ReplicaManager>,
    metadata_cache: Arc<MetadataCache>,
}

impl ReplicaOffsetsLog {
    pub fn new(replica_manager: Arc<ReplicaManager>, metadata_cache: Arc<MetadataCache>) -> ReplicaOffsetsLog {
        ReplicaOffsetsLog { replica_manager, metadata_cache }
    }
}

impl OffsetsLog for ReplicaOffsetsLog {
    fn append(&self, partition: i32, records: Vec<OffsetsRecord>, timeout: Duration) -> Pin<Box<dyn Future<Output = Result<(), i16>> + Send>> {
        let replica_manager = Arc::clone(&self.replica_manager);
        Box::pin(async move {
            let batch = encode_batch(records)?;
            let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
            let answers = replica_manager.append_records(timeout, -1, vec![(tp, batch)], now_ms()).wait().await;
            match answers.first().map(|(_, r)| r.error_code) {
                Some(codes::NONE) => Ok(()),
                Some(code) => Err(code),
                None => Err(codes::UNKNOWN_SERVER_ERROR),
            }
        })
    }

    fn read(&self, partition: i32) -> Pin<Box<dyn Future<Output = Result<Vec<OffsetsRecord>, String>> + Send>> {
        let replica = self.replica_manager.partition(GROUP_METADATA_TOPIC_NAME, partition);
        Box::pin(async move {
            let replica = replica.ok_or_else(|| format!("{GROUP_METADATA_TOPIC_NAME}-{partition} is not hosted here"))?;
            // Reading is file I/O: keep it off the async workers.
            tokio::task::spawn_blocking(move || read_all(&replica)).await.map_err(|e| format!("load task failed: {e}"))?
        })
    }

    fn topic_partition_exists(&self, topic: &str, partition: i32) -> bool {
        self.metadata_cache.snapshot().topics.get(topic).is_some_and(|t| t.partitions.contains_key(&partition))
    }
}

/// One uncompressed magic-2 batch of `records` (offsets are assigned by the leader's append).
fn encode_batch(records: Vec<OffsetsRecord>) -> Result<Bytes, i16> {
    let records: Vec<BatchRecord> = records.into_iter().map(|r| BatchRecord::new(Some(r.key), r.value)).collect();
    odradek_client::batch::encode_batch(&records, Compression::None, now_ms()).map_err(|_| codes::CORRUPT_MESSAGE)
}

/// Every record from the log start to the log end, Kafka's `doLoadGroupsAndOffsets` read loop.
fn read_all(replica: &Partition) -> Result<Vec<OffsetsRecord>, String> {
    let log = replica.log();
    let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, replica.tp.partition);
    let end = log.log_end_offset();
    let mut offset = log.log_start_offset();
    let mut out = Vec::new();
    while offset < end {
        let data = log.read(offset, LOAD_BUFFER_BYTES, end, true).map_err(|e| format!("reading {tp} at {offset}: {e}"))?;
        let Some(slice) = data.records else { break };
        let mut buf = vec![0u8; slice.len as usize];
        slice.file.read_exact_at(&mut buf, slice.position).map_err(|e| format!("reading {tp} at {offset}: {e}"))?;
        let mut at = 0;
        let mut progressed = false;
        while let Some(header) = BatchHeader::parse(&buf[at..]) {
            let size = header.total_size();
            if header.batch_length < 0 || at + size > buf.len() {
                break;
            }
            if !header.is_control() {
                let mut batch = Bytes::copy_from_slice(&buf[at..at + size]);
                let set = RecordBatchDecoder::decode(&mut batch).map_err(|e| format!("decoding {tp} batch at {}: {e}", header.base_offset))?;
                out.extend(set.records.into_iter().filter_map(|r| r.key.map(|key| OffsetsRecord { key, value: r.value })));
            }
            offset = header.next_offset();
            at += size;
            progressed = true;
        }
        if !progressed {
            return Err(format!("{tp}: no complete batch at offset {offset}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_keys_values_and_tombstones() {
        let records = vec![
            OffsetsRecord { key: Bytes::from_static(b"k1"), value: Some(Bytes::from_static(b"v1")) },
            OffsetsRecord { key: Bytes::from_static(b"k2"), value: None },
        ];
        let mut batch = encode_batch(records).expect("encode");
        let header = BatchHeader::parse(&batch).expect("header");
        assert_eq!((header.magic, header.record_count, header.last_offset_delta), (2, 2, 1));
        let set = RecordBatchDecoder::decode(&mut batch).expect("decode");
        let kv: Vec<_> = set.records.iter().map(|r| (r.key.clone(), r.value.clone())).collect();
        assert_eq!(kv, vec![(Some(Bytes::from_static(b"k1")), Some(Bytes::from_static(b"v1"))), (Some(Bytes::from_static(b"k2")), None)]);
    }
}
