//! IncrementalAlterConfigs (key 44), v0–1, Kafka 2.8's
//! `KafkaApis.handleIncrementalAlterConfigsRequest`: SET (0), DELETE (1), APPEND (2) and
//! SUBTRACT (3) over each resource's current overrides, applied in request order, validated
//! whole, then written. Any broker answers; `validate_only` writes nothing.

use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::{respond_later, KafkaApis};
use crate::dynamic_config::{AlterConfigOp, ConfigResource, OpType};
use crate::errors::ConfigAdminError;
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_incremental_alter_configs(self: &Arc<Self>, request: IncrementalAlterConfigsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let admin = self.config_admin.get().cloned();
        respond_later(ApiKey::IncrementalAlterConfigs, version, correlation_id, async move {
            let mut responses = Vec::with_capacity(request.resources.len());
            for resource in request.resources {
                let name = resource.resource_name.to_string();
                let outcome = match (&admin, ConfigResource::parse(resource.resource_type, &name, "AlterConfigs")) {
                    (None, _) => Err(ConfigAdminError::UnknownServerError("this broker has no ZooKeeper to write configs to".to_string())),
                    (_, Err(e)) => Err(e),
                    (Some(admin), Ok(r)) => match ops(&resource.configs) {
                        Ok(ops) => admin.incremental_alter(&r, &ops, request.validate_only).await,
                        Err(e) => Err(e),
                    },
                };
                let (code, message) = match outcome {
                    Ok(()) => (codes::NONE, None),
                    Err(e) => (e.code(), Some(StrBytes::from_string(e.to_string()))),
                };
                responses.push(
                    AlterConfigsResourceResponse::default()
                        .with_error_code(code)
                        .with_error_message(message)
                        .with_resource_type(resource.resource_type)
                        .with_resource_name(resource.resource_name),
                );
            }
            ResponseKind::IncrementalAlterConfigs(IncrementalAlterConfigsResponse::default().with_responses(responses))
        })
    }
}

/// The request's operations; an unknown operation id is INVALID_REQUEST (Kafka's
/// `OpType.forId` yields null and the request is refused).
fn ops(configs: &[kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig]) -> Result<Vec<AlterConfigOp>, ConfigAdminError> {
    configs
        .iter()
        .map(|c| {
            let op = OpType::from_id(c.config_operation).ok_or_else(|| ConfigAdminError::InvalidRequest(format!("Unknown alter config operation type {}", c.config_operation)))?;
            Ok(AlterConfigOp { name: c.name.to_string(), op, value: c.value.as_ref().map(|v| v.to_string()) })
        })
        .collect()
}
