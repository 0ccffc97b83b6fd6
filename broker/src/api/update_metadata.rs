//! UpdateMetadata (key 6), v0–7: the controller's view of live brokers and partition states,
//! stored in the `MetadataCache` that Metadata requests read (reference §3.4).
//!
//! Every endpoint of every live broker is kept with its listener name: v3+ name the listener,
//! v1–2 carry only a security protocol (whose name is then the listener name, as in Kafka), and
//! v0 has one PLAINTEXT host and port.

use kafka_protocol::messages::update_metadata_request::{UpdateMetadataBroker, UpdateMetadataPartitionState};
use kafka_protocol::messages::{ResponseKind, UpdateMetadataRequest, UpdateMetadataResponse};
use uuid::Uuid;

use super::KafkaApis;
use odradek_zk::SecurityProtocol;

use crate::metadata_cache::{ListenerEndpoint, LiveBroker, MetadataDelta, PartitionInfo};

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

/// A `LiveBrokers` entry with all its endpoints by listener name.
fn live_broker(b: &UpdateMetadataBroker, version: i16) -> LiveBroker {
    let endpoints = if version == 0 {
        vec![ListenerEndpoint { listener: SecurityProtocol::Plaintext.name().to_string(), host: b.v0_host.to_string(), port: b.v0_port }]
    } else {
        b.endpoints
            .iter()
            .filter_map(|e| {
                let listener = if version >= 3 {
                    e.listener.as_str().to_ascii_uppercase()
                } else {
                    // `ListenerName.forSecurityProtocol`: the protocol's name is the listener's.
                    SecurityProtocol::from_id(e.security_protocol)?.name().to_string()
                };
                Some(ListenerEndpoint { listener, host: e.host.to_string(), port: e.port })
            })
            .collect()
    };
    LiveBroker { id: b.id.0, endpoints, rack: b.rack.as_ref().map(|r| r.to_string()) }
}

impl KafkaApis {
    pub(super) fn handle_update_metadata(&self, request: UpdateMetadataRequest, version: i16) -> ResponseKind {
        let mut response = UpdateMetadataResponse::default();
        if let Err(e) = self.replica_manager.check_control_epochs(request.controller_epoch, request.broker_epoch) {
            response.error_code = e.code();
            return ResponseKind::UpdateMetadata(response);
        }
        let live_brokers = request.live_brokers.iter().map(|b| live_broker(b, version)).collect();
        let mut partitions: Vec<_> =
            request.ungrouped_partition_states.iter().map(|s| (s.topic_name.0.as_str().to_string(), Uuid::nil(), s.partition_index, to_info(s))).collect();
        for t in &request.topic_states {
            partitions.extend(t.partition_states.iter().map(|s| (t.topic_name.0.as_str().to_string(), t.topic_id, s.partition_index, to_info(s))));
        }
        self.metadata_cache.update(MetadataDelta { controller_id: request.controller_id.0, live_brokers, partitions });
        ResponseKind::UpdateMetadata(response)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::update_metadata_request::UpdateMetadataEndpoint;
    use kafka_protocol::messages::BrokerId;
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    fn endpoint(listener: &str, protocol: i16, port: i32) -> UpdateMetadataEndpoint {
        UpdateMetadataEndpoint::default().with_host(StrBytes::from_static_str("h")).with_port(port).with_listener(StrBytes::from_string(listener.to_string())).with_security_protocol(protocol)
    }

    #[test]
    fn endpoints_are_kept_by_listener_name_in_every_version() {
        let b = UpdateMetadataBroker::default()
            .with_id(BrokerId(2))
            .with_v0_host(StrBytes::from_static_str("v0"))
            .with_v0_port(1)
            .with_endpoints(vec![endpoint("internal", 0, 19092), endpoint("EXTERNAL", 0, 9092), endpoint("", 1, 9093)]);
        let names = |v: i16| live_broker(&b, v).endpoints.into_iter().map(|e| (e.listener, e.port)).collect::<Vec<_>>();
        assert_eq!(names(0), vec![("PLAINTEXT".to_string(), 1)]);
        assert_eq!(names(2), vec![("PLAINTEXT".to_string(), 19092), ("PLAINTEXT".to_string(), 9092), ("SSL".to_string(), 9093)]);
        assert_eq!(names(7), vec![("INTERNAL".to_string(), 19092), ("EXTERNAL".to_string(), 9092), ("".to_string(), 9093)]);
    }
}
