//! Kafka's `RangeAssignor`: topic by topic, the topic's partitions (ascending) are cut into
//! contiguous ranges over the members subscribed to it, sorted by member id; with `n` partitions
//! and `c` members each gets `n / c`, and the first `n % c` members one more. Because every topic
//! is cut the same way, the first members get the extra partitions of every topic: that
//! co-partitioning is the point of the assignor (a join over two topics keyed alike finds both
//! sides on one member), and its imbalance is the known cost.

use std::collections::BTreeMap;

use super::{empty, Assignments, Subscriptions};

pub fn range(
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignments {
    let mut assignments = empty(subscriptions);
    for (topic, &partitions) in partitions_per_topic {
        // `subscriptions` iterates in member-id order: Kafka sorts the members of each topic.
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(member, _)| member)
            .collect();
        if members.is_empty() || partitions <= 0 {
            continue;
        }
        let count = members.len() as i32;
        let per_member = partitions / count;
        let extra = partitions % count;
        for (i, member) in members.into_iter().enumerate() {
            let i = i as i32;
            let start = per_member * i + i.min(extra);
            let length = per_member + i32::from(i < extra);
            if length > 0 {
                if let Some(assignment) = assignments.get_mut(member) {
                    assignment
                        .entry(topic.clone())
                        .or_default()
                        .extend(start..start + length);
                }
            }
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::super::table_builders::{assignments, subscriptions, topics};
    use super::*;

    /// The example of `RangeAssignor`'s Javadoc: two consumers C0, C1 subscribed to t0 and t1,
    /// each of 3 partitions.
    #[test]
    fn kafkas_javadoc_example() {
        let got = range(
            &subscriptions(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]),
            &topics(&[("t0", 3), ("t1", 3)]),
        );
        assert_eq!(
            got,
            assignments(&[
                ("C0", &[("t0", &[0, 1]), ("t1", &[0, 1])]),
                ("C1", &[("t0", &[2]), ("t1", &[2])])
            ])
        );
    }

    #[test]
    fn table() {
        type Case<'a> = (
            &'a [(&'a str, &'a [&'a str])],
            &'a [(&'a str, i32)],
            &'a [(&'a str, &'a [(&'a str, &'a [i32])])],
        );
        let cases: &[Case] = &[
            // One member takes everything.
            (
                &[("m", &["t"])],
                &[("t", 3)],
                &[("m", &[("t", &[0, 1, 2])])],
            ),
            // More members than partitions: the last ones get nothing.
            (
                &[("a", &["t"]), ("b", &["t"]), ("c", &["t"])],
                &[("t", 2)],
                &[("a", &[("t", &[0])]), ("b", &[("t", &[1])]), ("c", &[])],
            ),
            // 7 over 3: the first 7 % 3 = 1 member gets one extra; sorted by id, not by order given.
            (
                &[("z", &["t"]), ("y", &["t"]), ("x", &["t"])],
                &[("t", 7)],
                &[
                    ("x", &[("t", &[0, 1, 2])]),
                    ("y", &[("t", &[3, 4])]),
                    ("z", &[("t", &[5, 6])]),
                ],
            ),
            // Only subscribers of a topic share it.
            (
                &[("a", &["t0"]), ("b", &["t0", "t1"])],
                &[("t0", 2), ("t1", 2)],
                &[
                    ("a", &[("t0", &[0])]),
                    ("b", &[("t0", &[1]), ("t1", &[0, 1])]),
                ],
            ),
            // A topic Metadata does not know is not assigned.
            (&[("a", &["gone"])], &[], &[("a", &[])]),
        ];
        for (subs, parts, expected) in cases {
            assert_eq!(
                range(&subscriptions(subs), &topics(parts)),
                assignments(expected),
                "{subs:?} {parts:?}"
            );
        }
    }
}
