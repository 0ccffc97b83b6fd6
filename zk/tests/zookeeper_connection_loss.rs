//! Connection loss within a session, against a real 3-node ZooKeeper ensemble: the node a
//! client talks to stops and comes back. The session survives (the ensemble keeps a quorum),
//! requests made meanwhile are retried once reconnected (`retryRequestUntilConnected`), the
//! broker's ephemeral registration stays, and watches report `Resync` so their owners re-read
//! what may have changed while the connection was down.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::*;
use odradek_zk::{BrokerId, KafkaZkClient, ZNodeChange, ZNodeChangeKind, ZkClientConfig};

#[test]
fn requests_and_watches_survive_a_lost_connection() {
    let ensemble = start_ensemble();
    run(async {
        let chroot = "/odradek-connection-loss";
        // This client only knows node 1; a long session outlives node 1's restart.
        let only_node_1 = format!("127.0.0.1:{}{chroot}", ensemble.client_ports()[0]);
        let zk = KafkaZkClient::connect(ZkClientConfig {
            connect: only_node_1,
            session_timeout: Duration::from_secs(30),
            connection_timeout: Duration::from_secs(30),
        })
        .await?;
        let other = client(&ensemble, chroot).await?;
        zk.create_top_level_paths().await?;
        let epoch = zk.register_broker(&broker_info(1, 9092)).await?;
        let session = zk.session_id();
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<ZNodeChange>();
        let (_, _watch) = zk.watch_children("/brokers/ids", tx).await?;

        tokio::task::block_in_place(|| ensemble.stop_node(1)).context("stopping node 1")?;
        // While node 1 is down: another broker joins (the watch cannot hear it), and a request
        // is made that can only complete after reconnection.
        other.register_broker(&broker_info(2, 9093)).await?;
        let pending = tokio::spawn({
            let zk = zk.clone();
            async move { zk.get_sorted_broker_list().await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::block_in_place(|| ensemble.start_node(1)).context("starting node 1")?;

        let brokers = tokio::time::timeout(EVENT_TIMEOUT, pending)
            .await
            .context("the retried request hung")???;
        ensure!(brokers == [BrokerId(1), BrokerId(2)], "{brokers:?}");
        ensure!(
            zk.session_id() == session,
            "the session was replaced, not kept"
        );
        ensure!(
            other
                .get_broker_and_epoch(BrokerId(1))
                .await?
                .map(|(_, e)| e)
                == Some(epoch),
            "broker 1's registration did not survive the connection loss"
        );
        // The change made while disconnected is reported, or at least a Resync is.
        let change = next(&mut events, "a watch report after reconnection").await?;
        ensure!(
            change.path == "/brokers/ids"
                && matches!(
                    change.kind,
                    ZNodeChangeKind::Resync | ZNodeChangeKind::ChildrenChanged
                ),
            "{change:?}"
        );
        zk.close().await;
        other.close().await;
        Ok(())
    });
}
