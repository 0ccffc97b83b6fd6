//! `/controller` and `/controller_epoch`, the two znodes of controller election (reference §2.1).
//!
//! `/controller` is ephemeral, `{"version":1,"brokerid":<id>,"timestamp":"<ms>"}`: whoever
//! created it is the controller for as long as its session lives. `/controller_epoch` is
//! persistent plain decimal text (not JSON), one more on every election; its zkVersion fences
//! every write the controller makes.

use serde::{Deserialize, Serialize};

use super::ids::{BrokerId, ControllerEpoch};
use super::json::{self, string_i64};
use super::ZkDataError;

/// What `/controller` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerInfo {
    pub broker_id: BrokerId,
    /// When the controller was elected (ms since the epoch); `0` if the znode had none.
    pub timestamp_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct ControllerJson {
    version: i32,
    brokerid: BrokerId,
    #[serde(default, with = "string_i64")]
    timestamp: i64,
}

/// `/controller`.
pub struct ControllerZNode;

impl ControllerZNode {
    pub const PATH: &'static str = "/controller";

    pub fn encode(info: &ControllerInfo) -> Vec<u8> {
        json::encode(&ControllerJson {
            version: 1,
            brokerid: info.broker_id,
            timestamp: info.timestamp_ms,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<ControllerInfo, ZkDataError> {
        let (_, json): (_, ControllerJson) = json::decode(Self::PATH, bytes, 1..=1)?;
        Ok(ControllerInfo {
            broker_id: json.brokerid,
            timestamp_ms: json.timestamp,
        })
    }
}

/// `/controller_epoch`.
pub struct ControllerEpochZNode;

impl ControllerEpochZNode {
    pub const PATH: &'static str = "/controller_epoch";

    /// `epoch.toString`: plain decimal text.
    pub fn encode(epoch: ControllerEpoch) -> Vec<u8> {
        epoch.0.to_string().into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<ControllerEpoch, ZkDataError> {
        let text = String::from_utf8_lossy(bytes);
        text.trim()
            .parse::<i32>()
            .map(ControllerEpoch)
            .map_err(|_| ZkDataError::Invalid {
                path: Self::PATH.to_string(),
                reason: format!("{text:?} is not a decimal controller epoch"),
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_controller_znode() {
        let kafka = r#"{"version":1,"brokerid":2,"timestamp":"1690000000123"}"#;
        let info = ControllerZNode::decode(kafka.as_bytes()).unwrap();
        assert_eq!(
            info,
            ControllerInfo {
                broker_id: BrokerId(2),
                timestamp_ms: 1_690_000_000_123
            }
        );
        let reencoded: Value = serde_json::from_slice(&ControllerZNode::encode(&info)).unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(kafka).unwrap());
        assert!(reencoded["timestamp"].is_string());

        let shuffled = r#"{"timestamp":"1690000000123","extra":true,"brokerid":2,"version":1}"#;
        assert_eq!(ControllerZNode::decode(shuffled.as_bytes()).unwrap(), info);
    }

    #[test]
    fn controller_errors_name_the_path() {
        let err = ControllerZNode::decode(br#"{"version":2,"brokerid":1}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/controller: unsupported version 2 (this broker reads versions 1..=1)"
        );
        let err = ControllerZNode::decode(br#"{"version":1}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/controller: invalid JSON: missing field `brokerid`"),
            "{err}"
        );
    }

    #[test]
    fn controller_epoch_is_plain_decimal_text() {
        assert_eq!(ControllerEpochZNode::encode(ControllerEpoch(7)), b"7");
        assert_eq!(
            ControllerEpochZNode::decode(b"7").unwrap(),
            ControllerEpoch(7)
        );
        assert_eq!(
            ControllerEpochZNode::decode(b"12\n").unwrap(),
            ControllerEpoch(12)
        );
        let err = ControllerEpochZNode::decode(b"{\"epoch\":1}").unwrap_err();
        assert!(err.to_string().starts_with("/controller_epoch: "), "{err}");
    }
}
