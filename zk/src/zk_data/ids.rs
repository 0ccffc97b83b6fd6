//! The small typed numbers ZooKeeper state is made of. Mixing up a controller epoch, a leader
//! epoch and a znode's zkVersion is the classic bug of this design, so each has its own type;
//! all are `serde(transparent)`, so the JSON holds the bare number Kafka writes.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A broker's `broker.id` (`/brokers/ids/<id>`). Also a partition leader, where `-1`
/// ([`BrokerId::NO_LEADER`]) means "no leader".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrokerId(pub i32);

impl BrokerId {
    /// Kafka's `LeaderAndIsr.NoLeader`.
    pub const NO_LEADER: BrokerId = BrokerId(-1);
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The controller epoch kept in `/controller_epoch`: one more on every successful election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ControllerEpoch(pub i32);

impl ControllerEpoch {
    /// Kafka's `KafkaController.InitialControllerEpoch`: the value `/controller_epoch` is created
    /// with, so the first controller ever elected has epoch 1.
    pub const INITIAL: ControllerEpoch = ControllerEpoch(0);

    pub fn next(self) -> ControllerEpoch {
        ControllerEpoch(self.0 + 1)
    }
}

impl fmt::Display for ControllerEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A partition's leader epoch (`leader_epoch` in its `/state` znode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaderEpoch(pub i32);

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A znode's data version (`Stat.version`), the "zkVersion" of Kafka's code: the controller's
/// epoch zkVersion fences its writes, a `/state` znode's is the partition's "ISR version".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZkVersion(pub i32);

impl ZkVersion {
    /// `ZkVersion.MatchAnyVersion`: a conditional write that matches any version.
    pub const MATCH_ANY: ZkVersion = ZkVersion(-1);
    /// `ZkVersion.UnknownVersion`: the version of a znode that does not exist.
    pub const UNKNOWN: ZkVersion = ZkVersion(-2);

    /// The expected version to hand ZooKeeper: `None` (any) for [`ZkVersion::MATCH_ANY`].
    pub(crate) fn expected(self) -> Option<i32> {
        (self != ZkVersion::MATCH_ANY).then_some(self.0)
    }
}

impl fmt::Display for ZkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A topic and partition, Kafka's `TopicPartition`. Displays as `topic-partition`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A topic id, Kafka's `org.apache.kafka.common.Uuid`: 16 bytes written as URL-safe base64
/// without padding (22 characters), e.g. `"vLPU1uYDT3qNdVGOsMwTbQ"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicId(pub Uuid);

impl TopicId {
    /// Kafka's `Uuid.ZERO_UUID`, which means "no id" on the wire.
    pub const ZERO: TopicId = TopicId(Uuid::nil());

    /// `Uuid.randomUuid()`: a random v4 id, never the zero id, the metadata topic's id
    /// (`AAAAAAAAAAAAAAAAAAAAAQ`) or one whose text starts with `-` (which command-line tools
    /// would take for an option).
    pub fn random() -> TopicId {
        loop {
            let id = TopicId(Uuid::new_v4());
            if id.0.as_u128() > 1 && !id.to_string().starts_with('-') {
                return id;
            }
        }
    }
}

impl fmt::Display for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0.as_bytes()))
    }
}

impl FromStr for TopicId {
    type Err = String;

    /// `Uuid.fromString`: exactly 22 URL-safe base64 characters decoding to 16 bytes.
    fn from_str(s: &str) -> Result<TopicId, String> {
        if s.len() != 22 {
            return Err(format!("topic id {s:?} is not 22 base64 characters"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| format!("topic id {s:?} is not URL-safe base64: {e}"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| format!("topic id {s:?} is not 16 bytes"))?;
        Ok(TopicId(Uuid::from_bytes(bytes)))
    }
}

impl Serialize for TopicId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TopicId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TopicId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `CoreUtils.generateUuidAsBase64()`: a new cluster id for `/cluster/id`, a random UUID as
/// 22 characters of URL-safe base64 without padding.
pub fn generate_cluster_id() -> String {
    URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_id_round_trips_through_base64() {
        let uuid = Uuid::parse_str("bcb3d4d6-e603-4f7a-8d75-518eb0cc136d").unwrap();
        let id = TopicId(uuid);
        let text = id.to_string();
        assert_eq!(text, "vLPU1uYDT3qNdVGOsMwTbQ");
        assert_eq!(text.len(), 22);
        assert_eq!(text.parse::<TopicId>().unwrap(), id);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"vLPU1uYDT3qNdVGOsMwTbQ\""
        );
        assert_eq!(
            serde_json::from_str::<TopicId>("\"vLPU1uYDT3qNdVGOsMwTbQ\"").unwrap(),
            id
        );
    }

    #[test]
    fn topic_id_uses_the_url_safe_alphabet() {
        // All bits set: standard base64 would give '/' characters, URL-safe gives '_'.
        let id = TopicId(Uuid::from_u128(u128::MAX));
        assert_eq!(id.to_string(), "_____________________w");
        assert_eq!("_____________________w".parse::<TopicId>().unwrap(), id);
        assert_eq!(
            TopicId(Uuid::from_u128(1)).to_string(),
            "AAAAAAAAAAAAAAAAAAAAAQ"
        );
    }

    #[test]
    fn malformed_topic_ids_are_refused() {
        for bad in [
            "",
            "short",
            "vLPU1uYDT3qNdVGOsMwTbQ==",
            "vLPU1uYDT3qNdVGOsMwTb+",
            "vLPU1uYDT3qNdVGOsMwTbQx",
        ] {
            assert!(bad.parse::<TopicId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn random_topic_ids_are_usable() {
        for _ in 0..1000 {
            let id = TopicId::random();
            let text = id.to_string();
            assert_eq!(text.len(), 22);
            assert!(!text.starts_with('-'));
            assert_ne!(id, TopicId::ZERO);
            assert_eq!(text.parse::<TopicId>().unwrap(), id);
        }
    }

    #[test]
    fn cluster_ids_are_22_url_safe_characters() {
        let a = generate_cluster_id();
        let b = generate_cluster_id();
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 22, "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{id}"
            );
            assert_eq!(URL_SAFE_NO_PAD.decode(&id).unwrap().len(), 16);
        }
    }

    #[test]
    fn match_any_version_is_no_expected_version() {
        assert_eq!(ZkVersion::MATCH_ANY.expected(), None);
        assert_eq!(ZkVersion(0).expected(), Some(0));
    }
}
