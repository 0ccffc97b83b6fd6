//! `/feature`: the cluster's finalized features (KIP-584), Kafka's `FeatureZNode`. A 2.8
//! controller (IBP ≥ 2.7-IV0) writes it enabled with no features on failover:
//! `{"version":1,"status":1,"features":{}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json;
use super::ZkDataError;

/// `FeatureZNodeStatus`: 0 = disabled, 1 = enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureZNodeStatus {
    Disabled,
    Enabled,
}

/// A finalized feature's version range, Kafka's `FinalizedVersionRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedVersionRange {
    pub min_version_level: i16,
    pub max_version_level: i16,
}

#[derive(Serialize, Deserialize)]
struct FeatureJson {
    version: i32,
    status: i32,
    #[serde(default)]
    features: BTreeMap<String, FinalizedVersionRange>,
}

/// `/feature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureZNode {
    pub status: FeatureZNodeStatus,
    pub features: BTreeMap<String, FinalizedVersionRange>,
}

impl FeatureZNode {
    pub const PATH: &'static str = "/feature";

    /// What a 2.8 controller writes: enabled, no finalized features.
    pub fn enabled_without_features() -> FeatureZNode {
        FeatureZNode {
            status: FeatureZNodeStatus::Enabled,
            features: BTreeMap::new(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let status = match self.status {
            FeatureZNodeStatus::Disabled => 0,
            FeatureZNodeStatus::Enabled => 1,
        };
        json::encode(&FeatureJson {
            version: 1,
            status,
            features: self.features.clone(),
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<FeatureZNode, ZkDataError> {
        let (_, json): (_, FeatureJson) = json::decode(Self::PATH, bytes, 1..=1)?;
        let status = match json.status {
            0 => FeatureZNodeStatus::Disabled,
            1 => FeatureZNodeStatus::Enabled,
            other => {
                return Err(ZkDataError::Invalid {
                    path: Self::PATH.to_string(),
                    reason: format!("unknown status {other}"),
                })
            }
        };
        Ok(FeatureZNode {
            status,
            features: json.features,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_feature_znode() {
        let kafka = r#"{"features":{},"status":1,"version":1}"#;
        let node = FeatureZNode::decode(kafka.as_bytes()).unwrap();
        assert_eq!(node, FeatureZNode::enabled_without_features());
        let reencoded: Value = serde_json::from_slice(&node.encode()).unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(kafka).unwrap());

        let with = r#"{"version":1,"status":0,"features":{"f":{"min_version_level":1,"max_version_level":2}}}"#;
        let node = FeatureZNode::decode(with.as_bytes()).unwrap();
        assert_eq!(node.status, FeatureZNodeStatus::Disabled);
        assert_eq!(
            node.features["f"],
            FinalizedVersionRange {
                min_version_level: 1,
                max_version_level: 2
            }
        );
        let err = FeatureZNode::decode(br#"{"version":1,"status":7}"#).unwrap_err();
        assert_eq!(err.to_string(), "/feature: unknown status 7");
    }
}
