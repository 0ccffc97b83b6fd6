//! `meta.properties`, Kafka's `BrokerMetadataCheckpoint` (ZooKeeper mode, version 0):
//!
//! ```text
//! #
//! #Written by odradek at 1700000000000
//! version=0
//! broker.id=1
//! cluster.id=Yk9mZ0NvUzS2Fh8WbAz1Hw
//! ```
//!
//! It pins a log dir to one broker: a dir copied from another broker (or a misconfigured
//! `broker.id`) is refused at startup instead of silently serving someone else's replicas.
//! The file is Java-properties style; comments (`#`, `!`) and blank lines are ignored on read.
//! Kafka's second comment line is a `java.util.Date` string; ours is epoch milliseconds.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::checkpoint::write_atomically;
use crate::error::{LogError, Result};
use crate::manager::MetaProperties;

pub const META_PROPERTIES_FILE: &str = "meta.properties";

fn bad(dir: &Path, reason: String) -> LogError {
    LogError::BadLogDir { path: dir.to_path_buf(), reason }
}

/// Parses Java-properties lines: `key=value` or `key:value`, trimmed; comments skipped.
fn parse_properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let at = l.find(['=', ':'])?;
            Some((l[..at].trim().to_string(), l[at + 1..].trim().to_string()))
        })
        .collect()
}

pub(crate) fn meta_properties_path(dir: &Path) -> PathBuf {
    dir.join(META_PROPERTIES_FILE)
}

impl MetaProperties {
    /// Reads `<dir>/meta.properties`; `Ok(None)` if absent. Anything unusable is `BadLogDir`.
    pub(crate) fn read(dir: &Path) -> Result<Option<MetaProperties>> {
        let path = meta_properties_path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(dir, format!("cannot read {META_PROPERTIES_FILE}: {e}"))),
        };
        let props = parse_properties(&text);
        match props.get("version").map(String::as_str) {
            Some("0") => {}
            Some(v) => return Err(bad(dir, format!("{META_PROPERTIES_FILE} has version {v}; only version 0 (ZooKeeper mode) is supported"))),
            None => return Err(bad(dir, format!("{META_PROPERTIES_FILE} has no version"))),
        }
        let broker_id = props
            .get("broker.id")
            .and_then(|v| v.parse::<i32>().ok())
            .ok_or_else(|| bad(dir, format!("{META_PROPERTIES_FILE} has no valid broker.id")))?;
        let cluster_id = props.get("cluster.id").filter(|c| !c.is_empty()).cloned();
        Ok(Some(MetaProperties { broker_id, cluster_id }))
    }

    /// Writes `<dir>/meta.properties` atomically.
    pub(crate) fn write(&self, dir: &Path, now_ms: i64) -> Result<()> {
        let mut text = format!("#\n#Written by odradek at {now_ms}\nversion=0\nbroker.id={}\n", self.broker_id);
        if let Some(cluster_id) = &self.cluster_id {
            text.push_str(&format!("cluster.id={cluster_id}\n"));
        }
        write_atomically(&meta_properties_path(dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_dir;

    #[test]
    fn round_trips_and_reads_kafkas_own_file() {
        let dir = temp_dir();
        assert_eq!(MetaProperties::read(dir.path()).expect("read"), None);
        let meta = MetaProperties { broker_id: 3, cluster_id: Some("abc-DEF_1".into()) };
        meta.write(dir.path(), 1).expect("write");
        assert_eq!(MetaProperties::read(dir.path()).expect("read"), Some(meta));

        // As written by Kafka 2.8's Properties.store.
        std::fs::write(
            meta_properties_path(dir.path()),
            "#\n#Tue Mar 02 12:00:00 UTC 2021\ncluster.id=Yk9mZ0NvUzS2Fh8WbAz1Hw\nversion=0\nbroker.id=1001\n",
        )
        .expect("write");
        assert_eq!(
            MetaProperties::read(dir.path()).expect("read"),
            Some(MetaProperties { broker_id: 1001, cluster_id: Some("Yk9mZ0NvUzS2Fh8WbAz1Hw".into()) })
        );
    }

    #[test]
    fn unusable_files_are_bad_log_dir() {
        let dir = temp_dir();
        for text in ["version=1\nbroker.id=1\n", "broker.id=1\n", "version=0\nbroker.id=x\n", "version=0\n"] {
            std::fs::write(meta_properties_path(dir.path()), text).expect("write");
            assert!(matches!(MetaProperties::read(dir.path()), Err(LogError::BadLogDir { .. })), "{text:?}");
        }
    }
}
