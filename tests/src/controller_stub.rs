//! The tests play Kafka's controller through `odradek_client::controller_stub` (LeaderAndIsr v5,
//! then UpdateMetadata v7, the broker as sole replica, leader and controller). This module adapts
//! it to socket addresses, `anyhow` errors and synchronous tests.

use std::net::SocketAddr;

use anyhow::Context;
use odradek_client::controller_stub::{self, Announcement, Leader};
use odradek_client::Connection;

pub use odradek_client::controller_stub::{TopicInfo, CONTROLLER_EPOCH, LEADER_AND_ISR_VERSION, UPDATE_METADATA_VERSION};

/// Creates `topic` with `partitions` partitions, all led by broker `broker_id` at `addr`, with
/// leader epoch 0 and a fresh random topic id.
pub async fn create_topic(addr: SocketAddr, broker_id: i32, topic: &str, partitions: i32) -> anyhow::Result<TopicInfo> {
    let info = TopicInfo::new(topic, partitions);
    announce_leader(addr, broker_id, &info, 0, true).await?;
    Ok(info)
}

/// [`create_topic`] for synchronous tests (runs its own single-threaded runtime; do not call it
/// from inside a runtime).
pub fn create_topic_blocking(addr: SocketAddr, broker_id: i32, topic: &str, partitions: i32) -> anyhow::Result<TopicInfo> {
    block_on(create_topic(addr, broker_id, topic, partitions))
}

/// Makes broker `broker_id` (at `addr`) the leader of every partition of `topic` at
/// `leader_epoch`. Announcing an existing topic again after a restart takes a higher
/// `leader_epoch` and `is_new = false`.
pub async fn announce_leader(addr: SocketAddr, broker_id: i32, topic: &TopicInfo, leader_epoch: i32, is_new: bool) -> anyhow::Result<()> {
    let mut conn = Connection::connect(addr).await.with_context(|| format!("cannot connect to broker at {addr}"))?;
    let leader = Leader { broker_id, host: addr.ip().to_string(), port: i32::from(addr.port()) };
    let how = Announcement { leader_epoch, is_new, ..Announcement::default() };
    controller_stub::announce_leader(&mut conn, &leader, topic, how).await.with_context(|| format!("announcing topic {} on broker {broker_id}", topic.name))
}

/// [`announce_leader`] for synchronous tests.
pub fn announce_leader_blocking(addr: SocketAddr, broker_id: i32, topic: &TopicInfo, leader_epoch: i32, is_new: bool) -> anyhow::Result<()> {
    block_on(announce_leader(addr, broker_id, topic, leader_epoch, is_new))
}

/// Runs `future` to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("cannot build a tokio runtime").block_on(future)
}
