//! Counters for the socket server. `sendfile_bytes` vs `copied_bytes` proves fetches are zero-copy.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct NetworkMetrics {
    /// Record bytes moved from segment files to sockets by `sendfile(2)`.
    pub sendfile_bytes: AtomicU64,
    /// Record bytes that had to be copied through user space (sendfile unavailable, or records
    /// down-converted for Fetch v0–3).
    pub copied_bytes: AtomicU64,
    /// Connections accepted since startup.
    pub connections_accepted: AtomicU64,
    /// Connections closed because of a bad frame or an unsupported request.
    pub connections_closed_for_bad_input: AtomicU64,
    /// Requests parsed and dispatched.
    pub requests: AtomicU64,
}

impl NetworkMetrics {
    pub fn sendfile_bytes(&self) -> u64 {
        self.sendfile_bytes.load(Ordering::Relaxed)
    }
    pub fn copied_bytes(&self) -> u64 {
        self.copied_bytes.load(Ordering::Relaxed)
    }
}
