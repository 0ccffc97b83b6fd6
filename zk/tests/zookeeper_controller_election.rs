//! Controller election and fencing against a real 3-node ZooKeeper ensemble (reference §2.1):
//! brokers race for `/controller` and exactly one wins; `/controller_epoch` goes 0 → 1 → 2 over
//! successive elections; a deposed controller's write, guarded by its stale epoch zkVersion, is
//! refused with ControllerMoved; the `/controller` watch reports deletion and creation.

mod common;

use anyhow::{bail, ensure, Context};
use common::*;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::zk_data::{ControllerEpochZNode, ControllerZNode};
use odradek_zk::{
    BrokerId, ControllerEpoch, CreateMode, ZNodeChange, ZNodeChangeKind, ZkError, ZkOp, ZkOpResult,
    ZkVersion,
};

#[test]
fn controller_election_against_a_real_ensemble() {
    let ensemble = start_ensemble();
    run(async {
        racing_brokers_elect_exactly_one_controller(&ensemble)
            .await
            .context("election race")?;
        epochs_grow_and_a_deposed_controller_is_fenced(&ensemble)
            .await
            .context("fencing")?;
        Ok(())
    });
}

async fn racing_brokers_elect_exactly_one_controller(ensemble: &ZkEnsemble) -> anyhow::Result<()> {
    let chroot = "/odradek-race";
    let brokers = [
        client(ensemble, chroot).await?,
        client(ensemble, chroot).await?,
        client(ensemble, chroot).await?,
    ];
    brokers[0].create_top_level_paths().await?;
    ensure!(
        brokers[0].get_controller_epoch().await?.is_none(),
        "a fresh cluster has no /controller_epoch"
    );

    let (r1, r2, r3) = tokio::join!(
        brokers[0].register_controller_and_increment_controller_epoch(BrokerId(1)),
        brokers[1].register_controller_and_increment_controller_epoch(BrokerId(2)),
        brokers[2].register_controller_and_increment_controller_epoch(BrokerId(3)),
    );
    let mut winners = Vec::new();
    for (id, result) in [(1, r1), (2, r2), (3, r3)] {
        match result {
            Ok((epoch, zk_version)) => winners.push((id, epoch, zk_version)),
            Err(ZkError::ControllerMoved { .. }) => {}
            Err(e) => bail!("broker {id}'s election failed unexpectedly: {e}"),
        }
    }
    let [(winner, epoch, zk_version)] = winners[..] else {
        bail!("winners: {winners:?}")
    };
    // /controller_epoch was created with 0 (zkVersion 0) and set to 1 by the one winning multi.
    ensure!(
        epoch == ControllerEpoch(1) && zk_version == ZkVersion(1),
        "epoch {epoch}, zkVersion {zk_version}"
    );
    ensure!(brokers[1].get_controller_id().await? == Some(BrokerId(winner)));
    ensure!(brokers[2].get_controller_epoch().await? == Some((ControllerEpoch(1), ZkVersion(1))));

    // zkCli: /controller is Kafka's JSON, /controller_epoch plain text.
    let json = zkcli_get_json(ensemble, &format!("{chroot}/controller"))?;
    ensure!(
        keys(&json) == ["brokerid", "timestamp", "version"],
        "{json}"
    );
    ensure!(
        json["version"] == 1 && json["brokerid"] == winner && json["timestamp"].is_string(),
        "{json}"
    );
    let (raw_epoch, _) = brokers[0]
        .get_data_and_stat(ControllerEpochZNode::PATH)
        .await?
        .context("no epoch")?;
    ensure!(
        raw_epoch == b"1",
        "/controller_epoch holds {:?}",
        String::from_utf8_lossy(&raw_epoch)
    );

    // The winner is ephemeral to its session.
    let (_, stat) = brokers[0]
        .get_data_and_stat(ControllerZNode::PATH)
        .await?
        .context("no /controller")?;
    ensure!(stat.ephemeral_owner == brokers[winner as usize - 1].session_id());
    for broker in &brokers {
        broker.close().await;
    }
    Ok(())
}

async fn epochs_grow_and_a_deposed_controller_is_fenced(
    ensemble: &ZkEnsemble,
) -> anyhow::Result<()> {
    let chroot = "/odradek-fencing";
    let a = client(ensemble, chroot).await?;
    let b = client(ensemble, chroot).await?;
    a.create_top_level_paths().await?;

    // B watches /controller, as every broker does.
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<ZNodeChange>();
    let (controller, _watch) = b.watch_controller(events_tx).await?;
    ensure!(controller.is_none());

    let (epoch_a, zk_version_a) = a
        .register_controller_and_increment_controller_epoch(BrokerId(1))
        .await?;
    ensure!(epoch_a == ControllerEpoch(1) && zk_version_a == ZkVersion(1));
    let created = next(&mut events, "/controller creation").await?;
    ensure!(
        created
            == ZNodeChange {
                path: "/controller".into(),
                kind: ZNodeChangeKind::Created
            },
        "{created:?}"
    );

    // While A is controller, B loses, and A's fenced writes go through.
    match b
        .register_controller_and_increment_controller_epoch(BrokerId(2))
        .await
    {
        Err(ZkError::ControllerMoved { reason }) => {
            ensure!(reason.contains("broker 1 is the controller"), "{reason}")
        }
        other => bail!("B became controller while A is: {other:?}"),
    }
    // A's own second attempt is not a success either: the epoch moved on from what it read.
    let fenced_create = |path: &str| ZkOp::Create {
        path: path.into(),
        data: b"x".to_vec(),
        mode: CreateMode::Persistent,
    };
    let results = a
        .fenced_multi(zk_version_a, vec![fenced_create("/admin/by-a")])
        .await?;
    ensure!(
        results
            == [ZkOpResult::Created {
                path: "/admin/by-a".into()
            }],
        "{results:?}"
    );

    // A's session expires (a long GC pause, say): /controller goes, B is told and takes over.
    a.force_session_expiry().await?;
    let deleted = next(&mut events, "/controller deletion").await?;
    ensure!(deleted.kind == ZNodeChangeKind::Deleted, "{deleted:?}");
    let (epoch_b, zk_version_b) = b
        .register_controller_and_increment_controller_epoch(BrokerId(2))
        .await?;
    ensure!(
        epoch_b == ControllerEpoch(2) && zk_version_b == ZkVersion(2),
        "epoch {epoch_b}, zkVersion {zk_version_b}"
    );
    ensure!(next(&mut events, "/controller re-creation").await?.kind == ZNodeChangeKind::Created);

    // A, back with a new session but still holding its old epoch zkVersion, cannot write.
    match a
        .fenced_multi(zk_version_a, vec![fenced_create("/admin/by-deposed-a")])
        .await
    {
        Err(e @ ZkError::ControllerMoved { .. }) => {
            ensure!(e.to_string().contains("expected zkVersion = 1"), "{e}");
        }
        other => bail!("a deposed controller wrote: {other:?}"),
    }
    ensure!(
        !b.path_exists("/admin/by-deposed-a").await?,
        "the fenced write happened anyway"
    );
    match a.delete_controller(zk_version_a).await {
        Err(ZkError::ControllerMoved { .. }) => {}
        other => bail!("a deposed controller deleted /controller: {other:?}"),
    }
    ensure!(b.get_controller_id().await? == Some(BrokerId(2)));

    // B's writes pass; a failing op inside a fenced multi is that op's error, not a move.
    b.fenced_multi(zk_version_b, vec![fenced_create("/admin/by-b")])
        .await?;
    match b
        .fenced_multi(zk_version_b, vec![fenced_create("/admin/by-b")])
        .await
    {
        Err(ZkError::NodeExists { path }) => ensure!(path == "/admin/by-b"),
        other => bail!("expected NodeExists, got {other:?}"),
    }

    // B resigns (triggerControllerMove); A wins the next election with epoch 3.
    b.delete_controller(zk_version_b).await?;
    ensure!(next(&mut events, "/controller deletion by B").await?.kind == ZNodeChangeKind::Deleted);
    let (epoch_a2, zk_version_a2) = a
        .register_controller_and_increment_controller_epoch(BrokerId(1))
        .await?;
    ensure!(epoch_a2 == ControllerEpoch(3) && zk_version_a2 == ZkVersion(3));
    a.close().await;
    b.close().await;
    Ok(())
}
