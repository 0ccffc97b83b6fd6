//! One connection to one broker, with the API versions that broker advertised: Kafka's
//! `NetworkClient` keeps the same per node. Every connection starts with ApiVersions, and each
//! request goes out at the highest version both sides know
//! (`NodeApiVersions.latestUsableVersion`).

use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::Context;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::Request;
use odradek_client::{ClientError, Connection};

use super::errors::describe_error;

/// How long connecting to a broker and its ApiVersions answer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A broker connection and the `(api key, min, max)` versions it serves.
pub struct Node {
    addr: String,
    conn: Connection,
    api_versions: Vec<(i16, i16, i16)>,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The broker did not answer within the client's timeout (Kafka's `request.timeout.ms`).
    #[error("{api} to {addr}: no answer within {timeout:?}")]
    Timeout {
        api: String,
        addr: String,
        timeout: Duration,
    },
    /// The connection failed or the response did not decode.
    #[error("{api} to {addr}: {source}")]
    Client {
        api: String,
        addr: String,
        source: ClientError,
    },
}

impl Node {
    /// Connects to `addr` (`HOST:PORT`) and asks for its API versions (ApiVersions v0, which
    /// every broker answers).
    pub async fn connect(addr: &str) -> anyhow::Result<Node> {
        let connect = async {
            let mut conn = Connection::connect(addr).await.map_err(|e| match e {
                ClientError::Io(io) => anyhow::Error::new(io),
                other => anyhow::Error::new(other),
            })?;
            let response = conn
                .send(&ApiVersionsRequest::default(), 0)
                .await
                .context("ApiVersions")?;
            anyhow::ensure!(
                response.error_code == 0,
                "ApiVersions: {}",
                describe_error(response.error_code, None)
            );
            let api_versions = response
                .api_keys
                .iter()
                .map(|v| (v.api_key, v.min_version, v.max_version))
                .collect();
            Ok(Node {
                addr: addr.to_string(),
                conn,
                api_versions,
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {CONNECT_TIMEOUT:?}"))?
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The highest version of `R` in both `ours` and what the broker advertised.
    pub fn version<R: Request>(&self, ours: RangeInclusive<i16>) -> anyhow::Result<i16> {
        let api = api_name::<R>();
        let Some(&(_, min, max)) = self.api_versions.iter().find(|(key, _, _)| *key == R::KEY)
        else {
            anyhow::bail!("the broker at {} does not serve {api}", self.addr);
        };
        let usable = (*ours.end()).min(max);
        anyhow::ensure!(
            usable >= (*ours.start()).max(min),
            "the broker at {} serves {api} v{min}-{max}; odradek speaks v{}-{}",
            self.addr,
            ours.start(),
            ours.end()
        );
        Ok(usable)
    }

    /// Sends `request` at `version` and waits at most `timeout` for the response.
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, SendError> {
        match tokio::time::timeout(timeout, self.conn.send(request, version)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(source)) => Err(SendError::Client {
                api: api_name::<R>(),
                addr: self.addr.clone(),
                source,
            }),
            Err(_) => Err(SendError::Timeout {
                api: api_name::<R>(),
                addr: self.addr.clone(),
                timeout,
            }),
        }
    }
}

impl Node {
    /// Writes `request` without waiting for a response: a Produce with acks=0 gets none.
    pub async fn send_without_response<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<(), SendError> {
        self.conn
            .write_request(request, version)
            .await
            .map(|_| ())
            .map_err(|source| SendError::Client {
                api: api_name::<R>(),
                addr: self.addr.clone(),
                source,
            })
    }
}

/// Kafka's name for `R`'s API, e.g. `CreateTopics`.
pub fn api_name<R: Request>() -> String {
    ApiKey::try_from(R::KEY)
        .map(|key| format!("{key:?}"))
        .unwrap_or_else(|_| format!("API {}", R::KEY))
}
