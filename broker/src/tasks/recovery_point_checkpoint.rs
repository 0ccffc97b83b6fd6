//! `kafka-recovery-point-checkpoint`: every `log.flush.offset.checkpoint.interval.ms` (60 s),
//! write each log's recovery point to `recovery-point-offset-checkpoint`, so recovery after a
//! crash re-validates only what may not have reached the disk.

use std::sync::Arc;

use odradek_log::LogManager;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn start(log_manager: Arc<LogManager>, interval_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    super::periodic("recovery-point-checkpoint", interval_ms, shutdown, move || log_manager.checkpoint_recovery_points().map_err(|e| e.to_string()))
}
