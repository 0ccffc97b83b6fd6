//! Finding and talking to a group's coordinator. Every group is owned by the broker leading
//! partition `abs(hash(group)) % 50` of `__consumer_offsets`; any broker answers FindCoordinator
//! with that broker's address. The answer can go stale (leadership moves, the offsets topic is
//! still being created), which members learn from NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and
//! COORDINATOR_LOAD_IN_PROGRESS; they then ask again ([`is_coordinator_error`]).

use std::time::Duration;

use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::ResponseError;

use super::GroupError;
use crate::api_versions::ApiVersions;
use crate::Connection;

/// How long finding a coordinator may take in all: the offsets topic may be being created.
const FIND_DEADLINE: Duration = Duration::from_secs(30);
/// Kafka's `retry.backoff.ms` is 100 ms; a cluster creating `__consumer_offsets` needs longer.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(300);
/// Kafka's `request.timeout.ms` default, for requests that are not parked by the coordinator.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one broker with the versions it serves.
pub struct BrokerConnection {
    pub addr: String,
    pub conn: Connection,
    pub versions: ApiVersions,
}

impl BrokerConnection {
    /// Connects to `addr` (`HOST:PORT`), names itself `client_id` and asks ApiVersions.
    pub async fn connect(addr: &str, client_id: &str) -> Result<BrokerConnection, GroupError> {
        let connect = async {
            let mut conn = Connection::connect(addr).await?;
            conn.set_client_id(client_id);
            let versions = ApiVersions::fetch(&mut conn).await?;
            Ok::<_, crate::ClientError>(BrokerConnection {
                addr: addr.to_string(),
                conn,
                versions,
            })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, connect).await {
            Ok(result) => result.map_err(|source| GroupError::Client {
                addr: addr.to_string(),
                source,
            }),
            Err(_) => Err(GroupError::Timeout {
                api: "ApiVersions",
                addr: addr.to_string(),
                timeout: REQUEST_TIMEOUT,
            }),
        }
    }

    /// The version of `R` to speak: the highest in `ours` this broker serves.
    pub fn version<R: Request>(
        &self,
        ours: std::ops::RangeInclusive<i16>,
        api: &'static str,
    ) -> Result<i16, GroupError> {
        self.versions
            .usable::<R>(ours)
            .ok_or_else(|| GroupError::Version {
                api,
                addr: self.addr.clone(),
            })
    }

    /// Sends `request` and waits at most `timeout`.
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        api: &'static str,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        match tokio::time::timeout(timeout, self.conn.send(request, version)).await {
            Ok(result) => result.map_err(|source| GroupError::Client {
                addr: self.addr.clone(),
                source,
            }),
            Err(_) => Err(GroupError::Timeout {
                api,
                addr: self.addr.clone(),
                timeout,
            }),
        }
    }
}

/// Whether `code` says "ask FindCoordinator again".
pub fn is_coordinator_error(code: i16) -> bool {
    [
        ResponseError::NotCoordinator,
        ResponseError::CoordinatorNotAvailable,
        ResponseError::CoordinatorLoadInProgress,
    ]
    .iter()
    .any(|e| e.code() == code)
}

/// A group's coordinator, as FindCoordinator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

impl Coordinator {
    /// `HOST:PORT`.
    pub fn addr(&self) -> String {
        host_port(&self.host, self.port)
    }
}

/// `group`'s coordinator, asking the `bootstrap` brokers in turn and retrying
/// COORDINATOR_NOT_AVAILABLE (the offsets topic is created on the first FindCoordinator).
pub async fn find_coordinator(
    bootstrap: &[String],
    group: &str,
    client_id: &str,
) -> Result<Coordinator, GroupError> {
    let deadline = tokio::time::Instant::now() + FIND_DEADLINE;
    loop {
        let mut last = String::from("no bootstrap server given");
        for addr in bootstrap {
            match ask(addr, group, client_id).await {
                Ok(found) => return Ok(found),
                Err(e) => last = e.to_string(),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(GroupError::NoCoordinator {
                group: group.to_string(),
                reason: last,
            });
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
    }
}

async fn ask(addr: &str, group: &str, client_id: &str) -> Result<Coordinator, GroupError> {
    let mut broker = BrokerConnection::connect(addr, client_id).await?;
    // v4 batches keys (KIP-699); v0-3 carry one key, which is all a member needs.
    let version = broker.version::<FindCoordinatorRequest>(0..=3, "FindCoordinator")?;
    let request =
        FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string()));
    let response = broker
        .send(&request, version, "FindCoordinator", REQUEST_TIMEOUT)
        .await?;
    if response.error_code != 0 {
        return Err(GroupError::Refused {
            api: "FindCoordinator",
            group: group.to_string(),
            code: response.error_code,
        });
    }
    Ok(Coordinator {
        node_id: response.node_id.0,
        host: response.host.to_string(),
        port: response.port,
    })
}

/// `HOST:PORT`, with brackets around an IPv6 host.
pub fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
