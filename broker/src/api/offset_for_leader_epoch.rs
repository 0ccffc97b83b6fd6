//! OffsetForLeaderEpoch (key 23), v0–3 (KIP-101/279/320, reference §4.6): for each partition,
//! the end offset of the requested leader epoch in the leader's log (the start of the next epoch
//! it knows, or its log end for the current epoch), with the largest epoch at or below the one
//! asked. Followers truncate with it when their log has no epochs to send in a fetch (the others
//! get the same answer as a Fetch v12 diverging epoch); KIP-320 consumers check for truncation
//! with it. Only the leader answers; `current_leader_epoch` (v2+) is fenced as for Fetch.

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ResponseKind};
use odradek_protocol::error_codes as codes;

use super::KafkaApis;

impl KafkaApis {
    pub(super) fn handle_offset_for_leader_epoch(&self, request: OffsetForLeaderEpochRequest, _version: i16) -> ResponseKind {
        let mut response = OffsetForLeaderEpochResponse::default();
        for topic in request.topics {
            let name = topic.topic.0.as_str();
            let mut out = OffsetForLeaderTopicResult::default().with_topic(topic.topic.clone());
            for p in topic.partitions {
                let mut result = EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(-1).with_end_offset(-1);
                match self.replica_manager.partition(name, p.partition) {
                    None => result.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION,
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
