//! Where each partition's leader is, and a connection to each leader: what Kafka's clients keep
//! in their `Metadata` and `NetworkClient`. Produce, Fetch and ListOffsets must go to the
//! partition's leader; a broker that is not (any more) answers NOT_LEADER_OR_FOLLOWER, and the
//! client then reads Metadata again ([`PartitionLeaders::refresh`]).

use std::collections::BTreeMap;

use crate::admin::{describe_error, host_port, AdminClient, Node};

/// `(topic, partition)`, Kafka's `TopicPartition`.
pub type TopicPartition = (String, i32);

pub struct PartitionLeaders {
    topics: Vec<String>,
    brokers: BTreeMap<i32, String>,
    leaders: BTreeMap<TopicPartition, i32>,
    partition_counts: BTreeMap<String, i32>,
    nodes: BTreeMap<i32, Node>,
}

impl PartitionLeaders {
    /// Reads Metadata for `topics`; a topic that does not exist is an error naming it.
    pub async fn load(
        admin: &mut AdminClient,
        topics: &[String],
    ) -> anyhow::Result<PartitionLeaders> {
        let mut leaders = PartitionLeaders {
            topics: topics.to_vec(),
            brokers: BTreeMap::new(),
            leaders: BTreeMap::new(),
            partition_counts: BTreeMap::new(),
            nodes: BTreeMap::new(),
        };
        leaders.refresh(admin).await?;
        Ok(leaders)
    }

    /// Reads Metadata again; connections to brokers still listed at the same address are kept.
    pub async fn refresh(&mut self, admin: &mut AdminClient) -> anyhow::Result<()> {
        let names: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        let metadata = admin.metadata(Some(&names)).await?;
        let brokers: BTreeMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, host_port(&b.host, b.port)))
            .collect();
        self.nodes
            .retain(|id, node| brokers.get(id).is_some_and(|addr| addr == node.addr()));
        self.brokers = brokers;
        self.leaders.clear();
        self.partition_counts.clear();
        for topic in &metadata.topics {
            let name = topic
                .name
                .as_ref()
                .map(|n| n.0.to_string())
                .unwrap_or_default();
            if topic.error_code != 0 {
                anyhow::bail!("topic '{name}': {}", describe_error(topic.error_code, None));
            }
            anyhow::ensure!(
                !topic.partitions.is_empty(),
                "topic '{name}' has no partitions"
            );
            self.partition_counts
                .insert(name.clone(), topic.partitions.len() as i32);
            for partition in &topic.partitions {
                if partition.leader_id.0 >= 0 {
                    self.leaders.insert(
                        (name.clone(), partition.partition_index),
                        partition.leader_id.0,
                    );
                }
            }
        }
        Ok(())
    }

    /// The topics' partition counts (every partition, led or not).
    pub fn partition_counts(&self) -> &BTreeMap<String, i32> {
        &self.partition_counts
    }

    /// Every partition of the topics, ascending.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.partition_counts
            .iter()
            .flat_map(|(topic, &count)| (0..count).map(move |p| (topic.clone(), p)))
            .collect()
    }

    pub fn leader(&self, partition: &TopicPartition) -> Option<i32> {
        self.leaders.get(partition).copied()
    }

    /// A connection to broker `id`, opened on first use.
    pub async fn node(&mut self, id: i32) -> anyhow::Result<&mut Node> {
        if !self.nodes.contains_key(&id) {
            let Some(addr) = self.brokers.get(&id) else {
                anyhow::bail!("broker {id} is not in the cluster's metadata");
            };
            let node = Node::connect(addr)
                .await
                .map_err(|e| anyhow::anyhow!("broker {id} at {addr}: {e:#}"))?;
            self.nodes.insert(id, node);
        }
        self.nodes
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("no connection to broker {id}"))
    }

    /// Forgets the connection to broker `id` (after it failed).
    pub fn disconnect(&mut self, id: i32) {
        self.nodes.remove(&id);
    }

    /// Groups `partitions` by their leader; the partitions without one are returned apart.
    pub fn by_leader(
        &self,
        partitions: &[TopicPartition],
    ) -> (BTreeMap<i32, Vec<TopicPartition>>, Vec<TopicPartition>) {
        let mut led: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        let mut leaderless = Vec::new();
        for partition in partitions {
            match self.leader(partition) {
                Some(id) => led.entry(id).or_default().push(partition.clone()),
                None => leaderless.push(partition.clone()),
            }
        }
        (led, leaderless)
    }
}
