//! `partition.metadata` in a partition's log directory: the id of the topic the log belongs to,
//! Kafka 2.8's `PartitionMetadataFile` (KIP-516), `version: 0\ntopic_id: <id>` with the id in
//! Kafka's URL-safe base64.
//!
//! The first LeaderAndIsr v5 that names the partition with a topic id writes it (to a temporary
//! file, fsynced, then renamed over the old name, as Kafka does); from then on a LeaderAndIsr
//! carrying another id is answered INCONSISTENT_TOPIC_ID (103), so a log left behind by a deleted
//! topic is never taken for a new topic of the same name, even across a restart, when the
//! partition's in-memory state is gone.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use odradek_zk::TopicId;
use uuid::Uuid;

pub const PARTITION_METADATA_FILE: &str = "partition.metadata";

/// `PartitionMetadataFile.CurrentVersion`.
const VERSION: &str = "0";

/// The file's text for `id` (`PartitionMetadataFileFormatter.toFile`).
pub fn format(id: Uuid) -> String {
    format!("version: {VERSION}\ntopic_id: {}", TopicId(id))
}

/// The topic id in the file's text (`PartitionMetadataReadBuffer.read`): both lines, a known
/// version, a well-formed id.
pub fn parse(text: &str) -> Result<Uuid, String> {
    let mut lines = text.lines();
    let mut field = |key: &str| -> Result<String, String> {
        let line = lines.next().ok_or_else(|| format!("missing {key} line"))?;
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(": "))
            .map(str::to_string)
            .ok_or_else(|| format!("expected `{key}: ...`, found {line:?}"))
    };
    let version = field("version")?;
    if version != VERSION {
        return Err(format!("unrecognized version {version:?}"));
    }
    let id: TopicId = field("topic_id")?.trim().parse()?;
    Ok(id.0)
}

/// The topic id recorded in `dir`, `None` when there is no file yet.
pub fn read(dir: &Path) -> io::Result<Option<Uuid>> {
    match fs::read_to_string(dir.join(PARTITION_METADATA_FILE)) {
        Ok(text) => parse(&text).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", dir.join(PARTITION_METADATA_FILE).display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records `id` in `dir`: written to `partition.metadata.tmp`, fsynced, renamed.
pub fn write(dir: &Path, id: Uuid) -> io::Result<()> {
    let tmp = dir.join(format!("{PARTITION_METADATA_FILE}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(format(id).as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(PARTITION_METADATA_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_kafkas_format() {
        let id = Uuid::from_bytes([
            0xbc, 0xb3, 0xd4, 0xd6, 0xe6, 0x03, 0x4f, 0x7a, 0x8d, 0x75, 0x51, 0x8e, 0xb0, 0xcc,
            0x13, 0x6d,
        ]);
        assert_eq!(format(id), "version: 0\ntopic_id: vLPU1uYDT3qNdVGOsMwTbQ");
        assert_eq!(parse(&format(id)), Ok(id));
        assert_eq!(
            parse("version: 0\ntopic_id: vLPU1uYDT3qNdVGOsMwTbQ\n"),
            Ok(id),
            "a trailing newline is fine"
        );
        assert!(parse("version: 1\ntopic_id: vLPU1uYDT3qNdVGOsMwTbQ").is_err());
        assert!(parse("version: 0\n").is_err());
        assert!(parse("version: 0\ntopic_id: short").is_err());
    }

    #[test]
    fn read_finds_what_write_left_and_nothing_before() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let id = Uuid::new_v4();
        write(dir.path(), id).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(id));
        assert!(!dir.path().join("partition.metadata.tmp").exists());
        fs::write(dir.path().join(PARTITION_METADATA_FILE), "garbage").unwrap();
        assert_eq!(
            read(dir.path()).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
