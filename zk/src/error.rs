//! The crate's one error enum. Every message names the znode path, broker id or connect string
//! involved; the ZooKeeper client's own error, when there is one, is the `source`.

use crate::zk_data::{BrokerId, ZkDataError, ZkVersion};

/// The ZooKeeper client crate's error (ConnectionLoss, SessionExpired, ...).
pub(crate) type ClientError = zookeeper_client::Error;

/// The ZooKeeper client's own error, as a source of a [`ZkError`]. Opaque: ask the `ZkError`
/// predicates ([`ZkError::is_session_expired`], ...) rather than its kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct ZooKeeperError(pub(crate) ClientError);

#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// `zookeeper.connect` is malformed.
    #[error("invalid zookeeper.connect {connect:?}: {reason}")]
    InvalidConnectString { connect: String, reason: String },

    /// No session could be established.
    #[error("cannot connect to ZooKeeper at {connect}: {source}")]
    Connect {
        connect: String,
        #[source]
        source: ZooKeeperError,
    },

    /// No session within `zookeeper.connection.timeout.ms`.
    #[error("timed out after {timeout_ms} ms connecting to ZooKeeper at {connect}")]
    ConnectTimeout { connect: String, timeout_ms: u128 },

    #[error("{path} does not exist in ZooKeeper")]
    NoNode { path: String },

    #[error("{path} already exists in ZooKeeper")]
    NodeExists { path: String },

    /// A conditional write lost: the znode changed since its version was read.
    #[error("{path} is no longer at version {expected} (conditional update failed)")]
    BadVersion { path: String, expected: ZkVersion },

    #[error("{path} still has children")]
    NotEmpty { path: String },

    /// Any other ZooKeeper failure of one operation.
    #[error("ZooKeeper {op} {path} failed: {source}")]
    Operation {
        op: &'static str,
        path: String,
        #[source]
        source: ZooKeeperError,
    },

    /// `/brokers/ids/<id>` exists and belongs to another session: another live broker (or this
    /// one's previous life, until ZooKeeper expires it) has this `broker.id`.
    #[error(
        "broker id {broker_id} is already registered at {path} by ZooKeeper session 0x{owner_session:x}; \
         another broker with this broker.id is running (or this broker's previous session has not expired yet)"
    )]
    BrokerIdAlreadyRegistered {
        broker_id: BrokerId,
        path: String,
        owner_session: i64,
    },

    /// Kafka's `ControllerMovedException`: this broker lost (or never won) the controllership; a
    /// controller write failed its `/controller_epoch` zkVersion check, or the election was lost.
    #[error("controller moved: {reason}")]
    ControllerMoved { reason: String },

    /// `/brokers/topics/<topic>` already exists.
    #[error("topic {topic} already exists")]
    TopicAlreadyExists { topic: String },

    /// A znode's data is not what Kafka writes there.
    #[error(transparent)]
    Data(#[from] ZkDataError),

    /// [`crate::KafkaZkClient::close`] was called.
    #[error("the ZooKeeper client is closed")]
    Closed,
}

impl ZkError {
    /// The session this request ran in has expired: ephemeral znodes and watches are gone and a
    /// new session is being established (a [`crate::ZkSessionEvent`] says when).
    pub fn is_session_expired(&self) -> bool {
        matches!(self.client_source(), Some(ClientError::SessionExpired))
    }

    /// The request's outcome is unknown: the connection dropped before the reply.
    pub fn is_connection_loss(&self) -> bool {
        matches!(self.client_source(), Some(ClientError::ConnectionLoss))
    }

    /// A conditional operation found another version ([`ZkError::BadVersion`]).
    pub fn is_bad_version(&self) -> bool {
        matches!(self, ZkError::BadVersion { .. })
    }

    fn client_source(&self) -> Option<&ClientError> {
        match self {
            ZkError::Operation { source, .. } | ZkError::Connect { source, .. } => Some(&source.0),
            _ => None,
        }
    }

    /// Maps a client error for operation `op` on `path` (with `expected` the version a
    /// conditional operation expected).
    pub(crate) fn from_client(
        op: &'static str,
        path: &str,
        expected: ZkVersion,
        source: ClientError,
    ) -> ZkError {
        let path = path.to_string();
        match source {
            ClientError::NoNode => ZkError::NoNode { path },
            ClientError::NodeExists => ZkError::NodeExists { path },
            ClientError::BadVersion => ZkError::BadVersion { path, expected },
            ClientError::NotEmpty => ZkError::NotEmpty { path },
            ClientError::ClientClosed => ZkError::Closed,
            source => ZkError::Operation {
                op,
                path,
                source: ZooKeeperError(source),
            },
        }
    }
}

pub type Result<T, E = ZkError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_ids() {
        let err = ZkError::BrokerIdAlreadyRegistered {
            broker_id: BrokerId(3),
            path: "/brokers/ids/3".into(),
            owner_session: 0x1f,
        };
        assert!(err.to_string().starts_with(
            "broker id 3 is already registered at /brokers/ids/3 by ZooKeeper session 0x1f"
        ));
        let err = ZkError::from_client("setData", "/x", ZkVersion(4), ClientError::BadVersion);
        assert_eq!(
            err.to_string(),
            "/x is no longer at version 4 (conditional update failed)"
        );
        assert!(err.is_bad_version());
        let err = ZkError::from_client(
            "getData",
            "/x",
            ZkVersion::MATCH_ANY,
            ClientError::SessionExpired,
        );
        assert_eq!(
            err.to_string(),
            "ZooKeeper getData /x failed: session expired"
        );
        assert!(err.is_session_expired());
        assert!(!err.is_connection_loss());
    }
}
