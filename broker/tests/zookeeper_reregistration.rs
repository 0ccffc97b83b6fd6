//! Registration after a new ZooKeeper session, against a real 3-node ensemble: when the
//! broker's session expires, the new session's first attempts to register `/brokers/ids/<id>`
//! may fail (the ensemble refuses the create for a while), and the broker keeps trying until it
//! is registered again, with a new broker epoch; once shut down it stops trying.
//!
//! The refusal is a real ZooKeeper fault the test controls: an ACL on `/brokers/ids` without the
//! create permission makes every registration fail with NOAUTH until it is lifted. The broker's
//! own log says when an attempt has failed, so the test lifts the fault only after that.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use common::InProcessBroker;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::{BrokerId, KafkaZkClient, ZkClientConfig};

const BROKER: i32 = 7;
const CHROOT: &str = "/reregistration";
const DEADLINE: Duration = Duration::from_secs(90);
/// What the broker logs when an attempt to register on a new session fails.
const FAILED_ATTEMPT: &str = "cannot register again in ZooKeeper";

/// The broker's registration log, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install() -> Captured {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt().with_env_filter("odradek_broker::zk_registration=info").with_ansi(false).with_writer(move || writer.clone()).init();
        captured
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

async fn eventually<T>(what: &str, log: &Captured, mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out after {DEADLINE:?} waiting for {what}; the broker logged:\n{}", log.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sets `/brokers/ids`' ACL through zkCli: `world:anyone:<perms>`.
async fn set_ids_acl(zk: &Arc<ZkEnsemble>, perms: &str) -> anyhow::Result<()> {
    let (zk, acl) = (Arc::clone(zk), format!("world:anyone:{perms}"));
    tokio::task::spawn_blocking(move || zk.cli(&["setAcl", &format!("{CHROOT}/brokers/ids"), &acl])).await?.with_context(|| format!("setAcl {perms}"))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_refused_on_its_new_session_keeps_trying_until_registered_again() -> anyhow::Result<()> {
    let log = Captured::install();
    let zk = Arc::new(tokio::task::spawn_blocking(ZkEnsemble::start).await??);
    let connect = zk.connect_string_with_chroot(CHROOT);
    let broker = InProcessBroker::start(BROKER, &[&format!("zookeeper.connect={connect}"), "controlled.shutdown.enable=false"]).await?;
    let first_epoch = broker.handle.replica_manager().broker_epoch();
    let observer = KafkaZkClient::connect(ZkClientConfig::new(&connect)).await?;
    let registered_epoch = async || anyhow::Ok(observer.get_broker_and_epoch(BrokerId(BROKER)).await?.map(|(_, epoch)| epoch));
    assert_eq!(registered_epoch().await?, Some(first_epoch));

    // The ensemble refuses new registrations (read, write, delete and admin, but no create)...
    set_ids_acl(&zk, "rwda").await?;
    // ...when the session expires: the registration goes, and the new session's attempt fails.
    let broker_zk = broker.handle.zk_client().context("the broker has a ZooKeeper client")?;
    let first_session = broker_zk.session_id();
    broker_zk.force_session_expiry().await?;
    eventually("a refused registration on the new session", &log, async || Ok((log.count(FAILED_ATTEMPT) > 0).then_some(()))).await?;
    assert_ne!(broker_zk.session_id(), first_session, "a new session");
    assert_eq!(registered_epoch().await?, None, "not registered while refused");

    // Lifted: the broker registers again, with the czxid of the new znode as its epoch.
    set_ids_acl(&zk, "cdrwa").await?;
    let epoch = eventually("the broker to be registered again", &log, async || Ok(registered_epoch().await?)).await?;
    assert!(epoch > first_epoch, "a new broker epoch: {epoch} after {first_epoch}");
    eventually("the broker to take the new epoch", &log, async || Ok((broker.handle.replica_manager().broker_epoch() == epoch).then_some(()))).await?;

    // Refused again and shut down while retrying: the attempts stop with the session.
    set_ids_acl(&zk, "rwda").await?;
    let failed_before = log.count(FAILED_ATTEMPT);
    broker_zk.force_session_expiry().await?;
    eventually("a refused registration on the third session", &log, async || Ok((log.count(FAILED_ATTEMPT) > failed_before).then_some(()))).await?;
    broker.handle.shutdown().await?;
    set_ids_acl(&zk, "cdrwa").await?;
    eventually("the retries to stop with the shutdown", &log, async || Ok(log.text().contains("stopped registering").then_some(()))).await?;
    assert_eq!(registered_epoch().await?, None, "a shut-down broker stays unregistered");
    observer.close().await;
    Ok(())
}
