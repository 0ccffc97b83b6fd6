//! AlterIsr (key 56, v0; the codec's AlterPartition v0): a partition leader asks the controller to
//! change its ISR (KIP-497, reference §4.3). This broker's controller module writes each proposed
//! ISR to the partition's `/state`, conditional on the zkVersion the leader saw, and answers the
//! state now in ZooKeeper or an error per partition: FENCED_LEADER_EPOCH (the leader is stale),
//! INVALID_UPDATE_VERSION (its zkVersion is), UNKNOWN_TOPIC_OR_PARTITION. Request-level errors:
//! NOT_CONTROLLER (this broker is not the active controller), STALE_BROKER_EPOCH.

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_response::{PartitionData, TopicData};
use kafka_protocol::messages::{AlterPartitionRequest, AlterPartitionResponse, ApiKey, BrokerId, ResponseKind};
use odradek_controller::{AlterIsrItem, AlterIsrOutcome};
use odradek_protocol::error_codes as codes;

use super::{respond, respond_later, topic_name, KafkaApis};
use crate::network::PendingResponse;

impl KafkaApis {
    pub(super) fn handle_alter_isr(self: &Arc<Self>, request: AlterPartitionRequest, version: i16, correlation_id: i32) -> PendingResponse {
        let Some(controller) = self.controller.get().cloned().filter(|c| c.is_active()) else {
            let body = ResponseKind::AlterPartition(AlterPartitionResponse::default().with_error_code(codes::NOT_CONTROLLER));
            return PendingResponse::Ready(respond(ApiKey::AlterPartition, version, correlation_id, &body));
        };
        let items: Vec<AlterIsrItem> = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| AlterIsrItem {
                    topic: t.topic_name.0.to_string(),
                    partition: p.partition_index,
                    leader_epoch: p.leader_epoch,
                    new_isr: p.new_isr.iter().map(|b| b.0).collect(),
                    zk_version: p.partition_epoch,
                })
            })
            .collect();
        let (broker_id, broker_epoch) = (request.broker_id.0, request.broker_epoch);
        respond_later(ApiKey::AlterPartition, version, correlation_id, async move {
            let response = match controller.alter_isr(broker_id, broker_epoch, items).await {
                Ok(outcomes) => AlterPartitionResponse::default().with_topics(group_by_topic(outcomes)),
                Err(code) => AlterPartitionResponse::default().with_error_code(code),
            };
            ResponseKind::AlterPartition(response)
        })
    }
}

fn group_by_topic(outcomes: Vec<AlterIsrOutcome>) -> Vec<TopicData> {
    let mut topics: Vec<TopicData> = Vec::new();
    for o in outcomes {
        let partition = PartitionData::default()
            .with_partition_index(o.partition)
            .with_error_code(o.error_code)
            .with_leader_id(BrokerId(o.leader))
            .with_leader_epoch(o.leader_epoch)
            .with_isr(o.isr.into_iter().map(BrokerId).collect())
            .with_partition_epoch(o.zk_version);
        match topics.iter_mut().find(|t| t.topic_name.0.as_str() == o.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(TopicData::default().with_topic_name(topic_name(&o.topic)).with_partitions(vec![partition])),
        }
    }
    topics
}
