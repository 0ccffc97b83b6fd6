//! What the controller decides when partitions are created and when brokers die, as pure
//! functions over the controller's view (reference §2.3–2.4). The event loop (to come) turns each
//! [`PartitionChange`] into a conditional write of `/brokers/topics/T/partitions/P/state` and a
//! LeaderAndIsr to its recipients, followed by UpdateMetadata to every live broker.

use std::collections::BTreeMap;

use crate::election::{offline_partition, LeaderAndIsr, Liveness, NO_LEADER};

/// A partition, by topic name and index.
pub type PartitionKey = (String, i32);

/// A state change the controller must write and announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionChange {
    pub partition: PartitionKey,
    pub leader_and_isr: LeaderAndIsr,
    /// Brokers that get LeaderAndIsr for it.
    pub recipients: Vec<i32>,
    /// The leader was chosen from outside the ISR.
    pub unclean: bool,
}

/// New → Online: leader = first live replica in assignment order, ISR = the live assigned
/// replicas in assignment order, leader epoch 0. `None` when no replica is alive (the partition
/// stays New).
pub fn initial_leader_and_isr(assignment: &[i32], liveness: &Liveness) -> Option<LeaderAndIsr> {
    let live: Vec<i32> = assignment.iter().copied().filter(|&r| liveness.is_online(r)).collect();
    Some(LeaderAndIsr::initial(*live.first()?, live))
}

/// `onBrokerFailure`: for every partition hosted on a dead broker,
/// 1. if a dead broker led it, elect a new leader (Offline → Online, clean unless the topic
///    allows unclean election);
/// 2. otherwise, or if no leader could be elected, take the dead replicas out of the ISR with a
///    leader-epoch bump (OfflineReplica): a dead leader becomes −1, and the ISR is **never written
///    empty**, a single remaining member stays.
///
/// `liveness` must already exclude the dead brokers. Partitions untouched by the failure produce
/// no change.
pub fn on_broker_failure(
    assignments: &BTreeMap<PartitionKey, Vec<i32>>,
    leadership: &BTreeMap<PartitionKey, LeaderAndIsr>,
    dead: &[i32],
    liveness: &Liveness,
    allow_unclean: &dyn Fn(&str) -> bool,
) -> Vec<PartitionChange> {
    assignments
        .iter()
        .filter(|(_, assignment)| assignment.iter().any(|r| dead.contains(r)))
        .filter_map(|(key, assignment)| {
            let current = leadership.get(key)?;
            after_broker_failure(key, assignment, current, dead, liveness, allow_unclean(&key.0))
        })
        .collect()
}

/// One partition's part of [`on_broker_failure`]: a new leader if its leader is gone (or it had
/// none), else the `dead` replicas removed from its ISR; `None` if nothing changes.
pub fn after_broker_failure(key: &PartitionKey, assignment: &[i32], current: &LeaderAndIsr, dead: &[i32], liveness: &Liveness, allow_unclean: bool) -> Option<PartitionChange> {
    let live_replicas: Vec<i32> = assignment.iter().copied().filter(|&r| liveness.live.contains(&r)).collect();
    if dead.contains(&current.leader) || current.leader == NO_LEADER || !liveness.live.contains(&current.leader) {
        if let Some(elected) = offline_partition(assignment, current, liveness, allow_unclean) {
            return Some(PartitionChange { partition: key.clone(), leader_and_isr: elected.leader_and_isr, recipients: elected.recipients, unclean: elected.unclean });
        }
    }
    let gone: Vec<i32> = dead.iter().copied().chain(current.isr.iter().copied().filter(|r| !liveness.live.contains(r))).collect();
    let shrunk = remove_replicas_from_isr(current, &gone)?;
    Some(PartitionChange { partition: key.clone(), leader_and_isr: shrunk, recipients: live_replicas, unclean: false })
}

pub fn remove_replicas_from_isr(current: &LeaderAndIsr, replicas: &[i32]) -> Option<LeaderAndIsr> {
    let leader_gone = replicas.contains(&current.leader);
    let in_isr = current.isr.iter().any(|r| replicas.contains(r));
    if !leader_gone && !in_isr {
        return None;
    }
    let leader = if leader_gone { NO_LEADER } else { current.leader };
    let remaining: Vec<i32> = current.isr.iter().copied().filter(|r| !replicas.contains(r)).collect();
    // Never write an empty ISR: the last member stays so a later clean election can use it.
    let isr = if remaining.is_empty() { current.isr.clone() } else { remaining };
    if leader == current.leader && isr == current.isr {
        return None;
    }
    Some(current.new_leader_and_isr(leader, isr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(p: i32) -> PartitionKey {
        ("t".to_string(), p)
    }

    fn lai(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
        LeaderAndIsr { leader, leader_epoch: epoch, isr: isr.to_vec(), zk_version: 0 }
    }

    #[test]
    fn new_partitions_lead_from_the_first_live_replica() {
        let live = Liveness::new([2, 3]);
        assert_eq!(initial_leader_and_isr(&[1, 2, 3], &live), Some(LeaderAndIsr::initial(2, vec![2, 3])));
        assert_eq!(initial_leader_and_isr(&[3, 1, 2], &live), Some(LeaderAndIsr::initial(3, vec![3, 2])));
        assert_eq!(initial_leader_and_isr(&[1], &live), None);
    }

    #[test]
    fn broker_failure_moves_leadership_and_shrinks_isrs() {
        let assignments: BTreeMap<PartitionKey, Vec<i32>> = [
            (key(0), vec![1, 2, 3]), // led by the dead broker: elect 2
            (key(1), vec![2, 1, 3]), // dead broker is a follower: ISR shrink, leader stays
            (key(2), vec![1]),       // RF 1 on the dead broker: leader -1, ISR stays [1]
            (key(3), vec![2, 3]),    // untouched
            (key(4), vec![1, 3]),    // ISR was only [1]: no clean election, ISR kept
        ]
        .into_iter()
        .collect();
        let leadership: BTreeMap<PartitionKey, LeaderAndIsr> = [
            (key(0), lai(1, 4, &[1, 2, 3])),
            (key(1), lai(2, 0, &[2, 1, 3])),
            (key(2), lai(1, 9, &[1])),
            (key(3), lai(2, 1, &[2, 3])),
            (key(4), lai(1, 2, &[1])),
        ]
        .into_iter()
        .collect();
        let live = Liveness::new([2, 3]);
        let changes = on_broker_failure(&assignments, &leadership, &[1], &live, &|_| false);
        // (partition, leader, leader epoch, ISR, recipients)
        type Summary = (i32, i32, i32, Vec<i32>, Vec<i32>);
        let summary: Vec<Summary> =
            changes.iter().map(|c| (c.partition.1, c.leader_and_isr.leader, c.leader_and_isr.leader_epoch, c.leader_and_isr.isr.clone(), c.recipients.clone())).collect();
        assert_eq!(
            summary,
            vec![
                (0, 2, 5, vec![2, 3], vec![2, 3]),
                (1, 2, 1, vec![2, 3], vec![2, 3]),
                (2, -1, 10, vec![1], vec![]),
                (4, -1, 3, vec![1], vec![3]),
            ]
        );
        assert!(changes.iter().all(|c| !c.leader_and_isr.isr.is_empty()), "ISR never written empty");

        // The same failure on a topic that allows unclean election: partition 4 goes to 3.
        let changes = on_broker_failure(&assignments, &leadership, &[1], &live, &|_| true);
        let p4 = changes.iter().find(|c| c.partition.1 == 4).unwrap();
        assert_eq!((p4.leader_and_isr.leader, p4.leader_and_isr.isr.clone(), p4.unclean), (3, vec![3], true));
    }

    #[test]
    fn a_leaderless_partition_recovers_when_its_isr_member_returns() {
        // Partition 2 above (leader -1, ISR [1]) after broker 1 comes back.
        let assignments: BTreeMap<PartitionKey, Vec<i32>> = [(key(2), vec![1])].into_iter().collect();
        let leadership: BTreeMap<PartitionKey, LeaderAndIsr> = [(key(2), lai(-1, 10, &[1]))].into_iter().collect();
        let current = &leadership[&key(2)];
        let elected = offline_partition(&assignments[&key(2)], current, &Liveness::new([1]), false).unwrap();
        assert_eq!((elected.leader_and_isr.leader, elected.leader_and_isr.leader_epoch), (1, 11));
    }
}
