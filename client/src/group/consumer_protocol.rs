//! The consumer protocol: what consumers put in the opaque `metadata` of JoinGroup and the
//! `assignment` of SyncGroup (Kafka's `ConsumerProtocol`). The coordinator never reads these
//! bytes; it only relays each member's Subscription to the leader and the leader's Assignments
//! back to each member, and DescribeGroups returns them as stored. That is why a tool such as
//! `kafka-consumer-groups --describe` must decode them itself.
//!
//! Each is an int16 version followed by the struct of that version (`ConsumerProtocolSubscription`
//! and `ConsumerProtocolAssignment` in Kafka's message JSON). Kafka 2.8 writes version 1 of both
//! (v1 added `owned_partitions` for the cooperative protocol, KIP-429). A reader decodes a newer
//! version with the newest layout it knows, because later versions only append fields.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment;
use kafka_protocol::messages::consumer_protocol_subscription;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::GroupError;

/// The version Kafka 2.8's consumer writes.
pub const CONSUMER_PROTOCOL_VERSION: i16 = 1;
/// The newest version this codec knows (the layout used for anything newer).
const NEWEST_KNOWN_VERSION: i16 = 3;

/// Partitions by topic, each list sorted ascending.
pub type TopicPartitions = BTreeMap<String, Vec<i32>>;

/// A member's JoinGroup metadata: the topics it subscribes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub topics: Vec<String>,
    pub user_data: Option<Bytes>,
    /// The partitions the member holds now (used by cooperative assignors; eager ones ignore it).
    pub owned_partitions: TopicPartitions,
}

/// A member's SyncGroup assignment: the partitions it is to consume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub partitions: TopicPartitions,
    pub user_data: Option<Bytes>,
}

impl Subscription {
    pub fn new(topics: Vec<String>) -> Subscription {
        Subscription {
            topics,
            ..Subscription::default()
        }
    }

    pub fn encode(&self) -> Result<Bytes, GroupError> {
        let message = ConsumerProtocolSubscription::default()
            .with_topics(
                self.topics
                    .iter()
                    .map(|t| StrBytes::from_string(t.clone()))
                    .collect(),
            )
            .with_user_data(self.user_data.clone())
            .with_owned_partitions(
                self.owned_partitions
                    .iter()
                    .map(|(topic, partitions)| {
                        consumer_protocol_subscription::TopicPartition::default()
                            .with_topic(topic_name(topic))
                            .with_partitions(partitions.clone())
                    })
                    .collect(),
            );
        encode_versioned(&message, "subscription")
    }

    pub fn decode(bytes: &[u8]) -> Result<Subscription, GroupError> {
        let message: ConsumerProtocolSubscription = decode_versioned(bytes, "subscription")?;
        Ok(Subscription {
            topics: message.topics.iter().map(|t| t.to_string()).collect(),
            user_data: message.user_data,
            owned_partitions: collect(
                message
                    .owned_partitions
                    .into_iter()
                    .map(|tp| (tp.topic.0.to_string(), tp.partitions)),
            ),
        })
    }
}

impl Assignment {
    pub fn new(partitions: TopicPartitions) -> Assignment {
        Assignment {
            partitions,
            user_data: None,
        }
    }

    pub fn encode(&self) -> Result<Bytes, GroupError> {
        let message = ConsumerProtocolAssignment::default()
            .with_assigned_partitions(
                self.partitions
                    .iter()
                    .map(|(topic, partitions)| {
                        consumer_protocol_assignment::TopicPartition::default()
                            .with_topic(topic_name(topic))
                            .with_partitions(partitions.clone())
                    })
                    .collect(),
            )
            .with_user_data(self.user_data.clone());
        encode_versioned(&message, "assignment")
    }

    /// Decodes an assignment; empty bytes (what the coordinator returns to a member before any
    /// assignment, and stores for members of an Empty group) are the empty assignment.
    pub fn decode(bytes: &[u8]) -> Result<Assignment, GroupError> {
        if bytes.is_empty() {
            return Ok(Assignment::default());
        }
        let message: ConsumerProtocolAssignment = decode_versioned(bytes, "assignment")?;
        Ok(Assignment {
            partitions: collect(
                message
                    .assigned_partitions
                    .into_iter()
                    .map(|tp| (tp.topic.0.to_string(), tp.partitions)),
            ),
            user_data: message.user_data,
        })
    }

    /// Every assigned `(topic, partition)`, topics and partitions ascending.
    pub fn topic_partitions(&self) -> Vec<(String, i32)> {
        self.partitions
            .iter()
            .flat_map(|(topic, partitions)| partitions.iter().map(move |&p| (topic.clone(), p)))
            .collect()
    }
}

/// Merges per-topic lists (a topic may appear twice on the wire) into sorted, deduplicated lists.
fn collect(entries: impl Iterator<Item = (String, Vec<i32>)>) -> TopicPartitions {
    let mut out = TopicPartitions::new();
    for (topic, partitions) in entries {
        out.entry(topic).or_default().extend(partitions);
    }
    for partitions in out.values_mut() {
        partitions.sort_unstable();
        partitions.dedup();
    }
    out
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

fn encode_versioned<M: Encodable>(message: &M, what: &'static str) -> Result<Bytes, GroupError> {
    let mut buf = BytesMut::new();
    buf.put_i16(CONSUMER_PROTOCOL_VERSION);
    message
        .encode(&mut buf, CONSUMER_PROTOCOL_VERSION)
        .map_err(|e| GroupError::ConsumerProtocol {
            what,
            reason: format!("{e:#}"),
        })?;
    Ok(buf.freeze())
}

fn decode_versioned<M: Decodable>(bytes: &[u8], what: &'static str) -> Result<M, GroupError> {
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return Err(GroupError::ConsumerProtocol {
            what,
            reason: format!("{} bytes, no version", bytes.len()),
        });
    }
    let version = buf.get_i16();
    if version < 0 {
        return Err(GroupError::ConsumerProtocol {
            what,
            reason: format!("negative version {version}"),
        });
    }
    M::decode(&mut buf, version.min(NEWEST_KNOWN_VERSION)).map_err(|e| {
        GroupError::ConsumerProtocol {
            what,
            reason: format!("version {version}: {e:#}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tps(entries: &[(&str, &[i32])]) -> TopicPartitions {
        entries
            .iter()
            .map(|(t, p)| (t.to_string(), p.to_vec()))
            .collect()
    }

    #[test]
    fn subscription_round_trips() {
        let subscription = Subscription {
            topics: vec!["orders".into(), "payments".into()],
            user_data: Some(Bytes::from_static(b"ud")),
            owned_partitions: tps(&[("orders", &[0, 2])]),
        };
        let bytes = subscription.encode().unwrap();
        assert_eq!(&bytes[..2], &[0, 1], "version 1 first, as Kafka 2.8 writes");
        assert_eq!(Subscription::decode(&bytes).unwrap(), subscription);
    }

    #[test]
    fn assignment_round_trips() {
        let assignment = Assignment::new(tps(&[("a", &[0, 1]), ("b", &[3])]));
        let bytes = assignment.encode().unwrap();
        assert_eq!(Assignment::decode(&bytes).unwrap(), assignment);
        assert_eq!(
            assignment.topic_partitions(),
            [
                ("a".to_string(), 0),
                ("a".to_string(), 1),
                ("b".to_string(), 3)
            ]
        );
    }

    /// Bytes as Kafka's `ConsumerProtocol.serializeSubscription` (v0) writes them: version 0,
    /// topic array, null user data.
    #[test]
    fn decodes_kafkas_version_0_subscription() {
        let mut bytes = vec![0, 0, 0, 0, 0, 1, 0, 1, b't'];
        bytes.extend_from_slice(&(-1i32).to_be_bytes());
        let subscription = Subscription::decode(&bytes).unwrap();
        assert_eq!(subscription, Subscription::new(vec!["t".into()]));
    }

    #[test]
    fn newer_versions_decode_with_the_newest_known_layout() {
        let message = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            consumer_protocol_assignment::TopicPartition::default()
                .with_topic(topic_name("t"))
                .with_partitions(vec![1]),
        ]);
        let mut buf = BytesMut::new();
        buf.put_i16(7);
        message.encode(&mut buf, 3).unwrap();
        assert_eq!(
            Assignment::decode(&buf).unwrap().partitions,
            tps(&[("t", &[1])])
        );
    }

    #[test]
    fn empty_assignment_bytes_are_no_partitions() {
        assert_eq!(Assignment::decode(&[]).unwrap(), Assignment::default());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[0u8][..], &[0xff, 0xff], &[0, 1, 0x7f, 0xff, 0xff, 0xff]] {
            assert!(Subscription::decode(bytes).is_err(), "{bytes:?}");
            assert!(Assignment::decode(bytes).is_err(), "{bytes:?}");
        }
    }
}
