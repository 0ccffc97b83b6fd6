//! The tests play Kafka's controller: until Odradek has one, partitions come to exist on a broker
//! only through control requests, exactly as a 2.8 ZooKeeper controller would send them
//! (kafka-classic.md §3): LeaderAndIsr v5 to make the broker leader, then UpdateMetadata v7 so
//! its metadata cache, the only source of Metadata responses, knows the topic and the broker.
//!
//! Every partition is led by the one broker, which is also its only replica and the whole ISR, and
//! the broker reports itself as the controller (Metadata needs the controller id to be a listed
//! broker). The broker epoch is sent as -1, "unknown", which Kafka accepts without a check: the
//! epoch a real controller would send is the czxid of the broker's ZooKeeper registration, which
//! does not exist yet.

use std::net::SocketAddr;

use anyhow::Context;
use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, TopicName, UpdateMetadataRequest};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use uuid::Uuid;

/// The version a 2.8 controller sends LeaderAndIsr at.
pub const LEADER_AND_ISR_VERSION: i16 = 5;
/// The version a 2.8 controller sends UpdateMetadata at.
pub const UPDATE_METADATA_VERSION: i16 = 7;
/// The controller epoch the stub claims.
pub const CONTROLLER_EPOCH: i32 = 1;
/// Security protocol id of PLAINTEXT.
const PLAINTEXT: i16 = 0;

/// A topic the stub created: what is needed to announce it again, e.g. after a restart (the
/// broker checks the topic id against its `partition.metadata`).
#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: i32,
}

/// Creates `topic` with `partitions` partitions, all led by broker `broker_id` at `addr`, with
/// leader epoch 0 and a fresh random topic id.
pub async fn create_topic(
    addr: SocketAddr,
    broker_id: i32,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<TopicInfo> {
    let info = TopicInfo {
        name: topic.to_string(),
        topic_id: Uuid::new_v4(),
        partitions,
    };
    announce_leader(addr, broker_id, &info, 0, true).await?;
    Ok(info)
}

/// [`create_topic`] for synchronous tests (runs its own single-threaded runtime; do not call it
/// from inside a runtime).
pub fn create_topic_blocking(
    addr: SocketAddr,
    broker_id: i32,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<TopicInfo> {
    block_on(create_topic(addr, broker_id, topic, partitions))
}

/// Sends LeaderAndIsr then UpdateMetadata making broker `broker_id` (at `addr`) the leader of every
/// partition of `topic` at `leader_epoch`, and checks that every error code is 0. Announcing an
/// existing topic again after a restart takes a higher `leader_epoch` and `is_new = false`.
pub async fn announce_leader(
    addr: SocketAddr,
    broker_id: i32,
    topic: &TopicInfo,
    leader_epoch: i32,
    is_new: bool,
) -> anyhow::Result<()> {
    let mut conn = Connection::connect(addr)
        .await
        .with_context(|| format!("cannot connect to broker at {addr}"))?;

    let request = leader_and_isr_request(addr, broker_id, topic, leader_epoch, is_new);
    let response = conn
        .send(&request, LEADER_AND_ISR_VERSION)
        .await
        .with_context(|| {
            format!(
                "LeaderAndIsr v{LEADER_AND_ISR_VERSION} for topic {} failed",
                topic.name
            )
        })?;
    anyhow::ensure!(
        response.error_code == 0,
        "LeaderAndIsr for topic {}: error code {}",
        topic.name,
        response.error_code
    );
    let mut answered = 0;
    for t in &response.topics {
        anyhow::ensure!(
            t.topic_id == topic.topic_id,
            "LeaderAndIsr answered for unknown topic id {}",
            t.topic_id
        );
        for p in &t.partition_errors {
            anyhow::ensure!(
                p.error_code == 0,
                "LeaderAndIsr for {}-{}: error code {}",
                topic.name,
                p.partition_index,
                p.error_code
            );
            answered += 1;
        }
    }
    anyhow::ensure!(
        answered == topic.partitions,
        "LeaderAndIsr for topic {} answered {answered} of {} partitions",
        topic.name,
        topic.partitions
    );

    let request = update_metadata_request(addr, broker_id, topic, leader_epoch);
    let response = conn
        .send(&request, UPDATE_METADATA_VERSION)
        .await
        .with_context(|| {
            format!(
                "UpdateMetadata v{UPDATE_METADATA_VERSION} for topic {} failed",
                topic.name
            )
        })?;
    anyhow::ensure!(
        response.error_code == 0,
        "UpdateMetadata for topic {}: error code {}",
        topic.name,
        response.error_code
    );
    Ok(())
}

/// [`announce_leader`] for synchronous tests.
pub fn announce_leader_blocking(
    addr: SocketAddr,
    broker_id: i32,
    topic: &TopicInfo,
    leader_epoch: i32,
    is_new: bool,
) -> anyhow::Result<()> {
    block_on(announce_leader(
        addr,
        broker_id,
        topic,
        leader_epoch,
        is_new,
    ))
}

fn leader_and_isr_request(
    addr: SocketAddr,
    broker_id: i32,
    topic: &TopicInfo,
    leader_epoch: i32,
    is_new: bool,
) -> LeaderAndIsrRequest {
    let partition_states = (0..topic.partitions)
        .map(|partition| {
            LeaderAndIsrPartitionState::default()
                .with_topic_name(topic_name(&topic.name))
                .with_partition_index(partition)
                .with_controller_epoch(CONTROLLER_EPOCH)
                .with_leader(BrokerId(broker_id))
                .with_leader_epoch(leader_epoch)
                .with_isr(vec![BrokerId(broker_id)])
                .with_partition_epoch(leader_epoch)
                .with_replicas(vec![BrokerId(broker_id)])
                .with_is_new(is_new)
        })
        .collect();
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(broker_id))
        .with_controller_epoch(CONTROLLER_EPOCH)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(topic_name(&topic.name))
            .with_topic_id(topic.topic_id)
            .with_partition_states(partition_states)])
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(BrokerId(broker_id))
            .with_host_name(StrBytes::from_string(addr.ip().to_string()))
            .with_port(i32::from(addr.port()))])
}

fn update_metadata_request(
    addr: SocketAddr,
    broker_id: i32,
    topic: &TopicInfo,
    leader_epoch: i32,
) -> UpdateMetadataRequest {
    let partition_states = (0..topic.partitions)
        .map(|partition| {
            UpdateMetadataPartitionState::default()
                .with_topic_name(topic_name(&topic.name))
                .with_partition_index(partition)
                .with_controller_epoch(CONTROLLER_EPOCH)
                .with_leader(BrokerId(broker_id))
                .with_leader_epoch(leader_epoch)
                .with_isr(vec![BrokerId(broker_id)])
                .with_zk_version(leader_epoch)
                .with_replicas(vec![BrokerId(broker_id)])
                .with_offline_replicas(vec![])
        })
        .collect();
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(broker_id))
        .with_controller_epoch(CONTROLLER_EPOCH)
        .with_broker_epoch(-1)
        .with_topic_states(vec![UpdateMetadataTopicState::default()
            .with_topic_name(topic_name(&topic.name))
            .with_topic_id(topic.topic_id)
            .with_partition_states(partition_states)])
        .with_live_brokers(vec![UpdateMetadataBroker::default()
            .with_id(BrokerId(broker_id))
            .with_endpoints(vec![UpdateMetadataEndpoint::default()
                .with_host(StrBytes::from_string(addr.ip().to_string()))
                .with_port(i32::from(addr.port()))
                .with_listener(StrBytes::from_static_str("PLAINTEXT"))
                .with_security_protocol(PLAINTEXT)])
            .with_rack(None)])
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Runs `future` to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime")
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn topic() -> TopicInfo {
        TopicInfo {
            name: "orders".into(),
            topic_id: Uuid::new_v4(),
            partitions: 3,
        }
    }

    #[test]
    fn leader_and_isr_round_trips_at_v5() {
        let addr: SocketAddr = "127.0.0.1:9092".parse().unwrap();
        let req = leader_and_isr_request(addr, 7, &topic(), 2, true);
        let mut buf = bytes::BytesMut::new();
        req.encode(&mut buf, LEADER_AND_ISR_VERSION).unwrap();
        let back = LeaderAndIsrRequest::decode(&mut buf.freeze(), LEADER_AND_ISR_VERSION).unwrap();
        assert_eq!(back.controller_id, BrokerId(7));
        let states = &back.topic_states[0].partition_states;
        assert_eq!(states.len(), 3);
        assert!(states
            .iter()
            .all(|p| p.leader == BrokerId(7) && p.leader_epoch == 2 && p.is_new));
        assert_eq!(back.live_leaders[0].port, 9092);
    }

    #[test]
    fn update_metadata_names_the_broker_endpoint() {
        let addr: SocketAddr = "127.0.0.1:19092".parse().unwrap();
        let info = topic();
        let req = update_metadata_request(addr, 1, &info, 0);
        let mut buf = bytes::BytesMut::new();
        req.encode(&mut buf, UPDATE_METADATA_VERSION).unwrap();
        let back =
            UpdateMetadataRequest::decode(&mut buf.freeze(), UPDATE_METADATA_VERSION).unwrap();
        let endpoint = &back.live_brokers[0].endpoints[0];
        assert_eq!(
            (endpoint.host.as_str(), endpoint.port),
            ("127.0.0.1", 19092)
        );
        assert_eq!(endpoint.listener.as_str(), "PLAINTEXT");
        assert_eq!(back.topic_states[0].topic_id, info.topic_id);
    }
}
