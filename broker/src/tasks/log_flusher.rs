//! `kafka-log-flusher`: every `log.flush.scheduler.interval.ms`, fsync the logs whose
//! `flush.ms` has elapsed and roll segments whose `segment.ms` has. With Kafka's defaults
//! (Long.MAX) it never runs: durability comes from replication, not fsync.

use std::sync::Arc;

use odradek_log::LogManager;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use odradek_log::now_ms;

pub fn start(log_manager: Arc<LogManager>, interval_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    super::periodic("log-flusher", interval_ms, shutdown, move || log_manager.flush_dirty_logs(now_ms()).map_err(|e| e.to_string()))
}
