//! `/config`: dynamic configuration, Kafka's `ConfigEntityZNode` family.
//!
//! `/config/<entity type>/<name>` holds `{"version":1,"config":{"retention.ms":"86400000"}}`
//! (every value a string). Every change also leaves a persistent sequential
//! `/config/changes/config_change_<seq>` = `{"version":2,"entity_path":"topics/<t>"}` so that
//! every broker's `DynamicConfigManager` re-reads that entity.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json;
use super::ZkDataError;

/// Kafka's `ConfigType`: the entity types under `/config`.
pub struct ConfigType;

impl ConfigType {
    pub const TOPIC: &'static str = "topics";
    pub const CLIENT: &'static str = "clients";
    pub const USER: &'static str = "users";
    pub const BROKER: &'static str = "brokers";
    pub const IP: &'static str = "ips";
    /// `ConfigType.all`, in Kafka's order.
    pub const ALL: [&'static str; 5] = [
        Self::TOPIC,
        Self::CLIENT,
        Self::USER,
        Self::BROKER,
        Self::IP,
    ];
}

/// Kafka's `ConfigEntityName`: the entity that holds cluster-wide defaults
/// (`/config/brokers/<default>`).
pub struct ConfigEntityName;

impl ConfigEntityName {
    pub const DEFAULT: &'static str = "<default>";
}

/// `/config`.
pub struct ConfigZNode;

impl ConfigZNode {
    pub const PATH: &'static str = "/config";
}

/// `/config/<entity type>`.
pub struct ConfigEntityTypeZNode;

impl ConfigEntityTypeZNode {
    pub fn path(entity_type: &str) -> String {
        format!("{}/{entity_type}", ConfigZNode::PATH)
    }
}

#[derive(Serialize, Deserialize)]
struct ConfigJson {
    version: i32,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

/// `/config/<entity type>/<name>`, e.g. `/config/topics/<topic>`.
pub struct ConfigEntityZNode;

impl ConfigEntityZNode {
    pub fn path(entity_type: &str, entity_name: &str) -> String {
        format!("{}/{entity_name}", ConfigEntityTypeZNode::path(entity_type))
    }

    pub fn encode(config: &BTreeMap<String, String>) -> Vec<u8> {
        json::encode(&ConfigJson {
            version: 1,
            config: config.clone(),
        })
    }

    /// The overrides; empty data (a znode created without config) means none.
    pub fn decode(
        entity_type: &str,
        entity_name: &str,
        bytes: &[u8],
    ) -> Result<BTreeMap<String, String>, ZkDataError> {
        if bytes.is_empty() {
            return Ok(BTreeMap::new());
        }
        let (_, json): (_, ConfigJson) =
            json::decode(&Self::path(entity_type, entity_name), bytes, 1..=1)?;
        Ok(json.config)
    }
}

/// `/config/changes`, whose sequential children announce config changes.
pub struct ConfigEntityChangeNotificationZNode;

impl ConfigEntityChangeNotificationZNode {
    pub const PATH: &'static str = "/config/changes";
}

#[derive(Serialize, Deserialize)]
struct ConfigChangeJson {
    version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_path: Option<String>,
    // Version 1 (before 0.10.1) named the entity in two fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_name: Option<String>,
}

/// `/config/changes/config_change_<seq>`.
pub struct ConfigEntityChangeNotificationSequenceZNode;

impl ConfigEntityChangeNotificationSequenceZNode {
    pub const SEQUENCE_NUMBER_PREFIX: &'static str = "config_change_";
    /// The path to create with a persistent *sequential* create; ZooKeeper appends the number.
    pub const CREATE_PATH: &'static str = "/config/changes/config_change_";

    /// The sequence number of a `/config/changes` child (`config_change_0000000042` → 42), or
    /// `None` for a child that is not a notification.
    pub fn sequence_number(child: &str) -> Option<i64> {
        child.strip_prefix(Self::SEQUENCE_NUMBER_PREFIX)?.parse().ok()
    }

    /// `{"version":2,"entity_path":"topics/<t>"}`.
    pub fn encode(entity_path: &str) -> Vec<u8> {
        json::encode(&ConfigChangeJson {
            version: 2,
            entity_path: Some(entity_path.to_string()),
            entity_type: None,
            entity_name: None,
        })
    }

    /// The changed entity's path (`topics/<t>`, `brokers/<id>`, ...) from a v1 or v2 notification.
    pub fn decode(path: &str, bytes: &[u8]) -> Result<String, ZkDataError> {
        let (version, json): (_, ConfigChangeJson) = json::decode(path, bytes, 1..=2)?;
        let entity_path = match (
            version,
            json.entity_path,
            json.entity_type,
            json.entity_name,
        ) {
            (2, Some(entity_path), _, _) => entity_path,
            (1, _, Some(entity_type), Some(entity_name)) => format!("{entity_type}/{entity_name}"),
            _ => {
                return Err(ZkDataError::Invalid {
                    path: path.to_string(),
                    reason: format!(
                        "version {version} config change notification without its entity"
                    ),
                })
            }
        };
        Ok(entity_path)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_topic_config() {
        let kafka = r#"{"config":{"retention.ms":"86400000","cleanup.policy":"compact"},"version":1,"extra":0}"#;
        let config = ConfigEntityZNode::decode(ConfigType::TOPIC, "t", kafka.as_bytes()).unwrap();
        assert_eq!(config["retention.ms"], "86400000");
        assert_eq!(config["cleanup.policy"], "compact");
        let reencoded: Value = serde_json::from_slice(&ConfigEntityZNode::encode(&config)).unwrap();
        assert_eq!(
            reencoded,
            serde_json::json!({"version":1,"config":{"retention.ms":"86400000","cleanup.policy":"compact"}})
        );
        assert_eq!(
            ConfigEntityZNode::path(ConfigType::TOPIC, "t"),
            "/config/topics/t"
        );
        assert!(ConfigEntityZNode::decode(ConfigType::TOPIC, "t", b"")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn config_values_are_strings() {
        let err = ConfigEntityZNode::decode(
            "topics",
            "t",
            br#"{"version":1,"config":{"retention.ms":5}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/config/topics/t: invalid JSON"),
            "{err}"
        );
        let err =
            ConfigEntityZNode::decode("topics", "t", br#"{"version":2,"config":{}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/config/topics/t: unsupported version 2 (this broker reads versions 1..=1)"
        );
    }

    #[test]
    fn change_notifications() {
        let path = "/config/changes/config_change_0000000003";
        let kafka = r#"{"entity_path":"topics/t","version":2}"#;
        assert_eq!(
            ConfigEntityChangeNotificationSequenceZNode::decode(path, kafka.as_bytes()).unwrap(),
            "topics/t"
        );
        let reencoded: Value = serde_json::from_slice(
            &ConfigEntityChangeNotificationSequenceZNode::encode("topics/t"),
        )
        .unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(kafka).unwrap());

        let v1 = r#"{"version":1,"entity_type":"topics","entity_name":"t"}"#;
        assert_eq!(
            ConfigEntityChangeNotificationSequenceZNode::decode(path, v1.as_bytes()).unwrap(),
            "topics/t"
        );
        assert_eq!(
            ConfigEntityChangeNotificationSequenceZNode::sequence_number("config_change_0000000042"),
            Some(42)
        );
        assert_eq!(ConfigEntityChangeNotificationSequenceZNode::sequence_number("other_1"), None);
        let err = ConfigEntityChangeNotificationSequenceZNode::decode(path, br#"{"version":2}"#)
            .unwrap_err();
        assert!(err.to_string().starts_with(path), "{err}");
    }
}
