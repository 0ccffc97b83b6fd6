//! Initial replica assignment, Kafka's rack-unaware `AdminUtils.assignReplicasToBrokers`
//! (reference §2.6).
//!
//! First replicas go round-robin over the brokers from a start index; the followers of each
//! partition sit at an offset (`shift`) from the first replica that grows by one after every full
//! round, so partitions with the same leader get different follower sets. Kafka draws the start
//! index and the initial shift at random (two independent draws) unless a fixed start is given.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    /// INVALID_PARTITIONS (37).
    #[error("Number of partitions must be larger than 0, got {0}.")]
    InvalidPartitions(i32),
    /// INVALID_REPLICATION_FACTOR (38), with Kafka's message.
    #[error("Replication factor: {replication_factor} larger than available brokers: {brokers}.")]
    ReplicationFactorTooLarge { replication_factor: i16, brokers: usize },
    /// INVALID_REPLICATION_FACTOR (38).
    #[error("Replication factor must be larger than 0, got {0}.")]
    InvalidReplicationFactor(i16),
}

/// Where the round-robin starts: Kafka's `startIndex` and initial `nextReplicaShift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentStart {
    pub start_index: usize,
    pub shift: usize,
}

impl AssignmentStart {
    /// Kafka's `fixedStartIndex`: both the start index and the shift are `index`.
    pub fn fixed(index: usize) -> AssignmentStart {
        AssignmentStart { start_index: index, shift: index }
    }

    /// Two independent random draws in `0..brokers`, as Kafka does without a fixed start.
    pub fn random(brokers: usize) -> AssignmentStart {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let draw = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize % brokers.max(1);
        AssignmentStart { start_index: draw(&bytes[..8]), shift: draw(&bytes[8..]) }
    }
}

/// Assigns `partitions` partitions (ids from `start_partition_id`) with `replication_factor`
/// replicas each over `brokers` (in the order given: the ZooKeeper admin path sorts by id).
/// The first replica of each list is the preferred leader.
pub fn assign_replicas_to_brokers(
    brokers: &[i32],
    partitions: i32,
    replication_factor: i16,
    start: AssignmentStart,
    start_partition_id: i32,
) -> Result<BTreeMap<i32, Vec<i32>>, AssignmentError> {
    if partitions <= 0 {
        return Err(AssignmentError::InvalidPartitions(partitions));
    }
    if replication_factor <= 0 {
        return Err(AssignmentError::InvalidReplicationFactor(replication_factor));
    }
    let n = brokers.len();
    if replication_factor as usize > n {
        return Err(AssignmentError::ReplicationFactorTooLarge { replication_factor, brokers: n });
    }
    let mut assignment = BTreeMap::new();
    let mut shift = start.shift;
    let first_partition = start_partition_id.max(0);
    for partition in first_partition..first_partition + partitions {
        let pid = partition as usize;
        if pid > 0 && pid.is_multiple_of(n) {
            shift += 1;
        }
        let first = (pid + start.start_index) % n;
        let mut replicas = Vec::with_capacity(replication_factor as usize);
        replicas.push(brokers[first]);
        for j in 0..(replication_factor as usize - 1) {
            replicas.push(brokers[replica_index(first, shift, j, n)]);
        }
        assignment.insert(partition, replicas);
    }
    Ok(assignment)
}

/// Kafka's `replicaIndex`: the j-th follower of a first replica at `first`.
fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    let shift = 1 + (shift + j) % (n - 1);
    (first + shift) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafkas_own_expected_assignment() {
        // AdminTest.testReplicaAssignment: brokers 0..4, 10 partitions, RF 3, fixed start 0.
        let got = assign_replicas_to_brokers(&[0, 1, 2, 3, 4], 10, 3, AssignmentStart::fixed(0), 0).unwrap();
        let expected: Vec<Vec<i32>> = vec![
            vec![0, 1, 2],
            vec![1, 2, 3],
            vec![2, 3, 4],
            vec![3, 4, 0],
            vec![4, 0, 1],
            vec![0, 2, 3],
            vec![1, 3, 4],
            vec![2, 4, 0],
            vec![3, 0, 1],
            vec![4, 1, 2],
        ];
        assert_eq!(got.values().cloned().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn errors_carry_kafkas_messages() {
        let e = assign_replicas_to_brokers(&[1], 1, 3, AssignmentStart::fixed(0), 0).unwrap_err();
        assert_eq!(e.to_string(), "Replication factor: 3 larger than available brokers: 1.");
        assert_eq!(assign_replicas_to_brokers(&[1], 0, 1, AssignmentStart::fixed(0), 0), Err(AssignmentError::InvalidPartitions(0)));
        assert_eq!(assign_replicas_to_brokers(&[1], 1, 0, AssignmentStart::fixed(0), 0), Err(AssignmentError::InvalidReplicationFactor(0)));
    }

    #[test]
    fn every_partition_has_distinct_replicas_and_leaders_spread_evenly() {
        for n in 1..=6usize {
            let brokers: Vec<i32> = (0..n as i32).map(|b| b + 100).collect();
            for rf in 1..=n as i16 {
                let start = AssignmentStart::random(n);
                let a = assign_replicas_to_brokers(&brokers, 3 * n as i32, rf, start, 0).unwrap();
                let mut leaders = BTreeMap::new();
                for replicas in a.values() {
                    let mut sorted = replicas.clone();
                    sorted.sort();
                    sorted.dedup();
                    assert_eq!(sorted.len(), rf as usize, "{replicas:?}");
                    *leaders.entry(replicas[0]).or_insert(0) += 1;
                }
                assert!(leaders.values().all(|&c| c == 3), "n={n} rf={rf} {leaders:?}");
            }
        }
    }

    #[test]
    fn added_partitions_continue_the_round() {
        // Adding partitions: start index = position of partition 0's first replica, ids continue.
        let all = assign_replicas_to_brokers(&[0, 1, 2], 6, 2, AssignmentStart::fixed(1), 0).unwrap();
        let more = assign_replicas_to_brokers(&[0, 1, 2], 3, 2, AssignmentStart::fixed(1), 3).unwrap();
        for p in 3..6 {
            assert_eq!(all[&p], more[&p]);
        }
    }
}
