//! Opening a log: Kafka's `Log.loadSegments` + `recoverLog`.
//!
//! After a crash the tail of the log may hold a torn write (a batch header or payload only half
//! on disk) and indexes that point nowhere. Everything below the recovery point was fsynced, so
//! only segments from the one holding the recovery point on are re-validated batch by batch
//! (framing, magic, CRC-32C, offsets increasing); the first bad batch ends the log: its segment
//! is cut there and every later segment deleted. Indexes are never trusted blindly: a missing,
//! torn or inconsistent index file is rebuilt from its segment even after a clean shutdown.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::epoch::{LeaderEpochCheckpointFile, LeaderEpochFileCache};
use crate::error::{LogError, Result};
use crate::file_records::FileBatches;
use crate::index::{segment_file, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX};
use crate::segment::LogSegment;
use crate::TopicPartition;

use super::floor_segment;

/// Suffixes of files left by an interrupted delete, compaction or replace. Those are handled by
/// [`super::replace::complete_interrupted_operations`] before the scan; any still here is removed.
const TEMP_SUFFIXES: [&str; 3] = [super::DELETED_FILE_SUFFIX, super::CLEANED_FILE_SUFFIX, super::SWAP_FILE_SUFFIX];

pub(super) struct LoadedLog {
    /// Never empty.
    pub segments: Vec<Arc<LogSegment>>,
    pub log_end_offset: i64,
    /// Base offset of the first segment recovery re-validated because it was possibly not
    /// fsynced (the one holding the recovery point, or a torn tail of a clean log); `None` when
    /// the log was trusted. Segments only re-indexed do not count.
    pub recovered_from: Option<i64>,
}

/// Parses `00000000000000001234.log`-style names.
fn base_offset_of(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Lists the segment base offsets in `dir`, removing temporary files and orphaned indexes.
fn scan_dir(dir: &Path, tp: &TopicPartition) -> Result<Vec<i64>> {
    super::replace::complete_interrupted_operations(dir, tp)?;
    let io_err = |e| LogError::io(dir, e);
    let mut logs = BTreeSet::new();
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let path = entry.path();
        if TEMP_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            tracing::info!(partition = %tp, file = %path.display(), "removing leftover temporary file");
            std::fs::remove_file(&path).map_err(|e| LogError::io(&path, e))?;
        } else if let Some(base) = base_offset_of(&name, LOG_FILE_SUFFIX) {
            logs.insert(base);
        } else if let Some(base) = base_offset_of(&name, INDEX_FILE_SUFFIX).or_else(|| base_offset_of(&name, TIME_INDEX_FILE_SUFFIX)) {
            indexes.push((base, path));
        }
    }
    for (base, path) in indexes {
        if !logs.contains(&base) {
            tracing::warn!(partition = %tp, file = %path.display(), "removing orphaned index file");
            std::fs::remove_file(&path).map_err(|e| LogError::io(&path, e))?;
        }
    }
    Ok(logs.into_iter().collect())
}

pub(super) fn load_segments(dir: &Path, tp: &TopicPartition, config: &LogConfig, recovery_point: Option<i64>, now_ms: i64) -> Result<LoadedLog> {
    let mut segments = Vec::new();
    let mut needs_rebuild = Vec::new();
    for base in scan_dir(dir, tp)? {
        let (segment, rebuild) = LogSegment::open(dir, base, config.max_index_size, now_ms)
            .map_err(|e| LogError::io(segment_file(dir, base, LOG_FILE_SUFFIX), e))?;
        if rebuild {
            tracing::warn!(partition = %tp, base_offset = base, "index missing or corrupt, rebuilding");
        }
        segments.push(Arc::new(segment));
        needs_rebuild.push(rebuild);
    }

    // Segments at or after the one holding the recovery point were possibly not fsynced.
    let recover_from = match recovery_point {
        None => segments.len(),
        Some(p) => floor_segment(&segments, p).unwrap_or(0),
    };
    let mut recovered: Vec<Arc<LogSegment>> = Vec::new();
    let mut last_next_offset: Option<Option<i64>> = None;
    let mut recovered_from = None;
    let mut i = 0;
    while i < segments.len() {
        if i >= recover_from {
            recovered_from.get_or_insert(segments[i].base_offset());
        }
        if i >= recover_from || needs_rebuild[i] {
            let outcome = recover(&segments[i], tp, config)?;
            recovered.push(Arc::clone(&segments[i]));
            if outcome.1 {
                delete_after(&mut segments, i, tp)?;
            }
            if i + 1 == segments.len() {
                last_next_offset = Some(outcome.0);
            }
        }
        i += 1;
    }

    if segments.is_empty() {
        let segment = LogSegment::create(dir, 0, config.max_index_size, now_ms).map_err(|e| LogError::io(dir, e))?;
        segments.push(Arc::new(segment));
    }
    let last = Arc::clone(&segments[segments.len() - 1]);
    let next_offset = match last_next_offset {
        Some(next) => next,
        None => match last.read_next_offset() {
            Ok(next) => next,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                // Claimed clean, yet the tail is not whole batches: recover it after all.
                tracing::warn!(partition = %tp, error = %e, "torn tail in a cleanly shut down log, recovering the last segment");
                recovered.push(Arc::clone(&last));
                recovered_from.get_or_insert(last.base_offset());
                recover(&last, tp, config)?.0
            }
            Err(e) => return Err(LogError::io(last.log_path(), e)),
        },
    };
    let log_end_offset = next_offset.unwrap_or(last.base_offset());

    // What recovery validated becomes the recovery point, so make it durable first.
    for segment in &recovered {
        segment.flush().map_err(|e| LogError::io(segment.log_path(), e))?;
    }
    Ok(LoadedLog { segments, log_end_offset, recovered_from })
}

/// Kafka's `initializeLeaderEpochCache` plus the epoch part of recovery: reads
/// `leader-epoch-checkpoint`, then makes it agree with the loaded segments.
///
/// - After recovery, entries from the first recovered offset on are dropped and rebuilt from
///   the headers of the recovered batches: the checkpoint is fsynced on every change but the
///   data is not, so only what recovery validated may speak for that range. (Kafka keeps the
///   file's entries and only adds newer epochs from the recovered batches; both then drop what
///   lies past the log end.)
/// - A missing file in a log that has records (a log written before the cache existed) or a
///   corrupt file is rebuilt from every batch header, with a warning. Kafka fails the log dir on
///   a corrupt checkpoint; a rebuild gives the same entries the appends would have recorded,
///   except those of elections not followed by any record, which only the next election needs.
/// - Finally entries at or past the log end are dropped and the first one is moved up to the
///   log start (Kafka's `truncateFromEnd(logEndOffset)` and `truncateFromStart(logStartOffset)`).
///
/// The file is written only if this changed the entries, or to replace a corrupt file.
pub(super) fn load_leader_epoch_cache(dir: &Path, tp: &TopicPartition, loaded: &LoadedLog) -> Result<LeaderEpochFileCache> {
    let checkpoint = LeaderEpochCheckpointFile::in_dir(dir);
    let log_start = loaded.segments[0].base_offset();
    let (entries, rebuild_from, rewrite) = match checkpoint.read() {
        Ok(Some(entries)) => (entries, loaded.recovered_from, false),
        Ok(None) if loaded.log_end_offset > log_start => {
            tracing::info!(partition = %tp, "no leader epoch checkpoint, rebuilding it from the log");
            (Vec::new(), Some(log_start), false)
        }
        Ok(None) => (Vec::new(), None, false),
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "corrupt leader epoch checkpoint, rebuilding it from the log");
            (Vec::new(), Some(log_start), true)
        }
    };
    let mut cache = LeaderEpochFileCache::from_entries(tp.clone(), Some(checkpoint), entries);
    let before = cache.entries().to_vec();
    if let Some(from) = rebuild_from {
        cache.truncate_from_end_in_memory(from);
        for segment in loaded.segments.iter().filter(|s| s.base_offset() >= from) {
            for item in FileBatches::new(segment.log_file(), 0, segment.size()) {
                let (_, header) = item.map_err(|e| LogError::io(segment.log_path(), e))?;
                let epoch = header.partition_leader_epoch;
                // Kafka's LogSegment.recover: only epochs newer than the latest count.
                if epoch >= 0 && cache.latest_epoch().is_none_or(|latest| epoch > latest) {
                    cache.assign_in_memory(epoch, header.base_offset);
                }
            }
        }
    }
    cache.truncate_from_end_in_memory(loaded.log_end_offset);
    cache.truncate_from_start_in_memory(log_start);
    if rewrite || cache.entries() != before.as_slice() {
        cache.flush()?;
    }
    Ok(cache)
}

/// Recovers one segment, returning its next offset and whether it was truncated.
fn recover(segment: &LogSegment, tp: &TopicPartition, config: &LogConfig) -> Result<(Option<i64>, bool)> {
    let outcome = segment.recover(config.index_interval_bytes).map_err(|e| LogError::io(segment.log_path(), e))?;
    if outcome.truncated_bytes > 0 {
        tracing::warn!(
            partition = %tp,
            base_offset = segment.base_offset(),
            truncated_bytes = outcome.truncated_bytes,
            reason = outcome.reason.as_deref().unwrap_or(""),
            "truncated invalid bytes at the end of a segment during recovery"
        );
    }
    Ok((outcome.next_offset, outcome.truncated_bytes > 0))
}

/// Deletes every segment after index `i` (the log ends in segment `i`).
fn delete_after(segments: &mut Vec<Arc<LogSegment>>, i: usize, tp: &TopicPartition) -> Result<()> {
    for segment in segments.drain(i + 1..) {
        tracing::warn!(partition = %tp, base_offset = segment.base_offset(), "deleting segment after the recovered end of the log");
        segment.delete_files().map_err(|e| LogError::io(segment.log_path(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
