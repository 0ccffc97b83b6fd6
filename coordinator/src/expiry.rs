//! The offset expiry task (Kafka's `cleanupGroupMetadata`, run every `offsets.retention.check.interval.ms`).
//!
//! Expired offsets are removed from the cache and tombstoned in `__consumer_offsets` so compaction
//! eventually drops them; a group left Empty with no offsets is removed and its record tombstoned too.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;
use crate::manager;
use crate::offsets_log::OffsetsRecord;

pub(crate) async fn run(coordinator: Weak<GroupCoordinator>) {
    loop {
        let Some(c) = coordinator.upgrade() else {
            return;
        };
        let interval =
            Duration::from_millis(c.config.offsets_retention_check_interval_ms.max(1) as u64);
        if !c.sleep_unless_shutdown(interval).await {
            return;
        }
        c.cleanup_group_metadata().await;
    }
}

impl GroupCoordinator {
    /// One expiry pass over every loaded group; returns how many offsets were expired.
    pub async fn cleanup_group_metadata(&self) -> usize {
        let now = self.now_ms();
        let mut tombstones: HashMap<i32, Vec<OffsetsRecord>> = HashMap::new();
        let mut expired_count = 0;
        {
            let mut mgr = self.lock();
            let mut dead = Vec::new();
            for group in mgr.groups.values_mut() {
                let expired = group.remove_expired_offsets(now, self.config.offsets_retention_ms);
                let partition = self.partition_for(&group.group_id);
                expired_count += expired.len();
                let batch = tombstones.entry(partition).or_default();
                batch.extend(
                    expired
                        .iter()
                        .map(|tp| manager::offset_tombstone(&group.group_id, tp)),
                );
                if group.is(GroupState::Empty) && !group.has_offsets() {
                    group.transition_to(GroupState::Dead, now);
                    batch.push(manager::group_tombstone(&group.group_id));
                    dead.push(group.group_id.clone());
                }
            }
            for id in dead {
                mgr.groups.remove(&id);
            }
        }
        for (partition, records) in tombstones {
            if records.is_empty() {
                continue;
            }
            let n = records.len();
            match self.append(partition, records).await {
                Ok(()) => tracing::info!(
                    broker = self.broker_id,
                    partition,
                    tombstones = n,
                    "removed expired offsets and dead groups"
                ),
                Err(code) => tracing::warn!(
                    broker = self.broker_id,
                    partition,
                    error = code,
                    "failed to write expiry tombstones"
                ),
            }
        }
        expired_count
    }
}
