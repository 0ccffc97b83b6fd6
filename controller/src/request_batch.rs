//! `ControllerBrokerRequestBatch`: the requests one round of controller decisions produces.
//!
//! Within a batch Kafka sends, per broker, LeaderAndIsr first, then UpdateMetadata, then
//! StopReplica (reference §3). Every request carries the controller's id and epoch and the
//! *recipient's* broker epoch (the czxid of its registration), which the broker checks so that a
//! request meant for a previous incarnation is refused. Every LeaderAndIsr for a partition implies
//! an UpdateMetadata for it to every live broker. The 2.8 versions: LeaderAndIsr v5 (grouped by
//! topic, with topic ids), UpdateMetadata v7.
//!
//! UpdateMetadata lists every endpoint of every live broker with its listener name, so each broker
//! can answer clients on any listener; LeaderAndIsr's `LiveLeaders` carry each leader's
//! `inter.broker.listener.name` endpoint, the one followers fetch from.

use std::collections::BTreeMap;

use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::messages::update_metadata_request::{UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState, UpdateMetadataTopicState};
use kafka_protocol::messages::stop_replica_request::{StopReplicaPartitionState, StopReplicaTopicState};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest};
use kafka_protocol::protocol::StrBytes;
use odradek_zk::EndPoint;
use uuid::Uuid;

use crate::decisions::{PartitionChange, PartitionKey};

pub const LEADER_AND_ISR_VERSION: i16 = 5;
pub const UPDATE_METADATA_VERSION: i16 = 7;
/// StopReplica v3 (IBP 2.6+): per-partition leader epoch and delete flag.
pub const STOP_REPLICA_VERSION: i16 = 3;
/// `LeaderAndIsr.EpochDuringDelete`: the leader epoch StopReplica carries when deleting a topic.
pub const EPOCH_DURING_DELETE: i32 = -2;
/// `LeaderAndIsr.NoEpoch`: StopReplica without a leader-epoch check.
pub const NO_EPOCH: i32 = -1;
/// `LeaderAndIsr.LeaderDuringDelete`: the leader UpdateMetadata names for a topic being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;

/// A live broker as the controller knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    pub id: i32,
    /// czxid of `/brokers/ids/<id>`.
    pub epoch: i64,
    /// Every advertised endpoint, in registration order.
    pub endpoints: Vec<EndPoint>,
    pub rack: Option<String>,
}

impl LiveBroker {
    /// The endpoint of the listener named `listener` (`Broker.node(listenerName)`), if advertised.
    pub fn endpoint(&self, listener: &str) -> Option<&EndPoint> {
        self.endpoints.iter().find(|e| e.listener_name == listener)
    }
}

/// Who is sending: the controller's id and epoch.
#[derive(Debug, Clone, Copy)]
pub struct ControllerStamp {
    pub controller_id: i32,
    pub controller_epoch: i32,
}

/// What a partition change needs besides leader and ISR.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    pub topic_id: Uuid,
    /// Full assignment, preference order.
    pub replicas: Vec<i32>,
    pub is_new: bool,
}

/// One round of requests, per recipient broker.
#[derive(Debug, Default)]
pub struct RequestBatch {
    pub leader_and_isr: BTreeMap<i32, LeaderAndIsrRequest>,
    pub update_metadata: BTreeMap<i32, UpdateMetadataRequest>,
}

/// Builds the LeaderAndIsr requests for `changes` (to each change's recipients that are live) and
/// the UpdateMetadata carrying the same partitions to every live broker. Live leaders are named
/// by their `inter_broker_listener` endpoint.
pub fn build(stamp: ControllerStamp, live: &[LiveBroker], inter_broker_listener: &str, changes: &[PartitionChange], info: &dyn Fn(&str, i32) -> Option<PartitionInfo>) -> RequestBatch {
    let by_id: BTreeMap<i32, &LiveBroker> = live.iter().map(|b| (b.id, b)).collect();
    let mut batch = RequestBatch::default();
    let mut metadata_states: BTreeMap<(String, Uuid), Vec<UpdateMetadataPartitionState>> = BTreeMap::new();
    for change in changes {
        let (topic, partition) = (&change.partition.0, change.partition.1);
        let Some(pi) = info(topic, partition) else { continue };
        let lai = &change.leader_and_isr;
        let isr: Vec<BrokerId> = lai.isr.iter().copied().map(BrokerId).collect();
        let replicas: Vec<BrokerId> = pi.replicas.iter().copied().map(BrokerId).collect();
        for recipient in change.recipients.iter().filter(|r| by_id.contains_key(r)) {
            let broker = by_id[recipient];
            let req = batch.leader_and_isr.entry(*recipient).or_insert_with(|| {
                LeaderAndIsrRequest::default().with_controller_id(BrokerId(stamp.controller_id)).with_controller_epoch(stamp.controller_epoch).with_broker_epoch(broker.epoch)
            });
            // Grouped by topic (v2+): the per-partition topic name is not on the wire.
            let state = LeaderAndIsrPartitionState::default()
                .with_partition_index(partition)
                .with_controller_epoch(stamp.controller_epoch)
                .with_leader(BrokerId(lai.leader))
                .with_leader_epoch(lai.leader_epoch)
                .with_isr(isr.clone())
                .with_partition_epoch(lai.zk_version)
                .with_replicas(replicas.clone())
                .with_is_new(pi.is_new);
            match req.topic_states.iter_mut().find(|t| t.topic_name.0.as_str() == topic) {
                Some(t) => t.partition_states.push(state),
                None => req.topic_states.push(LeaderAndIsrTopicState::default().with_topic_name(name(topic)).with_topic_id(pi.topic_id).with_partition_states(vec![state])),
            }
            if let Some((leader, endpoint)) = by_id.get(&lai.leader).and_then(|l| Some((l.id, l.endpoint(inter_broker_listener)?))) {
                if !req.live_leaders.iter().any(|l| l.broker_id.0 == leader) {
                    req.live_leaders.push(LeaderAndIsrLiveLeader::default().with_broker_id(BrokerId(leader)).with_host_name(StrBytes::from_string(endpoint.host.clone())).with_port(endpoint.port));
                }
            }
        }
        let offline: Vec<BrokerId> = pi.replicas.iter().copied().filter(|r| !by_id.contains_key(r)).map(BrokerId).collect();
        metadata_states.entry((topic.clone(), pi.topic_id)).or_default().push(
            UpdateMetadataPartitionState::default()
                .with_partition_index(partition)
                .with_controller_epoch(stamp.controller_epoch)
                .with_leader(BrokerId(lai.leader))
                .with_leader_epoch(lai.leader_epoch)
                .with_isr(isr)
                .with_zk_version(lai.zk_version)
                .with_replicas(replicas)
                .with_offline_replicas(offline),
        );
    }
    let topic_states: Vec<UpdateMetadataTopicState> = metadata_states
        .into_iter()
        .map(|((topic, id), states)| UpdateMetadataTopicState::default().with_topic_name(name(&topic)).with_topic_id(id).with_partition_states(states))
        .collect();
    let live_brokers: Vec<UpdateMetadataBroker> = live
        .iter()
        .map(|b| {
            let endpoints = b
                .endpoints
                .iter()
                .map(|e| {
                    UpdateMetadataEndpoint::default()
                        .with_host(StrBytes::from_string(e.host.clone()))
                        .with_port(e.port)
                        .with_listener(StrBytes::from_string(e.listener_name.clone()))
                        .with_security_protocol(e.security_protocol.id())
                })
                .collect();
            UpdateMetadataBroker::default().with_id(BrokerId(b.id)).with_rack(b.rack.clone().map(StrBytes::from_string)).with_endpoints(endpoints)
        })
        .collect();
    for b in live {
        batch.update_metadata.insert(
            b.id,
            UpdateMetadataRequest::default()
                .with_controller_id(BrokerId(stamp.controller_id))
                .with_controller_epoch(stamp.controller_epoch)
                .with_broker_epoch(b.epoch)
                .with_topic_states(topic_states.clone())
                .with_live_brokers(live_brokers.clone()),
        );
    }
    batch
}

/// One StopReplica v3 request to `broker`: `(partition, leader epoch, delete)` for each replica
/// it must stop (Kafka's `addStopReplicaRequestForBrokers`, grouped by topic).
pub fn stop_replica(stamp: ControllerStamp, broker: &LiveBroker, partitions: &[(PartitionKey, i32, bool)]) -> StopReplicaRequest {
    let mut topics: BTreeMap<&str, Vec<StopReplicaPartitionState>> = BTreeMap::new();
    for ((topic, partition), leader_epoch, delete) in partitions {
        topics.entry(topic.as_str()).or_default().push(StopReplicaPartitionState::default().with_partition_index(*partition).with_leader_epoch(*leader_epoch).with_delete_partition(*delete));
    }
    StopReplicaRequest::default()
        .with_controller_id(BrokerId(stamp.controller_id))
        .with_controller_epoch(stamp.controller_epoch)
        .with_broker_epoch(broker.epoch)
        .with_topic_states(topics.into_iter().map(|(topic, states)| StopReplicaTopicState::default().with_topic_name(name(topic)).with_partition_states(states)).collect())
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::LeaderAndIsr;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn broker(id: i32) -> LiveBroker {
        let ep = |name: &str, host: String, port| EndPoint { host, port, listener_name: name.into(), security_protocol: odradek_zk::SecurityProtocol::Plaintext };
        LiveBroker { id, epoch: 100 + id as i64, endpoints: vec![ep("EXTERNAL", "localhost".into(), 9090 + id), ep("INTERNAL", format!("b{id}"), 19090 + id)], rack: None }
    }

    #[test]
    fn leader_and_isr_goes_to_recipients_and_metadata_to_everyone() {
        let topic_id = Uuid::new_v4();
        let info = |_: &str, _: i32| Some(PartitionInfo { topic_id, replicas: vec![1, 2, 3], is_new: false });
        let changes = vec![
            PartitionChange { partition: ("t".into(), 0), leader_and_isr: LeaderAndIsr { leader: 2, leader_epoch: 5, isr: vec![2, 3], zk_version: 7 }, recipients: vec![2, 3], unclean: false },
            PartitionChange { partition: ("t".into(), 1), leader_and_isr: LeaderAndIsr { leader: 3, leader_epoch: 1, isr: vec![3], zk_version: 2 }, recipients: vec![3, 9], unclean: false },
        ];
        let live = [broker(2), broker(3)];
        let batch = build(ControllerStamp { controller_id: 3, controller_epoch: 4 }, &live, "INTERNAL", &changes, &info);

        assert_eq!(batch.leader_and_isr.keys().copied().collect::<Vec<_>>(), vec![2, 3], "dead recipient 9 is skipped");
        let to3 = &batch.leader_and_isr[&3];
        assert_eq!((to3.controller_id.0, to3.controller_epoch, to3.broker_epoch), (3, 4, 103), "stamped with the recipient's broker epoch");
        assert_eq!(to3.topic_states.len(), 1);
        assert_eq!(to3.topic_states[0].partition_states.len(), 2);
        let leaders: Vec<(i32, String, i32)> = to3.live_leaders.iter().map(|l| (l.broker_id.0, l.host_name.to_string(), l.port)).collect();
        assert_eq!(leaders, vec![(2, "b2".to_string(), 19092), (3, "b3".to_string(), 19093)], "leaders at their inter-broker endpoints");
        assert_eq!(batch.leader_and_isr[&2].topic_states[0].partition_states.len(), 1);

        assert_eq!(batch.update_metadata.len(), 2);
        let um = &batch.update_metadata[&2];
        assert_eq!(um.broker_epoch, 102);
        assert_eq!(um.live_brokers.len(), 2);
        let listed: Vec<(String, String, i32, i16)> = um.live_brokers[0].endpoints.iter().map(|e| (e.listener.to_string(), e.host.to_string(), e.port, e.security_protocol)).collect();
        assert_eq!(listed, vec![("EXTERNAL".into(), "localhost".into(), 9092, 0), ("INTERNAL".into(), "b2".into(), 19092, 0)], "every endpoint with its listener name");
        let p0 = &um.topic_states[0].partition_states[0];
        assert_eq!((p0.leader.0, p0.leader_epoch, p0.zk_version), (2, 5, 7));
        assert_eq!(p0.offline_replicas, vec![BrokerId(1)], "broker 1 is not live");

        // They encode at the versions a 2.8 controller sends.
        let mut buf = bytes::BytesMut::new();
        to3.encode(&mut buf, LEADER_AND_ISR_VERSION).unwrap();
        assert_eq!(LeaderAndIsrRequest::decode(&mut buf.freeze(), LEADER_AND_ISR_VERSION).unwrap(), *to3);
        let stop = stop_replica(ControllerStamp { controller_id: 3, controller_epoch: 4 }, &live[0], &[(("t".into(), 1), EPOCH_DURING_DELETE, true), (("t".into(), 0), EPOCH_DURING_DELETE, true)]);
        assert_eq!((stop.broker_epoch, stop.topic_states.len(), stop.topic_states[0].partition_states.len()), (102, 1, 2));
        let mut buf = bytes::BytesMut::new();
        stop.encode(&mut buf, STOP_REPLICA_VERSION).unwrap();
        assert_eq!(StopReplicaRequest::decode(&mut buf.freeze(), STOP_REPLICA_VERSION).unwrap(), stop);

        let mut buf = bytes::BytesMut::new();
        um.encode(&mut buf, UPDATE_METADATA_VERSION).unwrap();
        assert_eq!(UpdateMetadataRequest::decode(&mut buf.freeze(), UPDATE_METADATA_VERSION).unwrap(), *um);
    }
}
