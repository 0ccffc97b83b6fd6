//! Follower-side operations, additions to the contract for the replica fetcher: Kafka's
//! `appendAsFollower`, `truncateTo` and `truncateFullyAndStartAt`.
//!
//! A follower copies the leader's log byte for byte, so its appends keep the leader's offsets and
//! epochs (nothing is stamped) and are checked only for integrity: framing, magic, size, CRC and
//! increasing offsets. When a follower learns it diverged (leader epochs, KIP-101/279) it cuts its
//! log back with [`Log::truncate_to`]; when it fell behind the leader's log start it restarts
//! empty at the leader's offset with [`Log::truncate_fully_and_start_at`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{floor_segment, Log, LogAppendInfo, LogOffsetMetadata};
use crate::error::{LogError, Result};
use crate::segment::{lock, LogSegment, RollParams};
use crate::validator::validate_follower_append;

impl Log {
    /// Appends batches fetched from the leader verbatim (offsets and partition leader epochs as
    /// the leader assigned them). The first offset must be at or above the log end (gaps are
    /// allowed, as after compaction); otherwise it is `InvalidRecord` and nothing is written
    /// (Kafka's `UnexpectedAppendOffsetException`). A roll starts the new segment at the
    /// append's first offset. The flush policy applies as for leader appends.
    ///
    /// Each batch whose partition leader epoch is newer than the latest cached epoch records
    /// `(epoch, base offset)` in the leader epoch cache before the records are written, so the
    /// follower's cache mirrors the leader's.
    pub fn append_as_follower(&self, records: &[u8], now_ms: i64) -> Result<LogAppendInfo> {
        self.observe_clock(now_ms);
        let config = self.config();
        let validated = validate_follower_append(records, config.max_message_bytes)?;
        if validated.size as u64 > config.segment_bytes {
            return Err(LogError::RecordListTooLarge { size: validated.size, segment_bytes: config.segment_bytes });
        }
        let info = {
            let state = lock(&self.lock);
            self.ensure_open(&state)?;
            let end = self.end();
            if validated.first_offset < end.offset {
                return Err(LogError::InvalidRecord {
                    position: 0,
                    reason: format!("first offset {} is below the log end offset {} of {}", validated.first_offset, end.offset, self.tp),
                });
            }
            let mut active = self.active_segment();
            let roll = RollParams {
                append_size: validated.size as u64,
                max_timestamp_in_append: validated.max_timestamp,
                max_offset_in_append: validated.last_offset,
                now_ms,
                segment_bytes: config.segment_bytes,
                segment_ms: config.segment_ms,
            };
            // An empty active segment is kept unless the append's offsets cannot be relative to it.
            if (active.size() > 0 || validated.first_offset > active.base_offset()) && active.should_roll(&roll) {
                active = self.roll(&config, now_ms, validated.first_offset)?;
            }
            self.maybe_assign_epoch_start_offsets(Self::batch_epochs(records))?;
            active.append(records, None, config.index_interval_bytes).map_err(|e| LogError::io(active.log_path(), e))?;
            self.publish_end(LogOffsetMetadata { offset: validated.last_offset + 1, segment_base_offset: active.base_offset(), position: active.size() });
            LogAppendInfo {
                first_offset: validated.first_offset,
                last_offset: validated.last_offset,
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

    /// Kafka's `truncateTo`: removes every batch holding an offset ≥ `target_offset`, deleting
    /// whole segments above it. The log end becomes the end of the last batch entirely below the
    /// target (the target itself when it is a batch boundary). Returns whether anything was
    /// removed: a target at or above the log end removes no record, only the epoch entries
    /// starting at or after the log end. A target below the log start
    /// empties the log and restarts it there. The recovery point never stays above the log end.
    /// Leader epoch entries starting at or after the new log end are removed.
    ///
    /// Readers holding a slice into the truncated bytes may see it cut short.
    pub fn truncate_to(&self, target_offset: i64, now_ms: i64) -> Result<bool> {
        self.observe_clock(now_ms);
        if target_offset < 0 {
            return Err(self.out_of_range(target_offset, &self.end()));
        }
        let state = lock(&self.lock);
        self.ensure_open(&state)?;
        // A roll flush finishing later must not lift the recovery point above the new end.
        self.wait_for_background_flushes();
        let log_end = self.end().offset;
        if target_offset >= log_end {
            // No record goes, but an epoch entry may start at the log end (this replica led
            // that epoch and wrote nothing); the leader's log has other epochs there, so drop it
            // and let the follower ask again about its previous epoch (Kafka's `truncateTo`).
            lock(&self.leader_epoch_cache).truncate_from_end(log_end)?;
            return Ok(false);
        }
        let segments = self.segments();
        let Some(i) = floor_segment(&segments, target_offset).filter(|_| target_offset >= self.log_start_offset()) else {
            self.start_at(target_offset, now_ms)?;
            return Ok(true);
        };
        // Held until the epochs are cut too, so no reader pairs the old epochs with the new end.
        let mut epoch_cache = lock(&self.leader_epoch_cache);
        let (kept, doomed) = segments.split_at(i + 1);
        self.replace_segments(kept.to_vec());
        for segment in doomed {
            segment.delete_files().map_err(|e| LogError::io(segment.log_path(), e))?;
        }
        let last = Arc::clone(&kept[i]);
        let io = |e| LogError::io(last.log_path(), e);
        let removed = last.truncate_to(target_offset, now_ms).map_err(io)?;
        let log_end = last.read_next_offset().map_err(io)?.unwrap_or(last.base_offset());
        self.publish_end(LogOffsetMetadata { offset: log_end, segment_base_offset: last.base_offset(), position: last.size() });
        self.recovery_point.fetch_min(log_end, Ordering::AcqRel);
        // Kafka cuts at `target_offset`; the new end is never above it, and an epoch starting
        // in between would own no record.
        epoch_cache.truncate_from_end(log_end)?;
        drop(epoch_cache);
        tracing::info!(partition = %self.tp, target_offset, log_end_offset = log_end, bytes = removed, segments_deleted = doomed.len(), "truncated log");
        Ok(true)
    }

    /// Kafka's `truncateFullyAndStartAt`: deletes every segment and restarts the log empty at
    /// `new_offset`, which becomes log start, log end and recovery point (a follower whose fetch
    /// offset fell below the leader's log start). The leader epoch cache is emptied.
    pub fn truncate_fully_and_start_at(&self, new_offset: i64, now_ms: i64) -> Result<()> {
        self.observe_clock(now_ms);
        let state = lock(&self.lock);
        self.ensure_open(&state)?;
        self.wait_for_background_flushes();
        self.start_at(new_offset, now_ms)
    }

    /// Replaces all segments by one empty segment at `new_offset` and empties the leader epoch
    /// cache. Caller holds `lock`.
    fn start_at(&self, new_offset: i64, now_ms: i64) -> Result<()> {
        let mut epoch_cache = lock(&self.leader_epoch_cache);
        // Delete first: the new segment may reuse an old segment's file names.
        for segment in self.segments().iter() {
            segment.delete_files().map_err(|e| LogError::io(segment.log_path(), e))?;
        }
        let config = self.config();
        let segment = LogSegment::create(&self.dir, new_offset, config.max_index_size, now_ms).map_err(|e| LogError::io(&self.dir, e))?;
        self.replace_segments(vec![Arc::new(segment)]);
        self.publish_end(LogOffsetMetadata { offset: new_offset, segment_base_offset: new_offset, position: 0 });
        self.log_start_offset.store(new_offset, Ordering::Release);
        self.recovery_point.store(new_offset, Ordering::Release);
        epoch_cache.clear_and_flush()?;
        drop(epoch_cache);
        tracing::info!(partition = %self.tp, new_offset, "truncated log fully");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
