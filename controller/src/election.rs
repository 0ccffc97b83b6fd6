//! Partition leader election, Kafka's `Election.scala` / `PartitionLeaderElectionAlgorithms`
//! (reference §2.5). Every strategy walks the **assignment order** (not the ISR order), so the
//! preferred replica wins whenever it can. Every election bumps the leader epoch by one.
//!
//! | strategy | leader | new ISR | LeaderAndIsr to |
//! |---|---|---|---|
//! | offline (clean) | first live replica in the ISR | ISR ∩ live | live assigned replicas |
//! | offline (unclean, only if allowed and no live ISR member) | first live replica | `[leader]` | live assigned replicas |
//! | reassign | first live target replica in the ISR | unchanged | target replicas |
//! | preferred | the assignment's head, if live and in the ISR | unchanged | all assigned |
//! | controlled shutdown | first live, in-ISR replica not shutting down | ISR − shutting down | live or shutting-down replicas |

use std::collections::BTreeSet;

/// The `/brokers/topics/T/partitions/P/state` content a controller writes, Kafka's `LeaderAndIsr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsr {
    /// −1 = no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    /// zkVersion of the state znode (the "ISR version" in RPCs).
    pub zk_version: i32,
}

/// Kafka's `LeaderAndIsr.NoLeader`.
pub const NO_LEADER: i32 = -1;

impl LeaderAndIsr {
    /// The state of a newly created partition: leader epoch 0.
    pub fn initial(leader: i32, isr: Vec<i32>) -> LeaderAndIsr {
        LeaderAndIsr { leader, leader_epoch: 0, isr, zk_version: 0 }
    }

    /// `newLeaderAndIsr`: another leader and ISR at the next leader epoch.
    pub fn new_leader_and_isr(&self, leader: i32, isr: Vec<i32>) -> LeaderAndIsr {
        LeaderAndIsr { leader, leader_epoch: self.leader_epoch + 1, isr, zk_version: self.zk_version }
    }
}

/// A successful election: the state to write and who to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionResult {
    pub leader_and_isr: LeaderAndIsr,
    /// Brokers that get LeaderAndIsr for the partition.
    pub recipients: Vec<i32>,
    /// True when the leader came from outside the ISR (may lose acknowledged data).
    pub unclean: bool,
}

/// Which brokers are alive, and which are shutting down (alive, but never chosen to lead).
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    pub live: BTreeSet<i32>,
    pub shutting_down: BTreeSet<i32>,
}

impl Liveness {
    pub fn new(live: impl IntoIterator<Item = i32>) -> Liveness {
        Liveness { live: live.into_iter().collect(), shutting_down: BTreeSet::new() }
    }
    /// Online for leadership: alive and not shutting down (`isReplicaOnline` without shutting-down brokers).
    pub fn is_online(&self, broker: i32) -> bool {
        self.live.contains(&broker) && !self.shutting_down.contains(&broker)
    }
}

/// Offline partition election (a leader died, or a new partition): clean unless no live ISR
/// member exists and unclean election is allowed for the topic.
pub fn offline_partition(assignment: &[i32], current: &LeaderAndIsr, liveness: &Liveness, allow_unclean: bool) -> Option<ElectionResult> {
    let live_replicas: Vec<i32> = assignment.iter().copied().filter(|&r| liveness.is_online(r)).collect();
    let clean = assignment.iter().copied().find(|&r| liveness.is_online(r) && current.isr.contains(&r));
    let (leader, isr, unclean) = match clean {
        Some(leader) => (leader, current.isr.iter().copied().filter(|&r| liveness.is_online(r)).collect(), false),
        None if allow_unclean => {
            let leader = *live_replicas.first()?;
            (leader, vec![leader], true)
        }
        None => return None,
    };
    Some(ElectionResult { leader_and_isr: current.new_leader_and_isr(leader, isr), recipients: live_replicas, unclean })
}

/// Reassignment election: the leader moves into the target replicas; ISR unchanged.
pub fn reassign_partition(target: &[i32], current: &LeaderAndIsr, liveness: &Liveness) -> Option<ElectionResult> {
    let leader = target.iter().copied().find(|&r| liveness.is_online(r) && current.isr.contains(&r))?;
    Some(ElectionResult { leader_and_isr: current.new_leader_and_isr(leader, current.isr.clone()), recipients: target.to_vec(), unclean: false })
}

/// Preferred replica election: only the assignment's head, if live and in sync.
pub fn preferred_replica(assignment: &[i32], current: &LeaderAndIsr, liveness: &Liveness) -> Option<ElectionResult> {
    let head = *assignment.first()?;
    if !(liveness.is_online(head) && current.isr.contains(&head)) {
        return None;
    }
    Some(ElectionResult { leader_and_isr: current.new_leader_and_isr(head, current.isr.clone()), recipients: assignment.to_vec(), unclean: false })
}

/// Controlled shutdown election: leadership leaves the shutting-down brokers, which also leave
/// the ISR.
pub fn controlled_shutdown(assignment: &[i32], current: &LeaderAndIsr, liveness: &Liveness) -> Option<ElectionResult> {
    let live_or_shutting_down: Vec<i32> = assignment.iter().copied().filter(|r| liveness.live.contains(r)).collect();
    let leader = assignment.iter().copied().find(|&r| liveness.is_online(r) && current.isr.contains(&r))?;
    let isr = current.isr.iter().copied().filter(|r| !liveness.shutting_down.contains(r)).collect();
    Some(ElectionResult { leader_and_isr: current.new_leader_and_isr(leader, isr), recipients: live_or_shutting_down, unclean: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
        LeaderAndIsr { leader, leader_epoch: epoch, isr: isr.to_vec(), zk_version: 4 }
    }

    #[test]
    fn offline_election_table() {
        // (assignment, isr, live, allow_unclean) -> (leader, isr, recipients, unclean) or None
        type Row = (&'static [i32], &'static [i32], &'static [i32], bool, Option<(i32, &'static [i32], &'static [i32], bool)>);
        let rows: &[Row] = &[
            // Leader 1 died: the next assignment-order replica in the ISR leads, ISR shrinks to live.
            (&[1, 2, 3], &[1, 2, 3], &[2, 3], false, Some((2, &[2, 3], &[2, 3], false))),
            // Assignment order, not ISR order, decides.
            (&[3, 2, 1], &[1, 2, 3], &[1, 2, 3], false, Some((3, &[1, 2, 3], &[3, 2, 1], false))),
            // Live but out of sync replicas never lead cleanly.
            (&[1, 2, 3], &[1], &[2, 3], false, None),
            // ...unless the topic allows unclean election: first live replica, ISR = [leader].
            (&[1, 2, 3], &[1], &[3, 2], true, Some((2, &[2], &[2, 3], true))),
            // A live ISR member always wins over an unclean choice.
            (&[1, 2, 3], &[3], &[2, 3], true, Some((3, &[3], &[2, 3], false))),
            // Nobody alive.
            (&[1, 2], &[1, 2], &[], true, None),
        ];
        for (assignment, isr, live, unclean, expected) in rows {
            let got = offline_partition(assignment, &state(1, 5, isr), &Liveness::new(live.iter().copied()), *unclean);
            let got = got.map(|r| {
                assert_eq!(r.leader_and_isr.leader_epoch, 6, "every election bumps the epoch");
                assert_eq!(r.leader_and_isr.zk_version, 4);
                (r.leader_and_isr.leader, r.leader_and_isr.isr, r.recipients, r.unclean)
            });
            let expected = expected.map(|(l, i, rcp, u)| (l, i.to_vec(), rcp.to_vec(), u));
            assert_eq!(got, expected, "assignment {assignment:?} isr {isr:?} live {live:?} unclean {unclean}");
        }
    }

    #[test]
    fn preferred_reassign_and_controlled_shutdown() {
        let live = Liveness::new([1, 2, 3]);
        let current = state(2, 0, &[1, 2, 3]);
        assert_eq!(preferred_replica(&[1, 2, 3], &current, &live).map(|r| r.leader_and_isr.leader), Some(1));
        assert_eq!(preferred_replica(&[1, 2, 3], &state(2, 0, &[2, 3]), &live), None, "preferred replica out of sync");
        assert_eq!(preferred_replica(&[4, 2], &current, &live), None, "preferred replica dead");

        let r = reassign_partition(&[4, 3], &current, &live).unwrap();
        assert_eq!((r.leader_and_isr.leader, r.leader_and_isr.isr.clone(), r.recipients.clone()), (3, vec![1, 2, 3], vec![4, 3]));

        let mut shutting = Liveness::new([1, 2, 3]);
        shutting.shutting_down.insert(1);
        let r = controlled_shutdown(&[1, 2, 3], &state(1, 7, &[1, 2, 3]), &shutting).unwrap();
        assert_eq!((r.leader_and_isr.leader, r.leader_and_isr.leader_epoch, r.leader_and_isr.isr.clone()), (2, 8, vec![2, 3]));
        assert_eq!(r.recipients, vec![1, 2, 3], "the stopping broker still hears about it");
        // RF 1: nowhere to move; the partition stays with the stopping broker.
        assert_eq!(controlled_shutdown(&[1], &state(1, 0, &[1]), &shutting), None);
    }
}
