//! The leader epoch cache, Kafka's `LeaderEpochFileCache` + `LeaderEpochCheckpointFile`
//! (KIP-101, KIP-279): for every leader epoch the offset of the first record written in it.
//!
//! Why it exists: before KIP-101 a follower truncated to its own high watermark when it became a
//! follower, which lost committed records (its HW lagged the leader's) and let logs diverge
//! after overlapping crashes (same offsets, different records). With this cache a follower asks
//! the leader "where does my latest epoch end in *your* log?" (OffsetForLeaderEpoch, or the
//! DivergingEpoch of a Fetch) and truncates exactly at the first offset where the two histories
//! differ. [`LeaderEpochFileCache::end_offset_for`] is the leader's half of that question.
//!
//! Rules, all from Kafka 2.8:
//! - Invariant: entries are strictly increasing in both epoch and start offset. An assignment
//!   that would break that removes the conflicting later entries first (Kafka's
//!   `maybeTruncateNonMonotonicEntries`); assigning the latest epoch again at a later offset is a
//!   no-op (an epoch's start never moves forward).
//! - Every change is written to `<partition dir>/leader-epoch-checkpoint` before the call returns:
//!   line 1 the version `0`, line 2 the entry count, then `<epoch> <startOffset>` lines, through a
//!   temp file, fsync and rename, as the offset checkpoints.
//!
//! The rules themselves do no I/O (`*_in_memory`), so the log's recovery can rebuild a cache and
//! write it once, and unit tests can run them without a file ([`LeaderEpochFileCache::in_memory`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::checkpoint::{malformed, write_atomically, CHECKPOINT_VERSION};
use crate::error::{LogError, Result};
use crate::TopicPartition;

/// File name of the cache, in each partition directory.
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
/// `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH`.
pub const UNDEFINED_EPOCH: i32 = -1;
/// `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Kafka's `EpochEntry`: `epoch` began at `start_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

impl EpochEntry {
    pub fn new(epoch: i32, start_offset: i64) -> Self {
        EpochEntry { epoch, start_offset }
    }
}

/// The `leader-epoch-checkpoint` file of one partition.
#[derive(Clone, Debug)]
pub struct LeaderEpochCheckpointFile {
    path: PathBuf,
}

impl LeaderEpochCheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LeaderEpochCheckpointFile { path: path.into() }
    }

    /// The file in a partition directory.
    pub fn in_dir(partition_dir: &Path) -> Self {
        Self::new(partition_dir.join(LEADER_EPOCH_CHECKPOINT_FILE))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the entries in file order. `None` when the file does not exist; an empty file is no
    /// entries (Kafka creates the file empty). A bad version, count or line, or a negative epoch
    /// or offset, is an `Io` error of kind `InvalidData` naming the file.
    pub fn read(&self) -> Result<Option<Vec<EpochEntry>>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(&self.path, e)),
        };
        let mut lines = text.lines();
        let Some(version) = lines.next() else { return Ok(Some(Vec::new())) };
        if version.trim().parse::<i32>().ok() != Some(CHECKPOINT_VERSION) {
            return Err(malformed(&self.path, 1, &format!("unrecognized version {version:?}")));
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| malformed(&self.path, 2, "missing entry count"))?;
        let mut entries = Vec::with_capacity(count.min(1024));
        for (i, line) in lines.enumerate() {
            let line_no = i + 3;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [epoch, start_offset] = fields[..] else {
                return Err(malformed(&self.path, line_no, &format!("expected `<epoch> <startOffset>`, got {line:?}")));
            };
            let epoch: i32 = epoch.parse().ok().filter(|e| *e >= 0).ok_or_else(|| malformed(&self.path, line_no, "bad epoch"))?;
            let start_offset: i64 =
                start_offset.parse().ok().filter(|o| *o >= 0).ok_or_else(|| malformed(&self.path, line_no, "bad start offset"))?;
            entries.push(EpochEntry { epoch, start_offset });
        }
        if entries.len() != count {
            return Err(malformed(&self.path, 2, &format!("expected {count} entries, found {}", entries.len())));
        }
        Ok(Some(entries))
    }

    /// Writes the entries atomically (temp file, fsync, rename, fsync of the directory).
    pub fn write(&self, entries: &[EpochEntry]) -> Result<()> {
        let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
        for e in entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

/// One partition's epoch → start offset map, persisted on every change (unless in memory).
#[derive(Debug)]
pub struct LeaderEpochFileCache {
    tp: TopicPartition,
    /// Strictly increasing in epoch and in start offset.
    entries: Vec<EpochEntry>,
    checkpoint: Option<LeaderEpochCheckpointFile>,
}

impl LeaderEpochFileCache {
    /// Kafka's constructor: reads the checkpoint (missing = empty) and assigns its entries in
    /// order, so a file that is not monotonic loads as the monotonic cache its last entries imply.
    pub fn load(tp: TopicPartition, checkpoint: LeaderEpochCheckpointFile) -> Result<Self> {
        let entries = checkpoint.read()?.unwrap_or_default();
        Ok(Self::from_entries(tp, Some(checkpoint), entries))
    }

    /// A cache that never touches a file (tests, tools).
    pub fn in_memory(tp: TopicPartition) -> Self {
        LeaderEpochFileCache { tp, entries: Vec::new(), checkpoint: None }
    }

    /// A cache holding `entries` (assigned in order), not written until the next change or
    /// [`Self::flush`].
    pub(crate) fn from_entries(tp: TopicPartition, checkpoint: Option<LeaderEpochCheckpointFile>, entries: Vec<EpochEntry>) -> Self {
        let mut cache = LeaderEpochFileCache { tp, entries: Vec::with_capacity(entries.len()), checkpoint };
        for e in entries {
            cache.assign_in_memory(e.epoch, e.start_offset);
        }
        cache
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.entries.first().copied()
    }

    /// The latest epoch that has a start offset: on a leader, its current epoch.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// The epoch of the record at `offset`: the entry with the largest start offset ≤ `offset`.
    /// `None` below the first entry. Offsets at or past the log end are the caller's to refuse.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let i = self.entries.partition_point(|e| e.start_offset <= offset);
        i.checked_sub(1).map(|i| self.entries[i].epoch)
    }

    /// Kafka's `assign`: records that `epoch` starts at `start_offset`. Returns whether the
    /// cache changed (and was written). A no-op when `epoch` is the latest epoch and
    /// `start_offset` is not before its start. Otherwise every later entry with an epoch ≥
    /// `epoch` or a start offset ≥ `start_offset` is removed first, so the entries stay strictly
    /// monotonic (an older epoch arriving after newer ones means the log was rewritten after
    /// them; Kafka chooses this over failing). A negative epoch or offset (a batch from a
    /// pre-KIP-101 writer, `NO_PARTITION_LEADER_EPOCH`) is ignored; Kafka throws instead.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> Result<bool> {
        let changed = self.assign_in_memory(epoch, start_offset);
        if changed {
            self.flush()?;
        }
        Ok(changed)
    }

    pub(crate) fn assign_in_memory(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 {
            return false;
        }
        let update_needed = match self.entries.last() {
            Some(last) => epoch != last.epoch || start_offset < last.start_offset,
            None => true,
        };
        if !update_needed {
            return false;
        }
        let keep = self.entries.iter().rposition(|e| e.epoch < epoch && e.start_offset < start_offset).map_or(0, |i| i + 1);
        let removed = &self.entries[keep..];
        if removed.len() > 1 || removed.first().is_some_and(|r| r.start_offset != start_offset) {
            // Removing the previous epoch's entry when it held no records is the normal case of
            // two quick elections; anything else means conflicting history was dropped.
            tracing::warn!(partition = %self.tp, epoch, start_offset, removed = ?removed, "new leader epoch entry truncated conflicting entries");
        }
        self.entries.truncate(keep);
        self.entries.push(EpochEntry { epoch, start_offset });
        tracing::debug!(partition = %self.tp, epoch, start_offset, entries = self.entries.len(), "assigned leader epoch start offset");
        true
    }

    /// Kafka's `endOffsetFor`: the largest known epoch ≤ `requested_epoch` and where it ends,
    /// i.e. the start offset of the next larger epoch, or `log_end_offset` when `requested_epoch`
    /// is the latest epoch. A request below every known epoch gets `(requested_epoch, start of
    /// the first entry)`: the records before it are gone, and the follower should replicate from
    /// there. `UNDEFINED_EPOCH`, an empty cache or an epoch above the latest give
    /// `(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)`.
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let higher = self.entries.partition_point(|e| e.epoch <= requested_epoch);
        let Some(next) = self.entries.get(higher) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match higher.checked_sub(1) {
            Some(floor) => (self.entries[floor].epoch, next.start_offset),
            None => (requested_epoch, next.start_offset),
        }
    }

    /// Kafka's `truncateFromEnd`: removes every entry starting at or after `end_offset` (the log
    /// was truncated there). Negative offsets are ignored.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> Result<()> {
        if self.truncate_from_end_in_memory(end_offset) {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn truncate_from_end_in_memory(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 || self.entries.last().is_none_or(|e| e.start_offset < end_offset) {
            return false;
        }
        let keep = self.entries.partition_point(|e| e.start_offset < end_offset);
        tracing::debug!(partition = %self.tp, end_offset, removed = ?&self.entries[keep..], "truncated leader epoch entries from the end");
        self.entries.truncate(keep);
        true
    }

    /// Kafka's `truncateFromStart`: the log now starts at `start_offset`. Entries starting at or
    /// before it are removed except the last of them, which is kept with its start moved to
    /// `start_offset` (the epoch of the first remaining record). An entry starting exactly at
    /// `start_offset` is thus kept as it is.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> Result<()> {
        if self.truncate_from_start_in_memory(start_offset) {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn truncate_from_start_in_memory(&mut self, start_offset: i64) -> bool {
        let removed = self.entries.partition_point(|e| e.start_offset <= start_offset);
        let Some(last_removed) = removed.checked_sub(1).map(|i| self.entries[i]) else { return false };
        if removed == 1 && last_removed.start_offset == start_offset {
            return false;
        }
        self.entries.drain(..removed);
        self.entries.insert(0, EpochEntry { epoch: last_removed.epoch, start_offset });
        tracing::debug!(partition = %self.tp, start_offset, first = ?self.entries[0], "truncated leader epoch entries from the start");
        true
    }

    /// Kafka's `clearAndFlush`: forgets every entry (the log restarted empty).
    pub fn clear_and_flush(&mut self) -> Result<()> {
        self.entries.clear();
        self.flush()
    }

    /// Writes the entries to the checkpoint file (nothing for an in-memory cache).
    pub fn flush(&self) -> Result<()> {
        match &self.checkpoint {
            Some(file) => file.write(&self.entries),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
