//! FindCoordinator (key 10), v0–2. There is no group coordinator yet, so every lookup is
//! answered COORDINATOR_NOT_AVAILABLE, Kafka's own answer while `__consumer_offsets` is not
//! loaded; clients retry. The API is served (rather than absent) because librdkafka before
//! 2.11.1 enables lz4 compression only when FindCoordinator v0 is advertised.

use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as codes;

use super::KafkaApis;

impl KafkaApis {
    pub(super) fn handle_find_coordinator(&self, _request: FindCoordinatorRequest, version: i16) -> ResponseKind {
        let mut response = FindCoordinatorResponse::default();
        response.error_code = codes::COORDINATOR_NOT_AVAILABLE;
        response.node_id = BrokerId(-1);
        response.port = -1;
        if version >= 1 {
            response.error_message = Some(StrBytes::from_static_str("The coordinator is not available."));
        }
        ResponseKind::FindCoordinator(response)
    }
}
