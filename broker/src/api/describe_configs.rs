//! DescribeConfigs (key 32), v0–4, Kafka 2.8's `KafkaApis.handleDescribeConfigsRequest` over
//! [`ConfigAdmin`](crate::dynamic_config::ConfigAdmin).
//!
//! Any broker answers, for TOPIC and BROKER resources; a failure is that resource's error code
//! and message. Synonyms (v1+) are sent only when asked for. v0 has `IsDefault` instead of the
//! source: set from the source (DEFAULT_CONFIG), as Kafka 2.5 did. Without ZooKeeper every
//! resource gets UNKNOWN_SERVER_ERROR (there is nowhere to read configs from).

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::{respond_later, KafkaApis};
use crate::dynamic_config::{ConfigEntry, ConfigResource};
use crate::network::PendingResponse;

/// `ConfigSource.DEFAULT_CONFIG`.
const DEFAULT_CONFIG: i8 = 5;

impl KafkaApis {
    pub(super) fn handle_describe_configs(self: &Arc<Self>, request: DescribeConfigsRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let admin = self.config_admin.get().cloned();
        let include_synonyms = request.include_synonyms;
        respond_later(ApiKey::DescribeConfigs, version, correlation_id, async move {
            let mut results = Vec::with_capacity(request.resources.len());
            for resource in request.resources {
                let keys: Option<Vec<String>> = resource.configuration_keys.as_ref().map(|k| k.iter().map(|s| s.to_string()).collect());
                let name = resource.resource_name.to_string();
                let outcome = match (&admin, ConfigResource::parse(resource.resource_type, &name, "DescribeConfigs")) {
                    (None, _) => Err((codes::UNKNOWN_SERVER_ERROR, "this broker has no ZooKeeper to read configs from".to_string())),
                    (_, Err(e)) => Err((e.code(), e.to_string())),
                    (Some(admin), Ok(r)) => admin.describe(&r, keys.as_deref()).await.map_err(|e| (e.code(), e.to_string())),
                };
                let result = DescribeConfigsResult::default().with_resource_type(resource.resource_type).with_resource_name(resource.resource_name);
                results.push(match outcome {
                    Ok(entries) => result.with_configs(entries.into_iter().map(|e| config(e, include_synonyms, version)).collect()),
                    Err((code, message)) => result.with_error_code(code).with_error_message(Some(StrBytes::from_string(message))),
                });
            }
            ResponseKind::DescribeConfigs(DescribeConfigsResponse::default().with_results(results))
        })
    }
}

fn config(e: ConfigEntry, include_synonyms: bool, version: i16) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        e.synonyms
            .into_iter()
            .map(|s| DescribeConfigsSynonym::default().with_name(StrBytes::from_string(s.name)).with_value(s.value.map(StrBytes::from_string)).with_source(s.source))
            .collect()
    } else {
        Vec::new()
    };
    let entry = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.map(StrBytes::from_string))
        .with_read_only(e.read_only)
        .with_is_sensitive(e.is_sensitive)
        .with_synonyms(synonyms)
        .with_config_type(e.config_type);
    if version == 0 {
        entry.with_is_default(e.source == DEFAULT_CONFIG)
    } else {
        entry.with_config_source(e.source)
    }
}
