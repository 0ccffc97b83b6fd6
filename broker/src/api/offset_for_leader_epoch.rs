//! OffsetForLeaderEpoch (key 23), v0–4 (KIP-101/279/320, reference §4.6; flexible from 4): for
//! each partition, the end offset of the requested leader epoch in the leader's log (the start of
//! the next epoch it knows, or its log end for the current epoch), with the largest epoch at or
//! below the one asked. Followers truncate with it when their log has no epochs to send in a fetch
//! (the others get the same answer as a Fetch v12 diverging epoch); KIP-320 consumers check for
//! truncation with it. Only the leader answers, whatever `replica_id` (v3+) says, as in 2.8;
//! `current_leader_epoch` (v2+) is fenced as for Fetch. A partition this broker does not host
//! answers NOT_LEADER_OR_FOLLOWER if the cluster knows it and UNKNOWN_TOPIC_OR_PARTITION if not,
//! as Kafka's `ReplicaManager.lastOffsetForLeaderEpoch`.

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ResponseKind};
use odradek_protocol::error_codes as codes;

use super::KafkaApis;

impl KafkaApis {
    pub(super) fn handle_offset_for_leader_epoch(&self, request: OffsetForLeaderEpochRequest, _version: i16) -> ResponseKind {
        let mut response = OffsetForLeaderEpochResponse::default();
        let snapshot = self.metadata_cache.snapshot();
        for topic in request.topics {
            let name = topic.topic.0.as_str();
            let mut out = OffsetForLeaderTopicResult::default().with_topic(topic.topic.clone());
            for p in topic.partitions {
                let mut result = EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(-1).with_end_offset(-1);
                match self.replica_manager.partition(name, p.partition) {
                    None => {
                        let known = snapshot.topics.get(name).is_some_and(|t| t.partitions.contains_key(&p.partition));
                        result.error_code = if known { codes::NOT_LEADER_OR_FOLLOWER } else { codes::UNKNOWN_TOPIC_OR_PARTITION };
                    }
                    Some(partition) => match partition.check_leader(p.current_leader_epoch) {
                        Err(e) => result.error_code = e.code(),
                        Ok(()) => {
                            let (epoch, end_offset) = partition.log().end_offset_for_epoch(p.leader_epoch);
                            result.leader_epoch = epoch;
                            result.end_offset = end_offset;
                        }
                    },
                }
                out.partitions.push(result);
            }
            response.topics.push(out);
        }
        ResponseKind::OffsetForLeaderEpoch(response)
    }
}
