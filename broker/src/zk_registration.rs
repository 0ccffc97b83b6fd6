//! The broker's ZooKeeper side at startup, Kafka's `KafkaServer.startup` order (reference §1.3):
//! open the session and create the top-level paths, learn (or create) the cluster id, and —
//! once the logs are recovered and the socket is bound — register `/brokers/ids/<id>`, whose
//! czxid is this broker's epoch. When the session expires and a new one is established, the
//! broker registers again, retrying with backoff until it succeeds or shuts down, and takes the
//! new epoch; control requests stamped with an older epoch are then refused (STALE_BROKER_EPOCH).

use std::sync::Arc;
use std::time::Duration;

use odradek_zk::{BrokerId, BrokerInfo, EndPoint, KafkaZkClient, ZkClientConfig, ZkError, ZkSessionEvent};
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{error, info, warn};

use crate::config::KafkaConfig;
use crate::replica_manager::ReplicaManager;

/// Opens the ZooKeeper session, creates Kafka's top-level paths and returns the cluster id.
pub async fn connect(config: &KafkaConfig, connect: &str) -> Result<(KafkaZkClient, String), ZkError> {
    let session_timeout = Duration::from_millis(config.zookeeper_session_timeout_ms as u64);
    let zk = KafkaZkClient::connect(ZkClientConfig {
        connect: connect.to_string(),
        session_timeout,
        connection_timeout: config.zookeeper_connection_timeout_ms.map_or(session_timeout, |ms| Duration::from_millis(ms as u64)),
    })
    .await?;
    zk.create_top_level_paths().await?;
    let cluster_id = zk.get_or_create_cluster_id().await?;
    Ok((zk, cluster_id))
}

/// The registration this broker writes, v5 JSON: every advertised endpoint with its listener's
/// security protocol (the legacy `host`/`port` come from the first PLAINTEXT one when encoded).
pub fn broker_info(broker_id: i32, endpoints: Vec<EndPoint>) -> BrokerInfo {
    BrokerInfo {
        id: BrokerId(broker_id),
        endpoints,
        rack: None,
        jmx_port: -1,
        features: Default::default(),
        timestamp_ms: odradek_log::now_ms(),
    }
}

/// The pause after the first failed attempt to register on a new session; it doubles with each
/// failure up to [`REGISTER_RETRY_BACKOFF_MAX`].
pub const REGISTER_RETRY_BACKOFF: Duration = Duration::from_millis(100);
pub const REGISTER_RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Registers the broker and keeps it registered across session expiry. Returns the first epoch;
/// a first registration that fails stops the broker's startup, as in Kafka.
pub async fn register(zk: &KafkaZkClient, info: BrokerInfo, replica_manager: Arc<ReplicaManager>) -> Result<i64, ZkError> {
    let sessions = zk.subscribe_session_events();
    let epoch = zk.register_broker(&info).await?;
    replica_manager.set_broker_epoch(epoch);
    info!(broker_id = info.id.0, broker_epoch = epoch, "registered in ZooKeeper");
    tokio::spawn(keep_registered(zk.clone(), info, replica_manager, sessions));
    Ok(epoch)
}

/// Kafka's `RegisterBrokerAndReelect` on `handleNewSession`: each new session registers the
/// broker again and takes the new broker epoch. Kafka tries once (its requests only wait out
/// connection losses); here a refused attempt — the ensemble briefly unable to take the write,
/// or an older session's znode not reaped yet — is retried with backoff until the broker is
/// registered, the session expires again (the next session starts over) or the client is
/// closed by the broker's shutdown.
async fn keep_registered(zk: KafkaZkClient, info: BrokerInfo, replica_manager: Arc<ReplicaManager>, mut sessions: UnboundedReceiver<ZkSessionEvent>) {
    let mut next = sessions.recv().await;
    while let Some(event) = next {
        next = match event {
            ZkSessionEvent::Expired { session_id } => {
                warn!(session_id, "ZooKeeper session expired; the registration is gone until a new session is up");
                sessions.recv().await
            }
            ZkSessionEvent::Reinitialized { session_id } => match register_again(&zk, &info, &replica_manager, &mut sessions, session_id).await {
                Attempts::Registered => sessions.recv().await,
                Attempts::Interrupted(event) => Some(event),
                Attempts::Closed => None,
            },
            ZkSessionEvent::AuthFailed => {
                error!("ZooKeeper authentication failed");
                sessions.recv().await
            }
        };
    }
    info!(broker_id = info.id.0, "stopped registering in ZooKeeper: the client is closed");
}

/// How the attempts to register on one session ended.
enum Attempts {
    Registered,
    /// A session event came first (a further expiry): the caller handles it.
    Interrupted(ZkSessionEvent),
    Closed,
}

async fn register_again(zk: &KafkaZkClient, info: &BrokerInfo, replica_manager: &ReplicaManager, sessions: &mut UnboundedReceiver<ZkSessionEvent>, session_id: i64) -> Attempts {
    let mut backoff = REGISTER_RETRY_BACKOFF;
    loop {
        match zk.register_broker(info).await {
            Ok(epoch) => {
                replica_manager.set_broker_epoch(epoch);
                info!(session_id, broker_id = info.id.0, broker_epoch = epoch, "registered again in ZooKeeper with a new broker epoch");
                return Attempts::Registered;
            }
            Err(ZkError::Closed) => return Attempts::Closed,
            Err(e) => warn!(session_id, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot register again in ZooKeeper; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            event = sessions.recv() => return event.map_or(Attempts::Closed, Attempts::Interrupted),
        }
        backoff = (backoff * 2).min(REGISTER_RETRY_BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use odradek_zk::SecurityProtocol;

    use super::*;

    #[test]
    fn every_advertised_endpoint_is_registered_in_order() {
        let ep = |name: &str, host: &str, port| EndPoint { host: host.into(), port, listener_name: name.into(), security_protocol: SecurityProtocol::Plaintext };
        let info = broker_info(1, vec![ep("INTERNAL", "kafka-1", 19092), ep("EXTERNAL", "localhost", 9092)]);
        assert_eq!(info.id, BrokerId(1));
        let listed: Vec<String> = info.endpoints.iter().map(EndPoint::connection_string).collect();
        assert_eq!(listed, vec!["INTERNAL://kafka-1:19092", "EXTERNAL://localhost:9092"]);
        assert_eq!(info.endpoint("external").map(|e| e.port), Some(9092));
    }
}
