//! `odradek cluster up|status|down` end to end: the built `odradek` binary starts a real 3-node
//! ensemble and three broker processes in a temporary directory, every broker learns all three
//! brokers and the controller, and `down` leaves no process behind.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use kafka_protocol::messages::MetadataRequest;
use odradek_client::Connection;
use odradek_tests::zookeeper::processes_mentioning;

/// Runs `odradek ARGS...`. `ODRADEK_BROKER_BIN` (set by scripts/test.sh) reaches the CLI through
/// the inherited environment; without it the CLI takes the broker beside itself.
fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("cannot run odradek")
}

fn all_free(ports: impl IntoIterator<Item = u16>) -> bool {
    ports
        .into_iter()
        .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
}

/// A ZooKeeper base port whose nine ports are free, at offset 995 of one of the 3,000-port blocks
/// tests/src/zookeeper.rs uses: its slots take offsets 0..=992 of each thousand, so these never
/// collide with an ensemble another test starts side by side.
fn free_zk_base() -> u16 {
    (0..6u16)
        .map(|block| 10_000 + 3000 * block + 995)
        .find(|&base| all_free((0..3).flat_map(|n| [base + n, base + 1000 + n, base + 2000 + n])))
        .expect("no free ZooKeeper base port")
}

/// A broker base port in 28,000..32,000: above every ZooKeeper slot and below Linux's ephemeral
/// range, where the other tests' brokers (bound to port 0) listen.
fn free_broker_base() -> u16 {
    let start = (std::process::id() % 390) as u16;
    (0..390u16)
        .map(|i| 28_000 + 10 * ((start + i) % 390))
        .find(|&base| all_free(base + 1..=base + 3))
        .expect("no free broker base port")
}

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stops the cluster even when an assertion fails.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let down = odradek(&["cluster", "down", "--dir", &self.0.to_string_lossy()]);
        eprintln!("cluster down: {}{}", text(&down.stdout), text(&down.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_up_status_down() {
    let tmp = tempfile::Builder::new()
        .prefix("odradek-cli-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("cluster");
    let dir_arg = dir.to_string_lossy().into_owned();
    let base = free_broker_base().to_string();
    let zk_base = free_zk_base().to_string();

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
