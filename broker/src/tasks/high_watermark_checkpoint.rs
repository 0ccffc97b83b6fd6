//! `highwatermark-checkpoint`: every `replica.high.watermark.checkpoint.interval.ms` (5 s), write
//! each partition's high watermark to `replication-offset-checkpoint` (and once more on a clean
//! shutdown), so a restarted broker starts from the HW it had rather than from the log start.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::replica_manager::ReplicaManager;

pub fn start(replica_manager: Arc<ReplicaManager>, interval_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    super::periodic("highwatermark-checkpoint", interval_ms, shutdown, move || {
        replica_manager.log_manager().checkpoint_high_watermarks(&replica_manager.high_watermarks()).map_err(|e| e.to_string())
    })
}
