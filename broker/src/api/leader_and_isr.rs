//! LeaderAndIsr (key 4), v0–5: the controller makes this broker leader or follower of
//! partitions (reference §3.2). v0–1 carry a flat partition list; v2+ group it by topic; v5
//! answers grouped by topic id.
//!
//! Afterwards, Kafka's `onLeadershipChange`: for every `__consumer_offsets` partition the request
//! made this broker leader of, the group coordinator loads its groups; for every one it made
//! this broker follow, the coordinator drops them.

use kafka_protocol::messages::leader_and_isr_request::LeaderAndIsrPartitionState;
use kafka_protocol::messages::leader_and_isr_response::{LeaderAndIsrPartitionError, LeaderAndIsrTopicError};
use kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::KafkaApis;
use crate::offsets_log::GROUP_METADATA_TOPIC_NAME;
use crate::partition::LeaderAndIsrState;
use crate::replica_manager::{LeaderAndIsrPartition, LeaderAndIsrResult};

fn to_partition(topic: &str, topic_id: Uuid, s: &LeaderAndIsrPartitionState) -> LeaderAndIsrPartition {
    LeaderAndIsrPartition {
        topic: topic.to_string(),
        partition: s.partition_index,
        state: LeaderAndIsrState {
            topic_id,
            controller_epoch: s.controller_epoch,
            leader: s.leader.0,
            leader_epoch: s.leader_epoch,
            isr: s.isr.iter().map(|b| b.0).collect(),
            zk_version: s.partition_epoch,
            replicas: s.replicas.iter().map(|b| b.0).collect(),
            is_new: s.is_new,
        },
    }
}

impl KafkaApis {
    pub(super) fn handle_leader_and_isr(&self, request: LeaderAndIsrRequest, version: i16) -> ResponseKind {
        let mut partitions: Vec<LeaderAndIsrPartition> =
            request.ungrouped_partition_states.iter().map(|s| to_partition(s.topic_name.0.as_str(), Uuid::nil(), s)).collect();
        for t in &request.topic_states {
            partitions.extend(t.partition_states.iter().map(|s| to_partition(t.topic_name.0.as_str(), t.topic_id, s)));
        }
        let live_leaders: std::collections::HashMap<i32, (String, i32)> = request.live_leaders.iter().map(|l| (l.broker_id.0, (l.host_name.to_string(), l.port))).collect();
        let mut response = LeaderAndIsrResponse::default();
        let offsets_partitions: Vec<i32> = partitions.iter().filter(|p| p.topic == GROUP_METADATA_TOPIC_NAME).map(|p| p.partition).collect();
        match self.replica_manager.become_leader_or_follower(request.controller_epoch, request.broker_epoch, partitions, &live_leaders) {
            Err(e) => response.error_code = e.code(),
            Ok(results) => {
                let applied = |partition: i32| results.iter().any(|r| r.topic == GROUP_METADATA_TOPIC_NAME && r.partition == partition && r.error_code == odradek_protocol::error_codes::NONE);
                for partition in offsets_partitions.into_iter().filter(|p| applied(*p)) {
                    match self.replica_manager.partition(GROUP_METADATA_TOPIC_NAME, partition) {
                        Some(p) if p.is_leader() => self.group_coordinator.on_elected(partition, p.leader_epoch()),
                        Some(p) => self.group_coordinator.on_resigned(partition, Some(p.leader_epoch())),
                        None => self.group_coordinator.on_resigned(partition, None),
                    }
                }
                for LeaderAndIsrResult { topic, topic_id, partition, error_code: code } in results {
                    let mut err = LeaderAndIsrPartitionError::default();
                    err.topic_name = TopicName(StrBytes::from_string(topic));
                    err.partition_index = partition;
                    err.error_code = code;
                    if version >= 5 {
                        match response.topics.iter_mut().find(|t| t.topic_id == topic_id) {
                            Some(t) => t.partition_errors.push(err),
                            None => {
                                let mut t = LeaderAndIsrTopicError::default();
                                t.topic_id = topic_id;
                                t.partition_errors.push(err);
                                response.topics.push(t);
                            }
                        }
                    } else {
                        response.partition_errors.push(err);
                    }
                }
            }
        }
        ResponseKind::LeaderAndIsr(response)
    }
}
