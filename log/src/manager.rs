//! `LogManager`: owns the log dirs, `meta.properties`, the clean-shutdown marker and the
//! recovery-point checkpoint; opens every log at startup (recovering the unclean ones) and
//! creates new logs in the dir with the fewest partitions. It also writes and reads each dir's
//! `replication-offset-checkpoint` (high watermarks), whose values only the broker knows:
//! Kafka's `ReplicaManager` owns that file, but it lives beside the logs and has their format.
//!
//! API CONTRACT (the broker codes against exactly this).
//!
//! Why the marker: `.kafka_cleanshutdown` is written only after every log in a dir was flushed
//! and closed, and removed as soon as the logs are open again. Finding it at startup means the
//! files are exactly as the broker left them, so recovery is skipped; not finding it means a
//! crash, so each log is recovered from its checkpointed recovery point (0 if it has none).
//!
//! Not implemented from Kafka: the `.lock` file guarding a dir against a second broker process,
//! taking a single failed dir offline (any bad dir fails startup), and asynchronous deletion of
//! `-delete` dirs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::checkpoint::{fsync_dir, OffsetCheckpointFile, RECOVERY_POINT_CHECKPOINT_FILE, REPLICATION_OFFSET_CHECKPOINT_FILE};
use crate::config::LogConfig;
use crate::error::{LogError, Result};
use crate::log::Log;
use crate::segment::lock;
use crate::TopicPartition;

/// Present in a log dir only after a clean shutdown.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
const WRITE_PROBE_FILE: &str = ".odradek-write-probe";

/// `meta.properties` (ZooKeeper mode, version 0): `version=0`, `broker.id=N`, `cluster.id=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaProperties {
    pub broker_id: i32,
    /// `None` until the broker has joined a cluster (written once known).
    pub cluster_id: Option<String>,
}

pub struct LogManager {
    dirs: Vec<PathBuf>,
    default_config: LogConfig,
    meta: Mutex<MetaProperties>,
    /// Every log with the index of its dir in `dirs`.
    logs: RwLock<HashMap<TopicPartition, (usize, Arc<Log>)>>,
    /// Serialises checkpoint writers (periodic tasks and shutdown share the `.tmp` file names).
    checkpoint_lock: Mutex<()>,
    /// Kafka's `LogCleanerManager` checkpoints: per compacted log, the first dirty offset, as
    /// in each dir's `cleaner-offset-checkpoint`. Also serialises cleaning rounds.
    cleaner_checkpoints: Mutex<HashMap<TopicPartition, i64>>,
}

/// Milliseconds since the Unix epoch (the broker's wall clock for log timestamps and tasks).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn bad(dir: &Path, reason: impl Into<String>) -> LogError {
    LogError::BadLogDir { path: dir.to_path_buf(), reason: reason.into() }
}

/// Kafka's `Log.parseTopicPartitionName`: `<topic>-<partition>`, split at the last `-` since
/// topic names may contain `-`.
pub fn parse_topic_partition_name(name: &str) -> Option<TopicPartition> {
    let (topic, partition) = name.rsplit_once('-')?;
    let partition: i32 = partition.parse().ok()?;
    (!topic.is_empty() && partition >= 0 && partition.to_string() == name[topic.len() + 1..]).then(|| TopicPartition::new(topic, partition))
}

/// Creates `dir` if needed and proves it is a writable directory.
fn validate_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad(dir, "exists but is not a directory"));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(dir, format!("cannot create directory: {e}")))?;
    let probe = dir.join(WRITE_PROBE_FILE);
    std::fs::write(&probe, b"").and_then(|_| std::fs::remove_file(&probe)).map_err(|e| bad(dir, format!("directory is not writable: {e}")))
}

fn first_error(first: &mut Option<LogError>, result: Result<()>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "log maintenance failed");
        first.get_or_insert(e);
    }
}

impl LogManager {
    /// Startup: creates missing dirs, checks each is a writable directory, reads or writes
    /// `meta.properties` (a different `broker.id` is `BadLogDir`), then opens every
    /// `<topic>-<partition>` dir: if `.kafka_cleanshutdown` exists logs are trusted, otherwise they
    /// are recovered from `recovery-point-offset-checkpoint`. Removes the marker afterwards.
    /// Ignores/deletes `*-delete` dirs and stray `.deleted`/`.cleaned`/`.swap` files.
    pub fn startup(dirs: Vec<PathBuf>, default_config: LogConfig, broker_id: i32, now_ms: i64) -> Result<LogManager> {
        if dirs.is_empty() {
            return Err(bad(Path::new(""), "no log dirs configured"));
        }
        for dir in &dirs {
            validate_dir(dir)?;
        }
        let meta = Self::load_meta_properties(&dirs, broker_id, now_ms)?;
        let manager = LogManager {
            dirs,
            default_config,
            meta: Mutex::new(meta),
            logs: RwLock::new(HashMap::new()),
            checkpoint_lock: Mutex::new(()),
            cleaner_checkpoints: Mutex::new(HashMap::new()),
        };
        for i in 0..manager.dirs.len() {
            manager.load_logs(i, now_ms)?;
        }
        manager.load_cleaner_checkpoints();
        for dir in &manager.dirs {
            let marker = dir.join(CLEAN_SHUTDOWN_FILE);
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(LogError::io(marker, e)),
                _ => {}
            }
        }
        tracing::info!(broker_id, logs = manager.logs.read().unwrap_or_else(|p| p.into_inner()).len(), "log manager started");
        Ok(manager)
    }

    /// Reads every dir's `meta.properties`, checks they agree with `broker_id` and each other,
    /// and writes the file where it is missing or lacks a known cluster id.
    fn load_meta_properties(dirs: &[PathBuf], broker_id: i32, now_ms: i64) -> Result<MetaProperties> {
        let mut found = Vec::with_capacity(dirs.len());
        let mut cluster_id: Option<(String, &Path)> = None;
        for dir in dirs {
            let meta = MetaProperties::read(dir)?;
            if let Some(m) = &meta {
                if m.broker_id != broker_id {
                    return Err(bad(dir, format!("meta.properties has broker.id {} but this broker is configured with broker.id {broker_id}", m.broker_id)));
                }
                match (&cluster_id, &m.cluster_id) {
                    (Some((known, other)), Some(c)) if known != c => {
                        return Err(bad(dir, format!("meta.properties has cluster.id {c} but {} has cluster.id {known}", other.display())));
                    }
                    (None, Some(c)) => cluster_id = Some((c.clone(), dir)),
                    _ => {}
                }
            }
            found.push(meta);
        }
        let meta = MetaProperties { broker_id, cluster_id: cluster_id.map(|(c, _)| c) };
        for (dir, existing) in dirs.iter().zip(found) {
            if existing.as_ref() != Some(&meta) {
                meta.write(dir, now_ms)?;
            }
        }
        Ok(meta)
    }

    /// Opens every partition dir in `dirs[i]`.
    fn load_logs(&self, i: usize, now_ms: i64) -> Result<()> {
        let dir = &self.dirs[i];
        let clean = dir.join(CLEAN_SHUTDOWN_FILE).exists();
        let recovery_points = if clean {
            HashMap::new()
        } else {
            OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT_FILE)).read().unwrap_or_else(|e| {
                tracing::warn!(dir = %dir.display(), error = %e, "unreadable recovery point checkpoint, recovering every log fully");
                HashMap::new()
            })
        };
        let entries = std::fs::read_dir(dir).map_err(|e| LogError::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LogError::io(dir, e))?;
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else { continue };
            if !path.is_dir() {
                continue;
            }
            if name.ends_with("-delete") {
                tracing::info!(dir = %path.display(), "removing log dir left marked for deletion");
                if let Err(e) = std::fs::remove_dir_all(&path) {
                    tracing::warn!(dir = %path.display(), error = %e, "cannot remove log dir marked for deletion");
                }
                continue;
            }
            if name.ends_with("-future") {
                continue;
            }
            let Some(tp) = parse_topic_partition_name(&name) else {
                tracing::warn!(dir = %path.display(), "ignoring a directory that is not <topic>-<partition>");
                continue;
            };
            let recovery_point = if clean { None } else { Some(recovery_points.get(&tp).copied().unwrap_or(0)) };
            let log = Log::open(&path, tp.clone(), self.default_config.clone(), recovery_point, now_ms)?;
            let mut logs = self.logs.write().unwrap_or_else(|p| p.into_inner());
            if let Some((other, _)) = logs.get(&tp) {
                return Err(bad(dir, format!("duplicate log directories for {tp}: also in {}", self.dirs[*other].display())));
            }
            logs.insert(tp, (i, Arc::new(log)));
        }
        Ok(())
    }

    pub fn meta_properties(&self) -> MetaProperties { lock(&self.meta).clone() }

    /// The broker's log config: what a new log gets without topic overrides, and the base the
    /// overrides apply to ([`LogConfig::from_props`]).
    pub fn default_config(&self) -> &LogConfig { &self.default_config }

    /// Writes `cluster.id` into every dir's `meta.properties` (fails if a different one is there).
    pub fn set_cluster_id(&self, cluster_id: &str) -> Result<()> {
        let mut meta = lock(&self.meta);
        match &meta.cluster_id {
            Some(existing) if existing == cluster_id => return Ok(()),
            Some(existing) => {
                return Err(bad(&self.dirs[0], format!("meta.properties has cluster.id {existing}, the cluster reports {cluster_id}")));
            }
            None => {}
        }
        let updated = MetaProperties { broker_id: meta.broker_id, cluster_id: Some(cluster_id.to_string()) };
        for dir in &self.dirs {
            updated.write(dir, now_ms())?;
        }
        *meta = updated;
        Ok(())
    }

    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.logs.read().unwrap_or_else(|p| p.into_inner()).get(tp).map(|(_, log)| Arc::clone(log))
    }

    /// Returns the existing log or creates it in the dir with the fewest partitions.
    /// An existing log keeps its config; use [`Log::set_config`] to change it.
    pub fn get_or_create_log(&self, tp: &TopicPartition, config: Option<LogConfig>) -> Result<Arc<Log>> {
        if let Some(log) = self.get_log(tp) {
            return Ok(log);
        }
        let mut logs = self.logs.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, log)) = logs.get(tp) {
            return Ok(Arc::clone(log));
        }
        let mut counts = vec![0usize; self.dirs.len()];
        for (i, _) in logs.values() {
            counts[*i] += 1;
        }
        let i = (0..self.dirs.len()).min_by_key(|&i| (counts[i], i)).unwrap_or(0);
        let path = self.dirs[i].join(tp.to_string());
        let log = Arc::new(Log::open(&path, tp.clone(), config.unwrap_or_else(|| self.default_config.clone()), None, now_ms())?);
        tracing::info!(partition = %tp, dir = %self.dirs[i].display(), "created log");
        logs.insert(tp.clone(), (i, Arc::clone(&log)));
        Ok(log)
    }

    pub fn all_logs(&self) -> Vec<Arc<Log>> {
        self.logs.read().unwrap_or_else(|p| p.into_inner()).values().map(|(_, log)| Arc::clone(log)).collect()
    }

    /// Removes the log from the manager and deletes its directory.
    pub fn delete_log(&self, tp: &TopicPartition) -> Result<()> {
        let removed = self.logs.write().unwrap_or_else(|p| p.into_inner()).remove(tp);
        lock(&self.cleaner_checkpoints).remove(tp);
        match removed {
            Some((_, log)) => log.delete(),
            None => Ok(()),
        }
    }

    /// Writes `recovery-point-offset-checkpoint` in every dir (tmp file, fsync, rename).
    pub fn checkpoint_recovery_points(&self) -> Result<()> {
        let mut per_dir: Vec<HashMap<TopicPartition, i64>> = vec![HashMap::new(); self.dirs.len()];
        for (tp, (i, log)) in self.logs.read().unwrap_or_else(|p| p.into_inner()).iter() {
            per_dir[*i].insert(tp.clone(), log.recovery_point());
        }
        let _writing = lock(&self.checkpoint_lock);
        for (dir, offsets) in self.dirs.iter().zip(&per_dir) {
            OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT_FILE)).write(offsets)?;
        }
        Ok(())
    }

    /// Kafka's `ReplicaManager.checkpointHighWatermarks`: writes `replication-offset-checkpoint`
    /// in every dir (tmp file, fsync, rename) with the high watermarks of the partitions whose
    /// log lives there. `high_watermarks` is the whole truth: a hosted partition missing from it
    /// is left out of the file, and entries for partitions without a log here are ignored.
    /// Every dir is written, so one whose last partition left gets an empty file.
    pub fn checkpoint_high_watermarks(&self, high_watermarks: &HashMap<TopicPartition, i64>) -> Result<()> {
        let mut per_dir: Vec<HashMap<&TopicPartition, i64>> = vec![HashMap::new(); self.dirs.len()];
        let logs = self.logs.read().unwrap_or_else(|p| p.into_inner());
        for (tp, hw) in high_watermarks {
            if let Some((i, _)) = logs.get(tp) {
                per_dir[*i].insert(tp, *hw);
            }
        }
        drop(logs);
        let _writing = lock(&self.checkpoint_lock);
        for (dir, offsets) in self.dirs.iter().zip(&per_dir) {
            OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE)).write(offsets.iter().map(|(tp, hw)| (*tp, hw)))?;
        }
        Ok(())
    }

    /// The checkpointed high watermarks of the logs this manager holds (read at startup, when
    /// the broker creates its partitions), each clamped to its log's `[log start, log end]` as
    /// Kafka's `Log.updateHighWatermark` does. A dir's entries count only for logs in that dir; a
    /// partition with no entry is absent (Kafka then starts from 0, clamped to the log start).
    /// An unreadable file counts as empty, with a warning: a lower high watermark is safe, the
    /// leader's next fetch response raises it.
    pub fn read_high_watermarks(&self) -> HashMap<TopicPartition, i64> {
        let logs = self.logs.read().unwrap_or_else(|p| p.into_inner());
        let mut result = HashMap::new();
        for (i, dir) in self.dirs.iter().enumerate() {
            let file = OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE));
            let checkpointed = file.read().unwrap_or_else(|e| {
                tracing::warn!(dir = %dir.display(), error = %e, "unreadable high watermark checkpoint, ignoring it");
                HashMap::new()
            });
            for (tp, hw) in checkpointed {
                match logs.get(&tp) {
                    Some((j, log)) if *j == i => {
                        // Not `clamp`, which panics if a concurrent truncation shows start > end.
                        result.insert(tp, hw.max(log.log_start_offset()).min(log.log_end_offset()));
                    }
                    _ => {}
                }
            }
        }
        result
    }

    /// Runs `flush_if_due` and `roll_if_due` on every log.
    /// Every log is visited even if one fails; the first error is returned.
    pub fn flush_dirty_logs(&self, now_ms: i64) -> Result<()> {
        let mut error = None;
        for log in self.all_logs() {
            first_error(&mut error, log.flush_if_due(now_ms));
            first_error(&mut error, log.roll_if_due(now_ms));
        }
        error.map_or(Ok(()), Err)
    }

    /// Runs retention on every log; `high_watermark(tp)` bounds what may be deleted.
    pub fn cleanup_logs(&self, now_ms: i64, high_watermark: &dyn Fn(&TopicPartition) -> i64) -> Result<usize> {
        let mut error = None;
        let mut deleted = 0;
        for log in self.all_logs() {
            match log.delete_old_segments(now_ms, high_watermark(log.topic_partition())) {
                Ok(n) => deleted += n,
                Err(e) => first_error(&mut error, Err(e)),
            }
        }
        error.map_or(Ok(deleted), Err)
    }

    /// Clean shutdown: flush and close every log, checkpoint recovery points, write
    /// `.kafka_cleanshutdown` in every dir. A dir where some log failed to close gets no marker,
    /// so its logs are recovered at the next start.
    pub fn shutdown(&self) -> Result<()> {
        let logs: Vec<(usize, Arc<Log>)> = self.logs.read().unwrap_or_else(|p| p.into_inner()).values().map(|(i, l)| (*i, Arc::clone(l))).collect();
        let mut dir_ok = vec![true; self.dirs.len()];
        let mut error = None;
        for (i, log) in logs {
            if let Err(e) = log.close() {
                dir_ok[i] = false;
                first_error(&mut error, Err(e));
            }
        }
        first_error(&mut error, self.checkpoint_recovery_points());
        if error.is_none() {
            for (dir, ok) in self.dirs.iter().zip(dir_ok) {
                if ok {
                    let marker = dir.join(CLEAN_SHUTDOWN_FILE);
                    first_error(&mut error, std::fs::write(&marker, b"").and_then(|_| fsync_dir(dir)).map_err(|e| LogError::io(marker, e)));
                }
            }
        }
        tracing::info!("log manager shut down");
        error.map_or(Ok(()), Err)
    }
}

mod cleaning;
#[cfg(test)]
mod tests;
