//! Swapping cleaned segments in, crash-safely: Kafka's `Log.replaceSegments` and, on load,
//! `completeSwapOperations`.
//!
//! The cleaner writes `<base>.log.cleaned` (+ `.index.cleaned`, `.timeindex.cleaned`) without the
//! log's lock. Then, under it:
//! 1. the `.cleaned` files are renamed to `.swap` (the log file last) and the directory fsynced:
//!    from here the swap is committed, a crash will complete it;
//! 2. the replaced segments' files are deleted;
//! 3. the `.swap` files are renamed to their final names (the log file last, over the first old
//!    segment's name, which step 2 freed), the segment is opened and the segment list replaced.
//!
//! Opening a log first deletes `.cleaned` and `.deleted` files (an unfinished clean is simply
//! lost) and stray index `.swap` files, then completes each `<base>.log.swap`: every segment whose
//! base offset lies in `[base, next offset of the swap)` is one it replaces and is deleted, and the
//! swap takes its final name; its indexes are rebuilt by the normal load. A crash before step 1
//! leaves the old segments; after it, the cleaned one. Either way each key's latest value is there.
//!
//! Readers are never disturbed: the list is swapped atomically, and a reader still holding the old
//! segments keeps reading their (unlinked) files through its open handles.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::{Log, LogState};
use crate::checkpoint::fsync_dir;
use crate::error::{LogError, Result};
use crate::file_records::FileBatches;
use crate::index::{segment_file, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX};
use crate::segment::{lock, LogSegment};
use crate::TopicPartition;

/// Kafka's `CleanedFileSuffix`: a segment being written by the cleaner.
pub const CLEANED_FILE_SUFFIX: &str = ".cleaned";
/// Kafka's `SwapFileSuffix`: a cleaned segment committed to replace older ones.
pub const SWAP_FILE_SUFFIX: &str = ".swap";
/// Kafka's `DeletedFileSuffix`: a segment awaiting deletion.
pub const DELETED_FILE_SUFFIX: &str = ".deleted";

/// The three file kinds of a segment, log file last: its rename is each step's commit point.
const SEGMENT_FILE_SUFFIXES: [&str; 3] = [INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX];

/// Where [`Log::replace_with_cleaned`] stops when a test simulates a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplaceStep {
    /// The `.cleaned` files are written, nothing renamed.
    CleanedWritten,
    /// Renamed to `.swap`, old segments untouched.
    SwapRenamed,
    /// The first replaced segment's files are deleted, the others not.
    OneOldDeleted,
    /// Every replaced segment's files are deleted.
    OldDeleted,
    /// The index files have their final names, the log file is still `.swap`.
    IndexesRenamed,
}

fn rename(dir: &Path, base: i64, kind: &str, from: &str, to: &str) -> Result<()> {
    let source = segment_file(dir, base, &format!("{kind}{from}"));
    let target = segment_file(dir, base, &format!("{kind}{to}"));
    std::fs::rename(&source, &target).map_err(|e| LogError::io(source, e))
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::io(path, e)),
        _ => Ok(()),
    }
}

/// Deletes the `.cleaned` files of the segment at `base` (an abandoned clean).
fn remove_cleaned(dir: &Path, base: i64) -> Result<()> {
    for kind in SEGMENT_FILE_SUFFIXES {
        remove_if_exists(&segment_file(dir, base, &format!("{kind}{CLEANED_FILE_SUFFIX}")))?;
    }
    Ok(())
}

impl Log {
    /// Kafka's `replaceSegments`: puts `cleaned` (a flushed `.cleaned` segment) in place of `old`,
    /// consecutive non-active segments of this log whose first has `cleaned`'s base offset.
    /// Returns `false`, deleting the cleaned files, if the log changed meanwhile (closed,
    /// truncated, or `old` no longer in it). `crash_at` stops after that step, files left as a
    /// crash would leave them (tests only; `None` otherwise).
    pub(crate) fn replace_with_cleaned(&self, cleaned: LogSegment, old: &[Arc<LogSegment>], crash_at: Option<ReplaceStep>) -> Result<bool> {
        let base = cleaned.base_offset();
        drop(cleaned); // reopened under its final name below
        let state = lock(&self.lock);
        let segments = self.segments();
        let position = old.first().and_then(|first| segments.iter().position(|s| Arc::ptr_eq(s, first)));
        let still_there = position.is_some_and(|i| {
            i + old.len() < segments.len() && old.iter().zip(&segments[i..]).all(|(a, b)| Arc::ptr_eq(a, b)) && segments[i].base_offset() == base
        });
        let (Some(i), true, false) = (position, still_there, state.closed) else {
            tracing::info!(partition = %self.tp, base_offset = base, "log changed while cleaning, discarding the cleaned segment");
            remove_cleaned(&self.dir, base)?;
            return Ok(false);
        };
        if crash_at == Some(ReplaceStep::CleanedWritten) {
            return Ok(false);
        }
        self.swap_in(&state, base, old, crash_at)?;
        if crash_at.is_some() {
            return Ok(false);
        }
        let config = self.config();
        let (segment, rebuild) = LogSegment::open(&self.dir, base, config.max_index_size, self.clock_ms.load(std::sync::atomic::Ordering::Acquire))
            .map_err(|e| LogError::io(segment_file(&self.dir, base, LOG_FILE_SUFFIX), e))?;
        if rebuild {
            segment.recover(config.index_interval_bytes).map_err(|e| LogError::io(segment.log_path(), e))?;
        }
        let mut list = Vec::with_capacity(segments.len() + 1 - old.len());
        list.extend(segments[..i].iter().cloned());
        list.push(Arc::new(segment));
        list.extend(segments[i + old.len()..].iter().cloned());
        self.replace_segments(list);
        tracing::info!(partition = %self.tp, base_offset = base, replaced = old.len(), "swapped in a cleaned segment");
        Ok(true)
    }

    /// Steps 1–3 of the module doc on disk. Caller holds `lock`.
    fn swap_in(&self, _state: &LogState, base: i64, old: &[Arc<LogSegment>], crash_at: Option<ReplaceStep>) -> Result<()> {
        let dir = &self.dir;
        let fsync = || fsync_dir(dir).map_err(|e| LogError::io(dir, e));
        for kind in SEGMENT_FILE_SUFFIXES {
            rename(dir, base, kind, CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        }
        fsync()?;
        if crash_at == Some(ReplaceStep::SwapRenamed) {
            return Ok(());
        }
        for (n, segment) in old.iter().enumerate() {
            segment.delete_files().map_err(|e| LogError::io(segment.log_path(), e))?;
            if n == 0 && crash_at == Some(ReplaceStep::OneOldDeleted) {
                return Ok(());
            }
        }
        if crash_at == Some(ReplaceStep::OldDeleted) {
            return Ok(());
        }
        for kind in SEGMENT_FILE_SUFFIXES {
            if kind == LOG_FILE_SUFFIX && crash_at == Some(ReplaceStep::IndexesRenamed) {
                return Ok(());
            }
            rename(dir, base, kind, SWAP_FILE_SUFFIX, "")?;
        }
        fsync()
    }
}

/// Parses `<20 digits><suffix>` names.
fn base_offset_of(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok()).flatten()
}

/// Kafka's load-time cleanup of interrupted deletes, cleans and swaps (see the module doc).
/// Runs before the segments are listed.
pub(crate) fn complete_interrupted_operations(dir: &Path, tp: &TopicPartition) -> Result<()> {
    let io_err = |e| LogError::io(dir, e);
    let mut swaps = Vec::new();
    let mut logs = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let path = entry.path();
        let log_swap = format!("{LOG_FILE_SUFFIX}{SWAP_FILE_SUFFIX}");
        if let Some(base) = base_offset_of(&name, &log_swap) {
            swaps.push(base);
        } else if name.ends_with(CLEANED_FILE_SUFFIX) || name.ends_with(DELETED_FILE_SUFFIX) || name.ends_with(SWAP_FILE_SUFFIX) {
            tracing::info!(partition = %tp, file = %path.display(), "removing leftover temporary file");
            remove_if_exists(&path)?;
        } else if let Some(base) = base_offset_of(&name, LOG_FILE_SUFFIX) {
            logs.insert(base);
        }
    }
    if swaps.is_empty() {
        return Ok(());
    }
    swaps.sort();
    for base in swaps {
        let swap_path = segment_file(dir, base, &format!("{LOG_FILE_SUFFIX}{SWAP_FILE_SUFFIX}"));
        let file = std::fs::File::open(&swap_path).map_err(|e| LogError::io(&swap_path, e))?;
        let len = file.metadata().map_err(|e| LogError::io(&swap_path, e))?.len();
        // Every batch was fsynced before the rename; a bad one would be cut by recovery later.
        let next_offset = FileBatches::new(&file, 0, len).map_while(|item| item.ok()).last().map_or(base, |(_, h)| h.next_offset());
        for &old in logs.range(base..next_offset.max(base + 1)) {
            tracing::info!(partition = %tp, base_offset = old, swap = base, "deleting a segment replaced by an interrupted swap");
            for kind in SEGMENT_FILE_SUFFIXES {
                remove_if_exists(&segment_file(dir, old, kind))?;
            }
        }
        // Indexes under the final name belong to the replaced segment or are half renamed:
        // the load rebuilds them from the swapped-in log.
        for kind in [INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX] {
            remove_if_exists(&segment_file(dir, base, kind))?;
        }
        tracing::info!(partition = %tp, base_offset = base, "completing an interrupted segment swap");
        rename(dir, base, LOG_FILE_SUFFIX, SWAP_FILE_SUFFIX, "")?;
    }
    fsync_dir(dir).map_err(|e| LogError::io(dir, e))
}
