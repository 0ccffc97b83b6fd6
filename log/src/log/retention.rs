//! Retention: Kafka's `deleteOldSegments` for `cleanup.policy=delete`.
//!
//! Time and size retention apply only when the policy includes `delete`; a compacted-only log
//! (`cleanup.policy=compact`) keeps its old segments for the log cleaner, and only the log start
//! offset rule (DeleteRecords) removes segments from it, as in Kafka.
//!
//! Whole segments are deleted from the oldest on while a rule holds for them: (c) the next
//! segment starts at or below the log start offset, (b) `retention.bytes` would still be met
//! without them, (a) their largest timestamp is older than `retention.ms`. Only segments entirely
//! below the high watermark qualify (consumers may not have read the rest), and an empty active
//! segment never does. If every segment qualifies, the log rolls first so one always remains.
//!
//! Kafka renames deleted segments to `.deleted` and removes them `file.delete.delay.ms` later so
//! in-flight reads finish; we unlink at once, because a `FileSlice` holds its `Arc<File>` and
//! reads an unlinked file just fine.

use std::sync::atomic::Ordering;

use super::Log;
use crate::config::LogConfig;
use crate::error::{LogError, Result};
use crate::segment::{lock, LogSegment};

impl Log {
    /// Deletes whole segments by `retention.ms` and `retention.bytes` (only when
    /// `cleanup.policy` includes `delete`) and below the log start offset, only segments entirely below
    /// `high_watermark`, never the active segment (rolled first if it alone qualifies and is
    /// non-empty). Returns the number of segments deleted. Log start offset moves forward, and the
    /// leader epoch cache's head with it.
    pub fn delete_old_segments(&self, now_ms: i64, high_watermark: i64) -> Result<usize> {
        self.observe_clock(now_ms);
        let config = self.config();
        let state = lock(&self.lock);
        if state.closed {
            return Ok(0);
        }
        let log_start = self.log_start_offset();
        let mut deleted = self.delete_segments_where(&config, now_ms, high_watermark, "log start offset", |_, next| {
            next.is_some_and(|n| n.base_offset() <= log_start)
        })?;
        if !config.cleanup_policy.delete {
            return Ok(deleted);
        }
        if config.retention_bytes >= 0 {
            let size = self.size() as i64;
            if size >= config.retention_bytes {
                let mut excess = size - config.retention_bytes;
                deleted += self.delete_segments_where(&config, now_ms, high_watermark, "retention.bytes", |segment, _| {
                    let segment_size = segment.size() as i64;
                    if excess - segment_size >= 0 {
                        excess -= segment_size;
                        true
                    } else {
                        false
                    }
                })?;
            }
        }
        if config.retention_ms >= 0 {
            deleted += self.delete_segments_where(&config, now_ms, high_watermark, "retention.ms", |segment, _| {
                now_ms.saturating_sub(segment.largest_timestamp()) > config.retention_ms
            })?;
        }
        Ok(deleted)
    }

    /// Kafka's `deletableSegments` + `deleteSegments`. Caller holds `lock`.
    fn delete_segments_where(
        &self,
        config: &LogConfig,
        now_ms: i64,
        high_watermark: i64,
        reason: &str,
        mut predicate: impl FnMut(&LogSegment, Option<&LogSegment>) -> bool,
    ) -> Result<usize> {
        let segments = self.segments();
        let log_end = self.end().offset;
        let mut deletable = 0;
        for (i, segment) in segments.iter().enumerate() {
            let next = segments.get(i + 1).map(|n| &**n);
            let (upper_bound, last_and_empty) = match next {
                Some(n) => (n.base_offset(), false),
                None => (log_end, segment.size() == 0),
            };
            if high_watermark >= upper_bound && predicate(segment, next) && !last_and_empty {
                deletable += 1;
            } else {
                break;
            }
        }
        if deletable == 0 {
            return Ok(0);
        }
        if deletable == segments.len() {
            self.roll(config, now_ms, log_end)?;
        }
        let current = self.segments();
        let (doomed, kept) = current.split_at(deletable);
        let new_start = kept[0].base_offset();
        let mut epoch_cache = lock(&self.leader_epoch_cache);
        self.replace_segments(kept.to_vec());
        self.log_start_offset.fetch_max(new_start, Ordering::AcqRel);
        // Reported after the deletions: the segments are already out of the list.
        let epochs_written = epoch_cache.truncate_from_start(self.log_start_offset());
        drop(epoch_cache);
        // Nothing below the log start needs recovery any more.
        self.recovery_point.fetch_max(new_start, Ordering::AcqRel);
        for segment in doomed {
            tracing::info!(partition = %self.tp, base_offset = segment.base_offset(), size = segment.size(), reason, "deleting segment");
            segment.delete_files().map_err(|e| LogError::io(segment.log_path(), e))?;
        }
        epochs_written?;
        Ok(deletable)
    }
}

#[cfg(test)]
mod tests;
