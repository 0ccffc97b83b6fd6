//! `/cluster/id`: the cluster id, created by the first broker ever to start, Kafka's
//! `ClusterIdZNode`. `{"version":"1","id":"<22 characters>"}`, where `version` is a **string**.

use serde::{Deserialize, Serialize};

use super::json;
use super::ZkDataError;

/// `/cluster`.
pub struct ClusterZNode;

impl ClusterZNode {
    pub const PATH: &'static str = "/cluster";
}

#[derive(Serialize, Deserialize)]
struct ClusterIdJson {
    version: String,
    id: String,
}

/// `/cluster/id`.
pub struct ClusterIdZNode;

impl ClusterIdZNode {
    pub const PATH: &'static str = "/cluster/id";

    /// `ClusterIdZNode.toJson`.
    pub fn encode(id: &str) -> Vec<u8> {
        json::encode(&ClusterIdJson {
            version: "1".to_string(),
            id: id.to_string(),
        })
    }

    /// `ClusterIdZNode.fromJson`.
    pub fn decode(bytes: &[u8]) -> Result<String, ZkDataError> {
        let object = json::parse_object(Self::PATH, bytes)?;
        json::check_version(Self::PATH, &object, 1..=1)?;
        match object.get("id").and_then(|id| id.as_str()) {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(ZkDataError::Invalid {
                path: Self::PATH.to_string(),
                reason: "no \"id\" string".to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_cluster_id() {
        let kafka = r#"{"version":"1","id":"S6Z5uYDMTiGvcyI5nPZgVw"}"#;
        assert_eq!(
            ClusterIdZNode::decode(kafka.as_bytes()).unwrap(),
            "S6Z5uYDMTiGvcyI5nPZgVw"
        );
        let reencoded: Value =
            serde_json::from_slice(&ClusterIdZNode::encode("S6Z5uYDMTiGvcyI5nPZgVw")).unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(kafka).unwrap());
        assert!(
            reencoded["version"].is_string(),
            "the version is the string \"1\""
        );

        let shuffled = r#"{"id":"S6Z5uYDMTiGvcyI5nPZgVw","comment":"x","version":"1"}"#;
        assert_eq!(
            ClusterIdZNode::decode(shuffled.as_bytes()).unwrap(),
            "S6Z5uYDMTiGvcyI5nPZgVw"
        );
    }

    #[test]
    fn errors_name_the_path() {
        let err = ClusterIdZNode::decode(br#"{"version":"2","id":"x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/cluster/id: unsupported version 2 (this broker reads versions 1..=1)"
        );
        let err = ClusterIdZNode::decode(br#"{"version":"1"}"#).unwrap_err();
        assert_eq!(err.to_string(), "/cluster/id: no \"id\" string");
    }
}
