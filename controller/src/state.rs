//! The controller's partition and replica state machines' legal transitions
//! (`PartitionStateMachine.scala`, `ReplicaStateMachine.scala`, reference §2.3). A transition from
//! a state not listed as a valid previous state is a controller bug and is refused (Kafka logs it
//! and skips the partition/replica).

/// Partition states with Kafka's state bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    NewPartition = 0,
    OnlinePartition = 1,
    OfflinePartition = 2,
    NonExistentPartition = 3,
}

impl PartitionState {
    pub fn valid_previous_states(self) -> &'static [PartitionState] {
        use PartitionState::*;
        match self {
            NewPartition => &[NonExistentPartition],
            OnlinePartition | OfflinePartition => &[NewPartition, OnlinePartition, OfflinePartition],
            NonExistentPartition => &[OfflinePartition],
        }
    }

    pub fn can_transition_from(self, from: PartitionState) -> bool {
        self.valid_previous_states().contains(&from)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaState {
    NewReplica,
    OnlineReplica,
    OfflineReplica,
    ReplicaDeletionStarted,
    ReplicaDeletionSuccessful,
    ReplicaDeletionIneligible,
    NonExistentReplica,
}

impl ReplicaState {
    pub fn valid_previous_states(self) -> &'static [ReplicaState] {
        use ReplicaState::*;
        match self {
            NewReplica => &[NonExistentReplica],
            OnlineReplica | OfflineReplica => &[NewReplica, OnlineReplica, OfflineReplica, ReplicaDeletionIneligible],
            ReplicaDeletionStarted => &[OfflineReplica],
            ReplicaDeletionSuccessful => &[ReplicaDeletionStarted],
            ReplicaDeletionIneligible => &[OfflineReplica, ReplicaDeletionStarted],
            NonExistentReplica => &[ReplicaDeletionSuccessful],
        }
    }

    pub fn can_transition_from(self, from: ReplicaState) -> bool {
        self.valid_previous_states().contains(&from)
    }
}

#[cfg(test)]
mod tests {
    use super::PartitionState::*;
    use super::ReplicaState::*;

    #[test]
    fn partition_transitions() {
        assert!(NewPartition.can_transition_from(NonExistentPartition));
        assert!(OnlinePartition.can_transition_from(NewPartition));
        assert!(OfflinePartition.can_transition_from(OnlinePartition));
        assert!(NonExistentPartition.can_transition_from(OfflinePartition));
        assert!(!NonExistentPartition.can_transition_from(OnlinePartition), "delete only after going offline");
        assert!(!NewPartition.can_transition_from(OnlinePartition));
        assert_eq!(OnlinePartition as u8, 1);
    }

    #[test]
    fn replica_transitions() {
        assert!(OnlineReplica.can_transition_from(ReplicaDeletionIneligible));
        assert!(ReplicaDeletionStarted.can_transition_from(OfflineReplica));
        assert!(!ReplicaDeletionStarted.can_transition_from(OnlineReplica), "stop before deleting");
        assert!(NonExistentReplica.can_transition_from(ReplicaDeletionSuccessful));
        assert!(!NewReplica.can_transition_from(OfflineReplica));
    }
}
