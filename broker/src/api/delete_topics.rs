//! DeleteTopics (key 20), v0–3, Kafka 2.8's `KafkaApis.handleDeleteTopicsRequest` over
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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, ResponseKind};
use odradek_protocol::error_codes as codes;

use super::{respond, respond_later, topic_name, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_delete_topics(self: &Arc<Self>, request: DeleteTopicsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let names: Vec<String> = request.topic_names.iter().map(|t| t.0.to_string()).collect();
        let refuse_all = |code: i16| {
            let results = names.iter().map(|n| result(n, code)).collect();
            PendingResponse::Ready(respond(ApiKey::DeleteTopics, version, correlation_id, &response(results)))
        };
        let admin = match &self.admin_manager {
            Some(admin) if self.is_active_controller() => Arc::clone(admin),
            _ => return refuse_all(codes::NOT_CONTROLLER),
        };
        if !self.config.delete_topic_enable {
            return refuse_all(if version < 3 { codes::INVALID_REQUEST } else { codes::TOPIC_DELETION_DISABLED });
        }
        let timeout_ms = request.timeout_ms;
        respond_later(ApiKey::DeleteTopics, version, correlation_id, async move {
            let unique: BTreeSet<&String> = names.iter().collect();
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
            response(names.iter().map(|n| result(n, codes_by_topic.get(n).copied().unwrap_or(codes::UNKNOWN_SERVER_ERROR))).collect())
        })
    }
}

fn result(name: &str, error_code: i16) -> DeletableTopicResult {
    DeletableTopicResult::default().with_name(Some(topic_name(name))).with_error_code(error_code)
}

fn response(results: Vec<DeletableTopicResult>) -> ResponseKind {
    ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(results))
}
