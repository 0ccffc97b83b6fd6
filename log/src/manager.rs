//! `LogManager`: owns the log dirs, `meta.properties`, the clean-shutdown marker and the
//! recovery-point checkpoint; opens every log at startup (recovering the unclean ones) and
//! creates new logs in the dir with the fewest partitions.
//!
//! API CONTRACT (the broker codes against exactly this).

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::error::Result;
use crate::log::Log;
use crate::TopicPartition;

/// `meta.properties` (ZooKeeper mode, version 0): `version=0`, `broker.id=N`, `cluster.id=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaProperties {
    pub broker_id: i32,
    /// `None` until the broker has joined a cluster (written once known).
    pub cluster_id: Option<String>,
}

pub struct LogManager {
    _private: (),
}

impl LogManager {
    /// Startup: creates missing dirs, checks each is a writable directory, reads or writes
    /// `meta.properties` (a different `broker.id` is `BadLogDir`), then opens every
    /// `<topic>-<partition>` dir: if `.kafka_cleanshutdown` exists logs are trusted, otherwise they
    /// are recovered from `recovery-point-offset-checkpoint`. Removes the marker afterwards.
    /// Ignores/deletes `*-delete` dirs and stray `.deleted`/`.cleaned`/`.swap` files.
    pub fn startup(dirs: Vec<PathBuf>, default_config: LogConfig, broker_id: i32, now_ms: i64) -> Result<LogManager> {
        let _ = (dirs, default_config, broker_id, now_ms);
        todo!()
    }

    pub fn meta_properties(&self) -> MetaProperties { todo!() }
    /// Writes `cluster.id` into every dir's `meta.properties` (fails if a different one is there).
    pub fn set_cluster_id(&self, cluster_id: &str) -> Result<()> { let _ = cluster_id; todo!() }

    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> { let _ = tp; todo!() }
    /// Returns the existing log or creates it in the dir with the fewest partitions.
    pub fn get_or_create_log(&self, tp: &TopicPartition, config: Option<LogConfig>) -> Result<Arc<Log>> {
        let _ = (tp, config);
        todo!()
    }
    pub fn all_logs(&self) -> Vec<Arc<Log>> { todo!() }
    /// Removes the log from the manager and deletes its directory.
    pub fn delete_log(&self, tp: &TopicPartition) -> Result<()> { let _ = tp; todo!() }

    /// Writes `recovery-point-offset-checkpoint` in every dir (tmp file, fsync, rename).
    pub fn checkpoint_recovery_points(&self) -> Result<()> { todo!() }
    /// Runs `flush_if_due` and `roll_if_due` on every log.
    pub fn flush_dirty_logs(&self, now_ms: i64) -> Result<()> { let _ = now_ms; todo!() }
    /// Runs retention on every log; `high_watermark(tp)` bounds what may be deleted.
    pub fn cleanup_logs(&self, now_ms: i64, high_watermark: &dyn Fn(&TopicPartition) -> i64) -> Result<usize> {
        let _ = (now_ms, high_watermark);
        todo!()
    }
    /// Clean shutdown: flush and close every log, checkpoint recovery points, write
    /// `.kafka_cleanshutdown` in every dir.
    pub fn shutdown(&self) -> Result<()> { todo!() }
}
