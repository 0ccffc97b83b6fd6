//! The `LogManager` side of compaction, Kafka's `LogCleanerManager`: which compacted logs to
//! clean, and `cleaner-offset-checkpoint` (one per log dir, the offset checkpoint format) that
//! remembers where each log's dirty section starts across restarts.
//!
//! Kafka runs `log.cleaner.threads` threads that each pick the filthiest log in turn; here the
//! broker's periodic task calls [`LogManager::clean_logs`], which cleans every eligible log once,
//! filthiest first. Rounds are serialised by the checkpoint map's lock.

use std::collections::HashMap;

use super::{first_error, LogManager};
use crate::checkpoint::{OffsetCheckpointFile, CLEANER_OFFSET_CHECKPOINT_FILE};
use crate::cleaner::{self, CleanerStats};
use crate::error::Result;
use crate::segment::lock;
use crate::TopicPartition;

impl LogManager {
    /// Reads every dir's `cleaner-offset-checkpoint`, keeping entries for logs in that dir. An
    /// unreadable file counts as empty, with a warning: cleaning then restarts from the log
    /// start, which only costs work.
    pub(super) fn load_cleaner_checkpoints(&self) {
        let logs = self.logs.read().unwrap_or_else(|p| p.into_inner());
        let mut checkpoints = lock(&self.cleaner_checkpoints);
        for (i, dir) in self.dirs.iter().enumerate() {
            let file = OffsetCheckpointFile::new(dir.join(CLEANER_OFFSET_CHECKPOINT_FILE));
            let entries = file.read().unwrap_or_else(|e| {
                tracing::warn!(dir = %dir.display(), error = %e, "unreadable cleaner offset checkpoint, ignoring it");
                HashMap::new()
            });
            for (tp, offset) in entries {
                if logs.get(&tp).is_some_and(|(j, _)| *j == i) {
                    checkpoints.insert(tp, offset);
                }
            }
        }
    }

    /// The cleaner checkpoints of the logs this manager holds (tests and debugging).
    pub fn cleaner_checkpoints(&self) -> HashMap<TopicPartition, i64> {
        lock(&self.cleaner_checkpoints).clone()
    }

    /// One round of Kafka's log cleaner: every log whose `cleanup.policy` includes `compact` and
    /// whose dirty ratio is above `min.cleanable.dirty.ratio` (or whose `max.compaction.lag.ms`
    /// has passed) is cleaned below the first uncleanable offset (bounded by
    /// `high_watermark(tp)`), filthiest first, and its dir's `cleaner-offset-checkpoint` updated
    /// after it. Every eligible log is visited even if one fails; the first error is returned.
    pub fn clean_logs(&self, now_ms: i64, high_watermark: &dyn Fn(&TopicPartition) -> i64) -> Result<CleanerStats> {
        let mut checkpoints = lock(&self.cleaner_checkpoints);
        let logs: Vec<(usize, std::sync::Arc<crate::log::Log>)> =
            self.logs.read().unwrap_or_else(|p| p.into_inner()).values().map(|(i, l)| (*i, std::sync::Arc::clone(l))).collect();
        let mut candidates = Vec::new();
        for (i, log) in logs {
            let config = log.config();
            if !config.cleanup_policy.compact {
                continue;
            }
            let tp = log.topic_partition().clone();
            let to_clean = cleaner::log_to_clean(&log, checkpoints.get(&tp).copied(), high_watermark(&tp), now_ms);
            if to_clean.should_clean(config.min_cleanable_dirty_ratio) {
                candidates.push((i, log, to_clean));
            }
        }
        candidates.sort_by(|a, b| b.2.cleanable_ratio().total_cmp(&a.2.cleanable_ratio()));
        let mut stats = CleanerStats::default();
        let mut error = None;
        for (i, log, to_clean) in candidates {
            match cleaner::clean_log(&log, &to_clean, now_ms) {
                Ok((next_dirty, cleaned)) => {
                    stats.add(&cleaned);
                    checkpoints.insert(log.topic_partition().clone(), next_dirty);
                    first_error(&mut error, self.write_cleaner_checkpoint(i, &checkpoints));
                }
                Err(e) => first_error(&mut error, Err(e)),
            }
        }
        error.map_or(Ok(stats), Err)
    }

    /// Writes `dirs[i]/cleaner-offset-checkpoint` with the entries of the logs in that dir.
    fn write_cleaner_checkpoint(&self, i: usize, checkpoints: &HashMap<TopicPartition, i64>) -> Result<()> {
        let logs = self.logs.read().unwrap_or_else(|p| p.into_inner());
        let in_dir = checkpoints.iter().filter(|(tp, _)| logs.get(*tp).is_some_and(|(j, _)| *j == i));
        let _writing = lock(&self.checkpoint_lock);
        OffsetCheckpointFile::new(self.dirs[i].join(CLEANER_OFFSET_CHECKPOINT_FILE)).write(in_dir)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::Compression;

    use super::*;
    use crate::config::{CleanupPolicy, LogConfig};
    use crate::test_util::{encode_records, keyed, temp_dir};

    fn record(key: &str, value: &str) -> Vec<u8> {
        encode_records(&[keyed(0, 1_000, Some(key), Some(value))], Compression::None)
    }

    /// One record per segment: `segment.bytes` is one such batch.
    fn config(policy: CleanupPolicy) -> LogConfig {
        LogConfig { segment_bytes: record("k", "v").len() as u64, cleanup_policy: policy, ..LogConfig::default() }
    }

    #[test]
    fn only_compacted_logs_dirtier_than_the_ratio_are_cleaned_and_the_checkpoint_persists() {
        let root = temp_dir();
        let dirs = vec![root.path().join("a")];
        let manager = LogManager::startup(dirs.clone(), LogConfig::default(), 1, 0).expect("startup");
        let (compacted, deleted) = (TopicPartition::new("compacted", 0), TopicPartition::new("deleted", 0));
        let c = manager.get_or_create_log(&compacted, Some(config(CleanupPolicy::COMPACT))).expect("log");
        let d = manager.get_or_create_log(&deleted, Some(config(CleanupPolicy::DELETE))).expect("log");
        for (k, v) in [("a", "1"), ("a", "2"), ("a", "3"), ("b", "4")] {
            c.append_as_leader(&record(k, v), 0, 0).expect("append");
            d.append_as_leader(&record(k, v), 0, 0).expect("append");
        }
        let everything = |_: &TopicPartition| i64::MAX;
        let stats = manager.clean_logs(0, &everything).expect("clean");
        assert_eq!((stats.logs_cleaned, stats.segments_cleaned), (1, 3), "only the compacted log");
        assert_eq!(d.size(), 4 * record("k", "v").len() as u64, "the delete-policy log is untouched");
        assert_eq!(manager.cleaner_checkpoints(), HashMap::from([(compacted.clone(), 3)]));
        let file = dirs[0].join(CLEANER_OFFSET_CHECKPOINT_FILE);
        assert_eq!(std::fs::read_to_string(&file).expect("checkpoint"), "0\n1\ncompacted 0 3\n");

        // Nothing dirty now: ratio 0, nothing cleaned.
        assert_eq!(manager.clean_logs(0, &everything).expect("clean").logs_cleaned, 0);

        // One dirty segment over 1 + 1 clean ones (one emptied): ratio 1/2, not above 0.5.
        c.append_as_leader(&record("c", "5"), 0, 0).expect("append");
        let to_clean = cleaner::log_to_clean(&c, Some(3), i64::MAX, 0);
        assert_eq!(to_clean.first_dirty_offset, 3);
        let ratio = to_clean.cleanable_ratio();
        c.set_config(LogConfig { min_cleanable_dirty_ratio: ratio, ..c.config() });
        assert_eq!(manager.clean_logs(0, &everything).expect("clean").logs_cleaned, 0, "ratio {ratio} is not above itself");
        c.set_config(LogConfig { min_cleanable_dirty_ratio: ratio - 0.01, ..c.config() });
        assert_eq!(manager.clean_logs(0, &everything).expect("clean").logs_cleaned, 1);
        assert_eq!(manager.cleaner_checkpoints()[&compacted], 4);

        // The checkpoint survives a restart.
        manager.shutdown().expect("shutdown");
        drop(manager);
        let manager = LogManager::startup(dirs, LogConfig::default(), 1, 0).expect("restart");
        assert_eq!(manager.cleaner_checkpoints(), HashMap::from([(compacted, 4)]));
    }

    #[test]
    fn the_high_watermark_bounds_what_is_cleaned() {
        let root = temp_dir();
        let manager = LogManager::startup(vec![root.path().to_path_buf()], LogConfig::default(), 1, 0).expect("startup");
        let tp = TopicPartition::new("compacted", 0);
        let log = manager.get_or_create_log(&tp, Some(config(CleanupPolicy::COMPACT))).expect("log");
        for v in ["1", "2", "3", "4"] {
            log.append_as_leader(&record("a", v), 0, 0).expect("append");
        }
        assert_eq!(manager.clean_logs(0, &|_| 1).expect("clean").segments_cleaned, 1);
        assert_eq!(manager.cleaner_checkpoints()[&tp], 1);
        assert_eq!(manager.clean_logs(0, &|_| 0).expect("clean").logs_cleaned, 0, "nothing below a high watermark of 0");
    }
}
