//! Metadata (key 3), v0–11: answered from the `MetadataCache` (what UpdateMetadata said), as
//! Kafka does. `topics = null` means all topics; an empty list means none, except in v0, which
//! has no null and where an empty list means all (`MetadataRequest.isAllTopics`).
//!
//! v2+ carry the cluster id, the one this broker read or created in `/cluster/id` at startup
//! (`KafkaServer.getOrGenerateClusterId`). v9+ are flexible. v10+ carry each topic's id (KIP-516),
//! the id UpdateMetadata v7 delivered, or the zero id for a topic without one: clients such as
//! librdkafka compare it across responses to tell a deleted and recreated topic from the old one.
//! v10 and v11 take topics by name only, as in Kafka 2.8 (`handleTopicMetadataRequest`): a null
//! name or a non-zero topic id is an invalid request, and every topic is answered
//! INVALID_REQUEST (42) without brokers, cluster id or controller (`MetadataRequest.getErrorResponse`).
//! v11 drops `cluster_authorized_operations`; authorized operations (v8+) are never computed here
//! (there is no authorizer), so both fields keep Kafka's "not requested" sentinel.
//!
//! Brokers are answered with their endpoint for the listener the request arrived on; a broker
//! without that listener is left out, and a partition whose live leader lacks it has no leader
//! (-1) and LISTENER_NOT_FOUND (72) from v6, LEADER_NOT_AVAILABLE (5) before (Kafka's
//! `MetadataCache.getPartitionMetadata` with `errorUnavailableListeners`). v0 alone lists only
//! the replicas and ISR members that are alive with the listener, and a partition with a leader
//! but a missing replica or ISR member gets REPLICA_NOT_AVAILABLE (9) (`errorUnavailableEndpoints`).
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
use crate::metadata_cache::{MetadataSnapshot, PartitionInfo, TopicInfo};
use crate::network::PendingResponse;

/// `Errors.LISTENER_NOT_FOUND` (72), only this handler's (so not in `odradek_protocol::error_codes`).
const LISTENER_NOT_FOUND: i16 = 72;

/// `MetadataResponse.NO_LEADER_ID`.
const NO_LEADER_ID: i32 = -1;

/// `topic_authorized_operations` when not requested (Kafka's `Int.MinValue` sentinel).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl KafkaApis {
    pub(super) fn handle_metadata(self: &Arc<Self>, request: MetadataRequest, version: i16, correlation_id: i32, listener: &str) -> PendingResponse {
        if let Some(requested) = request.topics.as_ref().filter(|_| version >= 10) {
            if requested.iter().any(|t| t.name.is_none() || !t.topic_id.is_nil()) {
                let names = requested.iter().map(|t| t.name.as_ref().map_or(String::new(), |n| n.0.to_string()));
                let response = MetadataResponse::default().with_topics(names.map(|n| error_topic(n, codes::INVALID_REQUEST)).collect());
                return PendingResponse::Ready(respond(ApiKey::Metadata, version, correlation_id, &ResponseKind::Metadata(response)));
            }
        }
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
        response.cluster_id = self.cluster_id.clone().map(StrBytes::from_string);
        response.controller_id = BrokerId(snapshot.controller_id);
        response.cluster_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
        let view = ListenerView { listener, error_unavailable_listeners: version >= 6, error_unavailable_endpoints: version == 0 };
        let allow_auto_create = self.config.auto_create_topics_enable && request.allow_auto_topic_creation;
        let all_topics = match &request.topics {
            None => true,
            Some(requested) => version == 0 && requested.is_empty(),
        };
        let mut to_create = Vec::new();
        response.topics = match request.topics {
            Some(requested) if !all_topics => requested
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
            _ => snapshot.topics.iter().map(|(name, t)| topic_metadata(&snapshot, &view, name, Some(t))).collect(),
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
    /// Metadata v0: replicas and ISR members not alive with the listener are left out, and their
    /// absence is REPLICA_NOT_AVAILABLE.
    error_unavailable_endpoints: bool,
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
    topic.partitions = info.partitions.iter().map(|(&index, p)| partition_metadata(snapshot, view, index, p)).collect();
    topic
}

/// Kafka's `MetadataCache.getPartitionMetadata` for one partition.
fn partition_metadata(snapshot: &MetadataSnapshot, view: &ListenerView<'_>, index: i32, p: &PartitionInfo) -> MetadataResponsePartition {
    let reachable = |b: &i32| snapshot.alive_node(*b, view.listener).is_some();
    let listed = |brokers: &[i32]| -> Vec<BrokerId> {
        brokers.iter().filter(|b| !view.error_unavailable_endpoints || reachable(b)).copied().map(BrokerId).collect()
    };
    let mut part = MetadataResponsePartition::default();
    part.partition_index = index;
    part.leader_epoch = p.leader_epoch;
    part.replica_nodes = listed(&p.replicas);
    part.isr_nodes = listed(&p.isr);
    part.offline_replicas = p.offline_replicas.iter().copied().map(BrokerId).collect();
    part.error_code = match snapshot.brokers.get(&p.leader) {
        None => codes::LEADER_NOT_AVAILABLE,
        Some(b) if b.node(view.listener).is_none() && view.error_unavailable_listeners => LISTENER_NOT_FOUND,
        Some(b) if b.node(view.listener).is_none() => codes::LEADER_NOT_AVAILABLE,
        Some(_) if part.replica_nodes.len() < p.replicas.len() || part.isr_nodes.len() < p.isr.len() => codes::REPLICA_NOT_AVAILABLE,
        Some(_) => codes::NONE,
    };
    // A partition whose leader cannot be reached through this listener has no leader; one with
    // only a missing replica keeps it.
    part.leader_id = BrokerId(if reachable(&p.leader) { p.leader } else { NO_LEADER_ID });
    part
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
            let t = topic_metadata(&s, &ListenerView { listener, error_unavailable_listeners: v6, error_unavailable_endpoints: false }, "t", s.topics.get("t"));
            t.partitions.iter().map(|p| (p.partition_index, p.leader_id.0, p.error_code)).collect::<Vec<_>>()
        };
        assert_eq!(answer("INTERNAL", true), vec![(0, 1, codes::NONE), (1, 2, codes::NONE), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
        assert_eq!(answer("EXTERNAL", true), vec![(0, 1, codes::NONE), (1, -1, LISTENER_NOT_FOUND), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
        assert_eq!(answer("EXTERNAL", false), vec![(0, 1, codes::NONE), (1, -1, codes::LEADER_NOT_AVAILABLE), (2, -1, codes::LEADER_NOT_AVAILABLE)]);
    }

    #[test]
    fn v0_lists_only_reachable_replicas_and_flags_the_missing_ones() {
        let mut s = snapshot();
        // Partition 0: leader 1, replicas 1 (alive), 2 (alive, INTERNAL only), 3 (dead); ISR 1, 3.
        let p = s.topics.get_mut("t").unwrap().partitions.get_mut(&0).unwrap();
        p.replicas = vec![1, 2, 3];
        p.isr = vec![1, 3];
        let answer = |listener, v0: bool| {
            let view = ListenerView { listener, error_unavailable_listeners: !v0, error_unavailable_endpoints: v0 };
            let p = &topic_metadata(&s, &view, "t", s.topics.get("t")).partitions[0];
            let ids = |b: &[BrokerId]| b.iter().map(|b| b.0).collect::<Vec<_>>();
            (p.leader_id.0, p.error_code, ids(&p.replica_nodes), ids(&p.isr_nodes))
        };
        assert_eq!(answer("INTERNAL", true), (1, codes::REPLICA_NOT_AVAILABLE, vec![1, 2], vec![1]));
        assert_eq!(answer("EXTERNAL", true), (1, codes::REPLICA_NOT_AVAILABLE, vec![1], vec![1]));
        assert_eq!(answer("INTERNAL", false), (1, codes::NONE, vec![1, 2, 3], vec![1, 3]), "v1+ list every replica");
        // Partition 2's leader (3) is dead: no leader, and v0 lists none of its replicas.
        let view = ListenerView { listener: "INTERNAL", error_unavailable_listeners: false, error_unavailable_endpoints: true };
        let p = &topic_metadata(&s, &view, "t", s.topics.get("t")).partitions[2];
        assert_eq!((p.leader_id.0, p.error_code, p.replica_nodes.len()), (-1, codes::LEADER_NOT_AVAILABLE, 0));
    }
}
