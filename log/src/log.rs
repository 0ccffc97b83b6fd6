//! One partition's log, Kafka's `kafka.log.Log`: an ordered list of segments, appends to the
//! active one, reads by offset, rolls, recovery, retention and flush.
//!
//! API CONTRACT (the broker codes against exactly this; bodies are filled in by the log work).
//!
//! How the pieces fit (submodules: [`load`] = open and recovery, `read` = fetch and ListOffsets,
//! `retention` = segment deletion, `replace` = swapping in the log cleaner's segments):
//! - Writers (append, roll, retention, close) serialise on one mutex, Kafka's `lock`.
//! - Readers never take it. They snapshot the published log end ([`LogOffsetMetadata`]: offset,
//!   segment, byte position; updated after each write completes) and the copy-on-write segment
//!   list, then read with `pread` below that position. Invariant: a reader only sees whole batches.
//! - The log has no clock: it uses the latest `now_ms` its callers passed.
//! - Each log owns its leader epoch cache ([`crate::epoch`]), kept in step with the records:
//!   appends record the start of every newer epoch before the records are written, truncation
//!   and retention trim it, and opening the log reconciles it with what recovery kept.
//!   Invariant: every entry's start offset is in `[log start, log end]`. While the cache's lock
//!   is held the entries, the log start and a truncation stand still; the log end can only grow
//!   by records of the latest epoch (an append records a newer epoch under that lock first).
//! - Durability follows Kafka: no fsync on the produce path by default; a roll fsyncs the old
//!   segment on a background thread and then advances the recovery point; `flush.messages` and
//!   `flush.ms` trigger [`Log::flush`]. Invariant: everything below the recovery point, index
//!   entries included, is on disk.

mod follower;
mod load;
mod read;
mod replace;
mod retention;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod leader_epoch_tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::batch::Batches;
use crate::checkpoint::fsync_dir;
use crate::config::LogConfig;
use crate::epoch::{EpochEntry, LeaderEpochFileCache};
use crate::error::{LogError, Result};
use crate::segment::{lock, LogSegment, RollParams, Stamp};
use crate::validator::validate_leader_append;
use crate::TopicPartition;

pub(crate) use replace::ReplaceStep;
pub use replace::{CLEANED_FILE_SUFFIX, DELETED_FILE_SUFFIX, SWAP_FILE_SUFFIX};

/// A region of a segment file, sent to the socket with `sendfile(2)` by the connection writer.
/// Holding the `Arc<File>` keeps the data readable even if retention deletes the segment meanwhile.
#[derive(Clone, Debug)]
pub struct FileSlice {
    pub file: Arc<File>,
    /// Byte position of the first batch in the file.
    pub position: u64,
    /// Number of bytes; may end in the middle of a batch only when cut by a byte limit.
    pub len: u32,
}

/// What [`Log::read`] found.
#[derive(Clone, Debug, Default)]
pub struct FetchDataInfo {
    /// `None` when there is nothing to return (fetch offset at the bound).
    pub records: Option<FileSlice>,
}

/// Result of an append, Kafka's `LogAppendInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppendInfo {
    /// Offset assigned to the first record of the first batch.
    pub first_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// Largest MaxTimestamp among the appended batches.
    pub max_timestamp: i64,
    /// Number of records appended.
    pub record_count: i64,
    /// Bytes appended.
    pub valid_bytes: usize,
    /// Log start offset after the append.
    pub log_start_offset: i64,
}

/// A `(timestamp, offset)` pair answered by ListOffsets by timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

/// Kafka's `LogOffsetMetadata` for the log end: the next offset and where it will be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogOffsetMetadata {
    pub offset: i64,
    pub segment_base_offset: i64,
    pub position: u64,
}

/// State only writers touch, behind [`Log::lock`].
struct LogState {
    closed: bool,
}

/// Directory-entry durability: segment files created or deleted bump `changed`; a flush that
/// fsyncs the directory records the generation it covered in `synced`.
#[derive(Default)]
struct DirSync {
    changed: AtomicU64,
    synced: AtomicU64,
}

/// One partition's log. All methods take `&self`; appends are serialised by an internal lock,
/// reads run concurrently with appends and see only fully written batches.
pub struct Log {
    dir: PathBuf,
    tp: TopicPartition,
    config: RwLock<LogConfig>,
    /// Kafka's `lock`: serialises appends, rolls, retention and close.
    lock: Mutex<LogState>,
    /// Oldest first, never empty; replaced wholesale (copy-on-write) on roll and deletion.
    segments: RwLock<Arc<Vec<Arc<LogSegment>>>>,
    /// The published log end; readers never look past it.
    end: Mutex<LogOffsetMetadata>,
    log_start_offset: AtomicI64,
    /// Shared with background roll flushes, which advance it when their fsync is done.
    recovery_point: Arc<AtomicI64>,
    last_flush_ms: AtomicI64,
    clock_ms: AtomicI64,
    dir_sync: Arc<DirSync>,
    background_flushes: Mutex<Vec<JoinHandle<()>>>,
    /// Kafka's `leaderEpochCache`. Lock order: `lock`, then this, then `end`.
    leader_epoch_cache: Mutex<LeaderEpochFileCache>,
}

/// Index of the segment holding `offset` (largest base offset ≤ `offset`).
pub(crate) fn floor_segment(segments: &[Arc<LogSegment>], offset: i64) -> Option<usize> {
    segments.partition_point(|s| s.base_offset() <= offset).checked_sub(1)
}

/// Fsyncs `segments` (pending index entries first) and then, if segment files were created or
/// deleted since the last time, the partition directory.
fn flush_segments(segments: &[Arc<LogSegment>], dir: &Path, dir_sync: &DirSync) -> Result<()> {
    for segment in segments {
        segment.flush().map_err(|e| LogError::io(segment.log_path(), e))?;
    }
    let changed = dir_sync.changed.load(Ordering::Acquire);
    if dir_sync.synced.load(Ordering::Acquire) < changed {
        fsync_dir(dir).map_err(|e| LogError::io(dir, e))?;
        dir_sync.synced.fetch_max(changed, Ordering::AcqRel);
    }
    Ok(())
}

impl Log {
    /// Opens (creating if missing) the log in `dir` (`<log.dir>/<topic>-<partition>`).
    /// When `recovery_point` is `Some(p)` and less than the log end, every segment at or after the
    /// one containing `p` is validated batch by batch; at the first bad batch (torn header, bad
    /// size, bad CRC) the segment is truncated there and later segments deleted; indexes of the
    /// recovered segments are rebuilt. `None` means the log was shut down cleanly: trust it all.
    /// The leader epoch cache is read from `leader-epoch-checkpoint` and reconciled with the
    /// loaded records (rebuilt from the recovered batches' headers, or from all of them if the
    /// file is missing or corrupt; see `load::load_leader_epoch_cache`).
    pub fn open(dir: &Path, tp: TopicPartition, config: LogConfig, recovery_point: Option<i64>, now_ms: i64) -> Result<Log> {
        std::fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        let loaded = load::load_segments(dir, &tp, &config, recovery_point, now_ms)?;
        let last = loaded.segments.last().cloned().ok_or_else(|| LogError::io(dir, std::io::Error::other("no segment after load")))?;
        let end = LogOffsetMetadata { offset: loaded.log_end_offset, segment_base_offset: last.base_offset(), position: last.size() };
        let log_start = loaded.segments[0].base_offset();
        let leader_epoch_cache = load::load_leader_epoch_cache(dir, &tp, &loaded)?;
        tracing::info!(
            partition = %tp,
            log_start_offset = log_start,
            log_end_offset = end.offset,
            segments = loaded.segments.len(),
            latest_epoch = leader_epoch_cache.latest_epoch().unwrap_or(-1),
            "loaded log"
        );
        Ok(Log {
            dir: dir.to_path_buf(),
            tp,
            config: RwLock::new(config),
            lock: Mutex::new(LogState { closed: false }),
            segments: RwLock::new(Arc::new(loaded.segments)),
            end: Mutex::new(end),
            log_start_offset: AtomicI64::new(log_start),
            recovery_point: Arc::new(AtomicI64::new(end.offset)),
            last_flush_ms: AtomicI64::new(now_ms),
            clock_ms: AtomicI64::new(now_ms),
            dir_sync: Arc::new(DirSync::default()),
            background_flushes: Mutex::new(Vec::new()),
            leader_epoch_cache: Mutex::new(leader_epoch_cache),
        })
    }

    pub fn topic_partition(&self) -> &TopicPartition { &self.tp }
    pub fn dir(&self) -> &Path { &self.dir }
    pub fn config(&self) -> LogConfig { self.config.read().unwrap_or_else(|p| p.into_inner()).clone() }
    pub fn set_config(&self, config: LogConfig) { *self.config.write().unwrap_or_else(|p| p.into_inner()) = config; }

    /// Appends a leader's record batches (one or more magic-2 batches back to back, as they came
    /// in a Produce request). Validates every batch before writing any (sizes, magic 2, CRC-32C,
    /// `LastOffsetDelta + 1 == RecordCount > 0`, no control batch, size ≤ `max_message_bytes`),
    /// then assigns offsets from the log end and stamps `leader_epoch`, rewriting only BaseOffset
    /// and PartitionLeaderEpoch (outside the CRC range) and writing without copying the payload.
    /// Rolls first if needed. Fsyncs only when the flush policy says so.
    ///
    /// The whole append goes into one segment (as in Kafka), so the roll check uses its total
    /// size, and a total above `segment.bytes` is `RecordListTooLarge`.
    ///
    /// If `leader_epoch` is newer than the latest cached epoch, `(leader_epoch, first offset)` is
    /// recorded in the leader epoch cache (and its file) before the records are written.
    pub fn append_as_leader(&self, records: &[u8], leader_epoch: i32, now_ms: i64) -> Result<LogAppendInfo> {
        self.observe_clock(now_ms);
        let config = self.config();
        let validated = validate_leader_append(records, config.max_message_bytes, config.cleanup_policy.compact)?;
        if validated.size as u64 > config.segment_bytes {
            return Err(LogError::RecordListTooLarge { size: validated.size, segment_bytes: config.segment_bytes });
        }
        let info = {
            let state = lock(&self.lock);
            self.ensure_open(&state)?;
            let first_offset = self.end().offset;
            let last_offset = first_offset + validated.record_count - 1;
            let mut active = self.active_segment();
            let roll = RollParams {
                append_size: validated.size as u64,
                max_timestamp_in_append: validated.max_timestamp,
                max_offset_in_append: last_offset,
                now_ms,
                segment_bytes: config.segment_bytes,
                segment_ms: config.segment_ms,
            };
            if active.size() > 0 && active.should_roll(&roll) {
                active = self.roll(&config, now_ms, first_offset)?;
            }
            // Every batch carries `leader_epoch`, so only the first one can start it.
            self.maybe_assign_epoch_start_offsets(std::iter::once((leader_epoch, first_offset)))?;
            active
                .append(records, Some(Stamp { first_offset, leader_epoch }), config.index_interval_bytes)
                .map_err(|e| LogError::io(active.log_path(), e))?;
            self.publish_end(LogOffsetMetadata { offset: last_offset + 1, segment_base_offset: active.base_offset(), position: active.size() });
            LogAppendInfo {
                first_offset,
                last_offset,
                max_timestamp: validated.max_timestamp,
                record_count: validated.record_count,
                valid_bytes: validated.size,
                log_start_offset: self.log_start_offset(),
            }
        };
        if (info.last_offset + 1).saturating_sub(self.recovery_point()) >= config.flush_interval_messages {
            self.flush()?;
        }
        Ok(info)
    }

    /// Next offset to be written (LEO).
    pub fn log_end_offset(&self) -> i64 { self.end().offset }
    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 { self.log_start_offset.load(Ordering::Acquire) }
    /// Offset up to which data is known to be fsynced.
    pub fn recovery_point(&self) -> i64 { self.recovery_point.load(Ordering::Acquire) }
    /// Total bytes across segments.
    pub fn size(&self) -> u64 { self.segments().iter().map(|s| s.size()).sum() }
    pub fn num_segments(&self) -> usize { self.segments().len() }

    /// Fsyncs everything up to the log end and advances the recovery point.
    pub fn flush(&self) -> Result<()> { self.flush_up_to(self.log_end_offset()) }

    /// Flushes if `flush.ms` has elapsed since the last flush (called by the flusher task).
    pub fn flush_if_due(&self, now_ms: i64) -> Result<()> {
        self.observe_clock(now_ms);
        if now_ms.saturating_sub(self.last_flush_ms.load(Ordering::Acquire)) >= self.config().flush_interval_ms {
            self.flush()?;
        }
        Ok(())
    }

    /// Rolls the active segment if `segment.ms` has expired for it (called periodically).
    /// "Expired" uses the append rule with `now_ms` standing in for the incoming timestamp: time
    /// since the first batch's MaxTimestamp, or since the segment was created if it has none.
    pub fn roll_if_due(&self, now_ms: i64) -> Result<()> {
        self.observe_clock(now_ms);
        let config = self.config();
        let state = lock(&self.lock);
        if state.closed {
            return Ok(());
        }
        let active = self.active_segment();
        if active.size() > 0 && active.time_waited_for_roll(now_ms, now_ms) > config.segment_ms {
            self.roll(&config, now_ms, self.end().offset)?;
        }
        Ok(())
    }

    /// Closes file handles after a final flush (clean shutdown). Later appends fail; reads of
    /// what is there keep working (open `FileSlice`s stay valid).
    pub fn close(&self) -> Result<()> {
        {
            let mut state = lock(&self.lock);
            if state.closed {
                return Ok(());
            }
            state.closed = true;
            self.active_segment().on_become_inactive();
        }
        self.wait_for_background_flushes();
        let end = self.log_end_offset();
        let segments = self.segments_from(self.recovery_point(), i64::MAX);
        flush_segments(&segments, &self.dir, &self.dir_sync)?;
        self.recovery_point.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// Removes the log's directory (StopReplica with delete). Kafka renames it to
    /// `<dir>.<uuid>-delete` and deletes later; we delete at once (open slices keep reading).
    pub fn delete(&self) -> Result<()> {
        lock(&self.lock).closed = true;
        self.wait_for_background_flushes();
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::io(&self.dir, e)),
            _ => {
                tracing::info!(partition = %self.tp, dir = %self.dir.display(), "deleted log");
                Ok(())
            }
        }
    }

    /// Kafka's `maybeAssignEpochStartOffset`, called by the partition when this broker becomes
    /// leader with `(new leader epoch, log end offset)`, so that the new epoch has a start even
    /// before its first record (followers asking for the previous epoch's end get it). The
    /// rules are [`LeaderEpochFileCache::assign`]'s: the latest epoch again is a no-op.
    pub fn assign_epoch_start_offset(&self, epoch: i32, start_offset: i64) -> Result<()> {
        let state = lock(&self.lock);
        self.ensure_open(&state)?;
        self.maybe_assign_epoch_start_offsets(std::iter::once((epoch, start_offset)))
    }

    /// The latest leader epoch with a start offset in this log (`None` if none is known): on a
    /// follower, the `LastFetchedEpoch` of its next fetch.
    pub fn latest_epoch(&self) -> Option<i32> {
        lock(&self.leader_epoch_cache).latest_epoch()
    }

    /// Kafka's `Log.endOffsetForEpoch` (the answer to OffsetForLeaderEpoch and the Fetch
    /// diverging-epoch check): the largest epoch ≤ `leader_epoch` and the offset where it ends,
    /// the log end for the latest epoch; `(-1, -1)` if unknown. See
    /// [`LeaderEpochFileCache::end_offset_for`].
    pub fn end_offset_for_epoch(&self, leader_epoch: i32) -> (i32, i64) {
        let cache = lock(&self.leader_epoch_cache);
        // Read under the cache lock: no newer epoch can be appended nor truncation happen meanwhile.
        cache.end_offset_for(leader_epoch, self.end().offset)
    }

    /// The leader epoch cache's entries, oldest first (tests and debugging).
    pub fn leader_epoch_entries(&self) -> Vec<EpochEntry> {
        lock(&self.leader_epoch_cache).entries().to_vec()
    }

    // ---- internals shared by the submodules ----

    /// Records `(epoch, start offset)` pairs in the leader epoch cache, writing its file once if
    /// anything changed. Caller holds `lock`.
    fn maybe_assign_epoch_start_offsets(&self, starts: impl IntoIterator<Item = (i32, i64)>) -> Result<()> {
        let mut cache = lock(&self.leader_epoch_cache);
        let mut changed = false;
        for (epoch, start_offset) in starts {
            changed |= cache.assign_in_memory(epoch, start_offset);
        }
        if changed {
            cache.flush()?;
        }
        Ok(())
    }

    /// The `(partition leader epoch, base offset)` of each batch in already validated `records`.
    fn batch_epochs(records: &[u8]) -> impl Iterator<Item = (i32, i64)> + '_ {
        Batches::new(records).map(|(_, h, _)| (h.partition_leader_epoch, h.base_offset))
    }

    fn observe_clock(&self, now_ms: i64) {
        self.clock_ms.fetch_max(now_ms, Ordering::AcqRel);
    }

    fn ensure_open(&self, state: &LogState) -> Result<()> {
        if state.closed {
            return Err(LogError::io(&self.dir, std::io::Error::other(format!("log {} is closed", self.tp))));
        }
        Ok(())
    }

    pub(crate) fn end(&self) -> LogOffsetMetadata { *lock(&self.end) }

    fn publish_end(&self, end: LogOffsetMetadata) { *lock(&self.end) = end; }

    pub(crate) fn segments(&self) -> Arc<Vec<Arc<LogSegment>>> {
        Arc::clone(&self.segments.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn replace_segments(&self, segments: Vec<Arc<LogSegment>>) {
        *self.segments.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(segments);
        self.dir_sync.changed.fetch_add(1, Ordering::AcqRel);
    }

    fn active_segment(&self) -> Arc<LogSegment> {
        // The list is never empty: load creates a segment and deletion rolls first.
        let segments = self.segments();
        Arc::clone(&segments[segments.len() - 1])
    }

    /// Kafka's `logSegments(from, to)`: the segments holding offsets in `[from, to)`.
    fn segments_from(&self, from: i64, to: i64) -> Vec<Arc<LogSegment>> {
        let segments = self.segments();
        let start = floor_segment(&segments, from).unwrap_or(0);
        segments[start..].iter().filter(|s| s.base_offset() < to).cloned().collect()
    }

    /// Kafka's `roll`: a new active segment at `new_base` (the log end, or a follower's next
    /// batch). The old one gets its final time index entry and is fsynced on a background
    /// thread, which then moves the recovery point to the new base offset. Caller holds `lock`.
    /// A no-op unless `new_base` is above the active segment's base (it is then empty).
    fn roll(&self, config: &LogConfig, now_ms: i64, new_base: i64) -> Result<Arc<LogSegment>> {
        let segments = self.segments();
        let old = Arc::clone(&segments[segments.len() - 1]);
        let end = self.end();
        if old.base_offset() >= new_base {
            return Ok(old);
        }
        old.on_become_inactive();
        let new = Arc::new(LogSegment::create(&self.dir, new_base, config.max_index_size, now_ms).map_err(|e| LogError::io(&self.dir, e))?);
        let mut list = Vec::with_capacity(segments.len() + 1);
        list.extend(segments.iter().cloned());
        list.push(Arc::clone(&new));
        self.replace_segments(list);
        self.publish_end(LogOffsetMetadata { offset: end.offset, segment_base_offset: new_base, position: 0 });
        tracing::debug!(partition = %self.tp, base_offset = new_base, "rolled new log segment");
        self.schedule_flush(new_base);
        Ok(new)
    }

    /// Fsyncs the segments below `up_to` on a thread, then advances the recovery point.
    fn schedule_flush(&self, up_to: i64) {
        let segments = self.segments_from(self.recovery_point(), up_to);
        let (dir, dir_sync, recovery_point) = (self.dir.clone(), Arc::clone(&self.dir_sync), Arc::clone(&self.recovery_point));
        let tp = self.tp.clone();
        let job = move || match flush_segments(&segments, &dir, &dir_sync) {
            Ok(()) => {
                recovery_point.fetch_max(up_to, Ordering::AcqRel);
            }
            Err(e) => tracing::error!(partition = %tp, error = %e, "background flush after roll failed"),
        };
        let mut handles = lock(&self.background_flushes);
        handles.retain(|h| !h.is_finished());
        match std::thread::Builder::new().name(format!("log-flush-{}", self.tp)).spawn(job) {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                // Caller holds `lock`, so flush inline without `flush_up_to` (which takes it).
                tracing::warn!(partition = %self.tp, error = %e, "cannot spawn a flush thread, flushing inline");
                match flush_segments(&self.segments_from(self.recovery_point(), up_to), &self.dir, &self.dir_sync) {
                    Ok(()) => {
                        self.recovery_point.fetch_max(up_to, Ordering::AcqRel);
                    }
                    Err(e) => tracing::error!(partition = %self.tp, error = %e, "flush after roll failed"),
                }
            }
        }
    }

    /// Waits for roll flushes started so far (close, delete, tests).
    pub(crate) fn wait_for_background_flushes(&self) {
        let handles: Vec<JoinHandle<()>> = lock(&self.background_flushes).drain(..).collect();
        for handle in handles {
            let _ = handle.join();
        }
    }

    /// Kafka's `flush(offset)`: fsyncs the segments holding `[recovery point, offset)` and
    /// advances the recovery point to `offset`. The fsyncs run without the append lock; the
    /// recovery point moves under it, so a truncation meanwhile cannot leave it above the log end.
    /// Must not be called with `lock` held.
    fn flush_up_to(&self, offset: i64) -> Result<()> {
        if offset <= self.recovery_point() {
            return Ok(());
        }
        let segments = self.segments_from(self.recovery_point(), offset);
        flush_segments(&segments, &self.dir, &self.dir_sync)?;
        let _state = lock(&self.lock);
        self.recovery_point.fetch_max(offset.min(self.end().offset), Ordering::AcqRel);
        self.last_flush_ms.store(self.clock_ms.load(Ordering::Acquire), Ordering::Release);
        Ok(())
    }
}
