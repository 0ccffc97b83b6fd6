//! Metadata (key 3), v1–8: answered from the `MetadataCache` (what UpdateMetadata said), as
//! Kafka does. `topics = null` means all topics; an empty list means none.
//!
//! Brokers are answered with their endpoint for the listener the request arrived on; a broker
//! without that listener is left out, and a partition whose live leader lacks it has no leader
//! (-1) and LISTENER_NOT_FOUND (72) from v6, LEADER_NOT_AVAILABLE (5) before (Kafka's
//! `MetadataCache.getPartitionMetadata` with `errorUnavailableListeners`).
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

/// `Errors.LISTENER_NOT_FOUND` (72), only this handler's (so not in `odradek_protocol::error_codes`).
const LISTENER_NOT_FOUND: i16 = 72;

/// `MetadataResponse.NO_LEADER_ID`.
const NO_LEADER_ID: i32 = -1;

/// `topic_authorized_operations` when not requested (Kafka's `Int.MinValue` sentinel).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl KafkaApis {
    pub(super) fn handle_metadata(self: &Arc<Self>, request: MetadataRequest, version: i16, correlation_id: i32, listener: &str) -> PendingResponse {
        let snapshot = self.metadata_cache.snapshot();
        let mut response = MetadataResponse::default();
        response.brokers = snapshot
            .alive_nodes(listener)
            .into_iter()
            .map(|b| {
                let mut broker = MetadataResponseBroker::default();
                broker.node_id = BrokerId(b.id);
                broker.host = StrBytes::from_string(b.host);
                broker.port = b.port;
                broker.rack = b.rack.map(StrBytes::from_string);
                broker
            })
            .collect();
        response.controller_id = BrokerId(snapshot.controller_id);
        response.cluster_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
        let view = ListenerView { listener, error_unavailable_listeners: version >= 6 };
        let allow_auto_create = self.config.auto_create_topics_enable && request.allow_auto_topic_creation;
        let mut to_create = Vec::new();
        response.topics = match request.topics {
            None => snapshot.topics.iter().map(|(name, t)| topic_metadata(&snapshot, &view, name, Some(t))).collect(),
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
                    topic_metadata(&snapshot, &view, &name, info)
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

/// Which listener's endpoints a response describes.
struct ListenerView<'a> {
    listener: &'a str,
    /// Metadata v6+: a leader without the listener is LISTENER_NOT_FOUND, not LEADER_NOT_AVAILABLE.
    error_unavailable_listeners: bool,
}

fn topic_metadata(snapshot: &MetadataSnapshot, view: &ListenerView<'_>, name: &str, info: Option<&TopicInfo>) -> MetadataResponseTopic {
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
            part.error_code = partition_error(snapshot, view, p.leader);
            if part.error_code != codes::NONE {
                part.leader_id = BrokerId(NO_LEADER_ID);
            }
            part
        })
        .collect();
    topic
}

/// NONE when the leader is alive and has the request's listener.
fn partition_error(snapshot: &MetadataSnapshot, view: &ListenerView<'_>, leader: i32) -> i16 {
    match snapshot.brokers.get(&leader) {
        None => codes::LEADER_NOT_AVAILABLE,
        Some(b) if b.node(view.listener).is_some() => codes::NONE,
        Some(_) if view.error_unavailable_listeners => LISTENER_NOT_FOUND,
        Some(_) => codes::LEADER_NOT_AVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metadata_cache::{ListenerEndpoint, LiveBroker, PartitionInfo};

    fn snapshot() -> MetadataSnapshot {
        let ep = |listener: &str, port| ListenerEndpoint { listener: listener.into(), host: "h".into(), port };
        let mut brokers = BTreeMap::new();
        brokers.insert(1, LiveBroker { id: 1, endpoints: vec![ep("INTERNAL", 1), ep("EXTERNAL", 2)], rack: None });
        brokers.insert(2, LiveBroker { id: 2, endpoints: vec![ep("INTERNAL", 3)], rack: None });
        let mut partitions = BTreeMap::new();
        for (index, leader) in [(0, 1), (1, 2), (2, 3)] {
            partitions.insert(index, PartitionInfo { controller_epoch: 1, leader, leader_epoch: 4, isr: vec![leader], zk_version: 0, replicas: vec![leader], offline_replicas: vec![] });
        }
        let mut topics = BTreeMap::new();
        topics.insert("t".to_string(), TopicInfo { id: Default::default(), partitions });
        MetadataSnapshot { controller_id: 1, brokers, topics }
    }

    #[test]
    fn a_leader_without_the_requests_listener_has_no_leader_and_an_error() {
        let s = snapshot();
        let answer = |listener, v6| {
            let t = topic_metadata(&s, &ListenerView { listener, error_unavailable_listeners: v6 }, "t", s.topics.get("t"));
            t.partitions.iter().map(|p| (p.partition_index, p.leader_id.0, p.error_code)).collect::<Vec<_>>()
        };
        assert_eq!(answer("INTERNAL", true), vec![(0, 1, codes::NONE), (1, 2, codes::NONE), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
        assert_eq!(answer("EXTERNAL", true), vec![(0, 1, codes::NONE), (1, -1, LISTENER_NOT_FOUND), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
        assert_eq!(answer("EXTERNAL", false), vec![(0, 1, codes::NONE), (1, -1, codes::LEADER_NOT_AVAILABLE), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
    }
}
