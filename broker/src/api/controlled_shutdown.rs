//! ControlledShutdown (key 7), v0–3: a broker about to stop asks the controller to move its
//! partition leadership away first (reference §2.7, §3.5). This broker's controller module does
//! the work (`KafkaController.controlledShutdown`) and answers the partitions the broker still
//! leads, or an error: STALE_CONTROLLER_EPOCH (11) when this broker is not the active controller
//! (Kafka's `ControllerMovedException`, so the asking broker looks `/controller` up again),
//! STALE_BROKER_EPOCH (77), BROKER_NOT_AVAILABLE (8). v0–1 carry no broker epoch: −1, unchecked.

use std::sync::Arc;

use kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use kafka_protocol::messages::{ApiKey, ControlledShutdownRequest, ControlledShutdownResponse, ResponseKind};
use odradek_protocol::error_codes as codes;
use tracing::info;

use super::{respond, respond_later, topic_name, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_controlled_shutdown(
        self: &Arc<Self>,
        request: ControlledShutdownRequest,
        version: i16,
        correlation_id: i32,
    ) -> PendingResponse {
        let (broker_id, broker_epoch) = (request.broker_id.0, request.broker_epoch);
        let Some(controller) = self.controller.get().cloned() else {
            // A broker without ZooKeeper has no controller module: certainly not the controller.
            let body = response(codes::STALE_CONTROLLER_EPOCH, Vec::new());
            return PendingResponse::Ready(respond(ApiKey::ControlledShutdown, version, correlation_id, &body));
        };
        respond_later(ApiKey::ControlledShutdown, version, correlation_id, async move {
            match controller.controlled_shutdown(broker_id, broker_epoch).await {
                Ok(remaining) => {
                    info!(broker_id, broker_epoch, remaining = remaining.len(), "controlled shutdown request answered");
                    response(codes::NONE, remaining)
                }
                Err(code) => response(code, Vec::new()),
            }
        })
    }
}

fn response(error_code: i16, remaining: Vec<(String, i32)>) -> ResponseKind {
    ResponseKind::ControlledShutdown(
        ControlledShutdownResponse::default().with_error_code(error_code).with_remaining_partitions(
            remaining
                .into_iter()
                .map(|(topic, partition)| RemainingPartition::default().with_topic_name(topic_name(&topic)).with_partition_index(partition))
                .collect(),
        ),
    )
}
