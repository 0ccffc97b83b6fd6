//! Kafka's controller, as it ran inside every 2.8 broker: the broker that wins `/controller` in
//! ZooKeeper decides partition leadership and tells every broker with LeaderAndIsr,
//! UpdateMetadata and StopReplica.
//!
//! This crate starts with the controller's pure decisions, functions over plain data with no I/O
//! (raft-rs style), so each rule is table-tested against Kafka's own expectations:
//!
//! - [`assignment`]: where a new topic's replicas go (`AdminUtils.assignReplicasToBrokers`).
//! - [`election`]: who leads a partition after a failure, a reassignment, a preferred-leader
//!   election or a controlled shutdown (`PartitionLeaderElectionAlgorithms`).
//! - [`state`]: the partition and replica state machines' legal transitions.
//! - [`decisions`]: new-partition leadership and `onBrokerFailure` as lists of state changes.
//! - [`request_batch`]: those changes as per-broker LeaderAndIsr v5 / UpdateMetadata v7 requests.
//!
//! The event loop, `ControllerContext`, the ZooKeeper side and the per-broker request queues
//! build on these (reference `../shared/reference/kafka-classic.md` §2).

pub mod assignment;
pub mod decisions;
pub mod election;
pub mod request_batch;
pub mod state;

pub use assignment::{assign_replicas_to_brokers, AssignmentError, AssignmentStart};
pub use election::{ElectionResult, LeaderAndIsr};
pub use state::{PartitionState, ReplicaState};
