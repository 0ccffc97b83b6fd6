//! The log's error vocabulary. The broker maps each variant to a Kafka error code in one place.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Bad CRC, bad sizes, truncated batch: Kafka's CORRUPT_MESSAGE (2).
    #[error("corrupt record batch at byte {position} of the request: {reason}")]
    CorruptRecord { position: usize, reason: String },
    /// Structurally valid but not acceptable (wrong magic, count mismatch, control batch from a client): INVALID_RECORD (87).
    #[error("invalid record batch at byte {position} of the request: {reason}")]
    InvalidRecord { position: usize, reason: String },
    /// One record the leader refuses (Kafka's `RecordValidationException`, e.g. a keyless record
    /// on a compacted topic): INVALID_RECORD, and Produce v8+ names the record's index in its
    /// batch in `record_errors`, with `reason` as the `error_message`.
    #[error("invalid record {batch_index} of the batch at byte {position} of the request: {reason}")]
    InvalidRecordAt { position: usize, batch_index: usize, reason: String },
    /// A batch larger than `max.message.bytes`: MESSAGE_TOO_LARGE (10).
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: u32 },
    /// A batch larger than `segment.bytes`: RECORD_LIST_TOO_LARGE (18).
    #[error("record batch of {size} bytes exceeds segment.bytes {segment_bytes}")]
    RecordListTooLarge { size: usize, segment_bytes: u64 },
    /// Fetch outside [log start, log end]: OFFSET_OUT_OF_RANGE (1).
    #[error("offset {offset} is out of range for {partition}: log start {log_start}, log end {log_end}")]
    OffsetOutOfRange { partition: String, offset: i64, log_start: i64, log_end: i64 },
    /// Any disk failure: KAFKA_STORAGE_ERROR (56).
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, #[source] source: std::io::Error },
    /// A log dir that cannot be used, or `meta.properties` that does not match this broker.
    #[error("log dir {path}: {reason}")]
    BadLogDir { path: PathBuf, reason: String },
}

impl LogError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io { path: path.into(), source }
    }
}

pub type Result<T, E = LogError> = std::result::Result<T, E>;
