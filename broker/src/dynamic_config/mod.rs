//! Dynamic configuration (reference §5): topic and broker configs that change while the broker
//! runs, Kafka's `DynamicConfigManager`, `ConfigHandler`s, `DynamicBrokerConfig` and the config
//! half of `ZkAdminManager`.
//!
//! ```text
//!  AlterConfigs / IncrementalAlterConfigs (any broker)
//!      admin::ConfigAdmin: validate → /config/<type>/<name> → /config/changes/config_change_N
//!                                                                  │ (watch, every broker)
//!  manager::DynamicConfigManager ◀─────────────────────────────────┘ re-reads the entity node
//!      topics/<t>        → topic_config_handler::TopicConfigHandler → Partition::apply_topic_config
//!      brokers/<default>, brokers/<own id> → broker_configs::DynamicBrokerConfig
//!                          → TopicConfigHandler re-applies every partition over the new defaults
//! ```
//!
//! A new partition reads its topic's node through the same handler (retried until it
//! succeeds), and every application is ordered by the node's mzxid under one lock, so a slow
//! first read never undoes a later change.

mod admin;
mod broker_configs;
mod describe;
mod incremental;
mod manager;
mod notification;
mod topic_config_handler;

pub use admin::{ConfigAdmin, ConfigResource};
pub use broker_configs::DynamicBrokerConfig;
pub use describe::{ConfigEntry, ConfigSynonym};
pub use incremental::{AlterConfigOp, OpType};
pub use manager::{load_dynamic_broker_configs, DynamicConfigManager};
pub use topic_config_handler::TopicConfigHandler;
