//! `/latest_producer_id_block`: the last block of producer ids handed to a transaction
//! coordinator, Kafka's `ProducerIdBlockZNode` (`ProducerIdManager` in 2.8). Bounds are inclusive
//! and written as strings: `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`.
//! The znode starts empty (a top-level path); the first block then starts at 0.

use serde::{Deserialize, Serialize};

use super::ids::BrokerId;
use super::json::{self, string_i64};
use super::ZkDataError;

/// A block of producer ids, Kafka's `ProducerIdBlock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    /// The broker that claimed the block.
    pub broker_id: BrokerId,
    pub block_start: i64,
    /// Inclusive.
    pub block_end: i64,
}

impl ProducerIdBlock {
    /// `ProducerIdManager.PidBlockSize`.
    pub const BLOCK_SIZE: i64 = 1000;
}

#[derive(Serialize, Deserialize)]
struct ProducerIdBlockJson {
    version: i64,
    broker: BrokerId,
    #[serde(with = "string_i64")]
    block_start: i64,
    #[serde(with = "string_i64")]
    block_end: i64,
}

/// `/latest_producer_id_block`.
pub struct ProducerIdBlockZNode;

impl ProducerIdBlockZNode {
    pub const PATH: &'static str = "/latest_producer_id_block";

    pub fn encode(block: &ProducerIdBlock) -> Vec<u8> {
        json::encode(&ProducerIdBlockJson {
            version: 1,
            broker: block.broker_id,
            block_start: block.block_start,
            block_end: block.block_end,
        })
    }

    /// `None` for the empty znode no block has been written to yet.
    pub fn decode(bytes: &[u8]) -> Result<Option<ProducerIdBlock>, ZkDataError> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let (_, json): (_, ProducerIdBlockJson) = json::decode(Self::PATH, bytes, 1..=1)?;
        Ok(Some(ProducerIdBlock {
            broker_id: json.broker,
            block_start: json.block_start,
            block_end: json.block_end,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_block() {
        let kafka =
            r#"{"block_end":"1999","broker":1,"version":1,"block_start":"1000","unknown":[]}"#;
        let block = ProducerIdBlockZNode::decode(kafka.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            block,
            ProducerIdBlock {
                broker_id: BrokerId(1),
                block_start: 1000,
                block_end: 1999
            }
        );
        let reencoded: Value =
            serde_json::from_slice(&ProducerIdBlockZNode::encode(&block)).unwrap();
        assert_eq!(
            reencoded,
            serde_json::json!({"version":1,"broker":1,"block_start":"1000","block_end":"1999"})
        );
        assert_eq!(ProducerIdBlockZNode::decode(b"").unwrap(), None);
        let err = ProducerIdBlockZNode::decode(
            br#"{"version":1,"broker":1,"block_start":"x","block_end":"1"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/latest_producer_id_block: invalid JSON"),
            "{err}"
        );
    }
}
