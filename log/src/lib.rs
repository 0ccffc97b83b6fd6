//! Kafka's partition log, as in `kafka.log` (Log, LogSegment, OffsetIndex, TimeIndex, LogManager).
//!
//! The log knows nothing about replication, ZooKeeper or the network: the broker hands it record
//! batches (already framed, magic 2) and asks it for file slices to send. Every on-disk format here
//! is Kafka 2.8's byte for byte, so a Kafka `DumpLogSegments` can read our segments.
//!
//! Layout (see `docs/ARCHITECTURE.md`):
//! - [`batch`]: the record batch v2 header, validation (magic, sizes, count, CRC-32C) and the in-place
//!   rewrite of base offset and partition leader epoch.
//! - [`index`]: `.index` (offset → position) and `.timeindex` (timestamp → offset).
//! - [`segment`]: one `LogSegment` = `.log` + `.index` + `.timeindex` named by the 20-digit base offset.
//! - [`log`]: one partition's `Log`: append, read, roll, recovery, retention, flush.
//! - [`checkpoint`]: the offset checkpoint file format shared by recovery points, high watermarks
//!   and the cleaner's `cleaner-offset-checkpoint`.
//! - [`cleaner`]: log compaction (`cleanup.policy=compact`), Kafka's `LogCleaner`.
//! - [`epoch`]: the leader epoch cache and its `leader-epoch-checkpoint` file (KIP-101), owned by
//!   each `Log`.
//! - [`legacy`]: magic-0/1 message sets and their conversions to and from v2 batches
//!   (Produce v0–2 up-conversion, Fetch v0–3 down-conversion).
//! - [`manager`]: `LogManager`: log dirs, `meta.properties`, clean-shutdown marker, recovery points,
//!   the high-watermark checkpoint the broker hands it.
//! - Private helpers: `validator` (leader-append checks, Kafka's `LogValidator`), `file_records`
//!   (positional batch reads from a `.log` file), `record` (record-header varints for
//!   ListOffsets by timestamp), `meta_properties` (`meta.properties` read/write).

pub mod batch;
pub mod checkpoint;
pub mod cleaner;
pub mod config;
pub mod epoch;
pub mod error;
mod file_records;
pub mod index;
pub mod legacy;
pub mod log;
pub mod manager;
mod meta_properties;
mod record;
pub mod segment;
#[cfg(test)]
mod test_util;
mod validator;

pub use batch::{BatchHeader, RECORD_BATCH_OVERHEAD};
pub use checkpoint::OffsetCheckpointFile;
pub use cleaner::{CleanerStats, LogToClean};
pub use config::{CleanupPolicy, LogConfig};
pub use epoch::{EpochEntry, LeaderEpochCheckpointFile, LeaderEpochFileCache};
pub use error::LogError;
pub use log::{FetchDataInfo, FileSlice, Log, LogAppendInfo, TimestampOffset};
pub use manager::{now_ms, LogManager, MetaProperties};

/// A topic and partition, Kafka's `TopicPartition`. Displays as `topic-partition`, the log dir name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
