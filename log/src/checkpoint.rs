//! The offset checkpoint file format, Kafka's `OffsetCheckpointFile`, shared by
//! `recovery-point-offset-checkpoint`, `replication-offset-checkpoint` (high watermarks) and
//! `log-start-offset-checkpoint`:
//!
//! ```text
//! 0                 <- version
//! 2                 <- number of entries
//! orders 0 1234     <- <topic> <partition> <offset>
//! orders 1 99
//! ```
//!
//! Writes go to `<file>.tmp`, which is fsynced and atomically renamed over the file (then the
//! directory is fsynced), so a crash leaves either the old or the new checkpoint, never a mix.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{LogError, Result};
use crate::TopicPartition;

pub const RECOVERY_POINT_CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT_FILE: &str = "log-start-offset-checkpoint";
/// The log cleaner's progress: per compacted log, the first offset not yet cleaned.
pub const CLEANER_OFFSET_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// One checkpoint file of `TopicPartition → offset`.
#[derive(Clone, Debug)]
pub struct OffsetCheckpointFile {
    path: PathBuf,
}

/// The only format version Kafka 2.8 writes.
pub const CHECKPOINT_VERSION: i32 = 0;

pub(crate) fn malformed(path: &Path, line: usize, what: &str) -> LogError {
    LogError::io(path, io::Error::new(io::ErrorKind::InvalidData, format!("malformed checkpoint, line {line}: {what}")))
}

/// Fsyncs a directory so a rename or create inside it survives a crash.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `contents` to `path` atomically: `<path>.tmp`, fsync, rename, fsync the directory.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()
    };
    write().map_err(|e| LogError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| LogError::io(path, e))?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir).map_err(|e| LogError::io(dir, e))?;
    }
    Ok(())
}

impl OffsetCheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetCheckpointFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the checkpoint. A missing or empty file is an empty map (Kafka creates the file
    /// empty); anything else malformed is an `Io` error of kind `InvalidData`.
    pub fn read(&self) -> Result<HashMap<TopicPartition, i64>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(LogError::io(&self.path, e)),
        };
        let mut lines = text.lines();
        let Some(version) = lines.next() else { return Ok(HashMap::new()) };
        if version.trim().parse::<i32>().ok() != Some(CHECKPOINT_VERSION) {
            return Err(malformed(&self.path, 1, &format!("unrecognized version {version:?}")));
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| malformed(&self.path, 2, "missing entry count"))?;
        let mut offsets = HashMap::with_capacity(count);
        for (i, line) in lines.enumerate() {
            let line_no = i + 3;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [topic, partition, offset] = fields[..] else {
                return Err(malformed(&self.path, line_no, &format!("expected `<topic> <partition> <offset>`, got {line:?}")));
            };
            let partition: i32 = partition.parse().map_err(|_| malformed(&self.path, line_no, "bad partition"))?;
            let offset: i64 = offset.parse().map_err(|_| malformed(&self.path, line_no, "bad offset"))?;
            offsets.insert(TopicPartition::new(topic, partition), offset);
        }
        if offsets.len() != count {
            return Err(malformed(&self.path, 2, &format!("expected {count} entries, found {}", offsets.len())));
        }
        Ok(offsets)
    }

    /// Writes the checkpoint atomically, entries sorted by topic and partition.
    pub fn write<'a>(&self, offsets: impl IntoIterator<Item = (&'a TopicPartition, &'a i64)>) -> Result<()> {
        let mut entries: Vec<(&TopicPartition, i64)> = offsets.into_iter().map(|(tp, o)| (tp, *o)).collect();
        entries.sort();
        let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
        for (tp, offset) in entries {
            text.push_str(&format!("{} {} {offset}\n", tp.topic, tp.partition));
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_dir;

    #[test]
    fn round_trips_in_kafkas_text_format() {
        let dir = temp_dir();
        let file = OffsetCheckpointFile::new(dir.path().join(RECOVERY_POINT_CHECKPOINT_FILE));
        let mut offsets = HashMap::new();
        offsets.insert(TopicPartition::new("orders", 1), 99);
        offsets.insert(TopicPartition::new("my-topic-with-dashes", 0), 1234);
        offsets.insert(TopicPartition::new("orders", 0), 0);
        file.write(&offsets).expect("write");
        assert_eq!(
            std::fs::read_to_string(file.path()).expect("read"),
            "0\n3\nmy-topic-with-dashes 0 1234\norders 0 0\norders 1 99\n"
        );
        assert_eq!(file.read().expect("read"), offsets);
        assert!(!dir.path().join("recovery-point-offset-checkpoint.tmp").exists());

        offsets.clear();
        file.write(&offsets).expect("write empty");
        assert_eq!(std::fs::read_to_string(file.path()).expect("read"), "0\n0\n");
        assert!(file.read().expect("read").is_empty());
    }

    #[test]
    fn missing_or_empty_files_are_empty_maps() {
        let dir = temp_dir();
        let file = OffsetCheckpointFile::new(dir.path().join("absent"));
        assert!(file.read().expect("read").is_empty());
        std::fs::write(file.path(), "").expect("write");
        assert!(file.read().expect("read").is_empty());
    }

    #[test]
    fn malformed_files_are_rejected() {
        let dir = temp_dir();
        let file = OffsetCheckpointFile::new(dir.path().join("bad"));
        for text in ["1\n0\n", "0\n2\na 0 1\n", "0\n1\na 0\n", "0\n1\na x 1\n", "0\nzz\n"] {
            std::fs::write(file.path(), text).expect("write");
            match file.read() {
                Err(LogError::Io { source, .. }) => assert_eq!(source.kind(), io::ErrorKind::InvalidData, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
