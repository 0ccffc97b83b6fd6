//! `/isr_change_notification/isr_change_<seq>`: before AlterIsr (IBP < 2.7-IV2) a partition
//! leader that changed an ISR in ZooKeeper left one of these so the controller would re-read the
//! partitions' `/state` and send UpdateMetadata. A 2.8 controller still deletes stale ones on
//! failover. `{"version":1,"partitions":[{"topic":"t","partition":0}]}`.

use serde::{Deserialize, Serialize};

use super::ids::TopicPartition;
use super::json;
use super::ZkDataError;

/// `/isr_change_notification`.
pub struct IsrChangeNotificationZNode;

impl IsrChangeNotificationZNode {
    pub const PATH: &'static str = "/isr_change_notification";
}

#[derive(Serialize, Deserialize)]
struct IsrChangeJson {
    version: i32,
    partitions: Vec<TopicPartition>,
}

/// `/isr_change_notification/isr_change_<seq>`.
pub struct IsrChangeNotificationSequenceZNode;

impl IsrChangeNotificationSequenceZNode {
    pub const SEQUENCE_NUMBER_PREFIX: &'static str = "isr_change_";

    /// The path of notification `sequence_number` (`""` gives the path to create sequentially).
    pub fn path(sequence_number: &str) -> String {
        format!(
            "{}/{}{sequence_number}",
            IsrChangeNotificationZNode::PATH,
            Self::SEQUENCE_NUMBER_PREFIX
        )
    }

    pub fn encode(partitions: &[TopicPartition]) -> Vec<u8> {
        json::encode(&IsrChangeJson {
            version: 1,
            partitions: partitions.to_vec(),
        })
    }

    pub fn decode(path: &str, bytes: &[u8]) -> Result<Vec<TopicPartition>, ZkDataError> {
        let (_, json): (_, IsrChangeJson) = json::decode(path, bytes, 1..=1)?;
        Ok(json.partitions)
    }

    /// The sequence number of a notification's path or name.
    pub fn sequence_number(path: &str) -> &str {
        match path.rfind(Self::SEQUENCE_NUMBER_PREFIX) {
            Some(i) => &path[i + Self::SEQUENCE_NUMBER_PREFIX.len()..],
            None => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_isr_change() {
        let path = IsrChangeNotificationSequenceZNode::path("0000000042");
        assert_eq!(path, "/isr_change_notification/isr_change_0000000042");
        assert_eq!(
            IsrChangeNotificationSequenceZNode::sequence_number(&path),
            "0000000042"
        );
        let kafka = r#"{"partitions":[{"partition":0,"topic":"t"},{"topic":"u","partition":3,"x":1}],"version":1}"#;
        let partitions =
            IsrChangeNotificationSequenceZNode::decode(&path, kafka.as_bytes()).unwrap();
        assert_eq!(
            partitions,
            [TopicPartition::new("t", 0), TopicPartition::new("u", 3)]
        );
        let reencoded: Value =
            serde_json::from_slice(&IsrChangeNotificationSequenceZNode::encode(&partitions))
                .unwrap();
        assert_eq!(
            reencoded,
            serde_json::json!({"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":3}]})
        );
        let err =
            IsrChangeNotificationSequenceZNode::decode(&path, br#"{"version":2,"partitions":[]}"#)
                .unwrap_err();
        assert!(err.to_string().starts_with(&path), "{err}");
    }
}
