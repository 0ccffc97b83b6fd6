//! The Odradek broker: Kafka 2.8's broker, data plane first.
//!
//! Entry point: [`server::start`] with a [`config::KafkaConfig`]. Requests flow
//! `network::connection` (frames) → [`api::KafkaApis`] (one file per API) →
//! [`replica_manager::ReplicaManager`] / [`partition::Partition`] → `odradek_log::Log`; Fetch
//! answers go back through `network::writer`, which sends record bytes with `sendfile(2)`.
//! With ZooKeeper, topics are created and deleted through [`admin_manager`] (CreateTopics,
//! DeleteTopics, Metadata's [`auto_topic_creation`]), and a stopping broker first asks the
//! controller to move its leadership away ([`controlled_shutdown`]). Followers pull from leaders
//! ([`replica_fetcher`]); leaders track the ISR and high watermark in [`partition::Partition`]
//! and propose ISR changes to the controller ([`alter_isr_manager`]). Topic and broker configs
//! change live through [`dynamic_config`] (DescribeConfigs, AlterConfigs,
//! IncrementalAlterConfigs, and `/config/changes` on every broker).
//! See `docs/ARCHITECTURE.md` for the map and the invariants.

pub mod admin_manager;
pub mod alter_isr_manager;
pub mod api;
pub mod auto_topic_creation;
pub mod config;
pub mod controlled_shutdown;
pub mod delayed_fetch;
pub mod delayed_produce;
pub mod dynamic_config;
pub mod errors;
pub mod metadata_cache;
pub mod network;
pub mod offsets_log;
pub mod partition;
pub mod partition_metadata;
pub mod purgatory;
pub mod replica_fetcher;
pub mod replica_manager;
pub mod server;
pub mod tasks;
pub mod topic_config;
pub mod zk_registration;

pub use config::{ConfigError, KafkaConfig};
pub use server::{start, BrokerError, BrokerHandle};
