//! Log compaction (`cleanup.policy=compact`), Kafka's `LogCleaner.Cleaner`: keep at least the
//! latest record for every key.
//!
//! One pass over a compacted log ([`clean_log`]):
//! 1. The dirty section (from the `cleaner-offset-checkpoint` entry to the first uncleanable
//!    offset, see [`cleanable`]) is scanned into an [`offset_map::OffsetMap`]: key → offset of
//!    its latest record.
//! 2. Every segment from the log start up to the first uncleanable offset is rewritten, keeping
//!    a record only if no later record in the dirty section has its key (`offset >= map[key]`).
//!    Small neighbouring segments are merged into one (Kafka's `groupSegmentsBySize`).
//! 3. Tombstones (null values) are kept while their segment is younger than the delete horizon,
//!    Kafka's rule: the horizon is the last-modified time of the last already-clean segment minus
//!    `delete.retention.ms`, so a delete stays visible for that long after it was first cleaned.
//! 4. Each rewritten group is written as `<base>.log.cleaned` (+ indexes) and swapped in under
//!    the log's lock ([`crate::log::Log`]'s `replace_with_cleaned`): `.cleaned` → `.swap`, old
//!    segments deleted, `.swap` → final name. Opening a log deletes `.cleaned` files and
//!    completes `.swap` files, so a crash at any point leaves every latest value readable.
//! 5. The end of the dirty section becomes the log's new checkpoint (written by the
//!    `LogManager`).
//!
//! Rules kept from Kafka: records without a key are dropped (a compacted topic requires keys);
//! offsets never change, so a consumer sees increasing offsets with gaps; a rewritten batch keeps
//! its base offset, last offset delta, producer id/epoch/sequence, leader epoch, attributes and
//! codec (see [`records`]); the active segment is never touched.
//!
//! Differences: control batches (transaction markers) are always kept whole and aborted
//! transactions are not removed (Odradek has no transactions); a batch whose records cannot be
//! decoded (e.g. snappy in the Java client's xerial framing) is kept whole with a warning; an
//! emptied batch is always dropped (Kafka keeps the last batch of each producer for its
//! producer-state snapshot); the offset map has no size bound (see [`offset_map`]).

pub mod cleanable;
mod offset_map;
pub(crate) mod records;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use cleanable::LogToClean;

use crate::error::{LogError, Result};
use crate::file_records::{read_batch, FileBatches};
use crate::log::{Log, ReplaceStep, CLEANED_FILE_SUFFIX};
use crate::segment::LogSegment;
use cleanable::SegmentSummary;
use offset_map::OffsetMap;
use records::{filter_batch, for_each_record, record_bytes, Filtered, RecordView};

/// Batches are handed to the cleaned segment in chunks of about this many bytes.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// What a round of cleaning did (Kafka's `CleanerStats`, summed over the logs cleaned).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanerStats {
    pub logs_cleaned: usize,
    /// Segments replaced by cleaned ones.
    pub segments_cleaned: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_retained: u64,
}

impl CleanerStats {
    pub fn add(&mut self, other: &CleanerStats) {
        self.logs_cleaned += other.logs_cleaned;
        self.segments_cleaned += other.segments_cleaned;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
        self.records_read += other.records_read;
        self.records_retained += other.records_retained;
    }
}

/// Summarises `log` for [`cleanable::log_to_clean`] with the given checkpoint and high watermark.
pub fn log_to_clean(log: &Log, checkpoint: Option<i64>, high_watermark: i64, now_ms: i64) -> LogToClean {
    let summaries: Vec<SegmentSummary> = log
        .segments()
        .iter()
        .map(|s| SegmentSummary {
            base_offset: s.base_offset(),
            size: s.size(),
            largest_timestamp: s.largest_timestamp(),
            first_batch_timestamp: s.first_batch_timestamp(),
        })
        .collect();
    cleanable::log_to_clean(&summaries, log.log_start_offset(), log.log_end_offset(), checkpoint, high_watermark, now_ms, &log.config())
}

/// Kafka's `Cleaner.clean`: cleans `log` below `to_clean.first_uncleanable_offset` and returns the
/// offset where the next dirty section starts (the new checkpoint) with what was done.
pub fn clean_log(log: &Log, to_clean: &LogToClean, now_ms: i64) -> Result<(i64, CleanerStats)> {
    clean_log_until(log, to_clean, now_ms, None)
}

/// [`clean_log`], stopping the first swap after `crash_at` when given (crash tests).
pub(crate) fn clean_log_until(log: &Log, to_clean: &LogToClean, now_ms: i64, crash_at: Option<ReplaceStep>) -> Result<(i64, CleanerStats)> {
    let tp = log.topic_partition().clone();
    let config = log.config();
    let end_offset = to_clean.first_uncleanable_offset;
    let mut stats = CleanerStats { logs_cleaned: 1, ..CleanerStats::default() };
    let segments = log.segments();
    let map = build_offset_map(log, &segments, to_clean.first_dirty_offset, end_offset)?;
    let delete_horizon_ms = segments
        .iter()
        .take_while(|s| s.base_offset() < to_clean.first_dirty_offset)
        .last()
        .map_or(0, |s| s.last_modified_ms().saturating_sub(config.delete_retention_ms));
    tracing::info!(
        partition = %tp,
        first_dirty_offset = to_clean.first_dirty_offset,
        first_uncleanable_offset = end_offset,
        keys = map.len(),
        latest_dirty_offset = map.latest_offset(),
        delete_horizon_ms,
        "cleaning log"
    );
    let to_rewrite: Vec<Arc<LogSegment>> = match segments.split_last() {
        Some((_, non_active)) => non_active.iter().filter(|s| s.base_offset() < end_offset).cloned().collect(),
        None => Vec::new(),
    };
    for group in group_segments_by_size(&to_rewrite, config.segment_bytes, config.max_index_size, end_offset) {
        let cleaned = clean_segments(log, &group, &map, delete_horizon_ms, now_ms, &mut stats)?;
        if log.replace_with_cleaned(cleaned, &group, crash_at)? {
            stats.segments_cleaned += group.len();
        }
        if crash_at.is_some() {
            break;
        }
    }
    tracing::info!(partition = %tp, ?stats, "cleaned log");
    Ok((end_offset, stats))
}

/// Kafka's `buildOffsetMap`: the latest offset of every key in `[start, end)`.
fn build_offset_map(log: &Log, segments: &[Arc<LogSegment>], start: i64, end: i64) -> Result<OffsetMap> {
    let mut map = OffsetMap::new();
    let mut buf = Vec::new();
    let non_active = segments.split_last().map_or(&[][..], |(_, rest)| rest);
    for (i, segment) in non_active.iter().enumerate() {
        if segment.base_offset() >= end {
            break;
        }
        // Wholly below the dirty section.
        if segments.get(i + 1).is_some_and(|n| n.base_offset() <= start) {
            continue;
        }
        for item in FileBatches::new(segment.log_file(), 0, segment.size()) {
            let (position, header) = item.map_err(|e| LogError::io(segment.log_path(), e))?;
            if header.last_offset() < start || header.base_offset >= end {
                continue;
            }
            map.update_latest_offset(header.last_offset());
            if header.is_control() {
                continue;
            }
            read_batch(segment.log_file(), position, &header, &mut buf).map_err(|e| LogError::io(segment.log_path(), e))?;
            let outcome = record_bytes(&header, &buf).and_then(|records| {
                for_each_record(&header, &records, |record, _| {
                    if let Some(key) = record.key.filter(|_| record.offset >= start && record.offset < end) {
                        map.put(key, record.offset);
                    }
                })
            });
            if let Err(reason) = outcome {
                tracing::warn!(partition = %log.topic_partition(), base_offset = header.base_offset, reason, "cannot read a batch's records; its keys do not shadow older records");
            }
        }
    }
    Ok(map)
}

/// Kafka's `shouldRetainRecord`: the latest record of its key, and not a tombstone past the
/// delete horizon. Records without a key are dropped.
fn should_retain(map: &OffsetMap, retain_deletes: bool, record: &RecordView<'_>) -> bool {
    match record.key {
        Some(key) => record.offset >= map.get(key) && (record.has_value || retain_deletes),
        None => false,
    }
}

/// Kafka's `cleanSegments`: writes the kept batches of `group` into a `.cleaned` segment at the
/// group's base offset, fsynced and carrying the last source segment's modification time.
fn clean_segments(log: &Log, group: &[Arc<LogSegment>], map: &OffsetMap, delete_horizon_ms: i64, now_ms: i64, stats: &mut CleanerStats) -> Result<LogSegment> {
    let config = log.config();
    let base = group.first().map_or(0, |s| s.base_offset());
    let cleaned = LogSegment::create_with_suffix(log.dir(), base, CLEANED_FILE_SUFFIX, config.max_index_size, now_ms).map_err(|e| LogError::io(log.dir(), e))?;
    let cleaned_path = cleaned.log_path().to_path_buf();
    let io = |e| LogError::io(&cleaned_path, e);
    let mut out = Vec::with_capacity(WRITE_BUFFER_BYTES);
    let mut buf = Vec::new();
    for segment in group {
        let retain_deletes = segment.last_modified_ms() > delete_horizon_ms;
        for item in FileBatches::new(segment.log_file(), 0, segment.size()) {
            let (position, header) = item.map_err(|e| LogError::io(segment.log_path(), e))?;
            read_batch(segment.log_file(), position, &header, &mut buf).map_err(|e| LogError::io(segment.log_path(), e))?;
            stats.bytes_read += buf.len() as u64;
            stats.records_read += header.record_count.max(0) as u64;
            let filtered = if header.is_control() {
                Ok(Filtered::Unchanged)
            } else {
                let mut kept = 0u64;
                let result = filter_batch(&buf, |r| {
                    let keep = should_retain(map, retain_deletes, r);
                    kept += keep as u64;
                    keep
                });
                if matches!(result, Ok(Filtered::Rewritten(_))) {
                    stats.records_retained += kept;
                }
                result
            };
            match filtered {
                Ok(Filtered::Unchanged) => {
                    stats.records_retained += header.record_count.max(0) as u64;
                    out.extend_from_slice(&buf);
                }
                Ok(Filtered::Rewritten(batch)) => out.extend_from_slice(&batch),
                Ok(Filtered::Empty) => {}
                Err(reason) => {
                    tracing::warn!(partition = %log.topic_partition(), base_offset = header.base_offset, reason, "cannot filter a batch, keeping it whole");
                    stats.records_retained += header.record_count.max(0) as u64;
                    out.extend_from_slice(&buf);
                }
            }
            if out.len() >= WRITE_BUFFER_BYTES {
                stats.bytes_written += out.len() as u64;
                cleaned.append(&out, None, config.index_interval_bytes).map_err(io)?;
                out.clear();
            }
        }
    }
    if !out.is_empty() {
        stats.bytes_written += out.len() as u64;
        cleaned.append(&out, None, config.index_interval_bytes).map_err(io)?;
    }
    cleaned.on_become_inactive();
    cleaned.flush().map_err(io)?;
    if let Some(last) = group.last() {
        cleaned.set_last_modified_ms(last.last_modified_ms()).map_err(io)?;
    }
    Ok(cleaned)
}

/// Kafka's `groupSegmentsBySize`: consecutive segments merged while their total size fits in
/// `max_size` (`segment.bytes`), their index entries in `max_index_size` and their offsets in
/// an int32 relative to the group's base.
fn group_segments_by_size(segments: &[Arc<LogSegment>], max_size: u64, max_index_size: u32, first_uncleanable_offset: i64) -> Vec<Vec<Arc<LogSegment>>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let mut group = vec![Arc::clone(&segments[i])];
        let mut size = segments[i].size();
        let (o, t) = segments[i].index_entry_counts();
        let (mut offset_index_bytes, mut time_index_bytes) = (o * 8, t * 12);
        i += 1;
        while let Some(next) = segments.get(i) {
            let (o, t) = next.index_entry_counts();
            // The next segment's last offset is below the one after it (or the uncleanable bound).
            let next_end = segments.get(i + 1).map_or(first_uncleanable_offset, |n| n.base_offset()) - 1;
            if size + next.size() > max_size
                || offset_index_bytes + o * 8 > max_index_size as usize
                || time_index_bytes + t * 12 > max_index_size as usize
                || next_end - group[0].base_offset() > i32::MAX as i64
            {
                break;
            }
            size += next.size();
            offset_index_bytes += o * 8;
            time_index_bytes += t * 12;
            group.push(Arc::clone(next));
            i += 1;
        }
        groups.push(group);
    }
    groups
}
