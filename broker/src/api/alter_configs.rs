//! AlterConfigs (key 33), v0–2, Kafka 2.8's `KafkaApis.handleAlterConfigsRequest`: each
//! resource's listed entries become its **complete** override set (anything not listed is
//! removed). Any broker answers; `validate_only` checks and writes nothing. Errors are per
//! resource, with Kafka's codes and messages ([`ConfigAdmin`](crate::dynamic_config::ConfigAdmin)).

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ApiKey, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::{respond_later, KafkaApis};
use crate::dynamic_config::ConfigResource;
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_alter_configs(self: &Arc<Self>, request: AlterConfigsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let admin = self.config_admin.get().cloned();
        respond_later(ApiKey::AlterConfigs, version, correlation_id, async move {
            let mut responses = Vec::with_capacity(request.resources.len());
            for resource in request.resources {
                let name = resource.resource_name.to_string();
                let entries: Vec<(String, Option<String>)> = resource.configs.iter().map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()))).collect();
                let outcome = match (&admin, ConfigResource::parse(resource.resource_type, &name, "AlterConfigs")) {
                    (None, _) => Err((codes::UNKNOWN_SERVER_ERROR, "this broker has no ZooKeeper to write configs to".to_string())),
                    (_, Err(e)) => Err((e.code(), e.to_string())),
                    (Some(admin), Ok(r)) => admin.alter(&r, &entries, request.validate_only).await.map_err(|e| (e.code(), e.to_string())),
                };
                let (code, message) = outcome.err().unwrap_or((codes::NONE, String::new()));
                responses.push(
                    AlterConfigsResourceResponse::default()
                        .with_error_code(code)
                        .with_error_message((code != codes::NONE).then(|| StrBytes::from_string(message)))
                        .with_resource_type(resource.resource_type)
                        .with_resource_name(resource.resource_name),
                );
            }
            ResponseKind::AlterConfigs(AlterConfigsResponse::default().with_responses(responses))
        })
    }
}
