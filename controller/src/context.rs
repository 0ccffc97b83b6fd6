//! `ControllerContext` (`ControllerContext.scala`): the active controller's picture of the
//! cluster, rebuilt from ZooKeeper on every failover and changed only by the event loop: the live
//! brokers with their epochs, every topic's id and replica assignment, each partition's leader and
//! ISR (with the `/state` zkVersion), the partition and replica states, and the topics queued for
//! deletion.
//!
//! State changes go through [`ControllerContext::put_partition_state`] and
//! [`ControllerContext::put_replica_state`], which refuse a transition the state machines do not
//! allow (reference §2.3) and log every accepted one on the `state_change` target.

use std::collections::{BTreeMap, BTreeSet};

use tracing::{error, info};
use uuid::Uuid;

use crate::decisions::PartitionKey;
use crate::election::{LeaderAndIsr, Liveness};
use crate::request_batch::LiveBroker;
use crate::state::{PartitionState, ReplicaState};

/// A replica: a partition and the broker holding it (Kafka's `PartitionAndReplica`).
pub type ReplicaKey = (PartitionKey, i32);

#[derive(Debug, Default)]
pub struct ControllerContext {
    pub epoch: i32,
    pub live_brokers: BTreeMap<i32, LiveBroker>,
    /// Brokers in a controlled shutdown: still live, never chosen as leaders.
    pub shutting_down: BTreeSet<i32>,
    pub topic_ids: BTreeMap<String, Uuid>,
    /// Each partition's replicas, the preferred leader first.
    pub assignments: BTreeMap<PartitionKey, Vec<i32>>,
    /// `partitionLeadershipInfo`: what each partition's `/state` znode holds, with its zkVersion.
    pub leadership: BTreeMap<PartitionKey, LeaderAndIsr>,
    pub partition_states: BTreeMap<PartitionKey, PartitionState>,
    pub replica_states: BTreeMap<ReplicaKey, ReplicaState>,
    /// `TopicDeletionManager`: topics queued in `/admin/delete_topics`...
    pub topics_to_delete: BTreeSet<String>,
    /// ...and those whose deletion has started (UpdateMetadata with leader −2 sent). A topic
    /// waiting for an offline replica's broker shows as replicas in ReplicaDeletionIneligible.
    pub topics_deletion_started: BTreeSet<String>,
}

impl ControllerContext {
    pub fn new(epoch: i32) -> ControllerContext {
        ControllerContext { epoch, ..Default::default() }
    }

    /// Live brokers and the shutting-down set, as the elections see them.
    pub fn liveness(&self) -> Liveness {
        Liveness { live: self.live_brokers.keys().copied().collect(), shutting_down: self.shutting_down.clone() }
    }

    pub fn is_live(&self, broker: i32) -> bool {
        self.live_brokers.contains_key(&broker)
    }

    pub fn live_broker_list(&self) -> Vec<LiveBroker> {
        self.live_brokers.values().cloned().collect()
    }

    pub fn topics(&self) -> BTreeSet<String> {
        self.topic_ids.keys().cloned().collect()
    }

    pub fn partitions_of_topic(&self, topic: &str) -> Vec<PartitionKey> {
        self.assignments.range((topic.to_string(), i32::MIN)..=(topic.to_string(), i32::MAX)).map(|(k, _)| k.clone()).collect()
    }

    pub fn replicas_of_topic(&self, topic: &str) -> Vec<ReplicaKey> {
        self.partitions_of_topic(topic).into_iter().flat_map(|k| self.assignments[&k].iter().map(move |&r| (k.clone(), r)).collect::<Vec<_>>()).collect()
    }

    /// `partitionsOnBroker`.
    pub fn partitions_on_broker(&self, broker: i32) -> Vec<PartitionKey> {
        self.assignments.iter().filter(|(_, replicas)| replicas.contains(&broker)).map(|(k, _)| k.clone()).collect()
    }

    /// `partitionsLeadByBroker`.
    pub fn partitions_led_by(&self, broker: i32) -> Vec<PartitionKey> {
        self.leadership.iter().filter(|(_, l)| l.leader == broker).map(|(k, _)| k.clone()).collect()
    }

    /// The assigned replicas on live brokers, in assignment order.
    pub fn live_replicas(&self, key: &PartitionKey) -> Vec<i32> {
        self.assignments.get(key).map(|r| r.iter().copied().filter(|b| self.is_live(*b)).collect()).unwrap_or_default()
    }

    pub fn is_topic_queued_for_deletion(&self, topic: &str) -> bool {
        self.topics_to_delete.contains(topic)
    }

    pub fn partition_state(&self, key: &PartitionKey) -> PartitionState {
        self.partition_states.get(key).copied().unwrap_or(PartitionState::NonExistentPartition)
    }

    pub fn replica_state(&self, replica: &ReplicaKey) -> ReplicaState {
        self.replica_states.get(replica).copied().unwrap_or(ReplicaState::NonExistentReplica)
    }

    /// A partition state machine transition: applied and logged if the table allows it, refused
    /// (and logged as an error) otherwise. `NonExistentPartition` forgets the partition.
    pub fn put_partition_state(&mut self, key: &PartitionKey, target: PartitionState) -> bool {
        let from = self.partition_state(key);
        if from == target && target != PartitionState::NewPartition {
            return true;
        }
        if !target.can_transition_from(from) {
            error!(target: "state_change", controller_epoch = self.epoch, "controller failed to change state for partition {}-{} from {from:?} to {target:?}: not a valid previous state", key.0, key.1);
            return false;
        }
        let leadership = self.leadership.get(key).map(|l| format!(" with leader {} epoch {} isr {:?}", l.leader, l.leader_epoch, l.isr)).unwrap_or_default();
        info!(target: "state_change", controller_epoch = self.epoch, "changed partition {}-{} from {from:?} to {target:?}{leadership}", key.0, key.1);
        if target == PartitionState::NonExistentPartition {
            self.partition_states.remove(key);
        } else {
            self.partition_states.insert(key.clone(), target);
        }
        true
    }

    /// A replica state machine transition, checked and logged like partitions'.
    /// `NonExistentReplica` forgets the replica.
    pub fn put_replica_state(&mut self, replica: &ReplicaKey, target: ReplicaState) -> bool {
        let from = self.replica_state(replica);
        if from == target && matches!(target, ReplicaState::OnlineReplica | ReplicaState::OfflineReplica) {
            return true;
        }
        if !target.can_transition_from(from) {
            error!(target: "state_change", controller_epoch = self.epoch, "controller failed to change state of replica {} for partition {}-{} from {from:?} to {target:?}: not a valid previous state", replica.1, replica.0 .0, replica.0 .1);
            return false;
        }
        info!(target: "state_change", controller_epoch = self.epoch, "changed state of replica {} for partition {}-{} from {from:?} to {target:?}", replica.1, replica.0 .0, replica.0 .1);
        if target == ReplicaState::NonExistentReplica {
            self.replica_states.remove(replica);
        } else {
            self.replica_states.insert(replica.clone(), target);
        }
        true
    }

    /// `removeTopic`: forgets everything about a topic.
    pub fn remove_topic(&mut self, topic: &str) {
        for key in self.partitions_of_topic(topic) {
            if let Some(replicas) = self.assignments.remove(&key) {
                for r in replicas {
                    self.replica_states.remove(&(key.clone(), r));
                }
            }
            self.leadership.remove(&key);
            self.partition_states.remove(&key);
        }
        self.topic_ids.remove(topic);
        self.topics_to_delete.remove(topic);
        self.topics_deletion_started.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, p: i32) -> PartitionKey {
        (t.to_string(), p)
    }

    #[test]
    fn transitions_are_checked_and_topics_forgotten() {
        let mut ctx = ControllerContext::new(3);
        ctx.topic_ids.insert("a".into(), Uuid::new_v4());
        ctx.topic_ids.insert("ab".into(), Uuid::new_v4());
        ctx.assignments.insert(key("a", 0), vec![1, 2]);
        ctx.assignments.insert(key("a", 1), vec![2, 3]);
        ctx.assignments.insert(key("ab", 0), vec![1]);
        assert_eq!(ctx.partitions_of_topic("a"), vec![key("a", 0), key("a", 1)], "prefix topics are not mixed up");
        assert_eq!(ctx.partitions_on_broker(1), vec![key("a", 0), key("ab", 0)]);

        assert!(!ctx.put_partition_state(&key("a", 0), PartitionState::OnlinePartition), "NonExistent -> Online is refused");
        assert!(ctx.put_partition_state(&key("a", 0), PartitionState::NewPartition));
        assert!(ctx.put_partition_state(&key("a", 0), PartitionState::OnlinePartition));
        assert_eq!(ctx.partition_state(&key("a", 0)), PartitionState::OnlinePartition);
        assert!(!ctx.put_partition_state(&key("a", 0), PartitionState::NonExistentPartition), "delete only after offline");

        let r = (key("a", 0), 1);
        assert!(ctx.put_replica_state(&r, ReplicaState::NewReplica));
        assert!(ctx.put_replica_state(&r, ReplicaState::OnlineReplica));
        assert!(!ctx.put_replica_state(&r, ReplicaState::ReplicaDeletionStarted), "stop before deleting");
        assert!(ctx.put_replica_state(&r, ReplicaState::OfflineReplica));
        assert!(ctx.put_replica_state(&r, ReplicaState::ReplicaDeletionStarted));

        ctx.remove_topic("a");
        assert!(ctx.partitions_of_topic("a").is_empty());
        assert!(ctx.replica_states.is_empty() && ctx.partition_states.is_empty());
        assert_eq!(ctx.topics(), ["ab".to_string()].into_iter().collect());
    }
}
