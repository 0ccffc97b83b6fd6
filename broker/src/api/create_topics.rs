//! CreateTopics (key 19), v0–7, Kafka 2.8's `KafkaApis.handleCreateTopicsRequest` over
//! [`ZkAdminManager`](crate::admin_manager::ZkAdminManager).
//!
//! Only the active controller serves it: anywhere else every topic gets NOT_CONTROLLER (41), and
//! clients look the controller up in Metadata and retry there. A name that appears twice in one
//! request gets INVALID_REQUEST (42) for each entry ("Found multiple entries for this topic.").
//! The rest are validated and written to ZooKeeper; then, if `timeout_ms > 0`, the response waits
//! (`DelayedCreatePartitions`) until every new partition has a leader in this broker's metadata
//! cache, and a topic still without one when the time is up gets REQUEST_TIMED_OUT (7). As in
//! Kafka, `timeout_ms <= 0` answers at once, and the topics just written get REQUEST_TIMED_OUT
//! too: created, but not known to be ready. `validate_only` writes nothing and answers NONE for
//! every topic that would be created. v1+ carry Kafka's error message.
//!
//! v5+ (flexible) also describe each topic answered NONE: its partition count, replication
//! factor and every topic config with its effective value and source (KIP-525, the entries
//! DescribeConfigs would list); any other answer has none of them (−1, −1, no configs), as Kafka
//! resets them. v6 only adds KIP-599's quota error, which a broker without controller mutation
//! quotas never gives. v7 answers the new topic's id (KIP-516), the one written to
//! `/brokers/topics/<topic>`; a validated-only topic has none (the zero id).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;
use uuid::Uuid;

use super::{respond, respond_later, KafkaApis};
use crate::admin_manager::{CreatedTopic, NewTopic};
use crate::dynamic_config::ConfigAdmin;
use crate::errors::AdminError;
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_create_topics(self: &Arc<Self>, request: CreateTopicsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let names: Vec<String> = request.topics.iter().map(|t| t.name.0.to_string()).collect();
        let admin = match &self.admin_manager {
            Some(admin) if self.is_active_controller() => Arc::clone(admin),
            _ => {
                let results = names.iter().map(|n| result(n, codes::NOT_CONTROLLER, None)).collect();
                return PendingResponse::Ready(respond(ApiKey::CreateTopics, version, correlation_id, &response(results)));
            }
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &names {
            *counts.entry(n.as_str()).or_default() += 1;
        }
        // (index in the request, topic) for every name that appears once.
        let to_create: Vec<(usize, NewTopic)> = request
            .topics
            .iter()
            .enumerate()
            .filter(|(i, _)| counts[names[*i].as_str()] == 1)
            .map(|(i, t)| {
                let topic = NewTopic {
                    name: names[i].clone(),
                    num_partitions: t.num_partitions,
                    replication_factor: t.replication_factor,
                    assignments: t.assignments.iter().map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect())).collect(),
                    configs: t.configs.iter().map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()))).collect(),
                };
                (i, topic)
            })
            .collect();
        let (timeout_ms, validate_only) = (request.timeout_ms, request.validate_only);
        let config_admin = self.config_admin.get().cloned();
        respond_later(ApiKey::CreateTopics, version, correlation_id, async move {
            let topics: Vec<NewTopic> = to_create.iter().map(|(_, t)| t.clone()).collect();
            let outcomes = admin.create_topics(&topics, validate_only).await;
            // Every entry starts as a duplicate; the ones created or refused are overwritten below.
            let mut results: Vec<CreatableTopicResult> =
                names.iter().map(|n| result(n, codes::INVALID_REQUEST, Some("Found multiple entries for this topic."))).collect();
            let created: Vec<(String, Vec<i32>)> =
                topics.iter().zip(&outcomes).filter_map(|(t, o)| o.as_ref().ok().map(|c| (t.name.clone(), c.partitions()))).collect();
            let still_missing = if validate_only || created.is_empty() {
                Default::default()
            } else if timeout_ms <= 0 {
                created.iter().map(|(t, _)| t.clone()).collect()
            } else {
                admin.wait_for_leaders(&created, Duration::from_millis(timeout_ms as u64)).await
            };
            for ((index, topic), outcome) in to_create.iter().zip(&outcomes) {
                results[*index] = match outcome {
                    Ok(_) if still_missing.contains(&topic.name) => result(&topic.name, codes::REQUEST_TIMED_OUT, None),
                    Ok(created) => described(result(&topic.name, codes::NONE, None), created, config_admin.as_deref()),
                    Err(e) => error_result(&topic.name, e),
                };
            }
            response(results)
        })
    }
}

/// A topic answered NONE, with what v5+ and v7 add about it.
fn described(result: CreatableTopicResult, created: &CreatedTopic, config_admin: Option<&ConfigAdmin>) -> CreatableTopicResult {
    let configs = config_admin.map(|admin| admin.new_topic_configs(&created.plan.configs)).unwrap_or_default();
    result
        .with_topic_id(created.topic_id.map_or(Uuid::nil(), |id| id.0))
        .with_num_partitions(created.plan.assignment.len() as i32)
        .with_replication_factor(created.replication_factor())
        .with_configs(Some(
            configs
                .into_iter()
                .map(|e| {
                    CreatableTopicConfigs::default()
                        .with_name(StrBytes::from_string(e.name))
                        .with_value(e.value.map(StrBytes::from_string))
                        .with_read_only(e.read_only)
                        .with_config_source(e.source)
                        .with_is_sensitive(e.is_sensitive)
                })
                .collect(),
        ))
}

fn result(name: &str, error_code: i16, message: Option<&str>) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(super::topic_name(name))
        .with_error_code(error_code)
        .with_error_message(message.map(|m| StrBytes::from_string(m.to_string())))
}

fn error_result(name: &str, e: &AdminError) -> CreatableTopicResult {
    result(name, e.code(), Some(&e.to_string()))
}

fn response(topics: Vec<CreatableTopicResult>) -> ResponseKind {
    ResponseKind::CreateTopics(CreateTopicsResponse::default().with_topics(topics))
}
