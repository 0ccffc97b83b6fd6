//! Reads: Fetch (`Log.read`) and ListOffsets by timestamp (`fetchOffsetByTimestamp`).
//!
//! A fetch returns a file region, never bytes: the index gives a position near the fetch offset,
//! a short header walk finds the batch holding it, and the region runs to the byte limit, the
//! upper-bound offset (high watermark or log end) or the segment's end, whichever is first.
//! Nothing is read into memory, which is what lets the connection writer `sendfile` it.

use std::sync::Arc;

use super::{floor_segment, FetchDataInfo, FileSlice, Log, LogOffsetMetadata, TimestampOffset};
use crate::error::{LogError, Result};
use crate::segment::LogSegment;

/// Bytes of `segment` a reader holding `end` may look at: all of an older segment, up to the
/// published position of the segment holding the log end. `None` for a segment newer than `end`.
fn visible_bound(segment: &LogSegment, end: &LogOffsetMetadata) -> Option<u64> {
    use std::cmp::Ordering::*;
    match segment.base_offset().cmp(&end.segment_base_offset) {
        Less => Some(segment.size()),
        Equal => Some(end.position),
        Greater => None,
    }
}

fn io_error(segment: &LogSegment, e: std::io::Error) -> LogError {
    LogError::io(segment.log_path(), e)
}

/// The offset after the last offset `segments[i]` can hold as seen at `end`.
fn next_offset_of(segments: &[Arc<LogSegment>], i: usize, end: &LogOffsetMetadata) -> i64 {
    segments.get(i + 1).filter(|n| n.base_offset() <= end.segment_base_offset).map_or(end.offset, |n| n.base_offset())
}

impl Log {
    pub(super) fn out_of_range(&self, offset: i64, end: &LogOffsetMetadata) -> LogError {
        LogError::OffsetOutOfRange { partition: self.tp.to_string(), offset, log_start: self.log_start_offset(), log_end: end.offset }
    }

    /// Reads from `start_offset`: the slice starts at the batch containing it and spans at most
    /// `max_bytes`, never past the end of the batch holding `max_offset - 1` (exclusive upper
    /// bound, e.g. the high watermark) nor past one segment. With `min_one_message` the first
    /// batch is returned whole even if larger than `max_bytes` (KIP-74). `start_offset` outside
    /// `[log_start_offset, log_end_offset]` is `OffsetOutOfRange`; `start_offset == max_offset`
    /// (or the log end) returns `records: None`.
    ///
    /// Like Kafka, the slice ends where the first batch holding an offset ≥ `max_offset` begins,
    /// and may end mid-batch when cut by `max_bytes` (clients drop the incomplete tail).
    pub fn read(&self, start_offset: i64, max_bytes: u32, max_offset: i64, min_one_message: bool) -> Result<FetchDataInfo> {
        let end = self.end();
        let segments = self.segments();
        if start_offset < self.log_start_offset() || start_offset > end.offset {
            return Err(self.out_of_range(start_offset, &end));
        }
        if start_offset == end.offset || start_offset >= max_offset {
            return Ok(FetchDataInfo::default());
        }
        let mut i = floor_segment(&segments, start_offset).ok_or_else(|| self.out_of_range(start_offset, &end))?;
        while i < segments.len() {
            let segment = &segments[i];
            let Some(bound) = visible_bound(segment, &end) else { break };
            // Not here (start in a gap at the segment's end): the next segment has it.
            let Some((position, first)) = segment.translate_offset(start_offset, bound).map_err(|e| io_error(segment, e))? else {
                i += 1;
                continue;
            };
            let max_position = if max_offset >= next_offset_of(&segments, i, &end) {
                bound
            } else {
                segment.translate_offset(max_offset, bound).map_err(|e| io_error(segment, e))?.map_or(bound, |(p, _)| p)
            };
            let limit = if min_one_message { (max_bytes as u64).max(first.total_size() as u64) } else { max_bytes as u64 };
            let len = max_position.saturating_sub(position).min(limit);
            if len == 0 {
                return Ok(FetchDataInfo::default());
            }
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            return Ok(FetchDataInfo { records: Some(FileSlice { file: Arc::clone(segment.log_file()), position, len }) });
        }
        Ok(FetchDataInfo::default())
    }

    /// ListOffsets by timestamp: the first offset whose batch MaxTimestamp ≥ `timestamp`, found
    /// through the time index and a scan; `None` if no such record.
    ///
    /// Segments whose largest timestamp is below `timestamp` are skipped; in the first other one
    /// the time index and offset index give a start position and batches are scanned. In an
    /// uncompressed batch the exact first record with a timestamp ≥ `timestamp` is returned (as
    /// Kafka does); a compressed batch is not decompressed, so its first offset and MaxTimestamp
    /// are returned instead (Kafka would return the exact record inside it). The special
    /// timestamps -1 (latest) and -2 (earliest) are the caller's to handle.
    pub fn fetch_offset_by_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let end = self.end();
        let segments = self.segments();
        let log_start = self.log_start_offset();
        for segment in segments.iter() {
            let Some(bound) = visible_bound(segment, &end) else { break };
            if segment.largest_timestamp() < timestamp {
                continue;
            }
            let found = segment.find_offset_by_timestamp(timestamp, log_start, bound).map_err(|e| LogError::io(segment.log_path(), e))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
    /// Kafka's `Log.legacyFetchOffsetsBefore`, what ListOffsets v0 answers: segment boundaries,
    /// not record offsets. Each segment contributes `(max(base offset, log start), .log mtime)`
    /// and a non-empty active segment also `(log end, now)`; then -1 (latest) starts from the
    /// last entry, -2 (earliest) from the first, any other timestamp from the last entry
    /// modified at or before it, and up to `max_num_offsets` offsets are returned from there
    /// backwards, newest first.
    pub fn legacy_fetch_offsets_before(&self, timestamp: i64, max_num_offsets: usize, now_ms: i64) -> Vec<i64> {
        let segments = self.segments();
        let log_start = self.log_start_offset();
        let mut offset_times: Vec<(i64, i64)> = segments.iter().map(|s| (s.base_offset().max(log_start), s.last_modified_ms())).collect();
        if segments.last().is_some_and(|s| s.size() > 0) {
            offset_times.push((self.log_end_offset(), now_ms));
        }
        offsets_before(&offset_times, timestamp, max_num_offsets)
    }
}

/// The search of `legacyFetchOffsetsBefore` over `(offset, last modified)` entries, oldest first.
pub(crate) fn offsets_before(offset_times: &[(i64, i64)], timestamp: i64, max_num_offsets: usize) -> Vec<i64> {
    let start = match timestamp {
        -1 => offset_times.len(),
        -2 => offset_times.len().min(1),
        ts => offset_times.iter().rposition(|&(_, modified)| modified <= ts).map_or(0, |i| i + 1),
    };
    let mut offsets: Vec<i64> = offset_times[..start].iter().rev().take(max_num_offsets).map(|&(offset, _)| offset).collect();
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets
}

#[cfg(test)]
mod tests;
