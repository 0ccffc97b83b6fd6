//! One `LogSegment` = `.log` + `.index` + `.timeindex`, all named by the 20-digit base offset.
//!
//! Concurrency model (Invariant: only the holder of the owning `Log`'s append lock calls
//! [`LogSegment::append`], [`LogSegment::recover`] or [`LogSegment::on_become_inactive`]):
//! - the `.log` file is opened `O_APPEND` and written with `writev`; readers use `pread` and
//!   `sendfile` with explicit positions, so they never disturb the writer;
//! - `size` is the *committed* size: stored with `Release` after a write completes, so a reader
//!   that loads it (`Acquire`) only ever sees whole batches;
//! - indexes and the per-segment roll/time bookkeeping live behind a short `Mutex`, taken once per
//!   append by the writer and once per lookup by readers.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::batch::{stamp_header, BatchHeader, Batches, MAGIC_VALUE_V2, NO_TIMESTAMP, STAMP_LEN};
use crate::file_records::{batch_crc, read_batch, read_batch_header, FileBatches};
use crate::index::{segment_file, OffsetIndex, TimeIndex, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX};
use crate::log::TimestampOffset;
use crate::record::RecordPositions;

/// Batches stamped per `writev` call (2 iovecs each), keeping the headers on the stack.
const BATCHES_PER_WRITE: usize = 32;

pub struct LogSegment {
    base_offset: i64,
    log_path: PathBuf,
    log: Arc<File>,
    /// Committed bytes: every byte below is part of a fully written batch.
    size: AtomicU64,
    /// The file may hold bytes of a failed append past `size` (cutting them off failed too).
    torn_tail: AtomicBool,
    /// Kafka's `created`: when this segment object was made (also after a restart).
    created_ms: AtomicI64,
    state: Mutex<SegmentState>,
}

struct SegmentState {
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_last_index_entry: u64,
    max_timestamp_so_far: i64,
    /// Last offset of the batch that first reached `max_timestamp_so_far`.
    offset_of_max_timestamp_so_far: i64,
    /// MaxTimestamp of the first batch: what `segment.ms` is measured from. `None` = not loaded.
    rolling_based_timestamp: Option<i64>,
}

/// What [`LogSegment::recover`] found.
#[derive(Debug)]
pub(crate) struct RecoveryOutcome {
    /// Bytes cut off the end of the `.log` file.
    pub truncated_bytes: u64,
    /// Offset after the last valid batch, `None` if no batch survived.
    pub next_offset: Option<i64>,
    /// Why recovery stopped early, if it did.
    pub reason: Option<String>,
}

/// How a leader append rewrites batches: offsets from `first_offset`, epoch `leader_epoch`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp {
    pub first_offset: i64,
    pub leader_epoch: i32,
}

/// Inputs to Kafka's `LogSegment.shouldRoll`.
pub(crate) struct RollParams {
    pub append_size: u64,
    pub max_timestamp_in_append: i64,
    pub max_offset_in_append: i64,
    pub now_ms: i64,
    pub segment_bytes: u64,
    pub segment_ms: i64,
}

/// Locks a mutex, surviving poisoning: the guarded data is only indexes that recovery rebuilds.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_log(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).create(create).open(path)
}

/// Writes all of `bufs`, retrying short writes (std's `write_all_vectored` is unstable).
fn write_all_vectored(mut file: &File, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match file.write_vectored(bufs) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "writev wrote nothing")),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Appends validated `records` with offsets from `first_offset` and `leader_epoch` stamped:
/// per batch one patched 17-byte header and the untouched rest of the caller's buffer.
fn write_stamped(file: &File, records: &[u8], first_offset: i64, leader_epoch: i32) -> io::Result<()> {
    let mut batches = Batches::new(records);
    let mut next_offset = first_offset;
    loop {
        let mut headers = [[0u8; STAMP_LEN]; BATCHES_PER_WRITE];
        let mut payloads: [&[u8]; BATCHES_PER_WRITE] = [&[]; BATCHES_PER_WRITE];
        let mut n = 0;
        while n < BATCHES_PER_WRITE {
            let Some((_, header, bytes)) = batches.next() else { break };
            headers[n] = stamp_header(bytes, next_offset, leader_epoch);
            payloads[n] = &bytes[STAMP_LEN..];
            next_offset += header.last_offset_delta as i64 + 1;
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        let mut slices = [IoSlice::new(&[]); 2 * BATCHES_PER_WRITE];
        for i in 0..n {
            slices[2 * i] = IoSlice::new(&headers[i]);
            slices[2 * i + 1] = IoSlice::new(payloads[i]);
        }
        write_all_vectored(file, &mut slices[..2 * n])?;
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl LogSegment {
    fn from_parts(base_offset: i64, log_path: PathBuf, log: File, size: u64, now_ms: i64, offset_index: OffsetIndex, time_index: TimeIndex) -> Self {
        let last_time_entry = time_index.last_entry();
        let (_, last_indexed_position) = offset_index.lookup(i64::MAX);
        LogSegment {
            base_offset,
            log_path,
            log: Arc::new(log),
            size: AtomicU64::new(size),
            torn_tail: AtomicBool::new(false),
            created_ms: AtomicI64::new(now_ms),
            state: Mutex::new(SegmentState {
                offset_index,
                time_index,
                bytes_since_last_index_entry: size.saturating_sub(last_indexed_position),
                max_timestamp_so_far: last_time_entry.timestamp,
                offset_of_max_timestamp_so_far: last_time_entry.offset,
                rolling_based_timestamp: None,
            }),
        }
    }

    /// Creates an empty segment (truncating leftovers with the same name).
    pub(crate) fn create(dir: &Path, base_offset: i64, max_index_size: u32, now_ms: i64) -> io::Result<LogSegment> {
        LogSegment::create_with_suffix(dir, base_offset, "", max_index_size, now_ms)
    }

    /// Creates an empty segment whose three files carry an extra `file_suffix` (Kafka's
    /// `LogSegment.open(..., fileSuffix)`), e.g. `.cleaned` for the log cleaner's output.
    pub(crate) fn create_with_suffix(dir: &Path, base_offset: i64, file_suffix: &str, max_index_size: u32, now_ms: i64) -> io::Result<LogSegment> {
        let log_path = segment_file(dir, base_offset, &format!("{LOG_FILE_SUFFIX}{file_suffix}"));
        let log = open_log(&log_path, true)?;
        log.set_len(0)?;
        let index_path = segment_file(dir, base_offset, &format!("{INDEX_FILE_SUFFIX}{file_suffix}"));
        let time_index_path = segment_file(dir, base_offset, &format!("{TIME_INDEX_FILE_SUFFIX}{file_suffix}"));
        let offset_index = OffsetIndex::create(index_path, base_offset, max_index_size)?;
        let time_index = TimeIndex::create(time_index_path, base_offset, max_index_size)?;
        Ok(LogSegment::from_parts(base_offset, log_path, log, 0, now_ms, offset_index, time_index))
    }

    /// Opens an existing segment. The flag is `true` when an index was missing, torn or failed
    /// its sanity check: it has been emptied and the caller must [`recover`](Self::recover).
    pub(crate) fn open(dir: &Path, base_offset: i64, max_index_size: u32, now_ms: i64) -> io::Result<(LogSegment, bool)> {
        let log_path = segment_file(dir, base_offset, LOG_FILE_SUFFIX);
        let log = open_log(&log_path, false)?;
        let size = log.metadata()?.len();
        let index_path = segment_file(dir, base_offset, INDEX_FILE_SUFFIX);
        let time_index_path = segment_file(dir, base_offset, TIME_INDEX_FILE_SUFFIX);
        let mut needs_rebuild = false;
        let offset_index = match OffsetIndex::load(index_path.clone(), base_offset, max_index_size)? {
            Some(idx) if idx.sanity_check(size).is_ok() => idx,
            _ => {
                needs_rebuild = true;
                OffsetIndex::create(index_path, base_offset, max_index_size)?
            }
        };
        let time_index = match TimeIndex::load(time_index_path.clone(), base_offset, max_index_size)? {
            Some(idx) if idx.sanity_check().is_ok() => idx,
            _ => {
                needs_rebuild = true;
                TimeIndex::create(time_index_path, base_offset, max_index_size)?
            }
        };
        Ok((LogSegment::from_parts(base_offset, log_path, log, size, now_ms, offset_index, time_index), needs_rebuild))
    }

    pub fn base_offset(&self) -> i64 { self.base_offset }
    /// Committed size in bytes.
    pub fn size(&self) -> u64 { self.size.load(Ordering::Acquire) }
    pub(crate) fn log_file(&self) -> &Arc<File> { &self.log }
    pub(crate) fn log_path(&self) -> &Path { &self.log_path }

    /// Appends validated `records` (see [`crate::validator`]) at the end, then indexes them
    /// batch by batch exactly as recovery would, and finally publishes the new size. With
    /// `stamp` (leader) offsets are assigned from `stamp.first_offset` and the epoch stamped;
    /// without it (follower) the batches are written verbatim. Returns the last offset written.
    pub(crate) fn append(&self, records: &[u8], stamp: Option<Stamp>, index_interval_bytes: u32) -> io::Result<i64> {
        let start = self.size.load(Ordering::Relaxed);
        if self.torn_tail.load(Ordering::Acquire) {
            // A failed append could not be cut off last time: retry before writing after it.
            self.log.set_len(start)?;
            self.torn_tail.store(false, Ordering::Release);
        }
        let written = match stamp {
            Some(s) => write_stamped(&self.log, records, s.first_offset, s.leader_epoch),
            None => (&*self.log).write_all(records),
        };
        if let Err(e) = written {
            // Never leave a partial batch where the next O_APPEND write would land after it.
            if self.log.set_len(start).is_err() {
                self.torn_tail.store(true, Ordering::Release);
            }
            return Err(e);
        }
        let mut st = lock(&self.state);
        let mut next_offset = stamp.map(|s| s.first_offset);
        let mut last_offset = self.base_offset - 1;
        for (pos, header, _) in Batches::new(records) {
            let base_offset = next_offset.unwrap_or(header.base_offset);
            last_offset = base_offset + header.last_offset_delta as i64;
            next_offset = next_offset.map(|_| last_offset + 1);
            let position = start + pos as u64;
            if position == 0 {
                st.rolling_based_timestamp = Some(header.max_timestamp);
            }
            st.index_batch(position, header.total_size() as u64, last_offset, header.max_timestamp, index_interval_bytes);
        }
        drop(st);
        self.size.store(start + records.len() as u64, Ordering::Release);
        Ok(last_offset)
    }

    /// Kafka's `LogSegment.truncateTo`: removes the batch holding `offset` and everything after
    /// it, with their index entries, and reloads the largest timestamp. Returns bytes removed.
    pub(crate) fn truncate_to(&self, offset: i64, now_ms: i64) -> io::Result<u64> {
        let size = self.size();
        let Some((position, _)) = self.translate_offset(offset, size)? else { return Ok(0) };
        let mut st = lock(&self.state);
        st.offset_index.truncate_to(offset)?;
        st.time_index.truncate_to(offset)?;
        self.log.set_len(position)?;
        self.size.store(position, Ordering::Release);
        if position == 0 {
            st.rolling_based_timestamp = None;
        }
        // Kafka's loadLargestTimestamp: the time index's last entry, then the batches after it.
        let last = st.time_index.last_entry();
        st.max_timestamp_so_far = last.timestamp;
        st.offset_of_max_timestamp_so_far = last.offset;
        let (_, indexed_position) = st.offset_index.lookup(last.offset);
        for item in FileBatches::new(&self.log, indexed_position, position) {
            let (_, header) = item?;
            if header.max_timestamp > st.max_timestamp_so_far {
                st.max_timestamp_so_far = header.max_timestamp;
                st.offset_of_max_timestamp_so_far = header.last_offset();
            }
        }
        let (_, last_indexed) = st.offset_index.lookup(i64::MAX);
        st.bytes_since_last_index_entry = position.saturating_sub(last_indexed);
        drop(st);
        if position == 0 {
            // An emptied segment counts its age for `segment.ms` from now, as in Kafka.
            self.created_ms.store(now_ms, Ordering::Release);
        }
        Ok(size - position)
    }

    /// The first batch with last offset ≥ `target` that starts before `end`, as (position,
    /// header): index lookup, then a header walk.
    pub(crate) fn translate_offset(&self, target: i64, end: u64) -> io::Result<Option<(u64, BatchHeader)>> {
        let (_, start) = lock(&self.state).offset_index.lookup(target);
        for item in FileBatches::new(&self.log, start, end) {
            let (position, header) = item?;
            if header.last_offset() >= target {
                return Ok(Some((position, header)));
            }
        }
        Ok(None)
    }

    /// Kafka's `findOffsetByTimestamp`: the first record at or after `starting_offset` with a
    /// timestamp ≥ `timestamp`, looking only below `end`. Uncompressed batches are searched record
    /// by record; for a compressed batch (which we never decompress) the answer is the batch's
    /// first offset with its MaxTimestamp, an approximation of Kafka's exact record.
    pub(crate) fn find_offset_by_timestamp(&self, timestamp: i64, starting_offset: i64, end: u64) -> io::Result<Option<TimestampOffset>> {
        let start = {
            let st = lock(&self.state);
            let entry = st.time_index.lookup(timestamp);
            st.offset_index.lookup(entry.offset.max(starting_offset)).1
        };
        let mut buf = Vec::new();
        for item in FileBatches::new(&self.log, start, end) {
            let (position, header) = item?;
            if header.max_timestamp < timestamp || header.last_offset() < starting_offset {
                continue;
            }
            if header.compression() != 0 {
                return Ok(Some(TimestampOffset { timestamp: header.max_timestamp, offset: header.base_offset.max(starting_offset) }));
            }
            read_batch(&self.log, position, &header, &mut buf)?;
            let found = RecordPositions::new(header, &buf).find(|r| r.timestamp >= timestamp && r.offset >= starting_offset);
            if let Some(r) = found {
                return Ok(Some(TimestampOffset { timestamp: r.timestamp, offset: r.offset }));
            }
        }
        Ok(None)
    }

    /// Offset after the last batch (from the last index entry on), `None` if empty. Fails with
    /// `InvalidData` if the tail is not whole batches.
    pub(crate) fn read_next_offset(&self) -> io::Result<Option<i64>> {
        let size = self.size();
        let (_, start) = lock(&self.state).offset_index.lookup(i64::MAX);
        let mut next = None;
        for item in FileBatches::new(&self.log, start, size) {
            next = Some(item?.1.next_offset());
        }
        Ok(next)
    }

    /// Kafka's `LogSegment.recover`: empties both indexes, then walks every batch checking its
    /// framing, magic, CRC-32C and that offsets increase, rebuilding the indexes as it goes. At
    /// the first bad batch the `.log` file is truncated there.
    pub(crate) fn recover(&self, index_interval_bytes: u32) -> io::Result<RecoveryOutcome> {
        let mut st = lock(&self.state);
        st.offset_index.reset()?;
        st.time_index.reset()?;
        st.max_timestamp_so_far = NO_TIMESTAMP;
        st.offset_of_max_timestamp_so_far = self.base_offset;
        st.rolling_based_timestamp = None;
        st.bytes_since_last_index_entry = 0;
        let file_len = self.log.metadata()?.len();
        let mut valid: u64 = 0;
        let mut next_offset: Option<i64> = None;
        let mut reason = None;
        let mut scratch = vec![0u8; 64 * 1024];
        while valid < file_len {
            let header = match read_batch_header(&self.log, valid, file_len) {
                Ok(h) => h,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    reason = Some(e.to_string());
                    break;
                }
                Err(e) => return Err(e),
            };
            if let Some(why) = self.check_recovered_batch(&header, next_offset) {
                reason = Some(format!("batch at position {valid}: {why}"));
                break;
            }
            let crc = batch_crc(&self.log, valid, &header, &mut scratch)?;
            if crc != header.crc {
                reason = Some(format!("batch at position {valid}: stored crc {:#010x} != computed {crc:#010x}", header.crc));
                break;
            }
            if valid == 0 {
                st.rolling_based_timestamp = Some(header.max_timestamp);
            }
            let size = header.total_size() as u64;
            st.index_batch(valid, size, header.last_offset(), header.max_timestamp, index_interval_bytes);
            valid += size;
            next_offset = Some(header.next_offset());
        }
        if valid < file_len {
            self.log.set_len(valid)?;
        }
        let (max_ts, offset_of_max) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
        st.time_index.maybe_append(max_ts, offset_of_max);
        self.size.store(valid, Ordering::Release);
        Ok(RecoveryOutcome { truncated_bytes: file_len - valid, next_offset, reason })
    }

    fn check_recovered_batch(&self, header: &BatchHeader, expected_at_least: Option<i64>) -> Option<String> {
        if header.magic != MAGIC_VALUE_V2 {
            return Some(format!("magic {}", header.magic));
        }
        let relative_last = header.last_offset() - self.base_offset;
        if header.last_offset_delta < 0 || header.base_offset < self.base_offset || relative_last > i32::MAX as i64 {
            return Some(format!("offsets {}..={} do not fit segment {}", header.base_offset, header.last_offset(), self.base_offset));
        }
        match expected_at_least {
            Some(next) if header.base_offset < next => Some(format!("base offset {} goes back below {next}", header.base_offset)),
            _ => None,
        }
    }

    /// Kafka's `timeWaitedForRoll`: time since the first batch's MaxTimestamp (or, without
    /// timestamps, since the segment was created) as seen by an append at `messages_timestamp`.
    pub(crate) fn time_waited_for_roll(&self, now_ms: i64, messages_timestamp: i64) -> i64 {
        let mut st = lock(&self.state);
        if st.rolling_based_timestamp.is_none() && self.size() > 0 {
            st.rolling_based_timestamp = read_batch_header(&self.log, 0, self.size()).ok().map(|h| h.max_timestamp);
        }
        match st.rolling_based_timestamp {
            Some(t) if t >= 0 => messages_timestamp.saturating_sub(t),
            _ => now_ms.saturating_sub(self.created_ms.load(Ordering::Acquire)),
        }
    }

    /// Kafka's `LogSegment.shouldRoll`.
    pub(crate) fn should_roll(&self, p: &RollParams) -> bool {
        let size = self.size();
        // Positions are int32 in the index: a segment never exceeds 2 GiB whatever the config.
        let max_size = p.segment_bytes.min(i32::MAX as u64);
        let full_indexes = {
            let st = lock(&self.state);
            st.offset_index.is_full() || st.time_index.is_full()
        };
        size > max_size.saturating_sub(p.append_size)
            || (size > 0 && self.time_waited_for_roll(p.now_ms, p.max_timestamp_in_append) > p.segment_ms)
            || full_indexes
            || p.max_offset_in_append - self.base_offset > i32::MAX as i64
    }

    /// On roll and on close: record the largest timestamp in the time index, as Kafka does, so
    /// a reopened segment knows its max timestamp without a scan.
    pub(crate) fn on_become_inactive(&self) {
        let mut st = lock(&self.state);
        let (ts, offset) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
        st.time_index.maybe_append(ts, offset);
    }

    /// The largest timestamp in the segment, or the `.log` file's mtime if no batch had one
    /// (Kafka's `largestTimestamp`), used by `retention.ms`.
    pub(crate) fn largest_timestamp(&self) -> i64 {
        let max = lock(&self.state).max_timestamp_so_far;
        if max >= 0 {
            return max;
        }
        self.log
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(i64::MAX, |d| d.as_millis() as i64)
    }

    /// Kafka's `LogSegment.lastModified`: the `.log` file's mtime in ms (0 if unknown). The log
    /// cleaner's delete horizon is measured from it.
    pub(crate) fn last_modified_ms(&self) -> i64 {
        self.log
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Sets the `.log` file's mtime (a cleaned segment inherits its sources', as in Kafka).
    pub(crate) fn set_last_modified_ms(&self, ms: i64) -> io::Result<()> {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
        self.log.set_modified(time)
    }

    /// Kafka's `getFirstBatchTimestamp`: the MaxTimestamp of the first batch, `None` when the
    /// segment is empty or the batch has no timestamp.
    pub(crate) fn first_batch_timestamp(&self) -> Option<i64> {
        let size = self.size();
        if size == 0 {
            return None;
        }
        let mut st = lock(&self.state);
        if st.rolling_based_timestamp.is_none() {
            st.rolling_based_timestamp = read_batch_header(&self.log, 0, size).ok().map(|h| h.max_timestamp);
        }
        st.rolling_based_timestamp.filter(|t| *t >= 0)
    }

    /// Entries in the offset and time indexes (the cleaner keeps a merged segment's indexes
    /// within `segment.index.bytes`).
    pub(crate) fn index_entry_counts(&self) -> (usize, usize) {
        let st = lock(&self.state);
        (st.offset_index.entries(), st.time_index.entries())
    }

    /// Writes pending index entries, then fsyncs the `.log` and both indexes.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let (offset_index, time_index) = {
            let mut st = lock(&self.state);
            st.offset_index.write_pending()?;
            st.time_index.write_pending()?;
            (st.offset_index.file(), st.time_index.file())
        };
        self.log.sync_data()?;
        offset_index.sync_data()?;
        time_index.sync_data()
    }

    /// Deletes the three files. Readers holding the `Arc<File>` keep reading the unlinked data.
    pub(crate) fn delete_files(&self) -> io::Result<()> {
        let st = lock(&self.state);
        remove_if_exists(&self.log_path)?;
        st.offset_index.delete()?;
        st.time_index.delete()
    }

}

impl SegmentState {
    /// The per-batch index rule shared by append and recovery (Kafka's `LogSegment.append` and
    /// `recover`): track the max timestamp, and when more than `index.interval.bytes` were
    /// appended since the last entry, index this batch at its start position.
    fn index_batch(&mut self, position: u64, size: u64, last_offset: i64, max_timestamp: i64, index_interval_bytes: u32) {
        if max_timestamp > self.max_timestamp_so_far {
            self.max_timestamp_so_far = max_timestamp;
            self.offset_of_max_timestamp_so_far = last_offset;
        }
        if self.bytes_since_last_index_entry > index_interval_bytes as u64 {
            self.offset_index.append(last_offset, position);
            let (ts, offset) = (self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far);
            self.time_index.maybe_append(ts, offset);
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += size;
    }
}

#[cfg(test)]
mod tests;
