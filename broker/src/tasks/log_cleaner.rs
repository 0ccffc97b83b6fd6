//! `kafka-log-cleaner-thread`: every `log.cleaner.backoff.ms` (15 s), when `log.cleaner.enable`,
//! compact the `cleanup.policy=compact` logs whose dirty ratio passed `min.cleanable.dirty.ratio`
//! (or whose `max.compaction.lag.ms` expired), never at or above a partition's high watermark
//! (a log this broker does not currently host is not cleaned).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use odradek_log::now_ms;
use crate::replica_manager::ReplicaManager;

pub fn start(replica_manager: Arc<ReplicaManager>, enable: bool, backoff_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    if !enable {
        return None;
    }
    super::periodic("log-cleaner", backoff_ms, shutdown, move || {
        let rm = Arc::clone(&replica_manager);
        let high_watermark = move |tp: &odradek_log::TopicPartition| rm.high_watermark(tp).unwrap_or(0);
        replica_manager.log_manager().clean_logs(now_ms(), &high_watermark).map(|_| ()).map_err(|e| e.to_string())
    })
}
