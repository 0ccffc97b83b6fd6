//! One partition's log, Kafka's `kafka.log.Log`: an ordered list of segments, appends to the
//! active one, reads by offset, rolls, recovery, retention and flush.
//!
//! API CONTRACT (the broker codes against exactly this; bodies are filled in by the log work):

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::error::Result;
use crate::TopicPartition;

/// A region of a segment file, sent to the socket with `sendfile(2)` by the connection writer.
/// Holding the `Arc<File>` keeps the data readable even if retention deletes the segment meanwhile.
#[derive(Clone, Debug)]
pub struct FileSlice {
    pub file: Arc<File>,
    /// Byte position of the first batch in the file.
    pub position: u64,
    /// Number of bytes; may end in the middle of a batch only when cut by a byte limit.
    pub len: u32,
}

/// What [`Log::read`] found.
#[derive(Clone, Debug, Default)]
pub struct FetchDataInfo {
    /// `None` when there is nothing to return (fetch offset at the bound).
    pub records: Option<FileSlice>,
}

/// Result of an append, Kafka's `LogAppendInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppendInfo {
    /// Offset assigned to the first record of the first batch.
    pub first_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// Largest MaxTimestamp among the appended batches.
    pub max_timestamp: i64,
    /// Number of records appended.
    pub record_count: i64,
    /// Bytes appended.
    pub valid_bytes: usize,
    /// Log start offset after the append.
    pub log_start_offset: i64,
}

/// A `(timestamp, offset)` pair answered by ListOffsets by timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

/// One partition's log. All methods take `&self`; appends are serialised by an internal lock,
/// reads run concurrently with appends and see only fully written batches.
pub struct Log {
    _private: (),
}

impl Log {
    /// Opens (creating if missing) the log in `dir` (`<log.dir>/<topic>-<partition>`).
    /// When `recovery_point` is `Some(p)` and less than the log end, every segment at or after the
    /// one containing `p` is validated batch by batch; at the first bad batch (torn header, bad
    /// size, bad CRC) the segment is truncated there and later segments deleted; indexes of the
    /// recovered segments are rebuilt. `None` means the log was shut down cleanly: trust it all.
    pub fn open(dir: &Path, tp: TopicPartition, config: LogConfig, recovery_point: Option<i64>, now_ms: i64) -> Result<Log> {
        let _ = (dir, tp, config, recovery_point, now_ms);
        todo!()
    }

    pub fn topic_partition(&self) -> &TopicPartition { todo!() }
    pub fn dir(&self) -> &Path { todo!() }
    pub fn config(&self) -> LogConfig { todo!() }
    pub fn set_config(&self, config: LogConfig) { let _ = config; todo!() }

    /// Appends a leader's record batches (one or more magic-2 batches back to back, as they came
    /// in a Produce request). Validates every batch before writing any (sizes, magic 2, CRC-32C,
    /// `LastOffsetDelta + 1 == RecordCount > 0`, no control batch, size ≤ `max_message_bytes`),
    /// then assigns offsets from the log end and stamps `leader_epoch`, rewriting only BaseOffset
    /// and PartitionLeaderEpoch (outside the CRC range) and writing without copying the payload.
    /// Rolls first if needed. Fsyncs only when the flush policy says so.
    pub fn append_as_leader(&self, records: &[u8], leader_epoch: i32, now_ms: i64) -> Result<LogAppendInfo> {
        let _ = (records, leader_epoch, now_ms);
        todo!()
    }

    /// Reads from `start_offset`: the slice starts at the batch containing it and spans at most
    /// `max_bytes`, never past the end of the batch holding `max_offset - 1` (exclusive upper
    /// bound, e.g. the high watermark) nor past one segment. With `min_one_message` the first
    /// batch is returned whole even if larger than `max_bytes` (KIP-74). `start_offset` outside
    /// `[log_start_offset, log_end_offset]` is `OffsetOutOfRange`; `start_offset == max_offset`
    /// (or the log end) returns `records: None`.
    pub fn read(&self, start_offset: i64, max_bytes: u32, max_offset: i64, min_one_message: bool) -> Result<FetchDataInfo> {
        let _ = (start_offset, max_bytes, max_offset, min_one_message);
        todo!()
    }

    /// Next offset to be written (LEO).
    pub fn log_end_offset(&self) -> i64 { todo!() }
    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 { todo!() }
    /// Offset up to which data is known to be fsynced.
    pub fn recovery_point(&self) -> i64 { todo!() }
    /// Total bytes across segments.
    pub fn size(&self) -> u64 { todo!() }
    pub fn num_segments(&self) -> usize { todo!() }

    /// ListOffsets by timestamp: the first offset whose batch MaxTimestamp ≥ `timestamp`, found
    /// through the time index and a scan; `None` if no such record.
    pub fn fetch_offset_by_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let _ = timestamp;
        todo!()
    }

    /// Fsyncs everything up to the log end and advances the recovery point.
    pub fn flush(&self) -> Result<()> { todo!() }

    /// Flushes if `flush.ms` has elapsed since the last flush (called by the flusher task).
    pub fn flush_if_due(&self, now_ms: i64) -> Result<()> { let _ = now_ms; todo!() }

    /// Rolls the active segment if `segment.ms` has expired for it (called periodically).
    pub fn roll_if_due(&self, now_ms: i64) -> Result<()> { let _ = now_ms; todo!() }

    /// Deletes whole segments by `retention.ms` and `retention.bytes`, only segments entirely below
    /// `high_watermark`, never the active segment (rolled first if it alone qualifies and is
    /// non-empty). Returns the number of segments deleted. Log start offset moves forward.
    pub fn delete_old_segments(&self, now_ms: i64, high_watermark: i64) -> Result<usize> {
        let _ = (now_ms, high_watermark);
        todo!()
    }

    /// Closes file handles after a final flush (clean shutdown).
    pub fn close(&self) -> Result<()> { todo!() }

    /// Removes the log's directory (StopReplica with delete).
    pub fn delete(&self) -> Result<()> { todo!() }
}
