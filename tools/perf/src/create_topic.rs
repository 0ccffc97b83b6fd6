//! `odradek-perf create-topic`: makes a single broker lead a new topic by playing the controller,
//! for benchmarks that run without ZooKeeper or a controller.
//!
//! A 2.8 controller creating a topic sends the new leader LeaderAndIsr (v5) and then every live
//! broker UpdateMetadata (v7) for the same partitions (reference §3.2, §3.4). Here there is one
//! broker: it leads every partition with ISR = replicas = [itself], leader epoch 0, and is the
//! only live broker (listener PLAINTEXT, security protocol 0). BrokerEpoch is −1 ("unknown"), which
//! Kafka accepts without the staleness check.

use anyhow::{bail, Context};
use kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, TopicName, UpdateMetadataRequest};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;

const LEADER_AND_ISR_VERSION: i16 = 5;
const UPDATE_METADATA_VERSION: i16 = 7;
const PLAINTEXT: i16 = 0;

#[derive(clap::Args, Debug, Clone)]
pub struct CreateTopicArgs {
    /// The broker to make leader, HOST:PORT (also the endpoint advertised in UpdateMetadata).
    #[arg(long)]
    pub bootstrap: String,
    /// That broker's broker.id.
    #[arg(long, default_value_t = 0)]
    pub broker_id: i32,
    #[arg(long)]
    pub topic: String,
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// ControllerEpoch to claim (the broker rejects epochs below the highest it has seen).
    #[arg(long, default_value_t = 1)]
    pub controller_epoch: i32,
    /// LeaderEpoch of every partition (must exceed the broker's current one to take effect).
    #[arg(long, default_value_t = 0)]
    pub leader_epoch: i32,
}

/// Splits `HOST:PORT` (the host may be a bracketed IPv6 literal).
pub fn split_host_port(addr: &str) -> anyhow::Result<(String, i32)> {
    let (host, port) = addr.rsplit_once(':').with_context(|| format!("{addr:?} is not HOST:PORT"))?;
    let port: u16 = port.parse().with_context(|| format!("bad port in {addr:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    anyhow::ensure!(!host.is_empty(), "empty host in {addr:?}");
    Ok((host.to_owned(), i32::from(port)))
}

pub fn leader_and_isr(args: &CreateTopicArgs, host: &str, port: i32, topic_id: uuid::Uuid) -> LeaderAndIsrRequest {
    let id = BrokerId(args.broker_id);
    let partitions = (0..args.partitions)
        .map(|p| {
            LeaderAndIsrPartitionState::default()
                .with_partition_index(p)
                .with_controller_epoch(args.controller_epoch)
                .with_leader(id)
                .with_leader_epoch(args.leader_epoch)
                .with_isr(vec![id])
                .with_partition_epoch(0)
                .with_replicas(vec![id])
                .with_is_new(true)
        })
        .collect();
    LeaderAndIsrRequest::default()
        .with_controller_id(id)
        .with_controller_epoch(args.controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(topic_name(&args.topic))
            .with_topic_id(topic_id)
            .with_partition_states(partitions)])
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(id)
            .with_host_name(StrBytes::from_string(host.to_owned()))
            .with_port(port)])
}

pub fn update_metadata(args: &CreateTopicArgs, host: &str, port: i32, topic_id: uuid::Uuid) -> UpdateMetadataRequest {
    let id = BrokerId(args.broker_id);
    let partitions = (0..args.partitions)
        .map(|p| {
            UpdateMetadataPartitionState::default()
                .with_partition_index(p)
                .with_controller_epoch(args.controller_epoch)
                .with_leader(id)
                .with_leader_epoch(args.leader_epoch)
                .with_isr(vec![id])
                .with_zk_version(0)
                .with_replicas(vec![id])
        })
        .collect();
    UpdateMetadataRequest::default()
        .with_controller_id(id)
        .with_controller_epoch(args.controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![UpdateMetadataTopicState::default()
            .with_topic_name(topic_name(&args.topic))
            .with_topic_id(topic_id)
            .with_partition_states(partitions)])
        .with_live_brokers(vec![UpdateMetadataBroker::default().with_id(id).with_endpoints(vec![
            UpdateMetadataEndpoint::default()
                .with_host(StrBytes::from_string(host.to_owned()))
                .with_port(port)
                .with_listener(StrBytes::from_static_str("PLAINTEXT"))
                .with_security_protocol(PLAINTEXT),
        ])])
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

pub async fn run(args: CreateTopicArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.partitions > 0, "--partitions must be positive");
    let (host, port) = split_host_port(&args.bootstrap)?;
    let topic_id = uuid::Uuid::new_v4();
    let mut conn = Connection::connect(args.bootstrap.as_str()).await.with_context(|| format!("connect to {}", args.bootstrap))?;

    let resp = conn.send(&leader_and_isr(&args, &host, port, topic_id), LEADER_AND_ISR_VERSION).await.context("LeaderAndIsr")?;
    if resp.error_code != 0 {
        bail!("LeaderAndIsr for {} failed with error code {}", args.topic, resp.error_code);
    }
    let failed: Vec<String> = resp
        .topics
        .iter()
        .flat_map(|t| t.partition_errors.iter())
        .filter(|p| p.error_code != 0)
        .map(|p| format!("partition {}: error code {}", p.partition_index, p.error_code))
        .collect();
    if !failed.is_empty() {
        bail!("LeaderAndIsr for {} failed: {}", args.topic, failed.join(", "));
    }

    let resp = conn.send(&update_metadata(&args, &host, port, topic_id), UPDATE_METADATA_VERSION).await.context("UpdateMetadata")?;
    if resp.error_code != 0 {
        bail!("UpdateMetadata for {} failed with error code {}", args.topic, resp.error_code);
    }
    println!("created {} ({} partitions, id {topic_id}) led by broker {} at {host}:{port}", args.topic, args.partitions, args.broker_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn args() -> CreateTopicArgs {
        CreateTopicArgs {
            bootstrap: "127.0.0.1:9092".into(),
            broker_id: 3,
            topic: "bench".into(),
            partitions: 2,
            controller_epoch: 1,
            leader_epoch: 0,
        }
    }

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("127.0.0.1:9092").unwrap(), ("127.0.0.1".into(), 9092));
        assert_eq!(split_host_port("[::1]:9092").unwrap(), ("::1".into(), 9092));
        assert!(split_host_port("localhost").is_err());
        assert!(split_host_port(":9092").is_err());
        assert!(split_host_port("h:99999").is_err());
    }

    #[test]
    fn control_requests_encode_at_the_versions_a_28_controller_sends() {
        let id = uuid::Uuid::new_v4();
        let mut buf = BytesMut::new();
        leader_and_isr(&args(), "127.0.0.1", 9092, id).encode(&mut buf, LEADER_AND_ISR_VERSION).unwrap();
        let back = LeaderAndIsrRequest::decode(&mut buf.freeze(), LEADER_AND_ISR_VERSION).unwrap();
        let ts = &back.topic_states[0];
        assert_eq!((ts.topic_id, ts.partition_states.len()), (id, 2));
        assert_eq!(ts.partition_states[1].leader.0, 3);
        assert_eq!(ts.partition_states[1].isr, vec![BrokerId(3)]);
        assert!(ts.partition_states[1].is_new);
        assert_eq!(back.live_leaders[0].port, 9092);

        let mut buf = BytesMut::new();
        update_metadata(&args(), "127.0.0.1", 9092, id).encode(&mut buf, UPDATE_METADATA_VERSION).unwrap();
        let back = UpdateMetadataRequest::decode(&mut buf.freeze(), UPDATE_METADATA_VERSION).unwrap();
        assert_eq!(back.topic_states[0].partition_states.len(), 2);
        let ep = &back.live_brokers[0].endpoints[0];
        assert_eq!((ep.listener.as_str(), ep.security_protocol, ep.port), ("PLAINTEXT", 0, 9092));
    }
}
