//! `.index`: sparse map from offset to the byte position of the batch holding it.
//! Entry = `int32 relativeOffset` (offset − base offset) + `int32 physicalPosition`, big-endian.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{IndexEntry, IndexFile};

/// One `.index` entry: the batch at `position` has last offset `base_offset + relative_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPosition {
    pub relative_offset: i32,
    pub position: u32,
}

impl IndexEntry for OffsetPosition {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetPosition {
            relative_offset: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// Kafka's `OffsetIndex`.
pub struct OffsetIndex {
    base_offset: i64,
    file: IndexFile<OffsetPosition>,
}

impl OffsetIndex {
    pub(crate) fn create(path: PathBuf, base_offset: i64, max_index_size: u32) -> io::Result<Self> {
        Ok(OffsetIndex { base_offset, file: IndexFile::create(path, max_index_size)? })
    }

    /// `Ok(None)` if the file is missing or not a whole number of entries.
    pub(crate) fn load(path: PathBuf, base_offset: i64, max_index_size: u32) -> io::Result<Option<Self>> {
        Ok(IndexFile::load(path, max_index_size)?.map(|file| OffsetIndex { base_offset, file }))
    }

    pub fn base_offset(&self) -> i64 { self.base_offset }
    pub fn entries(&self) -> usize { self.file.len() }
    pub fn is_full(&self) -> bool { self.file.is_full() }

    /// Last indexed offset, or the base offset when empty.
    pub fn last_offset(&self) -> i64 {
        self.file.last().map_or(self.base_offset, |e| self.base_offset + e.relative_offset as i64)
    }

    /// Adds `offset → position`. Entries must grow strictly; an entry that would not (or whose
    /// position does not fit 32 bits) is ignored: the index is an accelerator, never the truth.
    pub(crate) fn append(&mut self, offset: i64, position: u64) {
        let relative = offset - self.base_offset;
        let grows = self.file.last().is_none_or(|e| relative > e.relative_offset as i64 && position > e.position as u64);
        if grows && (0..=i32::MAX as i64).contains(&relative) && position <= i32::MAX as u64 {
            self.file.push(OffsetPosition { relative_offset: relative as i32, position: position as u32 });
        }
    }

    /// The largest entry with offset ≤ `target`, as `(offset, position)`; `(base offset, 0)` if
    /// none. The batch holding `target` starts at or after the returned position.
    pub fn lookup(&self, target: i64) -> (i64, u64) {
        let entries = self.file.entries();
        let relative = target - self.base_offset;
        let count = entries.partition_point(|e| (e.relative_offset as i64) <= relative);
        match count {
            0 => (self.base_offset, 0),
            n => {
                let e = entries[n - 1];
                (self.base_offset + e.relative_offset as i64, e.position as u64)
            }
        }
    }

    /// Kafka's `sanityCheck`, stricter: offsets and positions strictly increasing, every
    /// position inside the `.log` file.
    pub(crate) fn sanity_check(&self, log_size: u64) -> Result<(), String> {
        let mut prev: Option<OffsetPosition> = None;
        for (i, e) in self.file.entries().iter().enumerate() {
            if e.relative_offset < 0 || e.position as u64 >= log_size {
                return Err(format!("entry {i} ({}, {}) is outside the segment of {log_size} bytes", e.relative_offset, e.position));
            }
            if prev.is_some_and(|p| p.relative_offset >= e.relative_offset || p.position >= e.position) {
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
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path { self.file.path() }
    pub(crate) fn delete(&self) -> io::Result<()> { self.file.delete() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_dir;

    fn index_with(entries: &[(i64, u64)]) -> (tempfile::TempDir, OffsetIndex) {
        let dir = temp_dir();
        let mut idx = OffsetIndex::create(dir.path().join("00000000000000000100.index"), 100, 1 << 20).expect("create");
        for &(o, p) in entries {
            idx.append(o, p);
        }
        (dir, idx)
    }

    #[test]
    fn lookup_finds_the_largest_entry_not_above_the_target() {
        let (_d, idx) = index_with(&[(110, 4200), (125, 8400), (140, 12600)]);
        assert_eq!(idx.lookup(99), (100, 0));
        assert_eq!(idx.lookup(100), (100, 0));
        assert_eq!(idx.lookup(109), (100, 0));
        assert_eq!(idx.lookup(110), (110, 4200));
        assert_eq!(idx.lookup(124), (110, 4200));
        assert_eq!(idx.lookup(125), (125, 8400));
        assert_eq!(idx.lookup(10_000), (140, 12600));
        assert_eq!(idx.last_offset(), 140);
    }

    #[test]
    fn non_increasing_or_out_of_range_entries_are_ignored() {
        let (_d, idx) = index_with(&[(110, 4200), (110, 5000), (105, 6000), (120, 4000), (99, 7000), (100 + (1 << 31), 9000)]);
        assert_eq!(idx.entries(), 1);
    }

    #[test]
    fn entries_are_big_endian_relative_offset_then_position() {
        let (dir, mut idx) = index_with(&[(0x0102_0304 + 100, 0x0a0b_0c0d)]);
        idx.write_pending().expect("write");
        let bytes = std::fs::read(dir.path().join("00000000000000000100.index")).expect("read");
        assert_eq!(bytes, vec![1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
    }

    #[test]
    fn sanity_check_rejects_positions_past_the_log() {
        let (_d, idx) = index_with(&[(110, 4200), (125, 8400)]);
        assert!(idx.sanity_check(10_000).is_ok());
        assert!(idx.sanity_check(8400).is_err());
    }

    #[test]
    fn truncate_to_drops_entries_at_and_above_the_offset() {
        let (_d, mut idx) = index_with(&[(110, 4200), (125, 8400), (140, 12600)]);
        idx.write_pending().expect("write");
        idx.truncate_to(125).expect("truncate");
        assert_eq!(idx.entries(), 1);
        assert_eq!(std::fs::metadata(idx.path()).expect("meta").len(), 8);
    }
}
