//! Partition assignors: the function the group leader runs between JoinGroup and SyncGroup
//! (Kafka's `ConsumerPartitionAssignor`). The coordinator picks one protocol name all members
//! support; the leader receives every member's Subscription and returns an Assignment per member.
//!
//! Assignors are pure functions over plain data so they can be checked with Kafka's documented
//! examples; the member ([`super::GroupMember`]) only feeds them.

mod range;
mod round_robin;

use std::collections::BTreeMap;

pub use range::range;
pub use round_robin::round_robin;

use super::consumer_protocol::TopicPartitions;

/// `range`, Kafka's default `partition.assignment.strategy` (`RangeAssignor`).
pub const RANGE: &str = "range";
/// `roundrobin` (`RoundRobinAssignor`).
pub const ROUND_ROBIN: &str = "roundrobin";

/// Member id to the topics it subscribes to.
pub type Subscriptions = BTreeMap<String, Vec<String>>;
/// Member id to the partitions assigned to it; every member appears, possibly with none.
pub type Assignments = BTreeMap<String, TopicPartitions>;

/// Runs the assignor named `protocol`; `None` for a name this client does not implement.
/// Topics missing from `partitions_per_topic` (unknown to Metadata) are not assigned, as in Kafka.
pub fn assign(
    protocol: &str,
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Option<Assignments> {
    match protocol {
        RANGE => Some(range(subscriptions, partitions_per_topic)),
        ROUND_ROBIN => Some(round_robin(subscriptions, partitions_per_topic)),
        _ => None,
    }
}

/// Every member with an empty assignment: where each assignor starts.
fn empty(subscriptions: &Subscriptions) -> Assignments {
    subscriptions
        .keys()
        .map(|member| (member.clone(), TopicPartitions::new()))
        .collect()
}

/// Builders for the assignor tables.
#[cfg(test)]
mod table_builders {
    use super::*;

    pub fn subscriptions(members: &[(&str, &[&str])]) -> Subscriptions {
        members
            .iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    pub fn topics(counts: &[(&str, i32)]) -> BTreeMap<String, i32> {
        counts.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    /// `(member, [(topic, partitions)])` rows.
    pub type Table<'a> = &'a [(&'a str, &'a [(&'a str, &'a [i32])])];

    pub fn assignments(members: Table) -> Assignments {
        members
            .iter()
            .map(|(m, tps)| {
                (
                    m.to_string(),
                    tps.iter()
                        .map(|(t, p)| (t.to_string(), p.to_vec()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn unknown_protocol_is_none() {
        assert!(assign(
            "sticky",
            &subscriptions(&[("a", &["t"])]),
            &topics(&[("t", 1)])
        )
        .is_none());
        assert!(assign(
            RANGE,
            &subscriptions(&[("a", &["t"])]),
            &topics(&[("t", 1)])
        )
        .is_some());
    }
}
