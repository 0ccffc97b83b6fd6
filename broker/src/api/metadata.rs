//! Metadata (key 3), v1–8: answered purely from the `MetadataCache` (what UpdateMetadata said),
//! as Kafka does. `topics = null` means all topics; an empty list means none. Without a
//! controller in this release there is no auto-creation: an unknown topic is
//! UNKNOWN_TOPIC_OR_PARTITION, an invalid name INVALID_TOPIC_EXCEPTION.

use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::KafkaApis;
use crate::metadata_cache::{MetadataSnapshot, TopicInfo};

/// `topic_authorized_operations` when not requested (Kafka's `Int.MinValue` sentinel).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl KafkaApis {
    pub(super) fn handle_metadata(&self, request: MetadataRequest, _version: i16) -> ResponseKind {
        let snapshot = self.metadata_cache.snapshot();
        let mut response = MetadataResponse::default();
        response.brokers = snapshot
            .brokers
            .values()
            .map(|b| {
                let mut broker = MetadataResponseBroker::default();
                broker.node_id = BrokerId(b.id);
                broker.host = StrBytes::from_string(b.host.clone());
                broker.port = b.port;
                broker.rack = b.rack.clone().map(StrBytes::from_string);
                broker
            })
            .collect();
        response.controller_id = BrokerId(snapshot.controller_id);
        response.cluster_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
        response.topics = match request.topics {
            None => snapshot.topics.iter().map(|(name, t)| topic_metadata(&snapshot, name, Some(t))).collect(),
            Some(requested) => requested
                .into_iter()
                .filter_map(|t| t.name)
                .map(|name| {
                    let name = name.0.as_str().to_string();
                    if !is_valid_topic_name(&name) {
                        let mut t = MetadataResponseTopic::default();
                        t.error_code = codes::INVALID_TOPIC_EXCEPTION;
                        t.name = Some(TopicName(StrBytes::from_string(name)));
                        t.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
                        return t;
                    }
                    let info = snapshot.topics.get(&name);
                    topic_metadata(&snapshot, &name, info)
                })
                .collect(),
        };
        ResponseKind::Metadata(response)
    }
}

fn topic_metadata(snapshot: &MetadataSnapshot, name: &str, info: Option<&TopicInfo>) -> MetadataResponseTopic {
    let mut topic = MetadataResponseTopic::default();
    topic.name = Some(TopicName(StrBytes::from_string(name.to_string())));
    topic.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
    topic.is_internal = name.starts_with("__");
    let Some(info) = info else {
        topic.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
        return topic;
    };
    topic.topic_id = info.id;
    topic.partitions = info
        .partitions
        .iter()
        .map(|(&index, p)| {
            let mut part = MetadataResponsePartition::default();
            part.partition_index = index;
            part.leader_id = BrokerId(p.leader);
            part.leader_epoch = p.leader_epoch;
            part.replica_nodes = p.replicas.iter().copied().map(BrokerId).collect();
            part.isr_nodes = p.isr.iter().copied().map(BrokerId).collect();
            part.offline_replicas = p.offline_replicas.iter().copied().map(BrokerId).collect();
            // Kafka 2.8 reports REPLICA_NOT_AVAILABLE only to Metadata v0, which is not served.
            part.error_code = if snapshot.brokers.contains_key(&p.leader) { codes::NONE } else { codes::LEADER_NOT_AVAILABLE };
            part
        })
        .collect();
    topic
}

/// Kafka's topic name rule: 1–249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn is_valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::is_valid_topic_name;

    #[test]
    fn topic_names() {
        assert!(is_valid_topic_name("orders.v1_x-2"));
        for bad in ["", ".", "..", "a b", "ünï", &"x".repeat(250)] {
            assert!(!is_valid_topic_name(bad), "{bad}");
        }
    }
}
