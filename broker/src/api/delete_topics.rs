//! DeleteTopics (key 20), v0–6, Kafka 2.8's `KafkaApis.handleDeleteTopicsRequest` over
//! [`ZkAdminManager::delete_topic`](crate::admin_manager::ZkAdminManager::delete_topic).
//!
//! Only the active controller serves it (elsewhere: NOT_CONTROLLER, 41). With
//! `delete.topic.enable=false` every topic gets TOPIC_DELETION_DISABLED (73), or INVALID_REQUEST
//! (42) before v3, which cannot express it. A topic neither in the metadata cache nor in
//! ZooKeeper is UNKNOWN_TOPIC_OR_PARTITION (3). The others are queued in
//! `/admin/delete_topics/<topic>` for the controller; then, if `timeout_ms > 0`, the response
//! waits (`DelayedDeleteTopics`) until the topic has left this broker's metadata cache, and a
//! topic still there when the time is up gets REQUEST_TIMED_OUT (7). As in Kafka,
//! `timeout_ms <= 0` answers REQUEST_TIMED_OUT at once for every topic queued.
//!
//! v4+ are flexible; v5 adds an error message, which only the invalid request below carries.
//! v6 names each topic either by name or by id (KIP-516; the name null): an id is resolved
//! through the metadata cache, where Kafka uses the controller's context that the cache follows,
//! and an id no topic has is UNKNOWN_TOPIC_ID (100). Each answer repeats the id asked for and
//! gives the resolved name. A topic named both ways makes the whole request invalid: every topic
//! is answered INVALID_REQUEST with Kafka's message (`DeleteTopicsRequest.getErrorResponse`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;
use uuid::Uuid;

use super::{respond, respond_later, topic_name, KafkaApis};
use crate::metadata_cache::MetadataSnapshot;
use crate::network::PendingResponse;

/// `Errors.UNKNOWN_TOPIC_ID` (100), only this handler's.
const UNKNOWN_TOPIC_ID: i16 = 100;

/// One topic as the request names it: by name (every version) or, from v6, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TopicRef {
    name: Option<String>,
    topic_id: Uuid,
}

impl KafkaApis {
    pub(super) fn handle_delete_topics(self: &Arc<Self>, request: DeleteTopicsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let refs: Vec<TopicRef> = if version >= 6 {
            request.topics.iter().map(|t| TopicRef { name: t.name.as_ref().map(|n| n.0.to_string()), topic_id: t.topic_id }).collect()
        } else {
            request.topic_names.iter().map(|n| TopicRef { name: Some(n.0.to_string()), topic_id: Uuid::nil() }).collect()
        };
        let refuse_all = |code: i16, message: Option<&str>| {
            let results = refs.iter().map(|r| result(r.name.as_deref(), r.topic_id, code).with_error_message(message.map(|m| StrBytes::from_string(m.to_string())))).collect();
            PendingResponse::Ready(respond(ApiKey::DeleteTopics, version, correlation_id, &response(results)))
        };
        let admin = match &self.admin_manager {
            Some(admin) if self.is_active_controller() => Arc::clone(admin),
            _ => return refuse_all(codes::NOT_CONTROLLER, None),
        };
        if !self.config.delete_topic_enable {
            return refuse_all(if version < 3 { codes::INVALID_REQUEST } else { codes::TOPIC_DELETION_DISABLED }, None);
        }
        if refs.iter().any(|r| r.name.is_some() && !r.topic_id.is_nil()) {
            return refuse_all(codes::INVALID_REQUEST, Some("Topic name and topic ID can not both be specified."));
        }
        let names = resolve(&refs, &self.metadata_cache.snapshot());
        let timeout_ms = request.timeout_ms;
        respond_later(ApiKey::DeleteTopics, version, correlation_id, async move {
            let unique: BTreeSet<&String> = names.iter().flatten().collect();
            let mut codes_by_topic: BTreeMap<String, i16> = BTreeMap::new();
            let mut queued = Vec::new();
            for topic in unique {
                match admin.delete_topic(topic).await {
                    Ok(()) => queued.push(topic.clone()),
                    Err(e) => {
                        codes_by_topic.insert(topic.clone(), e.code());
                    }
                }
            }
            let still_there = if queued.is_empty() {
                BTreeSet::new()
            } else if timeout_ms <= 0 {
                queued.iter().cloned().collect()
            } else {
                admin.wait_for_deletion(&queued, Duration::from_millis(timeout_ms as u64)).await
            };
            for topic in queued {
                let code = if still_there.contains(&topic) { codes::REQUEST_TIMED_OUT } else { codes::NONE };
                codes_by_topic.insert(topic, code);
            }
            let results = refs
                .iter()
                .zip(&names)
                .map(|(r, name)| match name {
                    Some(n) => result(Some(n), r.topic_id, codes_by_topic.get(n).copied().unwrap_or(codes::UNKNOWN_SERVER_ERROR)),
                    // Neither a name nor an id: Kafka looks the null name up and does not find it.
                    None if r.topic_id.is_nil() => result(None, r.topic_id, codes::UNKNOWN_TOPIC_OR_PARTITION),
                    None => result(None, r.topic_id, UNKNOWN_TOPIC_ID),
                })
                .collect();
            response(results)
        })
    }
}

/// Each topic's name: the one given, or the one the metadata cache has for the id given
/// (`None`: no topic has that id).
fn resolve(refs: &[TopicRef], snapshot: &MetadataSnapshot) -> Vec<Option<String>> {
    refs.iter().map(|r| r.name.clone().or_else(|| snapshot.topic_name(r.topic_id).map(str::to_string))).collect()
}

/// A result without a message (null, Kafka's default; the codec's is "").
fn result(name: Option<&str>, topic_id: Uuid, error_code: i16) -> DeletableTopicResult {
    DeletableTopicResult::default().with_name(name.map(topic_name)).with_topic_id(topic_id).with_error_code(error_code).with_error_message(None)
}

fn response(results: Vec<DeletableTopicResult>) -> ResponseKind {
    ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata_cache::TopicInfo;

    #[test]
    fn ids_resolve_through_the_metadata_cache_and_names_are_kept() {
        let id = Uuid::new_v4();
        let mut snapshot = MetadataSnapshot::default();
        snapshot.topics.insert("orders".into(), TopicInfo { id, partitions: Default::default() });
        let refs = [
            TopicRef { name: None, topic_id: id },
            TopicRef { name: Some("by-name".into()), topic_id: Uuid::nil() },
            TopicRef { name: None, topic_id: Uuid::new_v4() },
            TopicRef { name: None, topic_id: Uuid::nil() },
        ];
        assert_eq!(resolve(&refs, &snapshot), vec![Some("orders".to_string()), Some("by-name".to_string()), None, None]);
    }
}
