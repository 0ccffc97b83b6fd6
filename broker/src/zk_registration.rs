//! The broker's ZooKeeper side at startup, Kafka's `KafkaServer.startup` order (reference §1.3):
//! open the session and create the top-level paths, learn (or create) the cluster id, and —
//! once the logs are recovered and the socket is bound — register `/brokers/ids/<id>`, whose
//! czxid is this broker's epoch. When the session expires and a new one is established, the
//! broker registers again and takes the new epoch; control requests stamped with an older epoch
//! are then refused (STALE_BROKER_EPOCH).

use std::sync::Arc;
use std::time::Duration;

use odradek_zk::{BrokerId, BrokerInfo, EndPoint, KafkaZkClient, ZkClientConfig, ZkError, ZkSessionEvent};
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
        timestamp_ms: crate::api::now_ms(),
    }
}

/// Registers the broker and keeps it registered across session expiry. Returns the first epoch.
pub async fn register(zk: &KafkaZkClient, info: BrokerInfo, replica_manager: Arc<ReplicaManager>) -> Result<i64, ZkError> {
    let mut sessions = zk.subscribe_session_events();
    let epoch = zk.register_broker(&info).await?;
    replica_manager.set_broker_epoch(epoch);
    info!(broker_id = info.id.0, broker_epoch = epoch, "registered in ZooKeeper");
    let zk = zk.clone();
    tokio::spawn(async move {
        while let Some(event) = sessions.recv().await {
            match event {
                ZkSessionEvent::Expired { session_id } => warn!(session_id, "ZooKeeper session expired; the registration is gone until a new session is up"),
                ZkSessionEvent::Reinitialized { session_id } => match zk.register_broker(&info).await {
                    Ok(epoch) => {
                        replica_manager.set_broker_epoch(epoch);
                        info!(session_id, broker_id = info.id.0, broker_epoch = epoch, "registered again in ZooKeeper with a new broker epoch");
                    }
                    Err(e) => error!(session_id, error = %e, "cannot register again in ZooKeeper"),
                },
                ZkSessionEvent::AuthFailed => error!("ZooKeeper authentication failed"),
            }
        }
    });
    Ok(epoch)
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
