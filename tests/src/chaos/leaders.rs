//! Where each partition's leader is, as a client learns it: Metadata from any broker that answers
//! in time, refreshed when a request fails. Shared by the wire producer and the live consumer.
//! Every call has a deadline: a SIGSTOPped broker accepts connections and answers nothing.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;

/// How long a connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one Metadata request may take.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
const METADATA_VERSION: i16 = 8;

/// Connects to `addr` within [`CONNECT_TIMEOUT`].
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Connection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(addr)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(anyhow::anyhow!("cannot connect to {addr}: {e}")),
        Err(_) => Err(anyhow::anyhow!("connecting to {addr} timed out")),
    }
}

/// A partition's leader as the freshest Metadata named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    pub id: i32,
    pub addr: SocketAddr,
    pub epoch: i32,
}

/// A client's view of one topic's leaders. Like a KIP-320 client it never goes back to an older
/// leader epoch: a broker with a stale view (a zombie leader that just woke up still names
/// itself) cannot send it back to a deposed leader.
pub struct LeaderCache {
    topic: String,
    bootstrap: Vec<SocketAddr>,
    brokers: HashMap<i32, SocketAddr>,
    /// Per partition: the leader (−1: none) and the highest leader epoch seen.
    leaders: HashMap<i32, (i32, i32)>,
    next: usize,
}

impl LeaderCache {
    pub fn new(topic: &str, bootstrap: &[SocketAddr]) -> LeaderCache {
        LeaderCache {
            topic: topic.to_string(),
            bootstrap: bootstrap.to_vec(),
            brokers: HashMap::new(),
            leaders: HashMap::new(),
            next: 0,
        }
    }

    /// The leader of `partition`, if Metadata named one and it was not forgotten since.
    pub fn leader(&self, partition: i32) -> Option<Leader> {
        let &(id, epoch) = self.leaders.get(&partition)?;
        let addr = *self.brokers.get(&id)?;
        (id >= 0).then_some(Leader { id, addr, epoch })
    }

    /// Forgets `partition`'s leader (after it refused or failed a request); its epoch stays the
    /// floor for what Metadata may name next.
    pub fn forget(&mut self, partition: i32) {
        if let Some(entry) = self.leaders.get_mut(&partition) {
            entry.0 = -1;
        }
    }

    /// Asks the known brokers in turn (a different one first each time) until one names a
    /// leader for `partition` at an epoch no older than known; returns whether one did.
    pub async fn refresh(&mut self, partition: i32) -> bool {
        let mut addrs: Vec<SocketAddr> = self.brokers.values().copied().collect();
        for addr in &self.bootstrap {
            if !addrs.contains(addr) {
                addrs.push(*addr);
            }
        }
        addrs.sort();
        self.next = self.next.wrapping_add(1);
        for i in 0..addrs.len() {
            let addr = addrs[(self.next + i) % addrs.len()];
            if let Ok(response) = metadata(addr, &self.topic).await {
                self.absorb(&response);
                if self.leader(partition).is_some() {
                    return true;
                }
            }
        }
        false
    }

    fn absorb(&mut self, response: &MetadataResponse) {
        let Some(topic) = response.topics.iter().find(|t| {
            t.name.as_ref().is_some_and(|n| n.0.as_str() == self.topic) && t.error_code == 0
        }) else {
            return;
        };
        for b in &response.brokers {
            if let Some(addr) = (b.host.as_str(), b.port as u16)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
            {
                self.brokers.insert(b.node_id.0, addr);
            }
        }
        for p in &topic.partitions {
            let known = self
                .leaders
                .get(&p.partition_index)
                .map_or(-1, |(_, epoch)| *epoch);
            if p.leader_epoch >= known {
                let leader = if p.error_code == 0 { p.leader_id.0 } else { -1 };
                self.leaders
                    .insert(p.partition_index, (leader, p.leader_epoch));
            }
        }
    }
}

/// Metadata for `topic` from `addr`, within the connect and request deadlines.
pub async fn metadata(addr: SocketAddr, topic: &str) -> anyhow::Result<MetadataResponse> {
    let mut conn = connect(addr).await?;
    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_string())),
        ))]))
        .with_allow_auto_topic_creation(false);
    match tokio::time::timeout(METADATA_TIMEOUT, conn.send(&request, METADATA_VERSION)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(anyhow::anyhow!("Metadata from {addr}: {e}")),
        Err(_) => Err(anyhow::anyhow!("Metadata from {addr} timed out")),
    }
}
