//! Kafka's `RoundRobinAssignor`: every subscribed partition of every topic, topics by name and
//! partitions ascending, is dealt to the members sorted by id in turn, skipping a member not
//! subscribed to the partition's topic. With identical subscriptions the counts differ by at most
//! one; with different subscriptions it can be uneven (Kafka's Javadoc shows how).

use std::collections::BTreeMap;

use super::{empty, Assignments, Subscriptions};

pub fn round_robin(
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignments {
    let mut assignments = empty(subscriptions);
    let members: Vec<(&String, &Vec<String>)> = subscriptions.iter().collect();
    if members.is_empty() {
        return assignments;
    }
    let mut next = 0usize;
    for (topic, &partitions) in partitions_per_topic {
        if !members.iter().any(|(_, topics)| topics.contains(topic)) {
            continue;
        }
        for partition in 0..partitions {
            // Kafka's CircularIterator: advance until a member subscribed to this topic.
            while !members[next % members.len()].1.contains(topic) {
                next += 1;
            }
            let member = members[next % members.len()].0;
            if let Some(assignment) = assignments.get_mut(member) {
                assignment.entry(topic.clone()).or_default().push(partition);
            }
            next += 1;
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::super::table_builders::{assignments, subscriptions, topics};
    use super::*;

    /// `RoundRobinAssignor`'s first Javadoc example: C0 and C1 both subscribed to t0 and t1 of 3
    /// partitions each.
    #[test]
    fn kafkas_javadoc_identical_subscriptions() {
        let got = round_robin(
            &subscriptions(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]),
            &topics(&[("t0", 3), ("t1", 3)]),
        );
        assert_eq!(
            got,
            assignments(&[
                ("C0", &[("t0", &[0, 2]), ("t1", &[1])]),
                ("C1", &[("t0", &[1]), ("t1", &[0, 2])])
            ])
        );
    }

    /// The second: C0 subscribed to t0; C1 to t0, t1; C2 to t0, t1, t2; with 1, 2 and 3
    /// partitions.
    #[test]
    fn kafkas_javadoc_different_subscriptions() {
        let got = round_robin(
            &subscriptions(&[
                ("C0", &["t0"]),
                ("C1", &["t0", "t1"]),
                ("C2", &["t0", "t1", "t2"]),
            ]),
            &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]),
        );
        assert_eq!(
            got,
            assignments(&[
                ("C0", &[("t0", &[0])]),
                ("C1", &[("t1", &[0])]),
                ("C2", &[("t1", &[1]), ("t2", &[0, 1, 2])]),
            ])
        );
    }

    #[test]
    fn no_members_no_assignment() {
        assert!(round_robin(&Subscriptions::new(), &topics(&[("t", 3)])).is_empty());
    }
}
