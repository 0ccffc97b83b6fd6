//! `isr-expiration`: every `replica.lag.time.max.ms / 2`, each partition this broker leads drops
//! the followers that have not caught up for `replica.lag.time.max.ms` from its ISR (proposed
//! to the controller through AlterIsr).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use odradek_log::now_ms;
use crate::replica_manager::ReplicaManager;

pub fn start(replica_manager: Arc<ReplicaManager>, replica_lag_time_max_ms: i64, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    super::periodic("isr-expiration", (replica_lag_time_max_ms / 2).max(1), shutdown, move || {
        replica_manager.shrink_isrs(now_ms());
        Ok(())
    })
}
