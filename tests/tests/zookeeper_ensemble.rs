//! The ZooKeeper ensemble the cluster tests stand on, checked on its own before anything is built
//! on it: `scripts/zookeeper.sh` starts three nodes that elect one leader, replicate writes to
//! every node, keep serving with one node down (a quorum is 2 of 3), take a stopped node back,
//! and leave no JVM behind when stopped.

use std::time::{Duration, Instant};

use odradek_tests::zookeeper::{ZkEnsemble, ZkMode, NODES};

/// How long an ensemble that lost a node may take to elect a leader among the other two.
const REELECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a follower may lag behind a committed write.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(10);

fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads `path` through node `node` until it holds `expected`. A follower may apply a committed
/// write a moment after the leader acknowledged it (ZooKeeper promises each client one order of
/// updates, not that a new session on another node sees the latest write at once), so a read
/// through another node retries instead of paying for a zkCli `sync` before every read.
fn assert_replicated(
    zk: &ZkEnsemble,
    node: usize,
    path: &str,
    expected: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + REPLICATION_TIMEOUT;
    loop {
        let last = match zk.cli_at(node, &["get", path]) {
            Ok(data) if data.trim_end() == expected => return Ok(()),
            Ok(data) => format!("{data:?}"),
            Err(e) => format!("{e:#}"),
        };
        anyhow::ensure!(
            Instant::now() < deadline,
            "{path} does not hold {expected:?} on node {node} after {REPLICATION_TIMEOUT:?}; \
             last read: {last}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn leaders_and_followers(modes: &[ZkMode]) -> (usize, usize) {
    let count = |mode: ZkMode| modes.iter().filter(|m| **m == mode).count();
    (count(ZkMode::Leader), count(ZkMode::Follower))
}

#[test]
fn a_started_ensemble_has_one_leader_and_two_followers() -> anyhow::Result<()> {
    let started = Instant::now();
    let zk = ZkEnsemble::start()?;
    eprintln!("ensemble started in {:?}", started.elapsed());

    let modes = zk.modes();
    assert_eq!(
        leaders_and_followers(&modes),
        (1, 2),
        "modes of nodes 1..3 from srvr: {modes:?}"
    );
    for node in 1..=NODES {
        assert_eq!(
            zk.four_letter_word(node, "ruok")?,
            "imok",
            "ruok to node {node}"
        );
    }
    let ports = zk.client_ports();
    assert_eq!(
        zk.connect_string(),
        format!(
            "127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
            ports[0], ports[1], ports[2]
        )
    );
    assert_eq!(
        zk.connect_string_with_chroot("/odradek"),
        format!("{}/odradek", zk.connect_string())
    );
    Ok(())
}

#[test]
fn a_znode_written_through_one_node_is_read_through_the_others() -> anyhow::Result<()> {
    let zk = ZkEnsemble::start()?;
    let payload = r#"{"version":1,"brokerid":1,"timestamp":"1700000000000"}"#;

    zk.cli_at(1, &["create", "/odradek-check", payload])?;
    for node in 1..=NODES {
        assert_replicated(&zk, node, "/odradek-check", payload)?;
    }
    let children = zk.cli_at(3, &["ls", "/"])?;
    assert!(
        children.contains("odradek-check") && children.contains("zookeeper"),
        "ls / through node 3: {children:?}"
    );
    // A missing znode is an error, with zkCli's reason.
    let missing = zk.cli(&["get", "/no-such-znode"]).unwrap_err();
    assert!(
        format!("{missing:#}").contains("Node does not exist"),
        "get of a missing znode: {missing:#}"
    );
    Ok(())
}

#[test]
fn two_of_three_nodes_keep_serving_and_a_stopped_node_rejoins() -> anyhow::Result<()> {
    let zk = ZkEnsemble::start()?;
    zk.cli(&["create", "/before", "1"])?;

    // Take the leader away: the harder case, since the other two must elect a new one.
    let leader = (1..=NODES)
        .find(|&node| zk.mode(node) == ZkMode::Leader)
        .expect("a started ensemble has a leader");
    zk.stop_node(leader)?;
    assert_eq!(
        zk.mode(leader),
        ZkMode::Down,
        "node {leader} after stop-node"
    );

    let stopped_at = Instant::now();
    let others: Vec<usize> = (1..=NODES).filter(|&n| n != leader).collect();
    wait_for(REELECTION_TIMEOUT, "two nodes elect a new leader", || {
        let modes: Vec<ZkMode> = others.iter().map(|&n| zk.mode(n)).collect();
        (leaders_and_followers(&modes) == (1, 1)).then_some(())
    })?;
    eprintln!(
        "new leader elected {:?} after the old one stopped",
        stopped_at.elapsed()
    );

    // The two remaining nodes serve reads of old data and take writes.
    for &node in &others {
        assert_replicated(&zk, node, "/before", "1")?;
    }
    zk.cli_at(others[0], &["create", "/during", "2"])?;
    assert_replicated(&zk, others[1], "/during", "2")?;
    // Without a node named, the script finds one that serves.
    assert_eq!(zk.cli(&["get", "/during"])?.trim_end(), "2");

    // The stopped node comes back as a follower and catches up on what it missed.
    zk.start_node(leader)?;
    assert_eq!(
        zk.mode(leader),
        ZkMode::Follower,
        "node {leader} after start-node"
    );
    assert_replicated(&zk, leader, "/during", "2")?;
    assert_eq!(leaders_and_followers(&zk.modes()), (1, 2));
    Ok(())
}

#[test]
fn stop_leaves_no_zookeeper_process_behind() -> anyhow::Result<()> {
    let zk = ZkEnsemble::start()?;
    let running = zk.processes();
    assert_eq!(
        running.len(),
        NODES,
        "processes naming {} while the ensemble runs: {running:?}",
        zk.dir().display()
    );

    zk.stop()?;
    let left = zk.processes();
    assert!(
        left.is_empty(),
        "processes naming {} after stop: {left:?}",
        zk.dir().display()
    );
    assert_eq!(zk.modes(), [ZkMode::Down, ZkMode::Down, ZkMode::Down]);
    for node in 1..=NODES {
        assert!(
            !zk.dir().join(format!("zk{node}/zookeeper.pid")).exists(),
            "pid file of node {node} left after stop"
        );
    }
    // Stopping again is a no-op, not an error.
    zk.stop()?;
    Ok(())
}
