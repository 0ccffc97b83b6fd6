//! `/brokers/topics/<topic>`: a topic's replica assignment and id, Kafka's `TopicZNode`.
//!
//! Kafka 2.8 writes version 3 (IBP ≥ 2.8-IV0):
//!
//! ```json
//! {"version":3,"topic_id":"vLPU1uYDT3qNdVGOsMwTbQ","partitions":{"0":[1,2,3],"1":[2,3,1]},
//!  "adding_replicas":{},"removing_replicas":{}}
//! ```
//!
//! Partition ids are string keys; the first replica of each list is the preferred leader; during
//! a reassignment `partitions` holds the union (targets first) and `adding_replicas` /
//! `removing_replicas` list only the partitions being moved. Version 2 is the same without
//! `topic_id` (written here too when a topic has no id yet); version 1 has only `partitions`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{BrokerId, TopicId, TopicPartition};
use super::json;
use super::ZkDataError;

/// `/brokers/topics`, whose children are the topics.
pub struct TopicsZNode;

impl TopicsZNode {
    pub const PATH: &'static str = "/brokers/topics";
}

/// One partition's replicas, Kafka's `ReplicaAssignment`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaAssignment {
    /// All replicas, the preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// Replicas a reassignment is adding (empty when none is in progress).
    pub adding_replicas: Vec<BrokerId>,
    /// Replicas a reassignment is removing.
    pub removing_replicas: Vec<BrokerId>,
}

impl ReplicaAssignment {
    /// An assignment with no reassignment in progress.
    pub fn new(replicas: Vec<BrokerId>) -> ReplicaAssignment {
        ReplicaAssignment {
            replicas,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    pub fn is_being_reassigned(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }
}

/// A topic's znode content, Kafka's `TopicIdReplicaAssignment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicIdReplicaAssignment {
    pub topic: String,
    /// `None` for topics written before 2.8 (the controller assigns one).
    pub topic_id: Option<TopicId>,
    /// Partition id → replicas.
    pub assignment: BTreeMap<i32, ReplicaAssignment>,
}

impl TopicIdReplicaAssignment {
    pub fn partitions(&self) -> impl Iterator<Item = TopicPartition> + '_ {
        self.assignment
            .keys()
            .map(|p| TopicPartition::new(self.topic.clone(), *p))
    }
}

/// serde_json writes integer map keys as strings and reads them back, so `i32` keys give
/// Kafka's `"0"`-style keys in numeric order.
#[derive(Serialize, Deserialize)]
struct TopicJson {
    version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    topic_id: Option<TopicId>,
    #[serde(default)]
    partitions: BTreeMap<i32, Vec<BrokerId>>,
    #[serde(default)]
    adding_replicas: BTreeMap<i32, Vec<BrokerId>>,
    #[serde(default)]
    removing_replicas: BTreeMap<i32, Vec<BrokerId>>,
}

/// `/brokers/topics/<topic>`.
pub struct TopicZNode;

impl TopicZNode {
    pub fn path(topic: &str) -> String {
        format!("{}/{topic}", TopicsZNode::PATH)
    }

    /// Version 3 with a topic id, version 2 without.
    pub fn encode(
        topic_id: Option<TopicId>,
        assignment: &BTreeMap<i32, ReplicaAssignment>,
    ) -> Vec<u8> {
        let only_moving = |pick: fn(&ReplicaAssignment) -> &Vec<BrokerId>| {
            assignment
                .iter()
                .filter(|(_, a)| !pick(a).is_empty())
                .map(|(p, a)| (*p, pick(a).clone()))
                .collect::<BTreeMap<_, _>>()
        };
        json::encode(&TopicJson {
            version: if topic_id.is_some() { 3 } else { 2 },
            topic_id,
            partitions: assignment
                .iter()
                .map(|(p, a)| (*p, a.replicas.clone()))
                .collect(),
            adding_replicas: only_moving(|a| &a.adding_replicas),
            removing_replicas: only_moving(|a| &a.removing_replicas),
        })
    }

    /// Reads versions 1 to 3; missing `adding_replicas`/`removing_replicas` are empty.
    pub fn decode(topic: &str, bytes: &[u8]) -> Result<TopicIdReplicaAssignment, ZkDataError> {
        let (_, mut json): (_, TopicJson) = json::decode(&Self::path(topic), bytes, 1..=3)?;
        let assignment = json
            .partitions
            .into_iter()
            .map(|(partition, replicas)| {
                let adding_replicas = json.adding_replicas.remove(&partition).unwrap_or_default();
                let removing_replicas = json
                    .removing_replicas
                    .remove(&partition)
                    .unwrap_or_default();
                (
                    partition,
                    ReplicaAssignment {
                        replicas,
                        adding_replicas,
                        removing_replicas,
                    },
                )
            })
            .collect();
        Ok(TopicIdReplicaAssignment {
            topic: topic.to_string(),
            topic_id: json.topic_id,
            assignment,
        })
    }
}

/// `/brokers/topics/<topic>/partitions` (no data).
pub struct TopicPartitionsZNode;

impl TopicPartitionsZNode {
    pub fn path(topic: &str) -> String {
        format!("{}/partitions", TopicZNode::path(topic))
    }
}

/// `/brokers/topics/<topic>/partitions/<partition>` (no data).
pub struct TopicPartitionZNode;

impl TopicPartitionZNode {
    pub fn path(partition: &TopicPartition) -> String {
        format!(
            "{}/{}",
            TopicPartitionsZNode::path(&partition.topic),
            partition.partition
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn ids(ids: &[i32]) -> Vec<BrokerId> {
        ids.iter().copied().map(BrokerId).collect()
    }

    /// Reference §1.2's example, with a concrete id.
    const KAFKA_V3: &str = r#"{"version":3,"topic_id":"vLPU1uYDT3qNdVGOsMwTbQ","partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{}}"#;

    #[test]
    fn decodes_and_re_encodes_kafkas_v3_example() {
        let topic = TopicZNode::decode("t", KAFKA_V3.as_bytes()).unwrap();
        assert_eq!(topic.topic, "t");
        assert_eq!(
            topic.topic_id.unwrap().to_string(),
            "vLPU1uYDT3qNdVGOsMwTbQ"
        );
        assert_eq!(
            topic.assignment[&0],
            ReplicaAssignment::new(ids(&[1, 2, 3]))
        );
        assert_eq!(
            topic.assignment[&1],
            ReplicaAssignment::new(ids(&[2, 3, 1]))
        );
        let reencoded: Value =
            serde_json::from_slice(&TopicZNode::encode(topic.topic_id, &topic.assignment)).unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(KAFKA_V3).unwrap());
        let partitions: Vec<String> = topic.partitions().map(|tp| tp.to_string()).collect();
        assert_eq!(partitions, ["t-0", "t-1"]);
    }

    #[test]
    fn field_order_unknown_fields_and_reassignment() {
        let kafka = json!({
            "removing_replicas": {"0": [3]}, "unknown": {"a": 1}, "adding_replicas": {"0": [4]},
            "partitions": {"10": [1], "2": [2], "0": [4, 1, 2, 3]}, "topic_id": "_____________________w",
            "version": 3,
        });
        let topic = TopicZNode::decode("moving", kafka.to_string().as_bytes()).unwrap();
        let p0 = &topic.assignment[&0];
        assert_eq!(p0.adding_replicas, ids(&[4]));
        assert_eq!(p0.removing_replicas, ids(&[3]));
        assert!(p0.is_being_reassigned());
        assert!(!topic.assignment[&10].is_being_reassigned());
        assert_eq!(
            topic.assignment.keys().copied().collect::<Vec<_>>(),
            [0, 2, 10]
        );

        let mut expected = kafka.clone();
        expected.as_object_mut().unwrap().remove("unknown");
        let reencoded: Value =
            serde_json::from_slice(&TopicZNode::encode(topic.topic_id, &topic.assignment)).unwrap();
        assert_eq!(reencoded, expected);
    }

    #[test]
    fn older_versions_have_no_id_and_no_reassignment_fields() {
        let v1 = r#"{"version":1,"partitions":{"0":[1]}}"#;
        let topic = TopicZNode::decode("old", v1.as_bytes()).unwrap();
        assert_eq!(topic.topic_id, None);
        assert_eq!(topic.assignment[&0], ReplicaAssignment::new(ids(&[1])));

        let v2 =
            r#"{"version":2,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#;
        let topic = TopicZNode::decode("t27", v2.as_bytes()).unwrap();
        assert_eq!(topic.topic_id, None);
        // Without an id the topic is written back as version 2, as 2.8 below IBP 2.8-IV0 does.
        let reencoded: Value =
            serde_json::from_slice(&TopicZNode::encode(None, &topic.assignment)).unwrap();
        assert_eq!(reencoded, serde_json::from_str::<Value>(v2).unwrap());
    }

    #[test]
    fn errors_name_the_path() {
        let err = TopicZNode::decode("t", br#"{"version":4,"partitions":{}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/brokers/topics/t: unsupported version 4 (this broker reads versions 1..=3)"
        );
        let err = TopicZNode::decode("t", br#"{"version":3,"topic_id":"nope","partitions":{}}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/brokers/topics/t: invalid JSON: topic id \"nope\""),
            "{err}"
        );
        let err = TopicZNode::decode("t", br#"{"version":3,"partitions":{"x":[1]}}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/brokers/topics/t: invalid JSON"),
            "{err}"
        );
    }

    #[test]
    fn partition_paths() {
        let tp = TopicPartition::new("t", 3);
        assert_eq!(
            TopicPartitionsZNode::path("t"),
            "/brokers/topics/t/partitions"
        );
        assert_eq!(
            TopicPartitionZNode::path(&tp),
            "/brokers/topics/t/partitions/3"
        );
    }
}
