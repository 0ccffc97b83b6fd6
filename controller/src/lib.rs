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
//! At the edge, the I/O:
//!
//! - [`kafka_controller`]: [`KafkaController`], the event loop every broker runs: election,
//!   failover, broker changes, resignation on session expiry or when another broker wins.
//! - [`channel_manager`]: one request queue and sending task per live broker.
//!
//! - `active`: what only the active controller does: failover, broker failure and startup,
//!   topic creation and deletion, controlled shutdown, around the [`context::ControllerContext`]
//!   (reference `../shared/reference/kafka-classic.md` §2).

mod active;
pub mod assignment;
pub mod channel_manager;
pub mod context;
pub mod decisions;
pub mod election;
pub mod kafka_controller;
pub mod request_batch;
pub mod state;

pub use assignment::{assign_replicas_to_brokers, AssignmentError, AssignmentStart};
pub use election::{ElectionResult, LeaderAndIsr};
pub use state::{PartitionState, ReplicaState};
pub use kafka_controller::{AlterIsrItem, AlterIsrOutcome, ControllerConfig, ControllerEvent, ControllerHandle, KafkaController};
