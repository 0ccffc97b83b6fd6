//! ListOffsets (key 2), v1–5: −2 = earliest (log start), −1 = latest (the HW; for read_committed
//! the last stable offset, equal to the HW without transactions), any other timestamp = the first
//! offset whose record timestamp is at or after it, through the time index. Only the leader answers.

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};
use odradek_protocol::error_codes as codes;

use super::KafkaApis;
use crate::errors::log_error_code;

pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const LATEST_TIMESTAMP: i64 = -1;

impl KafkaApis {
    pub(super) fn handle_list_offsets(&self, request: ListOffsetsRequest, version: i16) -> ResponseKind {
        let mut response = ListOffsetsResponse::default();
        for topic in request.topics {
            let name = topic.name.0.as_str();
            let mut out = ListOffsetsTopicResponse::default();
            out.name = topic.name.clone();
            for p in topic.partitions {
                let mut part = ListOffsetsPartitionResponse::default();
                part.partition_index = p.partition_index;
                part.timestamp = -1;
                part.offset = -1;
                part.leader_epoch = -1;
                match self.replica_manager.partition(name, p.partition_index) {
                    None => part.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(partition) => match partition.check_leader(p.current_leader_epoch) {
                        Err(e) => part.error_code = e.code(),
                        Ok(()) => {
                            let log = partition.log();
                            match p.timestamp {
                                EARLIEST_TIMESTAMP => part.offset = log.log_start_offset(),
                                LATEST_TIMESTAMP => {
                                    part.offset = partition.high_watermark();
                                    if version >= 4 {
                                        // The field exists from v4; the codec refuses it earlier.
                                        part.leader_epoch = partition.leader_epoch();
                                    }
                                }
                                ts => match log.fetch_offset_by_timestamp(ts) {
                                    Ok(Some(found)) => {
                                        part.offset = found.offset;
                                        part.timestamp = found.timestamp;
                                    }
                                    Ok(None) => {}
                                    Err(e) => part.error_code = log_error_code(&e),
                                },
                            }
                        }
                    },
                }
                out.partitions.push(part);
            }
            response.topics.push(out);
        }
        ResponseKind::ListOffsets(response)
    }
}
