//! `odradek-perf create-topic`: makes a single broker lead a new topic by playing the controller,
//! for benchmarks that run without ZooKeeper or a controller.
//!
//! A 2.8 controller creating a topic sends the new leader LeaderAndIsr (v5) and then every live
//! broker UpdateMetadata (v7) for the same partitions (reference §3.2, §3.4). Here there is one
//! broker: it leads every partition with ISR = replicas = [itself], leader epoch 0, and is the
//! only live broker (listener PLAINTEXT, security protocol 0). BrokerEpoch is −1 ("unknown"), which
//! Kafka accepts without the staleness check.

use anyhow::Context;
use odradek_client::controller_stub::{announce_leader, Announcement, Leader, TopicInfo};
use odradek_client::Connection;

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

pub async fn run(args: CreateTopicArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.partitions > 0, "--partitions must be positive");
    let (host, port) = split_host_port(&args.bootstrap)?;
    let topic = TopicInfo::new(&args.topic, args.partitions);
    let mut conn = Connection::connect(args.bootstrap.as_str()).await.with_context(|| format!("connect to {}", args.bootstrap))?;
    let leader = Leader { broker_id: args.broker_id, host: host.clone(), port };
    let how = Announcement { controller_epoch: args.controller_epoch, leader_epoch: args.leader_epoch, is_new: true };
    announce_leader(&mut conn, &leader, &topic, how).await.with_context(|| format!("creating {}", args.topic))?;
    let topic_id = topic.topic_id;
    println!("created {} ({} partitions, id {topic_id}) led by broker {} at {host}:{port}", args.topic, args.partitions, args.broker_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("127.0.0.1:9092").unwrap(), ("127.0.0.1".into(), 9092));
        assert_eq!(split_host_port("[::1]:9092").unwrap(), ("::1".into(), 9092));
        assert!(split_host_port("localhost").is_err());
        assert!(split_host_port(":9092").is_err());
        assert!(split_host_port("h:99999").is_err());
    }
}
