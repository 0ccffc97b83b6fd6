//! What the benchmark learns from the bootstrap broker before it starts: which API versions to
//! speak (ApiVersions, then the highest version both sides support within the tool's own range)
//! and who leads each partition (Metadata). Nothing here is Odradek-specific, so the same run can
//! point at any Kafka-compatible broker.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;

/// The version ranges this tool can speak, per API it uses.
pub const PRODUCE_VERSIONS: (i16, i16) = (3, 9);
pub const FETCH_VERSIONS: (i16, i16) = (4, 12);
pub const METADATA_VERSIONS: (i16, i16) = (1, 8);
pub const LIST_OFFSETS_VERSIONS: (i16, i16) = (1, 5);

/// Kafka error codes the tool treats as "metadata not ready yet, ask again".
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;

/// The version to speak: `requested` if it is in both `ours` and `theirs` (both inclusive
/// `(min, max)`), else, when nothing was requested, the highest version in both.
pub fn negotiate(ours: (i16, i16), theirs: Option<(i16, i16)>, requested: Option<i16>) -> Option<i16> {
    let (their_min, their_max) = theirs?;
    let (min, max) = (ours.0.max(their_min), ours.1.min(their_max));
    let v = requested.unwrap_or(max);
    (min..=max).contains(&v).then_some(v)
}

/// The broker's advertised ranges, from an ApiVersions v0 exchange (v0 is answered by every
/// broker since 0.10, so no fallback dance is needed).
pub struct ApiVersions(BTreeMap<i16, (i16, i16)>);

impl ApiVersions {
    pub async fn fetch(conn: &mut Connection) -> anyhow::Result<ApiVersions> {
        let resp = conn.send(&ApiVersionsRequest::default(), 0).await.context("ApiVersions")?;
        if resp.error_code != 0 {
            bail!("ApiVersions failed with error code {}", resp.error_code);
        }
        Ok(ApiVersions(resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect()))
    }

    /// The version to use for `key` (`requested`, or the highest common one), or an error naming
    /// both ranges.
    pub fn pick(&self, key: ApiKey, ours: (i16, i16), requested: Option<i16>) -> anyhow::Result<i16> {
        let theirs = self.0.get(&(key as i16)).copied();
        negotiate(ours, theirs, requested).with_context(|| {
            let asked = requested.map_or(String::new(), |v| format!(" (asked for v{v})"));
            format!("broker serves {key:?} {theirs:?}, this tool speaks {}..={}{asked}", ours.0, ours.1)
        })
    }
}

/// A broker endpoint from Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    pub id: i32,
    pub addr: String,
}

/// One topic's partitions and their leaders.
#[derive(Debug, Clone)]
pub struct TopicLayout {
    pub topic: String,
    /// `(partition, leader)` in partition order.
    pub partitions: Vec<(i32, BrokerAddr)>,
}

impl TopicLayout {
    /// Partitions grouped by leader, each group in partition order.
    pub fn by_leader(&self) -> Vec<(BrokerAddr, Vec<i32>)> {
        let mut groups: BTreeMap<i32, (BrokerAddr, Vec<i32>)> = BTreeMap::new();
        for (p, leader) in &self.partitions {
            groups.entry(leader.id).or_insert_with(|| (leader.clone(), Vec::new())).1.push(*p);
        }
        groups.into_values().collect()
    }

    /// Keeps only partitions `0..count`; fails if the topic has fewer.
    pub fn limit(mut self, count: Option<i32>) -> anyhow::Result<TopicLayout> {
        if let Some(count) = count {
            if count < 1 || count as usize > self.partitions.len() {
                bail!("--partitions {count}, but topic {} has {} partitions", self.topic, self.partitions.len());
            }
            self.partitions.retain(|(p, _)| *p < count);
            if self.partitions.len() != count as usize {
                bail!("topic {} does not have partitions 0..{count}", self.topic);
            }
        }
        Ok(self)
    }
}

/// Connects to the bootstrap broker, negotiates versions and looks up `topic`'s leaders,
/// retrying while the topic or a leader is not yet known (a freshly created topic).
pub async fn discover(bootstrap: &str, topic: &str, wait: Duration) -> anyhow::Result<(ApiVersions, TopicLayout)> {
    let mut conn = Connection::connect(bootstrap).await.with_context(|| format!("connect to {bootstrap}"))?;
    let versions = ApiVersions::fetch(&mut conn).await?;
    let metadata_version = versions.pick(ApiKey::Metadata, METADATA_VERSIONS, None)?;
    let deadline = Instant::now() + wait;
    loop {
        match metadata(&mut conn, metadata_version, topic).await? {
            Ok(layout) => return Ok((versions, layout)),
            Err(why) if Instant::now() < deadline => {
                let _ = why;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(why) => bail!("topic {topic} not ready after {wait:?}: {why}"),
        }
    }
}

/// One Metadata round trip: `Ok(Err(reason))` if the answer is "not ready yet".
async fn metadata(conn: &mut Connection, version: i16, topic: &str) -> anyhow::Result<Result<TopicLayout, String>> {
    let mut req = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(topic.to_owned()))))]));
    if version >= 4 {
        req = req.with_allow_auto_topic_creation(false);
    }
    let resp = conn.send(&req, version).await.context("Metadata")?;
    let brokers: BTreeMap<i32, String> =
        resp.brokers.iter().map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port))).collect();
    let Some(t) = resp.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic)) else {
        return Ok(Err(format!("topic {topic} missing from Metadata response")));
    };
    match t.error_code {
        0 => {}
        UNKNOWN_TOPIC_OR_PARTITION | LEADER_NOT_AVAILABLE => return Ok(Err(format!("error code {}", t.error_code))),
        code => bail!("Metadata for topic {topic} failed with error code {code}"),
    }
    if t.partitions.is_empty() {
        return Ok(Err(format!("topic {topic} has no partitions yet")));
    }
    let mut partitions = Vec::with_capacity(t.partitions.len());
    for p in &t.partitions {
        let leader = p.leader_id.0;
        match brokers.get(&leader) {
            Some(addr) if p.error_code == 0 => {
                partitions.push((p.partition_index, BrokerAddr { id: leader, addr: addr.clone() }))
            }
            _ => {
                return Ok(Err(format!(
                    "partition {topic}-{} has leader {leader}, error code {}",
                    p.partition_index, p.error_code
                )))
            }
        }
    }
    partitions.sort_by_key(|(p, _)| *p);
    Ok(Ok(TopicLayout { topic: topic.to_owned(), partitions }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        assert_eq!(negotiate((3, 7), Some((0, 9)), None), Some(7));
        assert_eq!(negotiate((3, 7), Some((3, 5)), None), Some(5));
        assert_eq!(negotiate((1, 8), Some((4, 12)), None), Some(8));
        assert_eq!(negotiate((4, 11), Some((12, 16)), None), None);
        assert_eq!(negotiate((3, 7), Some((0, 2)), None), None);
        assert_eq!(negotiate((3, 7), None, None), None);
    }

    #[test]
    fn a_requested_version_is_used_only_inside_both_ranges() {
        assert_eq!(negotiate((4, 12), Some((4, 12)), Some(11)), Some(11));
        assert_eq!(negotiate((4, 12), Some((4, 12)), Some(12)), Some(12));
        assert_eq!(negotiate((4, 12), Some((4, 11)), Some(12)), None, "the broker does not serve it");
        assert_eq!(negotiate((4, 12), Some((0, 16)), Some(3)), None, "the tool does not speak it");
        assert_eq!(negotiate((4, 12), None, Some(11)), None);
    }

    fn layout() -> TopicLayout {
        let b = |id| BrokerAddr { id, addr: format!("h{id}:9092") };
        TopicLayout { topic: "t".into(), partitions: vec![(0, b(1)), (1, b(2)), (2, b(1)), (3, b(2))] }
    }

    #[test]
    fn partitions_group_by_leader() {
        let groups = layout().by_leader();
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].0.id, groups[0].1.clone()), (1, vec![0, 2]));
        assert_eq!((groups[1].0.id, groups[1].1.clone()), (2, vec![1, 3]));
    }

    #[test]
    fn limit_keeps_the_first_partitions() {
        assert_eq!(layout().limit(Some(2)).unwrap().partitions.len(), 2);
        assert_eq!(layout().limit(None).unwrap().partitions.len(), 4);
        assert!(layout().limit(Some(5)).is_err());
        assert!(layout().limit(Some(0)).is_err());
    }
}
