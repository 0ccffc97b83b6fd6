//! Metadata (key 3), v1–8: answered from the `MetadataCache` (what UpdateMetadata said), as
//! Kafka does. `topics = null` means all topics; an empty list means none.
//!
//! A requested topic the cache does not know is auto-created (Kafka 2.8's
//! `KafkaApis.getTopicMetadata` with the `AutoTopicCreationManager`) when the broker runs with
//! ZooKeeper, `auto.create.topics.enable` is true (the default) and the request allows it
//! (`allow_auto_topic_creation`, v4+; always allowed before v4): the topic is written to
//! ZooKeeper with the broker's defaults and answered LEADER_NOT_AVAILABLE (5) until the controller
//! has elected its leaders, so clients retry; too few live brokers for
//! `default.replication.factor` answers INVALID_REPLICATION_FACTOR (38). Any broker does this,
//! not only the controller. Otherwise (or without ZooKeeper) an unknown topic is
//! UNKNOWN_TOPIC_OR_PARTITION (3) and an invalid name INVALID_TOPIC_EXCEPTION (17).

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::{respond, respond_later, KafkaApis};
use crate::admin_manager::is_valid_topic_name;
use crate::metadata_cache::{MetadataSnapshot, TopicInfo};
use crate::network::PendingResponse;

/// `topic_authorized_operations` when not requested (Kafka's `Int.MinValue` sentinel).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl KafkaApis {
    pub(super) fn handle_metadata(self: &Arc<Self>, request: MetadataRequest, version: i16, correlation_id: i32) -> PendingResponse {
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
        let allow_auto_create = self.config.auto_create_topics_enable && request.allow_auto_topic_creation;
        let mut to_create = Vec::new();
        response.topics = match request.topics {
            None => snapshot.topics.iter().map(|(name, t)| topic_metadata(&snapshot, name, Some(t))).collect(),
            Some(requested) => requested
                .into_iter()
                .filter_map(|t| t.name)
                .map(|name| {
                    let name = name.0.as_str().to_string();
                    let info = snapshot.topics.get(&name);
                    if info.is_none() && allow_auto_create && self.auto_topic_creation.is_some() {
                        to_create.push(name.clone());
                    } else if !is_valid_topic_name(&name) {
                        return error_topic(name, codes::INVALID_TOPIC_EXCEPTION);
                    }
                    topic_metadata(&snapshot, &name, info)
                })
                .collect(),
        };
        if to_create.is_empty() {
            return PendingResponse::Ready(respond(ApiKey::Metadata, version, correlation_id, &ResponseKind::Metadata(response)));
        }
        let apis = Arc::clone(self);
        respond_later(ApiKey::Metadata, version, correlation_id, async move {
            if let Some(auto) = &apis.auto_topic_creation {
                let answers = auto.create_topics(&to_create).await;
                for topic in &mut response.topics {
                    let answer = topic.name.as_ref().and_then(|n| answers.get(n.0.as_str()));
                    if let Some(&code) = answer {
                        topic.error_code = code;
                    }
                }
            }
            ResponseKind::Metadata(response)
        })
    }
}

fn error_topic(name: String, error_code: i16) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.error_code = error_code;
    t.is_internal = name.starts_with("__");
    t.name = Some(TopicName(StrBytes::from_string(name)));
    t.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
    t
}

fn topic_metadata(snapshot: &MetadataSnapshot, name: &str, info: Option<&TopicInfo>) -> MetadataResponseTopic {
    let Some(info) = info else {
        return error_topic(name.to_string(), codes::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let mut topic = MetadataResponseTopic::default();
    topic.name = Some(TopicName(StrBytes::from_string(name.to_string())));
    topic.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
    topic.is_internal = name.starts_with("__");
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
