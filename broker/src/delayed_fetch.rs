//! `DelayedFetch`: a fetch waiting for `min_bytes` (reference §4.1).
//!
//! A fetch that found fewer than `min_bytes` and no error waits until an append (or, for
//! consumers, a high-watermark move) on one of its partitions brings enough, a partition fails
//! (leader change, fenced epoch) or a follower's log is found diverging (a truncation of the
//! leader's log meanwhile, Kafka's "Case H"), or `max_wait_ms` passes; then it reads again and answers with
//! what is there. The re-reads do not update a follower's fetch state: that happened once, when
//! the request arrived (Kafka's `DelayedFetch.onComplete` reads without it too).

use std::sync::Arc;

use odradek_log::TopicPartition;

use crate::purgatory::DelayedOperation;
use crate::replica_manager::{FetchParams, FetchPartitionRequest, LogReadResults, ReplicaManager};

pub struct DelayedFetch {
    pub replica_manager: Arc<ReplicaManager>,
    pub params: FetchParams,
    pub partitions: Vec<FetchPartitionRequest>,
    /// The read that completed it.
    pub completed: Option<LogReadResults>,
}

impl DelayedOperation for DelayedFetch {
    type Result = LogReadResults;

    fn keys(&self) -> Vec<TopicPartition> {
        self.partitions.iter().map(|p| p.tp.clone()).collect()
    }

    fn try_complete(&mut self) -> bool {
        let read = self.replica_manager.read_from_local_log(&self.params, &self.partitions);
        if read.complete(self.params.min_bytes) {
            self.completed = Some(read);
            return true;
        }
        false
    }

    fn on_complete(self) -> LogReadResults {
        match self.completed {
            Some(read) => read,
            None => self.replica_manager.read_from_local_log(&self.params, &self.partitions),
        }
    }

    fn on_expiration(self) -> LogReadResults {
        self.on_complete()
    }
}
