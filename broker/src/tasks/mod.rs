//! Background tasks, one file each in Kafka's naming: the log flusher (`kafka-log-flusher`), the
//! recovery-point checkpointer (`kafka-recovery-point-checkpoint`) and log retention
//! (`kafka-log-retention`). Each runs its (blocking, disk-bound) work on the blocking pool at a
//! fixed interval until shutdown.

pub mod high_watermark_checkpoint;
pub mod isr_expiration;
pub mod log_cleaner;
pub mod log_flusher;
pub mod log_retention;
pub mod recovery_point_checkpoint;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

/// Runs `work` every `interval` until `shutdown` flips. Intervals beyond a day (Kafka's
/// "never" is Long.MAX) disable the task.
pub fn periodic<F>(name: &'static str, interval_ms: i64, mut shutdown: watch::Receiver<bool>, work: F) -> Option<JoinHandle<()>>
where
    F: Fn() -> Result<(), String> + Send + Sync + Clone + 'static,
{
    const DAY_MS: i64 = 24 * 3600 * 1000;
    if interval_ms <= 0 || interval_ms > DAY_MS {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms as u64));
        ticker.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = ticker.tick() => {}
            }
            let job = work.clone();
            match tokio::task::spawn_blocking(job).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn!(task = name, error = %e, "background task failed"),
                Err(e) => warn!(task = name, error = %e, "background task panicked"),
            }
        }
    }))
}
