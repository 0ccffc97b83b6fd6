//! Controller election and failover against a real 3-node ensemble, with three in-process
//! brokers: exactly one wins `/controller` with epoch 1 and tells every broker the live brokers
//! and itself as controller (UpdateMetadata, seen through Metadata v8); when its broker shuts down
//! another broker takes over with epoch 2 and the survivors learn the new controller and the two
//! live brokers.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use common::InProcessBroker;
use kafka_protocol::messages::MetadataRequest;
use odradek_client::Connection;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::{ControllerEpoch, KafkaZkClient, ZkClientConfig};

/// The controller's `state_change` log, shown when a test fails (nextest prints captured output).
fn init_logs() {
    let _ = tracing_subscriber::fmt().with_env_filter("state_change=info").with_test_writer().try_init();
}

/// Every wait in this file is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// Polls `probe` every 100 ms until it returns `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The live broker ids and controller id a broker's Metadata v8 response reports.
async fn metadata_view(addr: SocketAddr) -> Option<(BTreeSet<i32>, i32)> {
    let mut conn = Connection::connect(addr).await.ok()?;
    let response = conn.send(&MetadataRequest::default().with_topics(None), 8).await.ok()?;
    Some((response.brokers.iter().map(|b| b.node_id.0).collect(), response.controller_id.0))
}

async fn wait_for_metadata(brokers: &[InProcessBroker], live: &BTreeSet<i32>, controller: i32) {
    for b in brokers {
        let addr = b.addr();
        eventually(&format!("broker at {addr} to report brokers {live:?} and controller {controller}"), || async move {
            metadata_view(addr).await.filter(|(ids, c)| ids == live && *c == controller)
        })
        .await;
    }
}

async fn controller_and_epoch(zk: &KafkaZkClient) -> Option<(i32, ControllerEpoch)> {
    let id = zk.get_controller_id().await.ok()??;
    let (epoch, _) = zk.get_controller_epoch().await.ok()??;
    Some((id.0, epoch))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_controller_pushes_live_brokers_and_another_takes_over_when_it_stops() {
    init_logs();
    let ensemble = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
    let connect = ensemble.connect_string_with_chroot("/controller_test");
    let overrides = [format!("zookeeper.connect={connect}"), "zookeeper.session.timeout.ms=6000".to_string()];
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    let mut brokers = Vec::new();
    for id in 1..=3 {
        brokers.push(InProcessBroker::start(id, &overrides).await.unwrap());
    }
    let zk = KafkaZkClient::connect(ZkClientConfig { connect: connect.clone(), session_timeout: Duration::from_secs(6), connection_timeout: Duration::from_secs(6) })
        .await
        .unwrap();

    // Exactly one controller, the first epoch.
    let (controller, epoch) = eventually("a controller", || controller_and_epoch(&zk)).await;
    assert!((1..=3).contains(&controller), "controller {controller}");
    assert_eq!(epoch, ControllerEpoch(1), "one election so far");
    wait_for_metadata(&brokers, &BTreeSet::from([1, 2, 3]), controller).await;
    assert_eq!(controller_and_epoch(&zk).await, Some((controller, ControllerEpoch(1))), "still the same controller, no second election");

    // The controller's broker stops: another wins with the next epoch.
    let index = brokers.iter().position(|b| b.handle.replica_manager().broker_id() == controller).unwrap();
    let stopped = brokers.remove(index);
    stopped.handle.shutdown().await.unwrap();
    let (successor, epoch) = eventually("a new controller", || async { controller_and_epoch(&zk).await.filter(|(id, _)| *id != controller) }).await;
    assert_ne!(successor, controller);
    assert_eq!(epoch, ControllerEpoch(2), "failover bumps the controller epoch");
    let live: BTreeSet<i32> = (1..=3).filter(|id| *id != controller).collect();
    assert!(live.contains(&successor));
    wait_for_metadata(&brokers, &live, successor).await;

    zk.close().await;
    for b in brokers {
        b.handle.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_controller_whose_session_expires_resigns_and_a_new_election_follows() {
    init_logs();
    let ensemble = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
    let connect = ensemble.connect_string_with_chroot("/expiry_test");
    let overrides = [format!("zookeeper.connect={connect}"), "zookeeper.session.timeout.ms=6000".to_string()];
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    let mut brokers = Vec::new();
    for id in 1..=3 {
        brokers.push(InProcessBroker::start(id, &overrides).await.unwrap());
    }
    let zk = KafkaZkClient::connect(ZkClientConfig { connect: connect.clone(), session_timeout: Duration::from_secs(6), connection_timeout: Duration::from_secs(6) })
        .await
        .unwrap();
    let all = BTreeSet::from([1, 2, 3]);
    let (controller, _) = eventually("a controller", || controller_and_epoch(&zk)).await;
    wait_for_metadata(&brokers, &all, controller).await;

    // The controller's session expires: `/controller` goes with it, the broker re-registers with a
    // new broker epoch, and an election (which that broker may win again) gives epoch 2.
    let expired = brokers.iter().find(|b| b.handle.replica_manager().broker_id() == controller).unwrap();
    let old_broker_epoch = expired.handle.replica_manager().broker_epoch();
    expired.handle.zk_client().unwrap().force_session_expiry().await.unwrap();
    let (successor, epoch) = eventually("an election after the expiry", || async { controller_and_epoch(&zk).await.filter(|(_, e)| *e == ControllerEpoch(2)) }).await;
    eventually("the expired broker's new registration", || async { (expired.handle.replica_manager().broker_epoch() > old_broker_epoch).then_some(()) }).await;
    assert_eq!(epoch, ControllerEpoch(2));
    wait_for_metadata(&brokers, &all, successor).await;

    zk.close().await;
    for b in brokers {
        b.handle.shutdown().await.unwrap();
    }
}
