//! A stand-in for Kafka's controller, for tests and benchmarks that run without ZooKeeper.
//!
//! Until Odradek has its controller, partitions come to exist on a broker only through control
//! requests, exactly as a 2.8 ZooKeeper controller sends them (kafka-classic.md §3): LeaderAndIsr
//! v5 to make the broker leader, then UpdateMetadata v7 so its metadata cache, the only source of
//! Metadata responses, knows the topic and the broker.
//!
//! Every partition is led by the one broker, which is also its only replica and the whole ISR,
//! and the broker is reported as the controller (Metadata needs the controller id to be a listed
//! broker). The broker epoch is sent as −1, "unknown", which Kafka accepts without a check: the
//! epoch a real controller sends is the czxid of the broker's ZooKeeper registration.

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, TopicName, UpdateMetadataRequest};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::{ClientError, Connection, Result};

/// The version a 2.8 controller sends LeaderAndIsr at.
pub const LEADER_AND_ISR_VERSION: i16 = 5;
/// The version a 2.8 controller sends UpdateMetadata at.
pub const UPDATE_METADATA_VERSION: i16 = 7;
/// The controller epoch the stand-in claims unless told otherwise.
pub const CONTROLLER_EPOCH: i32 = 1;
/// Security protocol id of PLAINTEXT.
const PLAINTEXT: i16 = 0;

/// A topic the stand-in announces; keep it to announce the same topic id again after a restart.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: i32,
}

impl TopicInfo {
    /// A new topic with a fresh random id.
    pub fn new(name: &str, partitions: i32) -> TopicInfo {
        TopicInfo {
            name: name.to_string(),
            topic_id: Uuid::new_v4(),
            partitions,
        }
    }
}

/// The broker made leader: its id and the endpoint clients reach it at.
#[derive(Debug, Clone)]
pub struct Leader {
    pub broker_id: i32,
    pub host: String,
    pub port: i32,
}

/// What the stand-in sends: which controller epoch it claims and the partitions' leader epoch.
#[derive(Debug, Clone, Copy)]
pub struct Announcement {
    pub controller_epoch: i32,
    pub leader_epoch: i32,
    /// `IsNew` in LeaderAndIsr: true when the topic is being created.
    pub is_new: bool,
}

impl Default for Announcement {
    fn default() -> Self {
        Announcement {
            controller_epoch: CONTROLLER_EPOCH,
            leader_epoch: 0,
            is_new: true,
        }
    }
}

/// Sends LeaderAndIsr then UpdateMetadata making `leader` the leader of every partition of
/// `topic`, and checks that every partition and the request as a whole were accepted.
pub async fn announce_leader(
    conn: &mut Connection,
    leader: &Leader,
    topic: &TopicInfo,
    how: Announcement,
) -> Result<()> {
    let response = conn
        .send(
            &leader_and_isr_request(leader, topic, how),
            LEADER_AND_ISR_VERSION,
        )
        .await?;
    refused_unless_zero(
        format!("LeaderAndIsr for topic {}", topic.name),
        response.error_code,
    )?;
    let mut answered = 0;
    for t in &response.topics {
        if t.topic_id != topic.topic_id {
            return Err(ClientError::Refused {
                what: format!("LeaderAndIsr answered for unknown topic id {}", t.topic_id),
                code: -1,
            });
        }
        for p in &t.partition_errors {
            refused_unless_zero(
                format!("LeaderAndIsr for {}-{}", topic.name, p.partition_index),
                p.error_code,
            )?;
            answered += 1;
        }
    }
    if answered != topic.partitions {
        return Err(ClientError::Refused {
            what: format!(
                "LeaderAndIsr for topic {} answered {answered} of {} partitions",
                topic.name, topic.partitions
            ),
            code: -1,
        });
    }
    let response = conn
        .send(
            &update_metadata_request(leader, topic, how),
            UPDATE_METADATA_VERSION,
        )
        .await?;
    refused_unless_zero(
        format!("UpdateMetadata for topic {}", topic.name),
        response.error_code,
    )
}

fn refused_unless_zero(what: String, code: i16) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::Refused { what, code })
    }
}

/// LeaderAndIsr v5 making `leader` the sole replica and leader of every partition of `topic`.
pub fn leader_and_isr_request(
    leader: &Leader,
    topic: &TopicInfo,
    how: Announcement,
) -> LeaderAndIsrRequest {
    let id = BrokerId(leader.broker_id);
    let partition_states = (0..topic.partitions)
        .map(|partition| {
            LeaderAndIsrPartitionState::default()
                .with_topic_name(topic_name(&topic.name))
                .with_partition_index(partition)
                .with_controller_epoch(how.controller_epoch)
                .with_leader(id)
                .with_leader_epoch(how.leader_epoch)
                .with_isr(vec![id])
                .with_partition_epoch(how.leader_epoch)
                .with_replicas(vec![id])
                .with_is_new(how.is_new)
        })
        .collect();
    LeaderAndIsrRequest::default()
        .with_controller_id(id)
        .with_controller_epoch(how.controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(topic_name(&topic.name))
            .with_topic_id(topic.topic_id)
            .with_partition_states(partition_states)])
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(id)
            .with_host_name(StrBytes::from_string(leader.host.clone()))
            .with_port(leader.port)])
}

/// UpdateMetadata v7 with `leader` as the only live broker and the same partition states.
pub fn update_metadata_request(
    leader: &Leader,
    topic: &TopicInfo,
    how: Announcement,
) -> UpdateMetadataRequest {
    let id = BrokerId(leader.broker_id);
    let partition_states = (0..topic.partitions)
        .map(|partition| {
            UpdateMetadataPartitionState::default()
                .with_topic_name(topic_name(&topic.name))
                .with_partition_index(partition)
                .with_controller_epoch(how.controller_epoch)
                .with_leader(id)
                .with_leader_epoch(how.leader_epoch)
                .with_isr(vec![id])
                .with_zk_version(how.leader_epoch)
                .with_replicas(vec![id])
        })
        .collect();
    UpdateMetadataRequest::default()
        .with_controller_id(id)
        .with_controller_epoch(how.controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![UpdateMetadataTopicState::default()
            .with_topic_name(topic_name(&topic.name))
            .with_topic_id(topic.topic_id)
            .with_partition_states(partition_states)])
        .with_live_brokers(vec![UpdateMetadataBroker::default()
            .with_id(id)
            .with_endpoints(vec![UpdateMetadataEndpoint::default()
                .with_host(StrBytes::from_string(leader.host.clone()))
                .with_port(leader.port)
                .with_listener(StrBytes::from_static_str("PLAINTEXT"))
                .with_security_protocol(PLAINTEXT)])])
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn leader() -> Leader {
        Leader {
            broker_id: 7,
            host: "127.0.0.1".into(),
            port: 9092,
        }
    }

    #[test]
    fn leader_and_isr_round_trips_at_v5() {
        let topic = TopicInfo::new("orders", 3);
        let req = leader_and_isr_request(
            &leader(),
            &topic,
            Announcement {
                leader_epoch: 2,
                ..Default::default()
            },
        );
        let mut buf = bytes::BytesMut::new();
        req.encode(&mut buf, LEADER_AND_ISR_VERSION).unwrap();
        let back = LeaderAndIsrRequest::decode(&mut buf.freeze(), LEADER_AND_ISR_VERSION).unwrap();
        assert_eq!(back.controller_id, BrokerId(7));
        let ts = &back.topic_states[0];
        assert_eq!(
            (ts.topic_id, ts.partition_states.len()),
            (topic.topic_id, 3)
        );
        assert!(ts.partition_states.iter().all(|p| p.leader == BrokerId(7)
            && p.leader_epoch == 2
            && p.is_new
            && p.isr == vec![BrokerId(7)]));
        assert_eq!(back.live_leaders[0].port, 9092);
    }

    #[test]
    fn update_metadata_names_the_broker_endpoint() {
        let topic = TopicInfo::new("orders", 2);
        let req = update_metadata_request(&leader(), &topic, Announcement::default());
        let mut buf = bytes::BytesMut::new();
        req.encode(&mut buf, UPDATE_METADATA_VERSION).unwrap();
        let back =
            UpdateMetadataRequest::decode(&mut buf.freeze(), UPDATE_METADATA_VERSION).unwrap();
        let ep = &back.live_brokers[0].endpoints[0];
        assert_eq!(
            (
                ep.host.as_str(),
                ep.port,
                ep.listener.as_str(),
                ep.security_protocol
            ),
            ("127.0.0.1", 9092, "PLAINTEXT", 0)
        );
        assert_eq!(back.topic_states[0].topic_id, topic.topic_id);
        assert_eq!(back.topic_states[0].partition_states.len(), 2);
    }
}
