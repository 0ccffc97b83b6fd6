//! The broker's ZooKeeper lifecycle against a real 3-node ensemble: top-level paths, cluster id in
//! `meta.properties`, registration in `/brokers/ids` with Kafka's v5 JSON and the czxid as broker
//! epoch, removal on clean shutdown, and the startup errors for a duplicate broker id, a log dir of
//! another cluster and an unreachable ensemble.

mod common;

use common::InProcessBroker;
use odradek_tests::zookeeper::ZkEnsemble;

fn zk_override(connect: &str) -> String {
    format!("zookeeper.connect={connect}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_like_kafka_and_unregisters_on_clean_shutdown() {
    let zk = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
    let connect = zk.connect_string_with_chroot("/odradek");
    let broker = InProcessBroker::start(7, &[&zk_override(&connect)]).await.unwrap();
    let port = broker.addr().port();
    assert!(broker.handle.replica_manager().broker_epoch() > 0, "the czxid of the registration is the broker epoch");

    let zk = std::sync::Arc::new(zk);
    let z = zk.clone();
    let (registration, cluster, top_level) = tokio::task::spawn_blocking(move || {
        (z.cli(&["get", "/odradek/brokers/ids/7"]).unwrap(), z.cli(&["get", "/odradek/cluster/id"]).unwrap(), z.cli(&["ls", "/odradek"]).unwrap())
    })
    .await
    .unwrap();
    for key in ["\"version\":5", &format!("\"port\":{port}"), &format!("\"endpoints\":[\"PLAINTEXT://127.0.0.1:{port}\"]"), "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}", "\"jmx_port\":-1", "\"features\":{}"] {
        assert!(registration.contains(key), "{key} in {registration}");
    }
    for path in ["brokers", "cluster", "config", "admin", "isr_change_notification", "latest_producer_id_block"] {
        assert!(top_level.contains(path), "{path} in {top_level}");
    }
    let meta = std::fs::read_to_string(broker.log_dir().join("meta.properties")).unwrap();
    let cluster_id = meta.lines().find_map(|l| l.strip_prefix("cluster.id=")).expect("cluster.id written").to_string();
    assert_eq!(cluster_id.len(), 22);
    assert!(cluster.contains(&format!("\"id\":\"{cluster_id}\"")), "{cluster}");

    broker.handle.shutdown().await.unwrap();
    let z = zk.clone();
    let gone = tokio::task::spawn_blocking(move || z.cli(&["get", "/odradek/brokers/ids/7"])).await.unwrap();
    assert!(gone.is_err(), "the ephemeral registration ends with the session: {gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_ids_foreign_log_dirs_and_unreachable_zookeeper_stop_startup() {
    let zk = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
    let first = InProcessBroker::start(1, &[&zk_override(&zk.connect_string_with_chroot("/c1"))]).await.unwrap();

    let err = InProcessBroker::start(1, &[&zk_override(&zk.connect_string_with_chroot("/c1"))]).await.err().expect("same id twice").to_string();
    assert!(err.contains("already registered"), "{err}");

    let log_dir = first.log_dir();
    let InProcessBroker { handle, dir } = first;
    handle.shutdown().await.unwrap();
    let err = InProcessBroker::start_in(1, log_dir, &[&zk_override(&zk.connect_string_with_chroot("/c2"))]).await.err().expect("a log dir of cluster /c1").to_string();
    assert!(err.contains("cluster.id"), "{err}");
    drop(dir);

    let err = InProcessBroker::start(2, &["zookeeper.connect=127.0.0.1:1", "zookeeper.connection.timeout.ms=1500"]).await.err().expect("nothing listens on port 1").to_string();
    assert!(err.contains("ZooKeeper") && err.contains("127.0.0.1:1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
