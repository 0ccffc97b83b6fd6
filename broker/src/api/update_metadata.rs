//! UpdateMetadata (key 6), v0–7: the controller's view of live brokers and partition states,
//! stored in the `MetadataCache` that Metadata requests read (reference §3.4).

use kafka_protocol::messages::update_metadata_request::UpdateMetadataPartitionState;
use kafka_protocol::messages::{ResponseKind, UpdateMetadataRequest, UpdateMetadataResponse};
use uuid::Uuid;

use super::KafkaApis;
use crate::metadata_cache::{BrokerEndpoint, MetadataDelta, PartitionInfo};

fn to_info(s: &UpdateMetadataPartitionState) -> PartitionInfo {
    PartitionInfo {
        controller_epoch: s.controller_epoch,
        leader: s.leader.0,
        leader_epoch: s.leader_epoch,
        isr: s.isr.iter().map(|b| b.0).collect(),
        zk_version: s.zk_version,
        replicas: s.replicas.iter().map(|b| b.0).collect(),
        offline_replicas: s.offline_replicas.iter().map(|b| b.0).collect(),
    }
}

impl KafkaApis {
    pub(super) fn handle_update_metadata(&self, request: UpdateMetadataRequest, version: i16) -> ResponseKind {
        let mut response = UpdateMetadataResponse::default();
        if let Err(e) = self.replica_manager.check_control_epochs(request.controller_epoch, request.broker_epoch) {
            response.error_code = e.code();
            return ResponseKind::UpdateMetadata(response);
        }
        let listener = self.config.listener.name.as_str();
        let live_brokers = request
            .live_brokers
            .iter()
            .filter_map(|b| {
                let (host, port) = if version == 0 {
                    (b.v0_host.as_str().to_string(), b.v0_port)
                } else {
                    // v3+ name the listener; v1–2 list endpoints by security protocol only.
                    let e = b.endpoints.iter().find(|e| version < 3 || e.listener.as_str() == listener).or(b.endpoints.first())?;
                    (e.host.as_str().to_string(), e.port)
                };
                Some(BrokerEndpoint { id: b.id.0, host, port, rack: b.rack.as_ref().map(|r| r.as_str().to_string()) })
            })
            .collect();
        let mut partitions: Vec<_> =
            request.ungrouped_partition_states.iter().map(|s| (s.topic_name.0.as_str().to_string(), Uuid::nil(), s.partition_index, to_info(s))).collect();
        for t in &request.topic_states {
            partitions.extend(t.partition_states.iter().map(|s| (t.topic_name.0.as_str().to_string(), t.topic_id, s.partition_index, to_info(s))));
        }
        self.metadata_cache.update(MetadataDelta { controller_id: request.controller_id.0, live_brokers, partitions });
        ResponseKind::UpdateMetadata(response)
    }
}
