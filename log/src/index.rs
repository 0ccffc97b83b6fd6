//! `.index` (offset → position) and `.timeindex` (timestamp → offset), Kafka's `OffsetIndex`,
//! `TimeIndex` and their common `AbstractIndex`.
//!
//! Both are sparse: an entry every `index.interval.bytes` of log, so a lookup is a binary search
//! to a nearby batch followed by a short linear scan of batch headers in the `.log` file. Keys are
//! stored relative to the segment's base offset (int32), which is why a segment must roll before
//! its offsets span more than 2^31 − 1.
//!
//! Design choice (differs from Kafka, same bytes): instead of a file preallocated to
//! `segment.index.bytes` and mmapped, each index is an in-memory `Vec` mirror plus an append-only
//! file written with ordinary `write`s, so no `unsafe` mmap and nothing to trim on roll or close.
//! New entries are written to the file lazily, when the segment is flushed (roll, `flush`, close):
//! the invariant is that entries for data below the recovery point are on disk, and anything
//! above it is rebuilt by recovery anyway. "Full" still means `entries × entry size ≥
//! segment.index.bytes`, which rolls the segment as in Kafka.

mod offset_index;
mod time_index;

pub use offset_index::{OffsetIndex, OffsetPosition};
pub use time_index::{TimeIndex, TimeIndexEntry};

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One fixed-size big-endian index entry.
pub(crate) trait IndexEntry: Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
}

/// The file half of an index: entries mirrored in memory, the file appended to lazily.
pub(crate) struct IndexFile<E: IndexEntry> {
    path: PathBuf,
    file: Arc<File>,
    entries: Vec<E>,
    /// How many of `entries` are in the file.
    persisted: usize,
    max_entries: usize,
}

fn open_append(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).create(true).truncate(false).open(path).and_then(|f| {
        if truncate {
            f.set_len(0)?;
        }
        Ok(f)
    })
}

impl<E: IndexEntry> IndexFile<E> {
    fn max_entries(max_index_size: u32) -> usize {
        (max_index_size as usize / E::SIZE).max(1)
    }

    /// Creates an empty index, truncating any file already at `path`.
    pub(crate) fn create(path: PathBuf, max_index_size: u32) -> io::Result<Self> {
        let file = open_append(&path, true)?;
        Ok(IndexFile { path, file: Arc::new(file), entries: Vec::new(), persisted: 0, max_entries: Self::max_entries(max_index_size) })
    }

    /// Loads an existing index file. `Ok(None)` when the file is missing or its length is not a
    /// multiple of the entry size (the caller rebuilds it).
    pub(crate) fn load(path: PathBuf, max_index_size: u32) -> io::Result<Option<Self>> {
        let mut file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if bytes.len() % E::SIZE != 0 {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let persisted = entries.len();
        Ok(Some(IndexFile { path, file: Arc::new(file), entries, persisted, max_entries: Self::max_entries(max_index_size) }))
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path { &self.path }
    pub(crate) fn entries(&self) -> &[E] { &self.entries }
    pub(crate) fn last(&self) -> Option<E> { self.entries.last().copied() }
    pub(crate) fn len(&self) -> usize { self.entries.len() }
    pub(crate) fn is_full(&self) -> bool { self.entries.len() >= self.max_entries }
    pub(crate) fn push(&mut self, entry: E) { self.entries.push(entry) }
    pub(crate) fn file(&self) -> Arc<File> { Arc::clone(&self.file) }

    /// Drops every entry, in memory and on disk.
    pub(crate) fn reset(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.entries.clear();
        self.persisted = 0;
        Ok(())
    }

    /// Keeps the first `n` entries.
    pub(crate) fn truncate_entries(&mut self, n: usize) -> io::Result<()> {
        if n < self.persisted {
            self.file.set_len((n * E::SIZE) as u64)?;
            self.persisted = n;
        }
        self.entries.truncate(n);
        Ok(())
    }

    /// Appends the entries not yet in the file. On a failed write the file is cut back to the
    /// persisted prefix so a retry never appends after a partial entry.
    pub(crate) fn write_pending(&mut self) -> io::Result<()> {
        if self.persisted == self.entries.len() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        if let Err(e) = (&*self.file).write_all(&buf) {
            let _ = self.file.set_len((self.persisted * E::SIZE) as u64);
            return Err(e);
        }
        self.persisted = self.entries.len();
        Ok(())
    }

    pub(crate) fn delete(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// `<dir>/<20-digit base offset><suffix>`, Kafka's `Log.filenamePrefixFromOffset`.
pub fn segment_file(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}{suffix}"))
}

pub const LOG_FILE_SUFFIX: &str = ".log";
pub const INDEX_FILE_SUFFIX: &str = ".index";
pub const TIME_INDEX_FILE_SUFFIX: &str = ".timeindex";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_dir;

    #[test]
    fn segment_file_names_are_twenty_digit_base_offsets() {
        let p = segment_file(Path::new("/d"), 1234, ".log");
        assert_eq!(p, Path::new("/d/00000000000000001234.log"));
    }

    #[test]
    fn pending_entries_reach_the_file_only_when_written() {
        let dir = temp_dir();
        let path = dir.path().join("x.index");
        let mut idx: IndexFile<OffsetPosition> = IndexFile::create(path.clone(), 1024).expect("create");
        idx.push(OffsetPosition { relative_offset: 1, position: 10 });
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0);
        idx.write_pending().expect("write");
        idx.push(OffsetPosition { relative_offset: 2, position: 20 });
        idx.write_pending().expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), vec![0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 20]);

        let loaded: IndexFile<OffsetPosition> = IndexFile::load(path.clone(), 1024).expect("load").expect("present");
        assert_eq!(loaded.entries().len(), 2);
        assert_eq!(loaded.entries()[1], OffsetPosition { relative_offset: 2, position: 20 });

        std::fs::write(&path, [0u8; 9]).expect("garbage");
        assert!(IndexFile::<OffsetPosition>::load(path, 1024).expect("load").is_none(), "9 bytes is not whole entries");
        assert!(IndexFile::<OffsetPosition>::load(dir.path().join("missing.index"), 1024).expect("load").is_none());
    }

    #[test]
    fn full_means_max_index_size_worth_of_entries() {
        let dir = temp_dir();
        let mut idx: IndexFile<OffsetPosition> = IndexFile::create(dir.path().join("f.index"), 16).expect("create");
        idx.push(OffsetPosition { relative_offset: 1, position: 0 });
        assert!(!idx.is_full());
        idx.push(OffsetPosition { relative_offset: 2, position: 1 });
        assert!(idx.is_full());
    }
}
