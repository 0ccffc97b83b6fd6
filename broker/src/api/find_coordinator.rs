//! FindCoordinator (key 10), v0–3 (flexible from 3): which broker coordinates a group.
//!
//! The coordinator of group `g` is the leader of `__consumer_offsets` partition
//! `abs(javaHashCode(g)) % offsets.topic.num.partitions` (reference §8.1); every key, the empty
//! one included, maps to a partition, as in Kafka 2.8, which leaves rejecting an empty group id to
//! the group APIs themselves. Kafka creates the topic on the first lookup; so does this handler,
//! through the same auto-creation path as Metadata, and answers COORDINATOR_NOT_AVAILABLE until
//! the partition has a leader, which clients retry. The coordinator is answered with its endpoint
//! for the listener the request arrived on; a leader without that listener is
//! COORDINATOR_NOT_AVAILABLE, as Kafka's `getPartitionLeaderEndpoint` gives `Node.noNode`.
//! Transaction coordinators (key type 1) do not exist here: COORDINATOR_NOT_AVAILABLE.
//!
//! From v1 the answer carries Kafka's `Errors.message()` for its code, and that is "NONE" for
//! success (`Errors.NONE` has no exception, so its message is its name), not null.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::{respond, respond_later, KafkaApis};
use crate::metadata_cache::MetadataSnapshot;
use crate::network::PendingResponse;
use crate::offsets_log::GROUP_METADATA_TOPIC_NAME;

/// `FindCoordinatorRequest.CoordinatorType.GROUP`.
const GROUP_KEY_TYPE: i8 = 0;
/// `CoordinatorType.TRANSACTION`.
const TRANSACTION_KEY_TYPE: i8 = 1;

impl KafkaApis {
    pub(super) fn handle_find_coordinator(&self, request: FindCoordinatorRequest, version: i16, correlation_id: i32, listener: &str) -> PendingResponse {
        let key = request.key.to_string();
        let answer = move |code: i16, node: Option<(i32, String, i32)>| -> ResponseKind { ResponseKind::FindCoordinator(response(version, code, node)) };
        if request.key_type == TRANSACTION_KEY_TYPE {
            return PendingResponse::Ready(respond(ApiKey::FindCoordinator, version, correlation_id, &answer(codes::COORDINATOR_NOT_AVAILABLE, None)));
        }
        if request.key_type != GROUP_KEY_TYPE {
            return PendingResponse::Ready(respond(ApiKey::FindCoordinator, version, correlation_id, &answer(codes::INVALID_REQUEST, None)));
        }
        let partition = self.group_coordinator.partition_for(&key);
        let snapshot = self.metadata_cache.snapshot();
        if snapshot.topics.contains_key(GROUP_METADATA_TOPIC_NAME) {
            let (code, node) = coordinator_of(&snapshot, partition, listener);
            return PendingResponse::Ready(respond(ApiKey::FindCoordinator, version, correlation_id, &answer(code, node)));
        }
        // Kafka's `getOrCreateInternalTopic`: create it, and let the client ask again.
        let Some(creation) = self.auto_topic_creation.clone() else {
            return PendingResponse::Ready(respond(ApiKey::FindCoordinator, version, correlation_id, &answer(codes::COORDINATOR_NOT_AVAILABLE, None)));
        };
        respond_later(ApiKey::FindCoordinator, version, correlation_id, async move {
            let _ = Arc::clone(&creation).create_topics(&[GROUP_METADATA_TOPIC_NAME.to_string()]).await;
            answer(codes::COORDINATOR_NOT_AVAILABLE, None)
        })
    }
}

/// The leader of offsets partition `partition` through `listener`, if it has a live one with it.
fn coordinator_of(snapshot: &MetadataSnapshot, partition: i32, listener: &str) -> (i16, Option<(i32, String, i32)>) {
    let leader = snapshot.topics.get(GROUP_METADATA_TOPIC_NAME).and_then(|t| t.partitions.get(&partition)).map(|p| p.leader);
    match leader.and_then(|id| snapshot.alive_node(id, listener)) {
        Some(broker) => (codes::NONE, Some((broker.id, broker.host, broker.port))),
        None => (codes::COORDINATOR_NOT_AVAILABLE, None),
    }
}

fn response(version: i16, code: i16, node: Option<(i32, String, i32)>) -> FindCoordinatorResponse {
    let mut response = FindCoordinatorResponse::default();
    response.error_code = code;
    let (id, host, port) = node.unwrap_or((-1, String::new(), -1));
    response.node_id = BrokerId(id);
    response.host = StrBytes::from_string(host);
    response.port = port;
    if version >= 1 {
        response.error_message = Some(StrBytes::from_static_str(error_message(code)));
    }
    response
}

/// Kafka's `Errors.message()` for the codes this handler answers.
fn error_message(code: i16) -> &'static str {
    match code {
        codes::NONE => "NONE",
        codes::INVALID_REQUEST => {
            "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details."
        }
        _ => "The coordinator is not available.",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metadata_cache::{ListenerEndpoint, LiveBroker, PartitionInfo, TopicInfo};

    fn snapshot(leader: i32) -> MetadataSnapshot {
        let info = PartitionInfo { controller_epoch: 1, leader, leader_epoch: 0, isr: vec![1], zk_version: 0, replicas: vec![1], offline_replicas: vec![] };
        let mut partitions = BTreeMap::new();
        partitions.insert(12, info);
        let mut topics = BTreeMap::new();
        topics.insert(GROUP_METADATA_TOPIC_NAME.to_string(), TopicInfo { id: Default::default(), partitions });
        let mut brokers = BTreeMap::new();
        let ep = |listener: &str, host: &str, port| ListenerEndpoint { listener: listener.into(), host: host.into(), port };
        brokers.insert(1, LiveBroker { id: 1, endpoints: vec![ep("PLAINTEXT", "h1", 9092), ep("EXTERNAL", "localhost", 9093)], rack: None });
        MetadataSnapshot { controller_id: 1, brokers, topics }
    }

    #[test]
    fn the_coordinator_is_the_live_leader_of_the_groups_partition() {
        assert_eq!(coordinator_of(&snapshot(1), 12, "PLAINTEXT"), (codes::NONE, Some((1, "h1".to_string(), 9092))));
        assert_eq!(coordinator_of(&snapshot(1), 12, "EXTERNAL"), (codes::NONE, Some((1, "localhost".to_string(), 9093))), "the request's listener");
        assert_eq!(coordinator_of(&snapshot(1), 12, "INTERNAL"), (codes::COORDINATOR_NOT_AVAILABLE, None), "leader without the listener");
        assert_eq!(coordinator_of(&snapshot(1), 13, "PLAINTEXT").0, codes::COORDINATOR_NOT_AVAILABLE, "no such partition");
        assert_eq!(coordinator_of(&snapshot(2), 12, "PLAINTEXT").0, codes::COORDINATOR_NOT_AVAILABLE, "leader not live");
        assert_eq!(coordinator_of(&snapshot(-1), 12, "PLAINTEXT").0, codes::COORDINATOR_NOT_AVAILABLE, "no leader");
    }

    #[test]
    fn answers_carry_a_message_from_v1_and_errors_no_node() {
        let untouched = FindCoordinatorResponse::default().error_message;
        let r = response(0, codes::COORDINATOR_NOT_AVAILABLE, None);
        assert_eq!((r.node_id.0, r.port, &r.error_message), (-1, -1, &untouched), "v0 has no message field");
        let r = response(1, codes::COORDINATOR_NOT_AVAILABLE, None);
        assert_eq!(r.error_message.as_ref().map(|m| m.as_str()), Some("The coordinator is not available."));
        let r = response(2, codes::NONE, Some((3, "h".into(), 1)));
        assert_eq!((r.node_id.0, r.host.as_str(), r.port), (3, "h", 1));
        assert_eq!(r.error_message.as_deref(), Some("NONE"), "Errors.NONE.message() is its name");
        let r = response(0, codes::NONE, Some((3, "h".into(), 1)));
        assert_eq!(r.error_message, untouched, "v0 has no message field");
        for version in 0..=3 {
            let body = ResponseKind::FindCoordinator(response(version, codes::COORDINATOR_NOT_AVAILABLE, None));
            assert!(odradek_protocol::encode_response(ApiKey::FindCoordinator, version, 1, &body).is_ok(), "v{version} encodes");
        }
    }
}
