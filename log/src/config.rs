//! Per-log configuration, Kafka's `LogConfig` (topic-level names in comments).

/// Settings one partition log obeys. Defaults are Kafka 2.8's broker defaults.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// `segment.bytes` / `log.segment.bytes` (1 GiB).
    pub segment_bytes: u64,
    /// `segment.ms` / `log.roll.ms` (7 days).
    pub segment_ms: i64,
    /// `segment.index.bytes` / `log.index.size.max.bytes` (10 MiB): an index this full rolls the segment.
    pub max_index_size: u32,
    /// `index.interval.bytes` / `log.index.interval.bytes` (4096).
    pub index_interval_bytes: u32,
    /// `retention.ms` / `log.retention.ms` (7 days; -1 = infinite).
    pub retention_ms: i64,
    /// `retention.bytes` / `log.retention.bytes` (-1 = infinite), per partition.
    pub retention_bytes: i64,
    /// `flush.messages` / `log.flush.interval.messages` (i64::MAX: never on the produce path).
    pub flush_interval_messages: i64,
    /// `flush.ms` / `log.flush.interval.ms` (i64::MAX).
    pub flush_interval_ms: i64,
    /// `max.message.bytes` / `message.max.bytes` (1048588): the largest batch accepted.
    pub max_message_bytes: u32,
    /// `file.delete.delay.ms` / `log.segment.delete.delay.ms` (60000).
    pub file_delete_delay_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            max_index_size: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            flush_interval_messages: i64::MAX,
            flush_interval_ms: i64::MAX,
            max_message_bytes: 1_048_588,
            file_delete_delay_ms: 60_000,
        }
    }
}
