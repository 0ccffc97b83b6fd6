//! `kafka-log-retention`: every `log.retention.check.interval.ms` (5 min), delete whole segments
//! past `retention.ms` or beyond `retention.bytes`, never at or above a partition's high
//! watermark (a log this broker does not currently host keeps everything).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use odradek_log::now_ms;
use crate::replica_manager::ReplicaManager;

pub fn start(replica_manager: Arc<ReplicaManager>, interval_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    super::periodic("log-retention", interval_ms, shutdown, move || {
        let rm = Arc::clone(&replica_manager);
        let high_watermark = move |tp: &odradek_log::TopicPartition| rm.high_watermark(tp).unwrap_or(0);
        replica_manager.log_manager().cleanup_logs(now_ms(), &high_watermark).map(|_| ()).map_err(|e| e.to_string())
    })
}
