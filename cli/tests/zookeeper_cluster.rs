//! `odradek cluster up|status|down` end to end: the built `odradek` binary starts a real 3-node
//! ensemble and three broker processes in a temporary directory, every broker learns all three
//! brokers and the controller, and `down` leaves no process behind.

mod common;

use std::time::Duration;

use common::{free_broker_base, free_zk_base, odradek, text, Down};
use kafka_protocol::messages::MetadataRequest;
use odradek_client::Connection;
use odradek_tests::zookeeper::processes_mentioning;

async fn brokers_seen_by(addr: &str) -> (Vec<i32>, i32) {
    let mut conn = Connection::connect(addr).await.expect("connect");
    let response = conn
        .send(&MetadataRequest::default().with_topics(None), 8)
        .await
        .expect("metadata");
    let mut ids: Vec<i32> = response.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort_unstable();
    (ids, response.controller_id.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_up_status_down() {
    let tmp = tempfile::Builder::new()
        .prefix("odradek-cli-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("cluster");
    let dir_arg = dir.to_string_lossy().into_owned();
    let base = free_broker_base(0).to_string();
    let zk_base = free_zk_base(996).to_string();

    let up = odradek(&[
        "cluster",
        "up",
        "--dir",
        &dir_arg,
        "--base-port",
        &base,
        "--zk-base-port",
        &zk_base,
    ]);
    let _down = Down(&dir);
    assert!(
        up.status.success(),
        "cluster up failed: {}",
        text(&up.stderr)
    );
    let bootstrap: Vec<String> = text(&up.stdout)
        .trim()
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(bootstrap.len(), 3, "bootstrap servers {bootstrap:?}");

    let status = odradek(&["cluster", "status", "--dir", &dir_arg]);
    let status_out = text(&status.stdout);
    assert!(
        status.status.success(),
        "status: {status_out}{}",
        text(&status.stderr)
    );
    let controller: i32 = status_out
        .lines()
        .find_map(|l| l.strip_prefix("controller: "))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("status names no controller: {status_out}"));
    assert!((1..=3).contains(&controller), "controller {controller}");

    for addr in &bootstrap {
        assert_eq!(
            brokers_seen_by(addr).await,
            (vec![1, 2, 3], controller),
            "Metadata of {addr}"
        );
    }

    let again = odradek(&[
        "cluster",
        "up",
        "--dir",
        &dir_arg,
        "--base-port",
        &base,
        "--zk-base-port",
        &zk_base,
    ]);
    assert!(again.status.success(), "second up: {}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already up"),
        "{}",
        text(&again.stderr)
    );

    let down = odradek(&["cluster", "down", "--dir", &dir_arg]);
    assert!(
        down.status.success(),
        "cluster down failed: {}",
        text(&down.stderr)
    );
    // zookeeper.sh's and the CLI's stops both wait until the processes are gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        processes_mentioning(&dir),
        Vec::<u32>::new(),
        "processes left after down"
    );
    let status = odradek(&["cluster", "status", "--dir", &dir_arg]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "status after down: {}",
        text(&status.stdout)
    );
    let down = odradek(&["cluster", "down", "--dir", &dir_arg]);
    assert!(
        down.status.success(),
        "a second down: {}",
        text(&down.stderr)
    );
}
