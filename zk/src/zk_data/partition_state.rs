//! `/brokers/topics/<topic>/partitions/<partition>/state`: a partition's leader and ISR, Kafka's
//! `TopicPartitionStateZNode`.
//!
//! ```json
//! {"version":1,"leader":1,"leader_epoch":4,"controller_epoch":2,"isr":[1,2,3]}
//! ```
//!
//! The znode's zkVersion is the partition's "ISR version" (`ZkVersion` / `PartitionEpoch` in
//! LeaderAndIsr and AlterIsr): every write is conditional on it, so it is returned beside the
//! decoded state rather than stored in it.

use serde::{Deserialize, Serialize};

use super::ids::{BrokerId, ControllerEpoch, LeaderEpoch, TopicPartition};
use super::json;
use super::topic::TopicPartitionZNode;
use super::ZkDataError;

/// What a partition's `/state` znode holds, Kafka's `LeaderIsrAndControllerEpoch` (its
/// `LeaderAndIsr` flattened in, without the zkVersion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderIsrAndControllerEpoch {
    /// [`BrokerId::NO_LEADER`] (`-1`) when the partition is offline.
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    /// The epoch of the controller that wrote this state.
    pub controller_epoch: ControllerEpoch,
}

#[derive(Serialize, Deserialize)]
struct StateJson {
    version: i32,
    leader: BrokerId,
    leader_epoch: LeaderEpoch,
    controller_epoch: ControllerEpoch,
    isr: Vec<BrokerId>,
}

/// `/brokers/topics/<topic>/partitions/<partition>/state`.
pub struct TopicPartitionStateZNode;

impl TopicPartitionStateZNode {
    pub fn path(partition: &TopicPartition) -> String {
        format!("{}/state", TopicPartitionZNode::path(partition))
    }

    pub fn encode(state: &LeaderIsrAndControllerEpoch) -> Vec<u8> {
        json::encode(&StateJson {
            version: 1,
            leader: state.leader,
            leader_epoch: state.leader_epoch,
            controller_epoch: state.controller_epoch,
            isr: state.isr.clone(),
        })
    }

    pub fn decode(
        partition: &TopicPartition,
        bytes: &[u8],
    ) -> Result<LeaderIsrAndControllerEpoch, ZkDataError> {
        let (_, json): (_, StateJson) = json::decode(&Self::path(partition), bytes, 1..=1)?;
        Ok(LeaderIsrAndControllerEpoch {
            leader: json.leader,
            leader_epoch: json.leader_epoch,
            isr: json.isr,
            controller_epoch: json.controller_epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn decodes_and_re_encodes_kafkas_state() {
        let tp = TopicPartition::new("t", 0);
        let kafka = r#"{"controller_epoch":2,"leader":1,"version":1,"leader_epoch":4,"isr":[1,2,3],"x":null}"#;
        let state = TopicPartitionStateZNode::decode(&tp, kafka.as_bytes()).unwrap();
        assert_eq!(
            state,
            LeaderIsrAndControllerEpoch {
                leader: BrokerId(1),
                leader_epoch: LeaderEpoch(4),
                isr: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
                controller_epoch: ControllerEpoch(2),
            }
        );
        let reencoded: Value =
            serde_json::from_slice(&TopicPartitionStateZNode::encode(&state)).unwrap();
        let mut expected: Value = serde_json::from_str(kafka).unwrap();
        expected.as_object_mut().unwrap().remove("x");
        assert_eq!(reencoded, expected);
        assert_eq!(
            String::from_utf8(TopicPartitionStateZNode::encode(&state)).unwrap(),
            r#"{"version":1,"leader":1,"leader_epoch":4,"controller_epoch":2,"isr":[1,2,3]}"#
        );
    }

    #[test]
    fn errors_name_the_path() {
        let tp = TopicPartition::new("t", 7);
        assert_eq!(
            TopicPartitionStateZNode::path(&tp),
            "/brokers/topics/t/partitions/7/state"
        );
        let err =
            TopicPartitionStateZNode::decode(&tp, br#"{"version":1,"leader":1}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/brokers/topics/t/partitions/7/state: invalid JSON: missing field"),
            "{err}"
        );
        let err = TopicPartitionStateZNode::decode(&tp, br#"{"version":2}"#).unwrap_err();
        assert!(err.to_string().contains("unsupported version 2"), "{err}");
    }
}
