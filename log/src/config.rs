//! Per-log configuration, Kafka's `LogConfig` (topic-level names in comments).
//!
//! The broker's `log.*` settings make the default [`LogConfig`]; a topic's overrides in
//! `/config/topics/<topic>` (topic-level names such as `cleanup.policy`, `segment.bytes`) are laid
//! over it by [`LogConfig::from_props`], as Kafka's `LogConfig.fromProps(defaults, overrides)` does.

use std::collections::BTreeMap;
use std::str::FromStr;

/// `cleanup.policy`: what happens to old segments. Kafka's list value `delete`, `compact` or
/// `compact,delete` (in any order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Time and size retention delete whole old segments (`delete`).
    pub delete: bool,
    /// The log cleaner keeps only the latest record per key (`compact`).
    pub compact: bool,
}

impl CleanupPolicy {
    pub const DELETE: CleanupPolicy = CleanupPolicy { delete: true, compact: false };
    pub const COMPACT: CleanupPolicy = CleanupPolicy { delete: false, compact: true };

    /// Parses Kafka's comma-separated list; `None` for an empty list or an unknown policy.
    pub fn parse(value: &str) -> Option<CleanupPolicy> {
        let mut policy = CleanupPolicy { delete: false, compact: false };
        for item in value.split(',').map(str::trim) {
            match item {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                _ => return None,
            }
        }
        (policy.delete || policy.compact).then_some(policy)
    }
}

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
    /// `cleanup.policy` / `log.cleanup.policy` (`delete`).
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms` / `log.cleaner.delete.retention.ms` (1 day): how long a tombstone
    /// survives compaction, so consumers that are behind still see the delete.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio` / `log.cleaner.min.cleanable.ratio` (0.5): dirty bytes over
    /// total bytes above which a compacted log is cleaned.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms` / `log.cleaner.min.compaction.lag.ms` (0): records younger than
    /// this stay uncompacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms` / `log.cleaner.max.compaction.lag.ms` (i64::MAX): a dirty record
    /// older than this makes the log eligible whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
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
            cleanup_policy: CleanupPolicy::DELETE,
            delete_retention_ms: 24 * 3600 * 1000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}

/// Sets `*field` from `overrides[key]` if present and parsable; a bad value is ignored with a
/// warning (the broker validated topic configs when they were written).
fn apply<T: FromStr>(overrides: &BTreeMap<String, String>, key: &str, field: &mut T) {
    if let Some(value) = overrides.get(key) {
        match value.trim().parse() {
            Ok(v) => *field = v,
            Err(_) => tracing::warn!(key, value = %value, "ignoring an unparsable topic config override"),
        }
    }
}

impl LogConfig {
    /// Kafka's `LogConfig.fromProps(defaults, overrides)`: `defaults` (the broker's log config)
    /// with a topic's overrides applied, keyed by topic-level names. Keys that are not log
    /// settings (e.g. `min.insync.replicas`) are ignored, and so are values that do not parse.
    pub fn from_props(defaults: &LogConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
        let mut config = defaults.clone();
        if let Some(value) = overrides.get("cleanup.policy") {
            match CleanupPolicy::parse(value) {
                Some(policy) => config.cleanup_policy = policy,
                None => tracing::warn!(key = "cleanup.policy", value = %value, "ignoring an unparsable topic config override"),
            }
        }
        apply(overrides, "segment.bytes", &mut config.segment_bytes);
        apply(overrides, "segment.ms", &mut config.segment_ms);
        apply(overrides, "segment.index.bytes", &mut config.max_index_size);
        apply(overrides, "index.interval.bytes", &mut config.index_interval_bytes);
        apply(overrides, "retention.ms", &mut config.retention_ms);
        apply(overrides, "retention.bytes", &mut config.retention_bytes);
        apply(overrides, "flush.messages", &mut config.flush_interval_messages);
        apply(overrides, "flush.ms", &mut config.flush_interval_ms);
        apply(overrides, "max.message.bytes", &mut config.max_message_bytes);
        apply(overrides, "file.delete.delay.ms", &mut config.file_delete_delay_ms);
        apply(overrides, "delete.retention.ms", &mut config.delete_retention_ms);
        apply(overrides, "min.cleanable.dirty.ratio", &mut config.min_cleanable_dirty_ratio);
        apply(overrides, "min.compaction.lag.ms", &mut config.min_compaction_lag_ms);
        apply(overrides, "max.compaction.lag.ms", &mut config.max_compaction_lag_ms);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn cleanup_policy_parses_kafkas_lists() {
        assert_eq!(CleanupPolicy::parse("delete"), Some(CleanupPolicy::DELETE));
        assert_eq!(CleanupPolicy::parse("compact"), Some(CleanupPolicy::COMPACT));
        assert_eq!(CleanupPolicy::parse("compact, delete"), Some(CleanupPolicy { delete: true, compact: true }));
        assert_eq!(CleanupPolicy::parse(""), None);
        assert_eq!(CleanupPolicy::parse("compact,shred"), None);
    }

    #[test]
    fn topic_overrides_replace_only_their_settings() {
        let base = LogConfig { retention_ms: 5, segment_bytes: 1000, ..LogConfig::default() };
        let config = LogConfig::from_props(
            &base,
            &props(&[
                ("cleanup.policy", "compact"),
                ("segment.bytes", "2048"),
                ("segment.ms", "60000"),
                ("retention.bytes", "99"),
                ("delete.retention.ms", "100"),
                ("min.cleanable.dirty.ratio", "0.25"),
                ("min.compaction.lag.ms", "7"),
                ("max.compaction.lag.ms", "8"),
                ("max.message.bytes", "4096"),
                ("index.interval.bytes", "10"),
                ("segment.index.bytes", "800"),
                ("flush.messages", "3"),
                ("flush.ms", "4"),
                ("file.delete.delay.ms", "5"),
                ("min.insync.replicas", "2"),
            ]),
        );
        assert_eq!(config.cleanup_policy, CleanupPolicy::COMPACT);
        assert_eq!((config.segment_bytes, config.segment_ms, config.retention_bytes), (2048, 60_000, 99));
        assert_eq!(config.retention_ms, 5, "not overridden: the broker default stays");
        assert_eq!((config.delete_retention_ms, config.min_compaction_lag_ms, config.max_compaction_lag_ms), (100, 7, 8));
        assert_eq!(config.min_cleanable_dirty_ratio, 0.25);
        assert_eq!((config.max_message_bytes, config.index_interval_bytes, config.max_index_size), (4096, 10, 800));
        assert_eq!((config.flush_interval_messages, config.flush_interval_ms, config.file_delete_delay_ms), (3, 4, 5));
    }

    #[test]
    fn unparsable_overrides_are_ignored() {
        let config = LogConfig::from_props(&LogConfig::default(), &props(&[("cleanup.policy", "shred"), ("segment.bytes", "big"), ("retention.ms", "-1")]));
        assert_eq!(config.cleanup_policy, CleanupPolicy::DELETE);
        assert_eq!(config.segment_bytes, 1 << 30);
        assert_eq!(config.retention_ms, -1);
    }
}
