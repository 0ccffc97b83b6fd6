//! Odradek's group coordinator: Kafka 2.8's `GroupCoordinator` and `GroupMetadataManager`.
//!
//! Consumers in a group share a topic's partitions. They cannot agree among themselves, so one
//! broker per group, the leader of the group's `__consumer_offsets` partition
//! ([`GroupCoordinator::partition_for`]), runs the rebalance protocol: members send JoinGroup, the
//! coordinator waits for all of them, picks a protocol and a leader, the leader computes an
//! assignment and sends it in SyncGroup, and the coordinator persists it and hands each member its
//! share. Heartbeats keep members alive; a silent member is removed and the rest rebalance.
//! Committed offsets live in the same partition, so the broker that coordinates a group also owns
//! its offsets, and a new leader rebuilds both by replaying the partition.
//!
//! Code map:
//! * [`records`]: the `__consumer_offsets` key/value schemas.
//! * `group` / `member` / `offset`: pure group state, Kafka's state machine, protocol selection,
//!   offset expiry rules. No I/O.
//! * `manager`: the cache of groups and owned partitions (`GroupMetadataManager`).
//! * `coordinator`: the shared plumbing (validation, timers, appends); `rebalance`: join phases and
//!   session expiry; `loader`: becoming/ceasing to be coordinator; `expiry`: the offset expiry task.
//! * `api/*`: one file per request type.
//!
//! The broker provides storage through [`OffsetsLog`]; this crate does no other I/O.

mod api;
mod config;
mod coordinator;
mod error;
mod expiry;
mod group;
mod loader;
mod manager;
mod member;
mod offset;
mod offsets_log;
mod partitioner;
mod rebalance;
pub mod records;

pub use config::GroupConfig;
pub use coordinator::GroupCoordinator;
pub use error::CoordinatorError;
pub use group::GroupState;
pub use offsets_log::{OffsetsLog, OffsetsRecord};
pub use partitioner::{java_string_hash, kafka_abs, partition_for};
