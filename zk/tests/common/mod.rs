//! Shared by the ZooKeeper integration tests: a real 3-node ensemble
//! (`odradek_tests::zookeeper::ZkEnsemble`, which fails, never skips, when ZooKeeper is not
//! installed: run scripts/test.sh), clients with a short session timeout, and zkCli reads.
#![allow(dead_code)] // Each test binary uses its own subset.

use std::future::Future;
use std::time::{Duration, Instant};

use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::{BrokerId, BrokerInfo, EndPoint, KafkaZkClient, ZkClientConfig};
use serde_json::Value;

/// The shortest session an ensemble with `tickTime=2000` grants is 4 s; 6 s keeps expiry tests
/// quick without tripping over a slow CI machine.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// How long a watch event, or a follower catching up, may take.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts the ensemble, panicking with the reason (and, from `ZkEnsemble`, the way to install
/// ZooKeeper) if it cannot.
pub fn start_ensemble() -> ZkEnsemble {
    match ZkEnsemble::start() {
        Ok(ensemble) => ensemble,
        Err(e) => {
            panic!("cannot start a ZooKeeper ensemble (scripts/test.sh installs ZooKeeper): {e:#}")
        }
    }
}

/// Runs the async body of a test on a tokio runtime.
pub fn run<F: Future<Output = anyhow::Result<()>>>(body: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(body) {
        panic!("{e:#}");
    }
}

pub fn config(connect: String) -> ZkClientConfig {
    ZkClientConfig {
        connect,
        session_timeout: SESSION_TIMEOUT,
        connection_timeout: Duration::from_secs(20),
    }
}

/// A client of the ensemble inside `chroot`.
pub async fn client(ensemble: &ZkEnsemble, chroot: &str) -> anyhow::Result<KafkaZkClient> {
    Ok(KafkaZkClient::connect(config(ensemble.connect_string_with_chroot(chroot))).await?)
}

/// A client of the whole tree (no chroot).
pub async fn root_client(ensemble: &ZkEnsemble) -> anyhow::Result<KafkaZkClient> {
    Ok(KafkaZkClient::connect(config(ensemble.connect_string())).await?)
}

pub fn broker_info(id: i32, port: i32) -> BrokerInfo {
    BrokerInfo {
        id: BrokerId(id),
        endpoints: vec![EndPoint::plaintext("127.0.0.1", port)],
        rack: None,
        jmx_port: -1,
        features: Default::default(),
        timestamp_ms: 1_690_000_000_000 + i64::from(id),
    }
}

/// `zkCli.sh get <path>` parsed as JSON, retried until a node has the data (zkCli may talk to
/// a follower that applies a committed write a moment later).
pub fn zkcli_get_json(ensemble: &ZkEnsemble, path: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let last = match ensemble.cli(&["get", path]) {
            Ok(out) => match serde_json::from_str::<Value>(out.trim()) {
                Ok(json) => return Ok(json),
                Err(e) => format!("{out:?} is not JSON: {e}"),
            },
            Err(e) => format!("{e:#}"),
        };
        anyhow::ensure!(Instant::now() < deadline, "zkCli get {path}: {last}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The sorted keys of a JSON object.
pub fn keys(json: &Value) -> Vec<String> {
    let mut keys: Vec<String> = json
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Waits for `check` to hold, polling.
pub async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        if check().await? {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} within {EVENT_TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next message on `rx`, within [`EVENT_TIMEOUT`].
pub async fn next<T>(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>,
    what: &str,
) -> anyhow::Result<T> {
    match tokio::time::timeout(EVENT_TIMEOUT, rx.recv()).await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => anyhow::bail!("{what}: the channel closed"),
        Err(_) => anyhow::bail!("{what}: nothing within {EVENT_TIMEOUT:?}"),
    }
}
