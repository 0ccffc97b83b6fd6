//! The config side of Kafka's `ZkAdminManager`: `describeConfigs`, `alterConfigs` and
//! `incrementalAlterConfigs` for TOPIC (2) and BROKER (4) resources (reference §5.4–5.5).
//!
//! Checks run in Kafka's order (topic known, names, values) and nothing is written unless all
//! pass; `validate_only` runs every check and writes nothing. A write is the entity's whole
//! override set (`/config/<type>/<name>`) followed by a `/config/changes` notification; no one
//! waits for the brokers to apply it.

use std::collections::BTreeMap;
use std::sync::Arc;

use odradek_zk::zk_data::{ConfigEntityName, ConfigType};
use odradek_zk::KafkaZkClient;
use tracing::info;

use super::broker_configs::{broker_config_def, validate_layer, Check, DynamicBrokerConfig};
use super::describe::{describe_broker, describe_topic, filter_keys, ConfigEntry};
use super::incremental::{apply_ops, check_ops, AlterConfigOp, ConfigKeys};
use crate::admin_manager::validate_topic_name;
use crate::errors::ConfigAdminError;
use crate::metadata_cache::MetadataCache;
use crate::topic_config::{self, TopicConfigError};

/// `ConfigResource.Type` ids.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// A resource of a config request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    Topic(String),
    /// A broker id, or "" for the cluster-wide default.
    Broker(String),
}

impl ConfigResource {
    /// The resource; other types (BROKER_LOGGER, unknown ids) are refused with Kafka's message.
    pub fn parse(resource_type: i8, name: &str, api: &str) -> Result<ConfigResource, ConfigAdminError> {
        match resource_type {
            RESOURCE_TOPIC => Ok(ConfigResource::Topic(name.to_string())),
            RESOURCE_BROKER => Ok(ConfigResource::Broker(name.to_string())),
            other => Err(ConfigAdminError::InvalidRequest(format!("{api} is only supported for topics and brokers, but resource type is {}", type_name(other)))),
        }
    }

    /// `ConfigResource.toString`, as Kafka's messages print it.
    pub fn display(&self) -> String {
        match self {
            ConfigResource::Topic(n) => format!("ConfigResource(type=TOPIC, name='{n}')"),
            ConfigResource::Broker(n) => format!("ConfigResource(type=BROKER, name='{n}')"),
        }
    }
}

fn type_name(id: i8) -> String {
    match id {
        8 => "BROKER_LOGGER".to_string(),
        _ => "UNKNOWN".to_string(),
    }
}

pub struct ConfigAdmin {
    zk: KafkaZkClient,
    broker_config: Arc<DynamicBrokerConfig>,
    metadata_cache: Arc<MetadataCache>,
}

impl ConfigAdmin {
    pub fn new(zk: KafkaZkClient, broker_config: Arc<DynamicBrokerConfig>, metadata_cache: Arc<MetadataCache>) -> ConfigAdmin {
        ConfigAdmin { zk, broker_config, metadata_cache }
    }

    /// DescribeConfigs for one resource; `keys` null or empty = every config.
    pub async fn describe(&self, resource: &ConfigResource, keys: Option<&[String]>) -> Result<Vec<ConfigEntry>, ConfigAdminError> {
        let entries = match resource {
            ConfigResource::Topic(topic) => {
                validate_topic_name(topic).map_err(|e| ConfigAdminError::InvalidTopic(e.to_string()))?;
                self.check_topic_known(topic)?;
                let overrides = self.zk.get_entity_configs(ConfigType::TOPIC, topic).await?;
                describe_topic(&overrides, &self.broker_config.layers())
            }
            ConfigResource::Broker(name) if name.is_empty() => describe_broker(false, &self.broker_config.layers()),
            ConfigResource::Broker(name) => {
                let id = self.broker_id_of(name)?;
                if id != self.broker_config.broker_id() {
                    return Err(ConfigAdminError::InvalidRequest(format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        self.broker_config.broker_id()
                    )));
                }
                describe_broker(true, &self.broker_config.layers())
            }
        };
        Ok(filter_keys(entries, keys))
    }

    /// A new topic's configs with `overrides`, as CreateTopics v5+ answers them (Kafka's
    /// `createTopicConfigEntry` without synonyms): the same entries DescribeConfigs lists.
    pub fn new_topic_configs(&self, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
        describe_topic(overrides, &self.broker_config.layers())
    }

    /// AlterConfigs: `entries` become the entity's complete override set.
    pub async fn alter(&self, resource: &ConfigResource, entries: &[(String, Option<String>)], validate_only: bool) -> Result<(), ConfigAdminError> {
        let nulls: Vec<&str> = entries.iter().filter(|(_, v)| v.is_none()).map(|(n, _)| n.as_str()).collect();
        if !nulls.is_empty() {
            return Err(ConfigAdminError::InvalidRequest(format!("Null value not supported for : {}", nulls.join(","))));
        }
        let configs: BTreeMap<String, String> = entries.iter().map(|(n, v)| (n.clone(), v.clone().unwrap_or_default())).collect();
        match resource {
            ConfigResource::Topic(topic) => self.alter_topic(resource, topic, configs, validate_only).await,
            ConfigResource::Broker(name) => {
                let entity = self.broker_entity(name)?;
                self.alter_broker(resource, &entity, configs, validate_only).await
            }
        }
    }

    /// IncrementalAlterConfigs: the operations over the entity's current overrides.
    pub async fn incremental_alter(&self, resource: &ConfigResource, ops: &[AlterConfigOp], validate_only: bool) -> Result<(), ConfigAdminError> {
        check_ops(ops)?;
        match resource {
            ConfigResource::Topic(topic) => {
                let mut configs = self.zk.get_entity_configs(ConfigType::TOPIC, topic).await?;
                apply_ops(&mut configs, ops, &TopicKeys)?;
                self.alter_topic(resource, topic, configs, validate_only).await
            }
            ConfigResource::Broker(name) => {
                let entity = self.broker_entity(name)?;
                let mut configs = self.zk.get_entity_configs(ConfigType::BROKER, &entity).await?;
                apply_ops(&mut configs, ops, &BrokerKeys)?;
                self.alter_broker(resource, &entity, configs, validate_only).await
            }
        }
    }

    async fn alter_topic(&self, resource: &ConfigResource, topic: &str, configs: BTreeMap<String, String>, validate_only: bool) -> Result<(), ConfigAdminError> {
        self.check_topic_known(topic)?;
        topic_config::validate(&configs).map_err(|e| match e {
            TopicConfigError::UnknownName(_) => ConfigAdminError::InvalidConfig(e.to_string()),
            TopicConfigError::InvalidValue(m) => invalid_config_value(resource, &m),
        })?;
        if !validate_only {
            info!(topic, ?configs, "updating topic with new configuration");
            self.zk.change_configs(ConfigType::TOPIC, topic, &configs).await?;
        }
        Ok(())
    }

    async fn alter_broker(&self, resource: &ConfigResource, entity: &str, configs: BTreeMap<String, String>, validate_only: bool) -> Result<(), ConfigAdminError> {
        validate_layer(&self.broker_config.layers().static_props, &configs).map_err(|m| invalid_config_value(resource, &m))?;
        if !validate_only {
            info!(broker = entity, ?configs, "updating broker with new configuration");
            self.zk.change_configs(ConfigType::BROKER, entity, &configs).await?;
        }
        Ok(())
    }

    fn check_topic_known(&self, topic: &str) -> Result<(), ConfigAdminError> {
        if self.metadata_cache.snapshot().topics.contains_key(topic) {
            Ok(())
        } else {
            Err(ConfigAdminError::UnknownTopic(format!("The topic '{topic}' does not exist.")))
        }
    }

    /// `getBrokerId`: "" is the cluster default, else it must be this broker's id.
    fn broker_entity(&self, name: &str) -> Result<String, ConfigAdminError> {
        if name.is_empty() {
            return Ok(ConfigEntityName::DEFAULT.to_string());
        }
        let id = self.broker_id_of(name)?;
        if id != self.broker_config.broker_id() {
            return Err(ConfigAdminError::InvalidRequest(format!("Unexpected broker id, expected {}, but received {name}", self.broker_config.broker_id())));
        }
        Ok(id.to_string())
    }

    fn broker_id_of(&self, name: &str) -> Result<i32, ConfigAdminError> {
        name.parse().map_err(|_| ConfigAdminError::InvalidRequest(format!("Broker id must be an integer, but it is: {name}")))
    }
}

/// A `ConfigException` becomes INVALID_REQUEST naming the resource.
fn invalid_config_value(resource: &ConfigResource, message: &str) -> ConfigAdminError {
    ConfigAdminError::InvalidRequest(format!("Invalid config value for resource {}: {message}", resource.display()))
}

struct TopicKeys;

impl ConfigKeys for TopicKeys {
    fn is_list(&self, name: &str) -> Option<bool> {
        topic_config::is_list_config(name)
    }
    fn default_list(&self, name: &str) -> Option<String> {
        (name == "cleanup.policy").then(|| "delete".to_string())
    }
}

struct BrokerKeys;

impl ConfigKeys for BrokerKeys {
    fn is_list(&self, name: &str) -> Option<bool> {
        broker_config_def(name).map(|d| match d.check {
            Check::AsTopic(topic) => topic_config::is_list_config(topic).unwrap_or(false),
            _ => matches!(d.name, "metric.reporters" | "max.connections.per.ip.overrides" | "listeners" | "advertised.listeners" | "log.dirs"),
        })
    }
    fn default_list(&self, name: &str) -> Option<String> {
        broker_config_def(name).and_then(|d| d.default).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_and_their_names_in_messages() {
        assert_eq!(ConfigResource::parse(2, "t", "AlterConfigs"), Ok(ConfigResource::Topic("t".into())));
        assert_eq!(ConfigResource::parse(4, "", "AlterConfigs"), Ok(ConfigResource::Broker(String::new())));
        assert_eq!(
            ConfigResource::parse(8, "1", "AlterConfigs"),
            Err(ConfigAdminError::InvalidRequest("AlterConfigs is only supported for topics and brokers, but resource type is BROKER_LOGGER".into()))
        );
        let message = invalid_config_value(&ConfigResource::Topic("orders".into()), "Invalid value x for configuration retention.ms: Not a number of type LONG");
        assert_eq!(
            message.to_string(),
            "Invalid config value for resource ConfigResource(type=TOPIC, name='orders'): Invalid value x for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(message.code(), odradek_protocol::error_codes::INVALID_REQUEST);
    }
}
