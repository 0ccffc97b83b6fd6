//! Which part of a compacted log may be cleaned, and whether it is worth it: the pure half of
//! Kafka's `LogCleanerManager` (`cleanableOffsets`, `LogToClean`, `maxCompactionDelay`,
//! `grabFilthiestCompactedLog`'s filter), over plain segment summaries so it is table-tested.
//!
//! The dirty section starts at the cleaner checkpoint (reset to the log start when it lies
//! outside the log) and ends at the first uncleanable offset: the smallest of the active
//! segment's base offset, the high watermark, and the base of the first segment with a record
//! newer than `min.compaction.lag.ms`. Kafka then cleans every segment below it, including the
//! one the high watermark falls into (whose records above the mark it keeps, as nothing newer
//! can shadow them); we round the bound down to that segment's base instead, so every segment
//! the cleaner rewrites lies wholly below the high watermark and nothing above it is touched.

use crate::config::LogConfig;

/// One segment as the cleaner's bookkeeping sees it, oldest first; the last is the active one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    pub base_offset: i64,
    pub size: u64,
    pub largest_timestamp: i64,
    /// MaxTimestamp of the first batch, `None` if empty or without timestamps.
    pub first_batch_timestamp: Option<i64>,
}

/// Kafka's `LogToClean`: a compacted log's clean and dirty sections.
#[derive(Clone, Debug, PartialEq)]
pub struct LogToClean {
    /// Where the dirty section starts (the cleaner checkpoint, or the log start).
    pub first_dirty_offset: i64,
    /// Where it ends (exclusive), always a segment base offset.
    pub first_uncleanable_offset: i64,
    /// Bytes of the segments below the dirty section (cleaned before).
    pub clean_bytes: u64,
    /// Bytes of the segments in the dirty section.
    pub cleanable_bytes: u64,
    /// Kafka's `maxCompactionDelay`: how far past `max.compaction.lag.ms` the oldest dirty
    /// record is; > 0 forces a clean whatever the dirty ratio.
    pub max_compaction_delay_ms: i64,
}

impl LogToClean {
    pub fn total_bytes(&self) -> u64 { self.clean_bytes + self.cleanable_bytes }

    /// Kafka's `cleanableRatio`: dirty bytes over all bytes below the first uncleanable offset.
    pub fn cleanable_ratio(&self) -> f64 {
        if self.total_bytes() == 0 {
            0.0
        } else {
            self.cleanable_bytes as f64 / self.total_bytes() as f64
        }
    }

    pub fn needs_compaction_now(&self) -> bool { self.max_compaction_delay_ms > 0 }

    /// Kafka's selection rule (`grabFilthiestCompactedLog`): something to clean, and either the
    /// dirty ratio is above `min.cleanable.dirty.ratio` (strictly, as in Kafka) or
    /// `max.compaction.lag.ms` has passed.
    pub fn should_clean(&self, min_cleanable_ratio: f64) -> bool {
        self.cleanable_bytes > 0 && (self.needs_compaction_now() || self.cleanable_ratio() > min_cleanable_ratio)
    }
}

/// Base offset of the segment holding `offset` (the first segment's if it is below them all).
fn floor_base(segments: &[SegmentSummary], offset: i64) -> i64 {
    segments.iter().take_while(|s| s.base_offset <= offset).last().or(segments.first()).map_or(offset, |s| s.base_offset)
}

/// Kafka's `cleanableOffsets` + `LogToClean` + `maxCompactionDelay` for one log.
pub(crate) fn log_to_clean(
    segments: &[SegmentSummary],
    log_start_offset: i64,
    log_end_offset: i64,
    checkpoint: Option<i64>,
    high_watermark: i64,
    now_ms: i64,
    config: &LogConfig,
) -> LogToClean {
    let checkpointed = checkpoint.unwrap_or(log_start_offset);
    let first_dirty_offset = if checkpointed < log_start_offset || checkpointed > log_end_offset { log_start_offset } else { checkpointed };
    let (active, non_active) = match segments.split_last() {
        Some((active, rest)) => (active.base_offset, rest),
        None => (log_end_offset, &[][..]),
    };
    let dirty_base = floor_base(segments, first_dirty_offset);
    let dirty_non_active = non_active.iter().filter(|s| s.base_offset >= dirty_base);
    let min_lag = config.min_compaction_lag_ms.max(0);
    let too_young = (min_lag > 0)
        .then(|| dirty_non_active.clone().find(|s| s.largest_timestamp > now_ms.saturating_sub(min_lag)).map(|s| s.base_offset))
        .flatten();
    let bound = [Some(active), Some(high_watermark), too_young].into_iter().flatten().min().unwrap_or(active);
    // Only whole segments below the bound are cleaned.
    let first_uncleanable_offset = floor_base(segments, bound).max(dirty_base);
    let clean_bytes = segments.iter().filter(|s| s.base_offset < dirty_base).map(|s| s.size).sum();
    let cleanable_bytes = segments.iter().filter(|s| s.base_offset >= dirty_base && s.base_offset < first_uncleanable_offset).map(|s| s.size).sum();

    let earliest_dirty_timestamp = dirty_non_active.filter_map(|s| s.first_batch_timestamp).filter(|t| *t > 0).min().unwrap_or(i64::MAX);
    let clean_until = now_ms.saturating_sub(config.max_compaction_lag_ms.max(0));
    let max_compaction_delay_ms = if earliest_dirty_timestamp < clean_until { clean_until - earliest_dirty_timestamp } else { 0 };
    LogToClean { first_dirty_offset, first_uncleanable_offset, clean_bytes, cleanable_bytes, max_compaction_delay_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments at 0, 10, 20 (active), 100 bytes each, largest timestamps 1000, 2000, 3000.
    fn three() -> Vec<SegmentSummary> {
        (0..3).map(|i| SegmentSummary { base_offset: i * 10, size: 100, largest_timestamp: (i + 1) * 1000, first_batch_timestamp: Some(i * 1000 + 500) }).collect()
    }

    fn config() -> LogConfig { LogConfig::default() }

    #[test]
    fn the_dirty_section_runs_from_the_checkpoint_to_the_active_segment() {
        let s = three();
        let ltc = log_to_clean(&s, 0, 25, None, 25, 10_000, &config());
        assert_eq!((ltc.first_dirty_offset, ltc.first_uncleanable_offset), (0, 20));
        assert_eq!((ltc.clean_bytes, ltc.cleanable_bytes), (0, 200));
        assert_eq!(ltc.cleanable_ratio(), 1.0);

        let ltc = log_to_clean(&s, 0, 25, Some(10), 25, 10_000, &config());
        assert_eq!((ltc.first_dirty_offset, ltc.clean_bytes, ltc.cleanable_bytes), (10, 100, 100));
        assert_eq!(ltc.cleanable_ratio(), 0.5);
        assert!(!ltc.should_clean(0.5), "Kafka wants the ratio strictly above the minimum");
        assert!(ltc.should_clean(0.49));
    }

    #[test]
    fn a_checkpoint_outside_the_log_resets_to_the_log_start() {
        let s = three();
        assert_eq!(log_to_clean(&s, 10, 25, Some(3), 25, 0, &config()).first_dirty_offset, 10);
        assert_eq!(log_to_clean(&s, 0, 25, Some(26), 25, 0, &config()).first_dirty_offset, 0);
        assert_eq!(log_to_clean(&s, 0, 25, Some(25), 25, 0, &config()).first_dirty_offset, 25);
    }

    #[test]
    fn the_high_watermark_and_min_compaction_lag_bound_the_dirty_section_at_segment_bases() {
        let s = three();
        let ltc = log_to_clean(&s, 0, 25, None, 15, 10_000, &config());
        assert_eq!(ltc.first_uncleanable_offset, 10, "the segment holding the high watermark is not cleaned");
        assert_eq!(log_to_clean(&s, 0, 25, None, 5, 10_000, &config()).cleanable_bytes, 0);

        let lagged = LogConfig { min_compaction_lag_ms: 8_500, ..config() };
        // now - lag = 1500: segment 10 (largest 2000) is too young, segment 0 (1000) is not.
        assert_eq!(log_to_clean(&s, 0, 25, None, 25, 10_000, &lagged).first_uncleanable_offset, 10);
        assert_eq!(log_to_clean(&s, 0, 25, None, 25, 20_000, &lagged).first_uncleanable_offset, 20);
    }

    #[test]
    fn max_compaction_lag_forces_a_clean_below_the_ratio() {
        let s = three();
        let lagged = LogConfig { max_compaction_lag_ms: 1_000, ..config() };
        let ltc = log_to_clean(&s, 0, 25, Some(10), 25, 3_000, &lagged);
        // The oldest dirty non-active segment's first batch is at 1500; clean until 2000.
        assert_eq!(ltc.max_compaction_delay_ms, 500);
        assert!(ltc.should_clean(0.99));
        let ltc = log_to_clean(&s, 0, 25, Some(10), 25, 3_000, &config());
        assert_eq!(ltc.max_compaction_delay_ms, 0);
        assert!(!ltc.should_clean(0.99));
    }
}
