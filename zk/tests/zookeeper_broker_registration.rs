//! Broker startup against a real 3-node ZooKeeper ensemble (reference §1.1, §1.3): the chroot
//! and top-level paths, the cluster id, the ephemeral `/brokers/ids/<id>` whose czxid is the
//! broker epoch, a second broker with the same id refused, the registration gone with the
//! session, and a new broker epoch after session expiry. The ensemble is started once; each
//! scenario works in its own chroot.

mod common;

use std::collections::BTreeSet;

use anyhow::{ensure, Context};
use common::*;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::zk_data::{BrokerIdZNode, PERSISTENT_ZK_PATHS};
use odradek_zk::{BrokerId, BrokerInfo, ZkError, ZkSessionEvent};

/// A broker's event type, fed by the ZooKeeper client's session events.
#[derive(Debug, PartialEq)]
enum BrokerEvent {
    Session(ZkSessionEvent),
}

impl From<ZkSessionEvent> for BrokerEvent {
    fn from(event: ZkSessionEvent) -> Self {
        BrokerEvent::Session(event)
    }
}

#[test]
fn broker_registration_against_a_real_ensemble() {
    let ensemble = start_ensemble();
    run(async {
        top_level_paths_are_created_inside_the_chroot(&ensemble)
            .await
            .context("top-level paths")?;
        cluster_id_is_created_once(&ensemble)
            .await
            .context("cluster id")?;
        second_registration_of_an_id_fails_until_the_session_closes(&ensemble)
            .await
            .context("registration")?;
        session_expiry_drops_the_registration_and_re_registering_gives_a_new_epoch(&ensemble)
            .await
            .context("session expiry")?;
        Ok(())
    });
}

async fn top_level_paths_are_created_inside_the_chroot(
    ensemble: &ZkEnsemble,
) -> anyhow::Result<()> {
    // A nested chroot that does not exist yet: the client creates it, as Kafka does.
    let zk = client(ensemble, "/odradek/paths").await?;
    zk.create_top_level_paths().await?;
    zk.create_top_level_paths().await?; // Idempotent: every broker start does it.

    let root = root_client(ensemble).await?;
    for path in PERSISTENT_ZK_PATHS {
        let (data, stat) = root
            .get_data_and_stat(&format!("/odradek/paths{path}"))
            .await?
            .with_context(|| format!("{path} missing under the chroot"))?;
        ensure!(data.is_empty(), "{path} holds {data:?}");
        ensure!(stat.ephemeral_owner == 0, "{path} is ephemeral");
        ensure!(
            !root.path_exists(path).await?,
            "{path} was created outside the chroot"
        );
    }
    let top: BTreeSet<String> = root
        .get_children("/odradek/paths")
        .await?
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = [
        "admin",
        "brokers",
        "config",
        "consumers",
        "isr_change_notification",
        "latest_producer_id_block",
        "log_dir_event_notification",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    ensure!(top == expected, "top level under the chroot: {top:?}");
    let config_children = root.get_children("/odradek/paths/config").await?;
    ensure!(
        config_children == ["brokers", "changes", "clients", "ips", "topics", "users"],
        "{config_children:?}"
    );
    zk.close().await;
    root.close().await;
    Ok(())
}

async fn cluster_id_is_created_once(ensemble: &ZkEnsemble) -> anyhow::Result<()> {
    let a = client(ensemble, "/odradek-cluster-id").await?;
    let b = client(ensemble, "/odradek-cluster-id").await?;
    a.create_top_level_paths().await?;
    ensure!(a.get_cluster_id().await?.is_none());

    // Two brokers starting together agree on one id.
    let (id_a, id_b) = tokio::join!(a.get_or_create_cluster_id(), b.get_or_create_cluster_id());
    let (id_a, id_b) = (id_a?, id_b?);
    ensure!(id_a == id_b, "{id_a} != {id_b}");
    ensure!(id_a.len() == 22, "cluster id {id_a:?} is not 22 characters");
    ensure!(
        a.get_or_create_cluster_id().await? == id_a,
        "the id changed on a second call"
    );

    // Kafka's JSON, read with zkCli: {"version":"1","id":...}.
    let json = zkcli_get_json(ensemble, "/odradek-cluster-id/cluster/id")?;
    ensure!(keys(&json) == ["id", "version"], "{json}");
    ensure!(
        json["version"] == "1" && json["id"] == id_a.as_str(),
        "{json}"
    );
    a.close().await;
    b.close().await;
    Ok(())
}

async fn second_registration_of_an_id_fails_until_the_session_closes(
    ensemble: &ZkEnsemble,
) -> anyhow::Result<()> {
    let chroot = "/odradek-registration";
    let first = client(ensemble, chroot).await?;
    let second = client(ensemble, chroot).await?;
    first.create_top_level_paths().await?;

    let epoch = first.register_broker(&broker_info(1, 9092)).await?;
    ensure!(epoch > 0, "broker epoch {epoch}");
    let (data, stat) = first
        .get_data_and_stat(&BrokerIdZNode::path(BrokerId(1)))
        .await?
        .context("no registration")?;
    ensure!(
        stat.czxid == epoch,
        "the broker epoch is not the znode's czxid"
    );
    ensure!(
        stat.ephemeral_owner == first.session_id(),
        "the registration is not ephemeral to the session"
    );
    ensure!(
        stat.version.0 == 1,
        "create + setData(version 0) leaves version 1, not {}",
        stat.version
    );
    let registered = BrokerIdZNode::decode(BrokerId(1), &data)?;
    ensure!(
        registered
            == BrokerInfo {
                timestamp_ms: registered.timestamp_ms,
                ..broker_info(1, 9092)
            }
    );
    let age_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64
        - registered.timestamp_ms;
    ensure!(
        (0..60_000).contains(&age_ms),
        "registration timestamp {} is not now",
        registered.timestamp_ms
    );

    // Registering again from the same session is a retry and returns the same epoch.
    ensure!(first.register_broker(&broker_info(1, 9092)).await? == epoch);

    match second.register_broker(&broker_info(1, 9093)).await {
        Err(e @ ZkError::BrokerIdAlreadyRegistered { .. }) => {
            let message = e.to_string();
            ensure!(
                message.starts_with("broker id 1 is already registered at /brokers/ids/1"),
                "{message}"
            );
        }
        other => anyhow::bail!("a second broker 1 registered: {other:?}"),
    }
    let epoch2 = second.register_broker(&broker_info(2, 9093)).await?;
    ensure!(epoch2 > epoch);

    let brokers = second.get_all_brokers().await?;
    let seen: Vec<(i32, i64)> = brokers.iter().map(|(b, e)| (b.id.0, *e)).collect();
    ensure!(seen == [(1, epoch), (2, epoch2)], "{seen:?}");

    // zkCli shows Kafka's v5 registration.
    let json = zkcli_get_json(ensemble, &format!("{chroot}/brokers/ids/1"))?;
    let expected = [
        "endpoints",
        "features",
        "host",
        "jmx_port",
        "listener_security_protocol_map",
        "port",
        "timestamp",
        "version",
    ];
    ensure!(keys(&json) == expected, "{json}");
    ensure!(
        json["version"] == 5 && json["endpoints"][0] == "PLAINTEXT://127.0.0.1:9092",
        "{json}"
    );
    ensure!(
        json["timestamp"].is_string(),
        "the timestamp is a string: {json}"
    );

    // The registration lives exactly as long as the session.
    first.close().await;
    eventually("broker 1's registration to vanish", || async {
        Ok(second.get_sorted_broker_list().await? == [BrokerId(2)])
    })
    .await?;
    let third = client(ensemble, chroot).await?;
    let epoch3 = third.register_broker(&broker_info(1, 9092)).await?;
    ensure!(
        epoch3 > epoch2,
        "a re-registered broker gets a larger epoch"
    );
    second.close().await;
    third.close().await;
    Ok(())
}

async fn session_expiry_drops_the_registration_and_re_registering_gives_a_new_epoch(
    ensemble: &ZkEnsemble,
) -> anyhow::Result<()> {
    let zk = client(ensemble, "/odradek-expiry").await?;
    let observer = client(ensemble, "/odradek-expiry").await?;
    zk.create_top_level_paths().await?;
    let mut sessions = zk.subscribe_session_events();
    // The broker's own event queue gets the same events through `From`.
    let (queue_tx, mut queue) = tokio::sync::mpsc::unbounded_channel::<BrokerEvent>();
    zk.register_session_event_handler(queue_tx);
    let old_session = zk.session_id();
    let epoch = zk.register_broker(&broker_info(5, 9092)).await?;

    zk.force_session_expiry().await?;
    let expired = next(&mut sessions, "session expiry").await?;
    ensure!(
        expired
            == ZkSessionEvent::Expired {
                session_id: old_session
            },
        "{expired:?}"
    );
    let ZkSessionEvent::Reinitialized { session_id } = next(&mut sessions, "a new session").await?
    else {
        anyhow::bail!("no Reinitialized event");
    };
    ensure!(session_id != old_session && session_id == zk.session_id());
    let queued = [
        next(&mut queue, "queued expiry").await?,
        next(&mut queue, "queued new session").await?,
    ];
    ensure!(
        queued
            == [
                BrokerEvent::Session(ZkSessionEvent::Expired {
                    session_id: old_session
                }),
                BrokerEvent::Session(ZkSessionEvent::Reinitialized { session_id }),
            ],
        "{queued:?}"
    );
    // As below: the observer may read from a follower a moment behind the session's end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !observer.get_sorted_broker_list().await?.is_empty() {
        ensure!(std::time::Instant::now() < deadline, "the expired session's registration is still there");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // What the broker does on `afterInitializingSession`: register again, with a new epoch.
    let new_epoch = zk.register_broker(&broker_info(5, 9092)).await?;
    ensure!(
        new_epoch > epoch,
        "broker epoch {new_epoch} after expiry, {epoch} before"
    );
    // The observer's session may sit on a follower that has not applied the write yet:
    // ZooKeeper orders each client's view, not reads across clients. Wait until it catches up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = observer.get_broker_and_epoch(BrokerId(5)).await?.map(|(_, e)| e);
        if seen == Some(new_epoch) {
            break;
        }
        ensure!(std::time::Instant::now() < deadline, "observer still sees epoch {seen:?}, not {new_epoch}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    zk.close().await;
    observer.close().await;
    Ok(())
}
