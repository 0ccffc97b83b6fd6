//! `.timeindex`: "every record with a timestamp above T is at an offset ≥ O".
//! Entry = `int64 timestamp` + `int32 relativeOffset`, big-endian, timestamps strictly increasing:
//! an entry is appended (together with an offset-index entry) only when the segment's max
//! timestamp so far has grown, and records the offset of the batch that first reached it.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{IndexEntry, IndexFile};
use crate::batch::NO_TIMESTAMP;
use crate::log::TimestampOffset;

/// One `.timeindex` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeIndexEntry {
    pub timestamp: i64,
    pub relative_offset: i32,
}

impl IndexEntry for TimeIndexEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeIndexEntry { timestamp: i64::from_be_bytes(ts), relative_offset: i32::from_be_bytes([b[8], b[9], b[10], b[11]]) }
    }
}

/// Kafka's `TimeIndex`.
pub struct TimeIndex {
    base_offset: i64,
    file: IndexFile<TimeIndexEntry>,
}

impl TimeIndex {
    pub(crate) fn create(path: PathBuf, base_offset: i64, max_index_size: u32) -> io::Result<Self> {
        Ok(TimeIndex { base_offset, file: IndexFile::create(path, max_index_size)? })
    }

    /// `Ok(None)` if the file is missing or not a whole number of entries.
    pub(crate) fn load(path: PathBuf, base_offset: i64, max_index_size: u32) -> io::Result<Option<Self>> {
        Ok(IndexFile::load(path, max_index_size)?.map(|file| TimeIndex { base_offset, file }))
    }

    pub fn entries(&self) -> usize { self.file.len() }
    pub fn is_full(&self) -> bool { self.file.is_full() }

    fn absolute(&self, e: TimeIndexEntry) -> TimestampOffset {
        TimestampOffset { timestamp: e.timestamp, offset: self.base_offset + e.relative_offset as i64 }
    }

    /// The last entry, or `(NO_TIMESTAMP, base offset)` when empty (Kafka's `lastEntry`).
    pub fn last_entry(&self) -> TimestampOffset {
        self.file.last().map_or(TimestampOffset { timestamp: NO_TIMESTAMP, offset: self.base_offset }, |e| self.absolute(e))
    }

    /// Appends `(timestamp, offset)` if `timestamp` is larger than the last entry's (and the offset
    /// does not go backwards); otherwise does nothing.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) {
        let last = self.last_entry();
        let relative = offset - self.base_offset;
        if timestamp > last.timestamp && (self.file.len() == 0 || offset >= last.offset) && (0..=i32::MAX as i64).contains(&relative) {
            self.file.push(TimeIndexEntry { timestamp, relative_offset: relative as i32 });
        }
    }

    /// The entry with the largest timestamp ≤ `timestamp`, or `(NO_TIMESTAMP, base offset)`:
    /// records with timestamps ≥ `timestamp` can only be at or after the returned offset's batch.
    pub fn lookup(&self, timestamp: i64) -> TimestampOffset {
        let entries = self.file.entries();
        match entries.partition_point(|e| e.timestamp <= timestamp) {
            0 => TimestampOffset { timestamp: NO_TIMESTAMP, offset: self.base_offset },
            n => self.absolute(entries[n - 1]),
        }
    }

    /// Timestamps strictly increasing, offsets non-decreasing and inside the segment.
    pub(crate) fn sanity_check(&self) -> Result<(), String> {
        let mut prev: Option<TimeIndexEntry> = None;
        for (i, e) in self.file.entries().iter().enumerate() {
            if e.relative_offset < 0 {
                return Err(format!("entry {i} has negative relative offset {}", e.relative_offset));
            }
            if prev.is_some_and(|p| p.timestamp >= e.timestamp || p.relative_offset > e.relative_offset) {
                return Err(format!("entry {i} does not increase"));
            }
            prev = Some(*e);
        }
        Ok(())
    }

    /// Removes entries for offsets ≥ `offset` (log truncation).
    pub(crate) fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let relative = offset - self.base_offset;
        let keep = self.file.entries().partition_point(|e| (e.relative_offset as i64) < relative);
        self.file.truncate_entries(keep)
    }

    pub(crate) fn reset(&mut self) -> io::Result<()> { self.file.reset() }
    pub(crate) fn write_pending(&mut self) -> io::Result<()> { self.file.write_pending() }
    pub(crate) fn file(&self) -> Arc<File> { self.file.file() }
    pub(crate) fn delete(&self) -> io::Result<()> { self.file.delete() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_dir;

    fn ts(timestamp: i64, offset: i64) -> TimestampOffset {
        TimestampOffset { timestamp, offset }
    }

    #[test]
    fn appends_only_when_the_max_timestamp_grows() {
        let dir = temp_dir();
        let mut idx = TimeIndex::create(dir.path().join("t.timeindex"), 50, 1 << 20).expect("create");
        assert_eq!(idx.last_entry(), ts(-1, 50));
        idx.maybe_append(-1, 55); // NO_TIMESTAMP never indexed
        idx.maybe_append(1000, 60);
        idx.maybe_append(1000, 70);
        idx.maybe_append(900, 80);
        idx.maybe_append(2000, 90);
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.last_entry(), ts(2000, 90));
    }

    #[test]
    fn lookup_returns_the_largest_timestamp_not_above_the_target() {
        let dir = temp_dir();
        let mut idx = TimeIndex::create(dir.path().join("t.timeindex"), 0, 1 << 20).expect("create");
        idx.maybe_append(100, 10);
        idx.maybe_append(200, 20);
        idx.maybe_append(300, 30);
        assert_eq!(idx.lookup(50), ts(-1, 0));
        assert_eq!(idx.lookup(100), ts(100, 10));
        assert_eq!(idx.lookup(250), ts(200, 20));
        assert_eq!(idx.lookup(i64::MAX), ts(300, 30));
    }

    #[test]
    fn entries_are_big_endian_timestamp_then_relative_offset() {
        let dir = temp_dir();
        let path = dir.path().join("t.timeindex");
        let mut idx = TimeIndex::create(path.clone(), 10, 1 << 20).expect("create");
        idx.maybe_append(0x0102_0304_0506_0708, 10 + 0x0a0b);
        idx.write_pending().expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), vec![1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x0a, 0x0b]);
        let loaded = TimeIndex::load(path, 10, 1 << 20).expect("load").expect("present");
        assert_eq!(loaded.last_entry(), ts(0x0102_0304_0506_0708, 10 + 0x0a0b));
        assert!(loaded.sanity_check().is_ok());
    }
}
