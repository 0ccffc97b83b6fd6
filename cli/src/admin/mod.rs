//! A small admin client: the part of Kafka's `KafkaAdminClient` that `kafka-topics.sh` uses.
//!
//! Like Kafka's, it bootstraps from a list of `HOST:PORT`s (the first that answers), reads the
//! cluster through Metadata, and sends CreateTopics and DeleteTopics to the controller, which it
//! finds through Metadata's `controller_id`. A broker that is not (or no longer) the controller
//! answers NOT_CONTROLLER (41); the client then reads Metadata again and retries, as
//! `KafkaAdminClient` does for its controller calls.

mod errors;
mod node;

use std::ops::RangeInclusive;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};

pub use errors::{describe_error, is};
pub use node::{api_name, Node, SendError};

/// Metadata versions spoken: v4 is the first with `allow_auto_topic_creation` (which an admin
/// client must set to false, so that describing a missing topic never creates it); v10 adds topic
/// ids; v11 is Kafka 2.8's newest.
const METADATA_VERSIONS: RangeInclusive<i16> = 4..=11;
/// Kafka's `request.timeout.ms` default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a controller request is sent (each after a fresh Metadata) before giving up.
const CONTROLLER_ATTEMPTS: u32 = 5;
/// How long to wait for the cluster to name a controller.
const CONTROLLER_WAIT: Duration = Duration::from_secs(15);
/// Kafka's `retry.backoff.ms` default is 100 ms; a little more suits a cluster that is electing.
const RETRY_BACKOFF: Duration = Duration::from_millis(300);

/// Where to bootstrap from, and what to say when none of it answers.
pub struct Bootstrap {
    /// `HOST:PORT`s, tried in order.
    pub servers: Vec<String>,
    /// Where the list came from, when it was not given on the command line.
    pub origin: Option<String>,
}

impl Bootstrap {
    /// A copy (the servers and where they came from).
    pub fn clone_servers(&self) -> Bootstrap {
        Bootstrap {
            servers: self.servers.clone(),
            origin: self.origin.clone(),
        }
    }
}

/// The admin client: one bootstrap connection for Metadata, plus a controller connection per
/// controller request.
pub struct AdminClient {
    bootstrap: Bootstrap,
    node: Node,
}

impl AdminClient {
    /// Connects to the first bootstrap server that answers ApiVersions.
    pub async fn connect(bootstrap: Bootstrap) -> anyhow::Result<AdminClient> {
        let node = connect_any(&bootstrap).await?;
        Ok(AdminClient { bootstrap, node })
    }

    /// Metadata for `topics` (`None`: every topic), never creating one. A broken bootstrap
    /// connection is replaced once.
    pub async fn metadata(&mut self, topics: Option<&[&str]>) -> anyhow::Result<MetadataResponse> {
        match self.try_metadata(topics).await {
            Err(MetadataError::Send(SendError::Client { .. })) => {
                self.node = connect_any(&self.bootstrap).await?;
                Ok(self.try_metadata(topics).await?)
            }
            result => Ok(result?),
        }
    }

    async fn try_metadata(
        &mut self,
        topics: Option<&[&str]>,
    ) -> Result<MetadataResponse, MetadataError> {
        let version = self
            .node
            .version::<MetadataRequest>(METADATA_VERSIONS)
            .map_err(MetadataError::Version)?;
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|name| MetadataRequestTopic::default().with_name(Some(topic_name(name))))
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        Ok(self.node.send(&request, version, REQUEST_TIMEOUT).await?)
    }

    /// Sends a request to the controller and returns its response, looking the controller up
    /// again and retrying while `moved` says the answer came from a broker that is not the
    /// controller (NOT_CONTROLLER) or the controller's connection fails. `build` makes the
    /// request for the version the controller and `versions` share. A timeout is final: the
    /// controller got the request and may have acted on it.
    pub async fn send_to_controller<R: Request>(
        &mut self,
        versions: RangeInclusive<i16>,
        build: impl Fn(i16) -> anyhow::Result<R>,
        timeout: Duration,
        moved: impl Fn(&R::Response) -> bool,
    ) -> anyhow::Result<R::Response> {
        let mut last = String::new();
        for attempt in 0..CONTROLLER_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
            let (id, mut controller) = match self.controller().await {
                Ok(found) => found,
                Err(e) if attempt + 1 < CONTROLLER_ATTEMPTS => {
                    last = format!("{e:#}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let version = controller.version::<R>(versions.clone())?;
            let request = build(version)?;
            match controller.send(&request, version, timeout).await {
                Ok(response) if moved(&response) => {
                    last = format!(
                        "broker {id} at {} answered NOT_CONTROLLER",
                        controller.addr()
                    );
                }
                Ok(response) => return Ok(response),
                Err(e @ SendError::Client { .. }) => last = e.to_string(),
                Err(e @ SendError::Timeout { .. }) => return Err(e.into()),
            }
        }
        anyhow::bail!(
            "no controller accepted {} in {CONTROLLER_ATTEMPTS} attempts (last: {last})",
            api_name::<R>()
        )
    }

    /// Sends `request` to broker `broker` (looked up in Metadata), or to the bootstrap broker
    /// when `None`, at the newest version both speak within `versions`.
    pub async fn send_to_broker<R: Request>(
        &mut self,
        broker: Option<i32>,
        versions: RangeInclusive<i16>,
        request: &R,
        timeout: Duration,
    ) -> anyhow::Result<R::Response> {
        let Some(id) = broker else {
            let version = self.node.version::<R>(versions)?;
            return Ok(self.node.send(request, version, timeout).await?);
        };
        let metadata = self.metadata(Some(&[])).await?;
        let broker = metadata
            .brokers
            .iter()
            .find(|b| b.node_id.0 == id)
            .ok_or_else(|| anyhow::anyhow!("broker {id} is not in the cluster's metadata"))?;
        let mut node = Node::connect(&host_port(&broker.host, broker.port)).await?;
        let version = node.version::<R>(versions)?;
        Ok(node.send(request, version, timeout).await?)
    }

    /// The controller's id and a connection to it, waiting a little for an election.
    async fn controller(&mut self) -> anyhow::Result<(i32, Node)> {
        let deadline = tokio::time::Instant::now() + CONTROLLER_WAIT;
        loop {
            let metadata = self.metadata(Some(&[])).await?;
            let id = metadata.controller_id.0;
            let broker = metadata.brokers.iter().find(|b| b.node_id.0 == id);
            let problem = match broker {
                _ if id < 0 => format!("the broker at {} knows no controller", self.node.addr()),
                None => format!(
                    "the broker at {} names controller {id} but does not list it",
                    self.node.addr()
                ),
                Some(broker) => {
                    let addr = host_port(&broker.host, broker.port);
                    match Node::connect(&addr).await {
                        Ok(node) => return Ok((id, node)),
                        Err(e) => format!("cannot reach controller {id} at {addr}: {e:#}"),
                    }
                }
            };
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "{problem}");
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum MetadataError {
    #[error("{0:#}")]
    Version(anyhow::Error),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// The first bootstrap server that answers; an error naming every one that did not, e.g.
/// `cannot reach bootstrap server 127.0.0.1:9093 (ORIGIN): Connection refused (os error 111)`.
async fn connect_any(bootstrap: &Bootstrap) -> anyhow::Result<Node> {
    let mut failures = Vec::new();
    for addr in &bootstrap.servers {
        match Node::connect(addr).await {
            Ok(node) => return Ok(node),
            Err(e) => failures.push((addr, format!("{e:#}"))),
        }
    }
    let origin = bootstrap
        .origin
        .as_deref()
        .map(|o| format!(" ({o})"))
        .unwrap_or_default();
    match failures.as_slice() {
        [(addr, reason)] => anyhow::bail!("cannot reach bootstrap server {addr}{origin}: {reason}"),
        _ => anyhow::bail!(
            "cannot reach any bootstrap server{origin}: {}",
            failures
                .iter()
                .map(|(addr, reason)| format!("{addr}: {reason}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// `HOST:PORT`, with brackets around an IPv6 host.
pub fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A topic name as the codec carries it.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}
