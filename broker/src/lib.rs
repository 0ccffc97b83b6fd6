//! The Odradek broker: Kafka 2.8's broker, data plane first.
//!
//! Entry point: [`server::start`] with a [`config::KafkaConfig`]. Requests flow
//! `network::connection` (frames) → [`api::KafkaApis`] (one file per API) →
//! [`replica_manager::ReplicaManager`] / [`partition::Partition`] → `odradek_log::Log`; Fetch
//! answers go back through `network::writer`, which sends record bytes with `sendfile(2)`.
//! See `docs/ARCHITECTURE.md` for the map and the invariants.

pub mod api;
pub mod config;
pub mod errors;
pub mod metadata_cache;
pub mod network;
pub mod partition;
pub mod purgatory;
pub mod replica_manager;
pub mod server;
pub mod tasks;
pub mod zk_registration;

pub use config::{ConfigError, KafkaConfig};
pub use server::{start, BrokerError, BrokerHandle};
