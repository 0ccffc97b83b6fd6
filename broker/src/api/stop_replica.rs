//! StopReplica (key 5), v0–3: stop serving partitions, deleting their logs when asked
//! (reference §3.3). v0 lists partitions flat and v1–2 by topic, both with one `delete` flag for
//! the whole request; v3 carries a leader epoch and a delete flag per partition.
//! A stopped `__consumer_offsets` partition's groups are dropped by the group coordinator.

use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{ResponseKind, StopReplicaRequest, StopReplicaResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::KafkaApis;
use crate::offsets_log::GROUP_METADATA_TOPIC_NAME;
use crate::replica_manager::StopReplicaPartition;

/// The epoch old versions imply (`NoEpoch`).
const NO_EPOCH: i32 = -1;

impl KafkaApis {
    pub(super) fn handle_stop_replica(&self, request: StopReplicaRequest, _version: i16) -> ResponseKind {
        let delete = request.delete_partitions;
        let mut partitions: Vec<StopReplicaPartition> = request
            .ungrouped_partitions
            .iter()
            .map(|p| StopReplicaPartition { topic: p.topic_name.0.as_str().to_string(), partition: p.partition_index, leader_epoch: NO_EPOCH, delete })
            .collect();
        for t in &request.topics {
            partitions.extend(t.partition_indexes.iter().map(|&i| StopReplicaPartition { topic: t.name.0.as_str().to_string(), partition: i, leader_epoch: NO_EPOCH, delete }));
        }
        for t in &request.topic_states {
            partitions.extend(t.partition_states.iter().map(|p| StopReplicaPartition {
                topic: t.topic_name.0.as_str().to_string(),
                partition: p.partition_index,
                leader_epoch: p.leader_epoch,
                delete: p.delete_partition,
            }));
        }
        let mut response = StopReplicaResponse::default();
        match self.replica_manager.stop_replicas(request.controller_epoch, request.broker_epoch, partitions) {
            Err(e) => response.error_code = e.code(),
            Ok(results) => {
                for (_, partition, _) in results.iter().filter(|(t, _, code)| t == GROUP_METADATA_TOPIC_NAME && *code == odradek_protocol::error_codes::NONE) {
                    self.group_coordinator.on_resigned(*partition, None);
                }
                response.partition_errors = results
                    .into_iter()
                    .map(|(topic, partition, code)| {
                        let mut e = StopReplicaPartitionError::default();
                        e.topic_name = TopicName(StrBytes::from_string(topic));
                        e.partition_index = partition;
                        e.error_code = code;
                        e
                    })
                    .collect();
            }
        }
        ResponseKind::StopReplica(response)
    }
}
