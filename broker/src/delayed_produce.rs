//! `DelayedProduce`: an acks=all produce waiting until every partition it wrote is replicated
//! to the ISR (reference §4.4).
//!
//! Each partition that was appended waits for its high watermark to pass the batch's last
//! offset, in the leader epoch the batch was written in. It completes when every partition has
//! an answer: NONE; NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is below `min.insync.replicas`
//! by then; NOT_LEADER_OR_FOLLOWER once this broker stopped leading since that epoch (a waiter
//! woken after leadership moved away and came back must not answer NONE for a batch the log
//! may have truncated). At the deadline the partitions still waiting get REQUEST_TIMED_OUT.

use std::sync::Arc;

use odradek_log::TopicPartition;
use odradek_protocol::error_codes as codes;

use crate::partition::Partition;
use crate::purgatory::DelayedOperation;
use crate::replica_manager::PartitionResponse;

/// One partition of the produce (Kafka's `ProducePartitionStatus`).
pub struct ProducePartitionStatus {
    pub tp: TopicPartition,
    /// The answer so far; its error code is final once `acks_pending` is false.
    pub response: PartitionResponse,
    pub acks_pending: bool,
    /// What the wait is on: the partition, the offset its HW must reach and the epoch the batch
    /// was written in. `None` for a partition answered at once (an error).
    pub wait: Option<AcksWait>,
}

pub struct AcksWait {
    pub partition: Arc<Partition>,
    pub required_offset: i64,
    pub leader_epoch: i32,
}

pub struct DelayedProduce {
    pub statuses: Vec<ProducePartitionStatus>,
}

impl DelayedOperation for DelayedProduce {
    type Result = Vec<(TopicPartition, PartitionResponse)>;

    fn keys(&self) -> Vec<TopicPartition> {
        self.statuses.iter().filter(|s| s.acks_pending).map(|s| s.tp.clone()).collect()
    }

    fn try_complete(&mut self) -> bool {
        for status in self.statuses.iter_mut().filter(|s| s.acks_pending) {
            let Some(wait) = &status.wait else { continue };
            if let Some(code) = wait.partition.check_enough_replicas_reach_offset(wait.required_offset, wait.leader_epoch) {
                status.acks_pending = false;
                status.response.error_code = code;
            }
        }
        self.statuses.iter().all(|s| !s.acks_pending)
    }

    fn on_complete(self) -> Self::Result {
        self.statuses.into_iter().map(|s| (s.tp, s.response)).collect()
    }

    fn on_expiration(mut self) -> Self::Result {
        for status in self.statuses.iter_mut().filter(|s| s.acks_pending) {
            status.response.error_code = codes::REQUEST_TIMED_OUT;
        }
        self.on_complete()
    }
}
