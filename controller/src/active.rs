//! What only the active controller does (`KafkaController.onControllerFailover` and the event
//! handlers behind it, `PartitionStateMachine`, `ReplicaStateMachine`, `TopicDeletionManager`):
//! it owns the [`ControllerContext`], writes partition state to ZooKeeper (every write fenced on
//! the `/controller_epoch` zkVersion, every `/state` write conditional on that znode's zkVersion)
//! and tells the brokers through the per-broker request queues.
//!
//! The rules themselves are the pure functions of [`crate::decisions`] and [`crate::election`];
//! this file reads and writes ZooKeeper around them, moves the state machines and sends.

use std::collections::{BTreeMap, BTreeSet};

use odradek_protocol::error_codes;
use odradek_zk::{
    BrokerId, ControllerEpoch, KafkaZkClient, LeaderEpoch, LeaderIsrAndControllerEpoch, TopicId, TopicPartition, ZkError, ZkVersion, ZkWatch,
};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::channel_manager::{ControlRequest, ControllerChannelManager};
use crate::context::{ControllerContext, ReplicaKey};
use crate::decisions::{after_broker_failure, initial_leader_and_isr, remove_replicas_from_isr, PartitionChange, PartitionKey};
use crate::election::{self, LeaderAndIsr};
use crate::kafka_controller::{AlterIsrItem, AlterIsrOutcome, ControllerConfig, ControllerEvent};
use crate::request_batch::{self, ControllerStamp, LiveBroker, PartitionInfo, EPOCH_DURING_DELETE, LEADER_DURING_DELETE, NO_EPOCH};
use crate::state::{PartitionState, ReplicaState};

/// How many times a batch of `/state` writes is retried after zkVersion conflicts (a leader
/// changing the ISR at the same moment) before the remaining partitions are given up.
const MAX_STATE_WRITE_ATTEMPTS: usize = 10;

/// The unclean-election topic config key and the topic-config entity type.
const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";
const TOPIC_CONFIG: &str = "topics";

pub(crate) struct ActiveController {
    broker_id: i32,
    pub(crate) epoch: ControllerEpoch,
    /// The `/controller_epoch` zkVersion that fences this controller's ZooKeeper writes.
    pub(crate) epoch_zk_version: ZkVersion,
    config: ControllerConfig,
    events: mpsc::UnboundedSender<ControllerEvent>,
    /// `/brokers/ids`, `/brokers/topics`, `/admin/delete_topics`; dropping them unregisters.
    _watches: Vec<ZkWatch>,
    /// `PartitionModificationsHandler`s, one per topic.
    topic_watches: BTreeMap<String, ZkWatch>,
    pub(crate) ctx: ControllerContext,
    channel_manager: ControllerChannelManager,
}

/// A decision for one partition, made on the current context (re-made after a zkVersion
/// conflict re-read the partition's `/state`).
type Decide<'a> = &'a (dyn Fn(&ControllerContext, &PartitionKey) -> Option<PartitionChange> + Send + Sync);

impl ActiveController {
    /// `onControllerFailover` (reference §2.2 steps 2–9).
    pub(crate) async fn failover(
        zk: &KafkaZkClient,
        broker_id: i32,
        epoch: ControllerEpoch,
        epoch_zk_version: ZkVersion,
        config: ControllerConfig,
        events: mpsc::UnboundedSender<ControllerEvent>,
    ) -> Result<ActiveController, ZkError> {
        // 2. Watches: they only enqueue; what changes meanwhile is re-read by the events.
        let (_, broker_watch) = zk.watch_broker_ids(events.clone()).await?;
        let (topics, topics_watch) = zk.watch_topics(events.clone()).await?;
        let (_, deletion_watch) = zk.watch_topic_deletions(events.clone()).await?;
        // 3. Stale notifications: every `/state` is read below anyway.
        zk.delete_all_notifications(epoch_zk_version).await?;
        let channel_manager = ControllerChannelManager::new(broker_id, config.inter_broker_listener_name.clone(), events.clone());
        let mut me = ActiveController {
            broker_id,
            epoch,
            epoch_zk_version,
            config,
            events: events.clone(),
            _watches: vec![broker_watch, topics_watch, deletion_watch],
            topic_watches: BTreeMap::new(),
            ctx: ControllerContext::new(epoch.0),
            channel_manager,
        };
        // 4. `initializeControllerContext`.
        me.ctx.live_brokers = read_live_brokers(zk).await?.into_iter().map(|b| (b.id, b)).collect();
        let topics: Vec<String> = topics.into_iter().collect();
        let keys = me.load_topics(zk, &topics).await?;
        me.channel_manager.set_live_brokers(&me.ctx.live_broker_list());
        info!(target: "state_change", controller_epoch = epoch.0, live_brokers = ?me.ctx.live_brokers.keys().collect::<Vec<_>>(), topics = topics.len(), partitions = keys.len(), "controller failover: context initialized");
        // 6. The live-broker list first, so brokers know every leader LeaderAndIsr will name.
        let all: Vec<i32> = me.ctx.live_brokers.keys().copied().collect();
        me.send_update_metadata(&all, &[]);
        // 7. `replicaStateMachine.startup`: replicas on live brokers are online, and every live
        // broker gets LeaderAndIsr for everything it hosts; the others are offline.
        let mut changes = Vec::new();
        for key in &keys {
            let replicas = me.ctx.assignments[key].clone();
            for r in &replicas {
                let state = if me.ctx.is_live(*r) { ReplicaState::OnlineReplica } else { ReplicaState::ReplicaDeletionIneligible };
                me.ctx.replica_states.insert((key.clone(), *r), state);
            }
            if let Some(leadership) = me.ctx.leadership.get(key) {
                changes.push(PartitionChange { partition: key.clone(), leader_and_isr: leadership.clone(), recipients: me.ctx.live_replicas(key), unclean: false });
            }
        }
        me.send_changes(&changes, &BTreeSet::new());
        // 8. `partitionStateMachine.startup`: New without a `/state`, Online if the leader is
        // live, else Offline; then elect for New and Offline partitions. Offline replicas leave
        // the ISRs (OfflineReplica) in the same pass.
        for key in &keys {
            let state = match me.ctx.leadership.get(key) {
                None => PartitionState::NewPartition,
                Some(l) if me.ctx.is_live(l.leader) => PartitionState::OnlinePartition,
                Some(_) => PartitionState::OfflinePartition,
            };
            me.ctx.partition_states.insert(key.clone(), state);
        }
        let offline_replicas: Vec<ReplicaKey> = me.ctx.replica_states.iter().filter(|(_, s)| **s == ReplicaState::ReplicaDeletionIneligible).map(|(r, _)| r.clone()).collect();
        for r in &offline_replicas {
            me.ctx.put_replica_state(r, ReplicaState::OfflineReplica);
        }
        let dead: BTreeSet<i32> = offline_replicas.iter().map(|(_, b)| *b).collect();
        let affected: Vec<PartitionKey> =
            keys.iter().filter(|k| me.ctx.leadership.contains_key(*k) && me.ctx.assignments[*k].iter().any(|r| dead.contains(r))).cloned().collect();
        let changes = me.elect_offline_and_shrink(zk, affected, &dead.into_iter().collect::<Vec<_>>()).await?;
        me.send_changes(&changes, &BTreeSet::new());
        me.trigger_online_partitions(zk).await?;
        // 5 and 9. Topic deletions queued before (or during) the failover.
        me.process_topic_deletion(zk).await?;
        Ok(me)
    }

    pub(crate) fn broker_ids(&self) -> Vec<i32> {
        self.channel_manager.brokers()
    }

    // ---- events ------------------------------------------------------------------------------

    /// `processBrokerChange` (§2.4): failures (dead and bounced brokers) first, then startups
    /// (new and bounced brokers).
    pub(crate) async fn process_broker_change(&mut self, zk: &KafkaZkClient) -> Result<(), ZkError> {
        let live = read_live_brokers(zk).await?;
        let old = &self.ctx.live_brokers;
        let new_ids: BTreeSet<i32> = live.iter().map(|b| b.id).collect();
        let newly: Vec<i32> = new_ids.iter().copied().filter(|id| !old.contains_key(id)).collect();
        let dead: Vec<i32> = old.keys().copied().filter(|id| !new_ids.contains(id)).collect();
        let bounced: Vec<i32> = live.iter().filter(|b| old.get(&b.id).is_some_and(|o| o.epoch != b.epoch)).map(|b| b.id).collect();
        if newly.is_empty() && dead.is_empty() && bounced.is_empty() {
            return Ok(());
        }
        info!(target: "state_change", controller_epoch = self.epoch.0, "broker change: new brokers {newly:?}, dead brokers {dead:?}, bounced brokers {bounced:?}, all live brokers {new_ids:?}");
        let failed: Vec<i32> = dead.iter().chain(&bounced).copied().collect();
        let started: Vec<i32> = newly.iter().chain(&bounced).copied().collect();
        // A bounced broker counts as dead while its failure is handled, then as new.
        self.ctx.live_brokers = live.iter().filter(|b| !bounced.contains(&b.id)).map(|b| (b.id, b.clone())).collect();
        self.ctx.shutting_down.retain(|id| !failed.contains(id));
        self.channel_manager.set_live_brokers(&self.ctx.live_broker_list());
        if !failed.is_empty() {
            self.on_broker_failure(zk, &failed).await?;
        }
        self.ctx.live_brokers = live.into_iter().map(|b| (b.id, b)).collect();
        self.channel_manager.set_live_brokers(&self.ctx.live_broker_list());
        if !started.is_empty() {
            self.on_broker_startup(zk, &started).await?;
        }
        Ok(())
    }

    /// `processTopicChange`: topics created get their partitions brought online; topics gone
    /// are forgotten.
    pub(crate) async fn process_topic_change(&mut self, zk: &KafkaZkClient) -> Result<(), ZkError> {
        let topics = zk.get_all_topics_in_cluster().await?;
        let known = self.ctx.topics();
        for gone in known.difference(&topics) {
            self.ctx.remove_topic(gone);
            self.topic_watches.remove(gone);
        }
        let created: Vec<String> = topics.difference(&known).cloned().collect();
        if created.is_empty() {
            return Ok(());
        }
        info!(target: "state_change", controller_epoch = self.epoch.0, "new topics: {created:?}");
        let keys = self.load_topics(zk, &created).await?;
        let (fresh, existing): (Vec<PartitionKey>, Vec<PartitionKey>) = keys.into_iter().partition(|k| !self.ctx.leadership.contains_key(k));
        // A `/state` already there (written by a controller that failed mid-creation) is kept.
        for key in &existing {
            self.set_partition_state_from_leadership(key);
        }
        self.on_new_partition_creation(zk, fresh).await
    }

    /// `processPartitionModifications`: partitions added to an existing topic.
    pub(crate) async fn process_partition_modifications(&mut self, zk: &KafkaZkClient, topic: &str) -> Result<(), ZkError> {
        if !self.ctx.topic_ids.contains_key(topic) || self.ctx.is_topic_queued_for_deletion(topic) {
            return Ok(());
        }
        let Some(assignment) = zk.get_replica_assignment_and_topic_ids_for_topics(&[topic.to_string()]).await?.pop() else { return Ok(()) };
        let mut added = Vec::new();
        for (partition, replicas) in &assignment.assignment {
            let key = (topic.to_string(), *partition);
            if !self.ctx.assignments.contains_key(&key) {
                self.ctx.assignments.insert(key.clone(), replicas.replicas.iter().map(|b| b.0).collect());
                added.push(key);
            }
        }
        if added.is_empty() {
            return Ok(());
        }
        info!(target: "state_change", controller_epoch = self.epoch.0, "new partitions of topic {topic}: {:?}", added.iter().map(|k| k.1).collect::<Vec<_>>());
        self.on_new_partition_creation(zk, added).await
    }

    /// `processTopicDeletion`: queue what `/admin/delete_topics` asks for (or refuse it all when
    /// `delete.topic.enable` is false), then move every queued deletion forward.
    pub(crate) async fn process_topic_deletion(&mut self, zk: &KafkaZkClient) -> Result<(), ZkError> {
        let queued = zk.get_topic_deletions().await?;
        let known = self.ctx.topics();
        let unknown: Vec<String> = queued.difference(&known).cloned().collect();
        if !unknown.is_empty() {
            info!(target: "state_change", controller_epoch = self.epoch.0, "ignoring deletion of non-existent topics {unknown:?}");
            zk.delete_topic_deletions(&unknown, self.epoch_zk_version).await?;
        }
        let requested: Vec<String> = queued.intersection(&known).filter(|t| !self.ctx.topics_to_delete.contains(*t)).cloned().collect();
        if !self.config.delete_topic_enable {
            if !requested.is_empty() {
                info!(target: "state_change", controller_epoch = self.epoch.0, "removing {requested:?} from /admin/delete_topics: delete.topic.enable is false");
                zk.delete_topic_deletions(&requested, self.epoch_zk_version).await?;
            }
            return Ok(());
        }
        if !requested.is_empty() {
            info!(target: "state_change", controller_epoch = self.epoch.0, "topics queued for deletion: {requested:?}");
        }
        self.ctx.topics_to_delete.extend(requested);
        self.resume_deletions(zk).await
    }

    /// `TopicDeletionStopReplicaResponseReceived`: a broker answered StopReplica(delete).
    pub(crate) async fn process_stop_replica_response(&mut self, zk: &KafkaZkClient, broker_id: i32, error_code: i16, partitions: Vec<(String, i32, i16)>) -> Result<(), ZkError> {
        let started = |ctx: &ControllerContext, r: &ReplicaKey| ctx.replica_state(r) == ReplicaState::ReplicaDeletionStarted;
        let mut answered: Vec<(ReplicaKey, bool)> = partitions.into_iter().map(|(t, p, code)| (((t, p), broker_id), code == error_codes::NONE && error_code == error_codes::NONE)).collect();
        if error_code != error_codes::NONE {
            // The whole request failed (a stale epoch): every replica it was deleting there.
            answered.extend(self.ctx.replica_states.keys().filter(|r| r.1 == broker_id && started(&self.ctx, r)).map(|r| (r.clone(), false)));
        }
        for (replica, ok) in answered {
            if self.ctx.is_topic_queued_for_deletion(&replica.0 .0) && started(&self.ctx, &replica) {
                let target = if ok { ReplicaState::ReplicaDeletionSuccessful } else { ReplicaState::ReplicaDeletionIneligible };
                self.ctx.put_replica_state(&replica, target);
            }
        }
        self.resume_deletions(zk).await
    }

    /// `doControlledShutdown` (§2.7). `Ok(Err(code))` refuses the request; `Ok(Ok(partitions))`
    /// lists the replicated partitions the broker still leads.
    pub(crate) async fn controlled_shutdown(&mut self, zk: &KafkaZkClient, broker_id: i32, broker_epoch: i64) -> Result<Result<Vec<(String, i32)>, i16>, ZkError> {
        let Some(broker) = self.ctx.live_brokers.get(&broker_id) else {
            return Ok(Err(error_codes::BROKER_NOT_AVAILABLE));
        };
        if broker_epoch != -1 && broker_epoch < broker.epoch {
            return Ok(Err(error_codes::STALE_BROKER_EPOCH));
        }
        info!(target: "state_change", controller_epoch = self.epoch.0, "shutting down broker {broker_id}");
        self.ctx.shutting_down.insert(broker_id);
        let keys: Vec<PartitionKey> = self
            .ctx
            .partitions_on_broker(broker_id)
            .into_iter()
            .filter(|k| self.ctx.assignments[k].len() > 1 && self.ctx.leadership.contains_key(k) && !self.ctx.is_topic_queued_for_deletion(&k.0))
            .collect();
        let (led, followed): (Vec<PartitionKey>, Vec<PartitionKey>) = keys.into_iter().partition(|k| self.ctx.leadership[k].leader == broker_id);
        // Partitions it leads: OnlinePartition with the ControlledShutdown strategy.
        let liveness = self.ctx.liveness();
        let move_leader = move |ctx: &ControllerContext, key: &PartitionKey| -> Option<PartitionChange> {
            let current = ctx.leadership.get(key)?;
            if current.leader != broker_id {
                return None;
            }
            let elected = election::controlled_shutdown(ctx.assignments.get(key)?, current, &liveness)?;
            Some(PartitionChange { partition: key.clone(), leader_and_isr: elected.leader_and_isr, recipients: elected.recipients, unclean: false })
        };
        let changes = self.update_leadership(zk, led, &move_leader).await?;
        self.send_changes(&changes, &BTreeSet::new());
        // Partitions it follows: StopReplica (no delete), then OfflineReplica (out of the ISR).
        if let Some(broker) = self.ctx.live_brokers.get(&broker_id) {
            let stops: Vec<(PartitionKey, i32, bool)> = followed.iter().map(|k| (k.clone(), NO_EPOCH, false)).collect();
            if !stops.is_empty() {
                let request = request_batch::stop_replica(self.stamp(), broker, &stops);
                self.channel_manager.send(broker_id, ControlRequest::StopReplica(request));
            }
        }
        for key in &followed {
            self.ctx.put_replica_state(&(key.clone(), broker_id), ReplicaState::OfflineReplica);
        }
        let leave_isr = move |ctx: &ControllerContext, key: &PartitionKey| -> Option<PartitionChange> {
            let current = ctx.leadership.get(key)?;
            let shrunk = remove_replicas_from_isr(current, &[broker_id])?;
            let recipients = ctx.live_replicas(key).into_iter().filter(|r| *r != broker_id).collect();
            Some(PartitionChange { partition: key.clone(), leader_and_isr: shrunk, recipients, unclean: false })
        };
        let changes = self.update_leadership(zk, followed, &leave_isr).await?;
        self.send_changes(&changes, &BTreeSet::new());
        let remaining: Vec<(String, i32)> = self
            .ctx
            .partitions_led_by(broker_id)
            .into_iter()
            .filter(|k| self.ctx.assignments.get(k).is_some_and(|a| a.len() > 1) && !self.ctx.is_topic_queued_for_deletion(&k.0))
            .collect();
        info!(target: "state_change", controller_epoch = self.epoch.0, "controlled shutdown of broker {broker_id}: still leads {} replicated partitions", remaining.len());
        Ok(Ok(remaining))
    }

    /// `processAlterIsr` (reference §4.3): a leader's proposed ISRs, each written to its `/state`
    /// if the leader epoch is current and the zkVersion still the one the leader saw; then
    /// UpdateMetadata to every live broker. `Ok(Err(code))` refuses the whole request.
    pub(crate) async fn alter_isr(&mut self, zk: &KafkaZkClient, broker_id: i32, broker_epoch: i64, items: Vec<AlterIsrItem>) -> Result<Result<Vec<AlterIsrOutcome>, i16>, ZkError> {
        match self.ctx.live_brokers.get(&broker_id) {
            Some(broker) if broker.epoch == broker_epoch || broker_epoch == -1 => {}
            _ => return Ok(Err(error_codes::STALE_BROKER_EPOCH)),
        }
        let mut outcomes = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        for item in items {
            let key = (item.topic.clone(), item.partition);
            let refuse = |error_code| AlterIsrOutcome { topic: item.topic.clone(), partition: item.partition, error_code, leader: -1, leader_epoch: -1, isr: Vec::new(), zk_version: -1 };
            let Some(current) = self.ctx.leadership.get(&key).filter(|_| !self.ctx.is_topic_queued_for_deletion(&key.0)) else {
                outcomes.push(refuse(error_codes::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            };
            if item.leader_epoch < current.leader_epoch || current.leader != broker_id {
                outcomes.push(refuse(error_codes::FENCED_LEADER_EPOCH));
                continue;
            }
            if item.new_isr.is_empty() || !item.new_isr.contains(&broker_id) {
                outcomes.push(refuse(error_codes::INVALID_REQUEST));
                continue;
            }
            // A broker in controlled shutdown does not rejoin an ISR it was taken out of (as
            // KIP-841 later made Kafka do): it is about to stop.
            if item.new_isr.iter().any(|r| !current.isr.contains(r) && (self.ctx.shutting_down.contains(r) || !self.ctx.is_live(*r))) {
                outcomes.push(refuse(error_codes::INVALID_REQUEST));
                continue;
            }
            if item.leader_epoch == current.leader_epoch && item.new_isr == current.isr {
                // Already so (a retried request): success without a write.
                outcomes.push(AlterIsrOutcome { topic: item.topic, partition: item.partition, error_code: error_codes::NONE, leader: current.leader, leader_epoch: current.leader_epoch, isr: current.isr.clone(), zk_version: current.zk_version });
                continue;
            }
            let proposed = LeaderAndIsr { leader: broker_id, leader_epoch: item.leader_epoch, isr: item.new_isr.clone(), zk_version: item.zk_version };
            writes.push((key, proposed));
        }
        let updates: Vec<(TopicPartition, LeaderIsrAndControllerEpoch, ZkVersion)> = writes.iter().map(|(k, l)| (tp(k), to_zk(l, self.epoch), ZkVersion(l.zk_version))).collect();
        let result = if updates.is_empty() { Default::default() } else { zk.update_leader_and_isr(self.epoch_zk_version, &updates).await? };
        let mut changed = Vec::new();
        for (key, mut proposed) in writes {
            let outcome = match result.finished.get(&tp(&key)) {
                Some(Ok(version)) => {
                    proposed.zk_version = version.0;
                    info!(target: "state_change", controller_epoch = self.epoch.0, "ISR of partition {}-{} changed by its leader {broker_id} to {:?} (leader epoch {}, zkVersion {version})", key.0, key.1, proposed.isr, proposed.leader_epoch);
                    self.ctx.leadership.insert(key.clone(), proposed.clone());
                    changed.push(key.clone());
                    AlterIsrOutcome { topic: key.0.clone(), partition: key.1, error_code: error_codes::NONE, leader: proposed.leader, leader_epoch: proposed.leader_epoch, isr: proposed.isr, zk_version: version.0 }
                }
                Some(Err(e)) => {
                    error!(target: "state_change", controller_epoch = self.epoch.0, "cannot write the ISR of partition {}-{}: {e}", key.0, key.1);
                    AlterIsrOutcome { topic: key.0.clone(), partition: key.1, error_code: error_codes::UNKNOWN_SERVER_ERROR, leader: -1, leader_epoch: -1, isr: Vec::new(), zk_version: -1 }
                }
                // A stale zkVersion: the leader's view is out of date; it waits for LeaderAndIsr.
                None => AlterIsrOutcome { topic: key.0.clone(), partition: key.1, error_code: error_codes::INVALID_UPDATE_VERSION, leader: -1, leader_epoch: -1, isr: Vec::new(), zk_version: -1 },
            };
            outcomes.push(outcome);
        }
        if !changed.is_empty() {
            let all: Vec<i32> = self.ctx.live_brokers.keys().copied().collect();
            self.send_update_metadata(&all, &changed);
        }
        Ok(Ok(outcomes))
    }

    // ---- broker failure and startup ----------------------------------------------------------

    /// `onBrokerFailure`: partitions the failed brokers led elect new leaders; their replicas go
    /// offline and leave the ISRs; every live broker hears about it.
    async fn on_broker_failure(&mut self, zk: &KafkaZkClient, failed: &[i32]) -> Result<(), ZkError> {
        let mut keys = Vec::new();
        for key in self.ctx.assignments.iter().filter(|(_, r)| r.iter().any(|b| failed.contains(b))).map(|(k, _)| k.clone()).collect::<Vec<_>>() {
            let on_failed: Vec<i32> = self.ctx.assignments[&key].iter().copied().filter(|b| failed.contains(b)).collect();
            if self.ctx.is_topic_queued_for_deletion(&key.0) {
                for b in on_failed {
                    let replica = (key.clone(), b);
                    match self.ctx.replica_state(&replica) {
                        ReplicaState::ReplicaDeletionSuccessful => {}
                        ReplicaState::ReplicaDeletionStarted => {
                            self.ctx.put_replica_state(&replica, ReplicaState::ReplicaDeletionIneligible);
                        }
                        _ => {
                            self.ctx.put_replica_state(&replica, ReplicaState::OfflineReplica);
                            self.ctx.put_replica_state(&replica, ReplicaState::ReplicaDeletionIneligible);
                        }
                    }
                }
                continue;
            }
            for b in on_failed {
                self.ctx.put_replica_state(&(key.clone(), b), ReplicaState::OfflineReplica);
            }
            if self.ctx.leadership.contains_key(&key) {
                keys.push(key);
            }
        }
        let changes = self.elect_offline_and_shrink(zk, keys, failed).await?;
        // Also the UpdateMetadata that tells every live broker the new broker list.
        self.send_changes(&changes, &BTreeSet::new());
        Ok(())
    }

    /// `onBrokerStartup`: the new brokers learn everything, their replicas come online
    /// (LeaderAndIsr for each partition they host), offline partitions may get a leader back,
    /// and deletions waiting for them resume.
    async fn on_broker_startup(&mut self, zk: &KafkaZkClient, started: &[i32]) -> Result<(), ZkError> {
        let existing: Vec<i32> = self.ctx.live_brokers.keys().copied().filter(|b| !started.contains(b)).collect();
        self.send_update_metadata(&existing, &[]);
        let all: Vec<PartitionKey> = self.ctx.leadership.keys().cloned().collect();
        self.send_update_metadata(started, &all);
        let mut changes = Vec::new();
        for key in self.ctx.assignments.iter().filter(|(_, r)| r.iter().any(|b| started.contains(b))).map(|(k, _)| k.clone()).collect::<Vec<_>>() {
            let recipients: Vec<i32> = self.ctx.assignments[&key].iter().copied().filter(|b| started.contains(b)).collect();
            if self.ctx.is_topic_queued_for_deletion(&key.0) {
                for b in &recipients {
                    let replica = (key.clone(), *b);
                    if self.ctx.replica_state(&replica) == ReplicaState::ReplicaDeletionIneligible {
                        self.ctx.put_replica_state(&replica, ReplicaState::OfflineReplica);
                    }
                }
                continue;
            }
            for b in &recipients {
                self.ctx.put_replica_state(&(key.clone(), *b), ReplicaState::OnlineReplica);
            }
            if let Some(leadership) = self.ctx.leadership.get(&key) {
                changes.push(PartitionChange { partition: key.clone(), leader_and_isr: leadership.clone(), recipients, unclean: false });
            }
        }
        self.send_changes(&changes, &BTreeSet::new());
        self.trigger_online_partitions(zk).await?;
        self.resume_deletions(zk).await
    }

    /// `triggerOnlinePartitionStateChange`: New and Offline partitions (of topics not being
    /// deleted) try to come online.
    async fn trigger_online_partitions(&mut self, zk: &KafkaZkClient) -> Result<(), ZkError> {
        let in_state = |state: PartitionState| -> Vec<PartitionKey> {
            self.ctx.partition_states.iter().filter(|(k, s)| **s == state && !self.ctx.is_topic_queued_for_deletion(&k.0)).map(|(k, _)| k.clone()).collect()
        };
        let (new, offline) = (in_state(PartitionState::NewPartition), in_state(PartitionState::OfflinePartition));
        if !new.is_empty() {
            self.initialize_new_partitions(zk, new).await?;
        }
        if !offline.is_empty() {
            let changes = self.elect_offline_and_shrink(zk, offline, &[]).await?;
            self.send_changes(&changes, &BTreeSet::new());
        }
        Ok(())
    }

    // ---- partition creation ------------------------------------------------------------------

    /// `onNewPartitionCreation`: NewPartition and NewReplica, then OnlinePartition (leader and
    /// ISR written to a new `/state`), then OnlineReplica.
    async fn on_new_partition_creation(&mut self, zk: &KafkaZkClient, keys: Vec<PartitionKey>) -> Result<(), ZkError> {
        if keys.is_empty() {
            return Ok(());
        }
        for key in &keys {
            self.ctx.put_partition_state(key, PartitionState::NewPartition);
            for r in self.ctx.assignments[key].clone() {
                self.ctx.put_replica_state(&(key.clone(), r), ReplicaState::NewReplica);
            }
        }
        self.initialize_new_partitions(zk, keys.clone()).await?;
        for key in &keys {
            for r in self.ctx.assignments[key].clone() {
                self.ctx.put_replica_state(&(key.clone(), r), ReplicaState::OnlineReplica);
            }
        }
        Ok(())
    }

    /// New → Online (`initializeLeaderAndIsrForPartitions`): the first live replica leads, the
    /// live replicas are the ISR, leader epoch 0; each `/state` is created (fenced), then
    /// LeaderAndIsr (isNew) goes to the ISR and UpdateMetadata to everyone. A partition with no
    /// live replica stays New.
    async fn initialize_new_partitions(&mut self, zk: &KafkaZkClient, keys: Vec<PartitionKey>) -> Result<(), ZkError> {
        let liveness = self.ctx.liveness();
        let mut decided = Vec::new();
        for key in keys {
            match initial_leader_and_isr(&self.ctx.assignments[&key], &liveness) {
                Some(leadership) => decided.push((key, leadership)),
                None => error!(target: "state_change", controller_epoch = self.epoch.0, "controller failed to change state for partition {}-{} from NewPartition to OnlinePartition: no assigned replica {:?} is alive", key.0, key.1, self.ctx.assignments[&key]),
            }
        }
        if decided.is_empty() {
            return Ok(());
        }
        let states: Vec<(TopicPartition, LeaderIsrAndControllerEpoch)> = decided.iter().map(|(k, l)| (tp(k), to_zk(l, self.epoch))).collect();
        let results = zk.create_topic_partition_states(self.epoch_zk_version, &states).await?;
        let mut changes = Vec::new();
        let mut already = Vec::new();
        for ((key, mut leadership), (_, result)) in decided.into_iter().zip(results) {
            match result {
                Ok(version) => {
                    leadership.zk_version = version.0;
                    self.ctx.leadership.insert(key.clone(), leadership.clone());
                    self.ctx.put_partition_state(&key, PartitionState::OnlinePartition);
                    changes.push(PartitionChange { partition: key, recipients: leadership.isr.clone(), leader_and_isr: leadership, unclean: false });
                }
                Err(ZkError::NodeExists { .. }) => already.push(key),
                Err(e) => error!(target: "state_change", controller_epoch = self.epoch.0, "controller failed to create the state of partition {}-{}: {e}", key.0, key.1),
            }
        }
        if !already.is_empty() {
            // Another controller got there first: take what it wrote.
            let states = zk.get_topic_partition_states(&already.iter().map(tp).collect::<Vec<_>>()).await?;
            for (partition, (state, version)) in states {
                self.check_controller_epoch(&state)?;
                let key = key_of(&partition);
                self.ctx.leadership.insert(key.clone(), from_zk(&state, version));
                self.set_partition_state_from_leadership(&key);
            }
        }
        let new: BTreeSet<PartitionKey> = changes.iter().map(|c| c.partition.clone()).collect();
        self.send_changes(&changes, &new);
        Ok(())
    }

    // ---- topic deletion ----------------------------------------------------------------------

    /// `resumeDeletions`: for each queued topic, finish it if every replica is deleted;
    /// otherwise start (UpdateMetadata with leader −2, so brokers stop serving it) and send
    /// StopReplica(delete) to every replica on a live broker not already deleting; replicas on
    /// dead brokers wait (ReplicaDeletionIneligible) for their broker to come back.
    async fn resume_deletions(&mut self, zk: &KafkaZkClient) -> Result<(), ZkError> {
        let mut stops: BTreeMap<i32, Vec<(PartitionKey, i32, bool)>> = BTreeMap::new();
        for topic in self.ctx.topics_to_delete.clone() {
            let replicas = self.ctx.replicas_of_topic(&topic);
            if replicas.iter().all(|r| self.ctx.replica_state(r) == ReplicaState::ReplicaDeletionSuccessful) {
                self.complete_delete_topic(zk, &topic).await?;
                continue;
            }
            let partitions = self.ctx.partitions_of_topic(&topic);
            if self.ctx.topics_deletion_started.insert(topic.clone()) {
                info!(target: "state_change", controller_epoch = self.epoch.0, "deletion of topic {topic} started");
                for key in &partitions {
                    self.ctx.put_partition_state(key, PartitionState::OfflinePartition);
                }
                let during_delete: Vec<PartitionChange> = partitions
                    .iter()
                    .map(|k| {
                        let current = self.ctx.leadership.get(k).cloned().unwrap_or_else(|| LeaderAndIsr::initial(LEADER_DURING_DELETE, Vec::new()));
                        PartitionChange { partition: k.clone(), leader_and_isr: current, recipients: Vec::new(), unclean: false }
                    })
                    .collect();
                self.send_changes(&during_delete, &BTreeSet::new());
            }
            let mut ineligible = false;
            for replica in replicas {
                match self.ctx.replica_state(&replica) {
                    ReplicaState::ReplicaDeletionSuccessful | ReplicaState::ReplicaDeletionStarted => {}
                    ReplicaState::ReplicaDeletionIneligible => ineligible = true,
                    _ if !self.ctx.is_live(replica.1) => {
                        self.ctx.put_replica_state(&replica, ReplicaState::OfflineReplica);
                        self.ctx.put_replica_state(&replica, ReplicaState::ReplicaDeletionIneligible);
                        ineligible = true;
                    }
                    _ => {
                        self.ctx.put_replica_state(&replica, ReplicaState::OfflineReplica);
                        self.ctx.put_replica_state(&replica, ReplicaState::ReplicaDeletionStarted);
                        stops.entry(replica.1).or_default().push((replica.0.clone(), EPOCH_DURING_DELETE, true));
                    }
                }
            }
            if ineligible {
                debug!(target: "state_change", controller_epoch = self.epoch.0, "deletion of topic {topic} waits for replicas on offline brokers");
            }
        }
        for (broker_id, partitions) in stops {
            if let Some(broker) = self.ctx.live_brokers.get(&broker_id) {
                let request = request_batch::stop_replica(self.stamp(), broker, &partitions);
                self.channel_manager.send(broker_id, ControlRequest::StopReplica(request));
            }
        }
        Ok(())
    }

    /// `completeDeleteTopic`: every replica is gone; remove the topic from ZooKeeper (its
    /// znode tree, its config, its deletion request) and from the context.
    async fn complete_delete_topic(&mut self, zk: &KafkaZkClient, topic: &str) -> Result<(), ZkError> {
        for replica in self.ctx.replicas_of_topic(topic) {
            self.ctx.put_replica_state(&replica, ReplicaState::NonExistentReplica);
        }
        for key in self.ctx.partitions_of_topic(topic) {
            self.ctx.put_partition_state(&key, PartitionState::OfflinePartition);
            self.ctx.put_partition_state(&key, PartitionState::NonExistentPartition);
        }
        let topics = [topic.to_string()];
        zk.delete_topic_znode(topic, self.epoch_zk_version).await?;
        zk.delete_topic_configs(&topics, self.epoch_zk_version).await?;
        zk.delete_topic_deletions(&topics, self.epoch_zk_version).await?;
        self.ctx.remove_topic(topic);
        self.topic_watches.remove(topic);
        info!(target: "state_change", controller_epoch = self.epoch.0, "deletion of topic {topic} successfully completed");
        Ok(())
    }

    // ---- elections and ZooKeeper writes ------------------------------------------------------

    /// Offline partitions elect a leader (clean, or unclean where the topic allows it) and the
    /// `dead` replicas leave the ISRs; the partition states follow the outcome.
    async fn elect_offline_and_shrink(&mut self, zk: &KafkaZkClient, keys: Vec<PartitionKey>, dead: &[i32]) -> Result<Vec<PartitionChange>, ZkError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let unclean = self.unclean_topics(zk, &keys).await?;
        let liveness = self.ctx.liveness();
        let dead = dead.to_vec();
        let decide = move |ctx: &ControllerContext, key: &PartitionKey| -> Option<PartitionChange> {
            after_broker_failure(key, ctx.assignments.get(key)?, ctx.leadership.get(key)?, &dead, &liveness, unclean.contains(&key.0))
        };
        let changes = self.update_leadership(zk, keys.clone(), &decide).await?;
        for change in changes.iter().filter(|c| c.unclean) {
            warn!(target: "state_change", controller_epoch = self.epoch.0, "unclean leader election for partition {}-{}: broker {} leads with leader epoch {}; data not replicated to it may be lost", change.partition.0, change.partition.1, change.leader_and_isr.leader, change.leader_and_isr.leader_epoch);
        }
        for key in &keys {
            self.set_partition_state_from_leadership(key);
        }
        Ok(changes)
    }

    /// The topics among `keys`' whose clean election is impossible and whose config (or the
    /// broker default) allows an unclean one.
    async fn unclean_topics(&self, zk: &KafkaZkClient, keys: &[PartitionKey]) -> Result<BTreeSet<String>, ZkError> {
        let liveness = self.ctx.liveness();
        let stuck: BTreeSet<&str> = keys
            .iter()
            .filter(|k| self.ctx.leadership.get(*k).is_some_and(|l| !l.isr.iter().any(|r| liveness.is_online(*r))))
            .map(|k| k.0.as_str())
            .collect();
        let mut allowed = BTreeSet::new();
        if stuck.is_empty() {
            return Ok(allowed);
        }
        let broker_default = self.dynamic_unclean_default(zk).await?;
        for topic in stuck {
            let configs = zk.get_entity_configs(TOPIC_CONFIG, topic).await?;
            let enabled = configs.get(UNCLEAN_LEADER_ELECTION_ENABLE).map_or(broker_default, |v| v.trim().eq_ignore_ascii_case("true"));
            if enabled {
                allowed.insert(topic.to_string());
            }
        }
        Ok(allowed)
    }

    /// The broker-level `unclean.leader.election.enable` as this (controller) broker sees it
    /// now: `/config/brokers/<id>`, then `/config/brokers/<default>`, then `server.properties`
    /// (Kafka's controller uses its own, dynamically updated, `KafkaConfig`).
    async fn dynamic_unclean_default(&self, zk: &KafkaZkClient) -> Result<bool, ZkError> {
        for entity in [self.broker_id.to_string(), "<default>".to_string()] {
            if let Some(v) = zk.get_entity_configs("brokers", &entity).await?.get(UNCLEAN_LEADER_ELECTION_ENABLE) {
                return Ok(v.trim().eq_ignore_ascii_case("true"));
            }
        }
        Ok(self.config.unclean_leader_election_enable)
    }

    /// Writes each partition's decided leader and ISR to its `/state`, conditional on the
    /// zkVersion the context holds, all pipelined and fenced. A zkVersion conflict re-reads that
    /// `/state` and decides again (`doElectLeaderForPartitions`'s retry loop); a `/state`
    /// written by a newer controller makes this one resign. Returns the changes written, each
    /// carrying its new zkVersion; the context holds them too.
    async fn update_leadership(&mut self, zk: &KafkaZkClient, keys: Vec<PartitionKey>, decide: Decide<'_>) -> Result<Vec<PartitionChange>, ZkError> {
        let mut pending = keys;
        let mut written = Vec::new();
        for _ in 0..MAX_STATE_WRITE_ATTEMPTS {
            let decided: Vec<PartitionChange> = pending.iter().filter_map(|k| decide(&self.ctx, k)).collect();
            if decided.is_empty() {
                // Nothing (left) to change: no live replica to elect, or already so.
                pending.clear();
                break;
            }
            let updates: Vec<(TopicPartition, LeaderIsrAndControllerEpoch, ZkVersion)> =
                decided.iter().map(|c| (tp(&c.partition), to_zk(&c.leader_and_isr, self.epoch), ZkVersion(c.leader_and_isr.zk_version))).collect();
            let result = zk.update_leader_and_isr(self.epoch_zk_version, &updates).await?;
            for mut change in decided {
                match result.finished.get(&tp(&change.partition)) {
                    Some(Ok(version)) => {
                        change.leader_and_isr.zk_version = version.0;
                        debug!(target: "state_change", controller_epoch = self.epoch.0, "partition {}-{}: leader {} leader epoch {} isr {:?} zkVersion {}", change.partition.0, change.partition.1, change.leader_and_isr.leader, change.leader_and_isr.leader_epoch, change.leader_and_isr.isr, version);
                        self.ctx.leadership.insert(change.partition.clone(), change.leader_and_isr.clone());
                        written.push(change);
                    }
                    Some(Err(e)) => error!(target: "state_change", controller_epoch = self.epoch.0, "controller failed to write the state of partition {}-{}: {e}", change.partition.0, change.partition.1),
                    None => {}
                }
            }
            pending = result.to_retry.iter().map(key_of).collect();
            if pending.is_empty() {
                break;
            }
            debug!(target: "state_change", controller_epoch = self.epoch.0, "re-reading the state of {} partitions after zkVersion conflicts", pending.len());
            let states = zk.get_topic_partition_states(&result.to_retry).await?;
            for (partition, (state, version)) in states {
                self.check_controller_epoch(&state)?;
                self.ctx.leadership.insert(key_of(&partition), from_zk(&state, version));
            }
        }
        if !pending.is_empty() {
            error!(target: "state_change", controller_epoch = self.epoch.0, "gave up writing the state of {} partitions after {MAX_STATE_WRITE_ATTEMPTS} zkVersion conflicts", pending.len());
        }
        Ok(written)
    }

    /// A `/state` written by a controller with a larger epoch means a newer controller exists.
    fn check_controller_epoch(&self, state: &LeaderIsrAndControllerEpoch) -> Result<(), ZkError> {
        if state.controller_epoch.0 > self.epoch.0 {
            return Err(ZkError::ControllerMoved { reason: format!("a partition state was written by controller epoch {}, newer than {}", state.controller_epoch.0, self.epoch.0) });
        }
        Ok(())
    }

    fn set_partition_state_from_leadership(&mut self, key: &PartitionKey) {
        let online = self.ctx.leadership.get(key).is_some_and(|l| self.ctx.is_live(l.leader));
        let target = if online { PartitionState::OnlinePartition } else { PartitionState::OfflinePartition };
        if self.ctx.partition_state(key) == PartitionState::NonExistentPartition {
            self.ctx.put_partition_state(key, PartitionState::NewPartition);
        }
        self.ctx.put_partition_state(key, target);
    }

    /// Reads topics' assignments and ids (giving an id to a topic written without one), watches
    /// each topic, and reads their partitions' `/state`s into the context. Returns the
    /// partitions loaded.
    async fn load_topics(&mut self, zk: &KafkaZkClient, topics: &[String]) -> Result<Vec<PartitionKey>, ZkError> {
        let mut keys = Vec::new();
        for assignment in zk.get_replica_assignment_and_topic_ids_for_topics(topics).await? {
            let id = match assignment.topic_id {
                Some(id) => id,
                None => {
                    let id = TopicId::random();
                    info!(target: "state_change", controller_epoch = self.epoch.0, "topic {} has no topic id; assigning {id}", assignment.topic);
                    zk.set_topic_assignment(&assignment.topic, Some(id), &assignment.assignment, self.epoch_zk_version).await?;
                    id
                }
            };
            self.ctx.topic_ids.insert(assignment.topic.clone(), id.0);
            for (partition, replicas) in &assignment.assignment {
                let key = (assignment.topic.clone(), *partition);
                self.ctx.assignments.insert(key.clone(), replicas.replicas.iter().map(|b| b.0).collect());
                keys.push(key);
            }
            let watch = zk.watch_topic(&assignment.topic, self.events.clone()).await?;
            self.topic_watches.insert(assignment.topic.clone(), watch);
        }
        let states = zk.get_topic_partition_states(&keys.iter().map(tp).collect::<Vec<_>>()).await?;
        for (partition, (state, version)) in states {
            self.check_controller_epoch(&state)?;
            self.ctx.leadership.insert(key_of(&partition), from_zk(&state, version));
        }
        Ok(keys)
    }

    // ---- sending -----------------------------------------------------------------------------

    fn stamp(&self) -> ControllerStamp {
        ControllerStamp { controller_id: self.broker_id, controller_epoch: self.epoch.0 }
    }

    /// LeaderAndIsr for each change to its recipients, and UpdateMetadata with every change (and
    /// the live-broker list) to every live broker (`sendRequestsToBrokers`). With no changes,
    /// just the live-broker list.
    fn send_changes(&self, changes: &[PartitionChange], new: &BTreeSet<PartitionKey>) {
        let live = self.ctx.live_broker_list();
        let changes = self.during_delete(changes);
        let batch = request_batch::build(self.stamp(), &live, &self.config.inter_broker_listener_name, &changes, &|topic, partition| self.partition_info(topic, partition, new));
        for (broker_id, request) in batch.leader_and_isr {
            self.channel_manager.send(broker_id, ControlRequest::LeaderAndIsr(request));
        }
        for (broker_id, request) in batch.update_metadata {
            self.channel_manager.send(broker_id, ControlRequest::UpdateMetadata(request));
        }
        if !changes.is_empty() {
            info!(target: "state_change", controller_epoch = self.epoch.0, "sent LeaderAndIsr and UpdateMetadata for {} partitions to brokers {:?}", changes.len(), self.channel_manager.brokers());
        }
    }

    /// UpdateMetadata with `partitions`' current leadership (none: just the live brokers) to
    /// `brokers`.
    fn send_update_metadata(&self, brokers: &[i32], partitions: &[PartitionKey]) {
        let live = self.ctx.live_broker_list();
        let changes: Vec<PartitionChange> = partitions
            .iter()
            .filter_map(|k| Some(PartitionChange { partition: k.clone(), leader_and_isr: self.ctx.leadership.get(k)?.clone(), recipients: Vec::new(), unclean: false }))
            .collect();
        let changes = self.during_delete(&changes);
        let batch = request_batch::build(self.stamp(), &live, &self.config.inter_broker_listener_name, &changes, &|topic, partition| self.partition_info(topic, partition, &BTreeSet::new()));
        for (broker_id, request) in batch.update_metadata.into_iter().filter(|(b, _)| brokers.contains(b)) {
            self.channel_manager.send(broker_id, ControlRequest::UpdateMetadata(request));
        }
        info!(target: "state_change", controller_epoch = self.epoch.0, "sent UpdateMetadata with live brokers {:?} and {} partitions to brokers {brokers:?}", self.ctx.live_brokers.keys().collect::<Vec<_>>(), changes.len());
    }

    /// Partitions of topics queued for deletion are announced with leader −2
    /// (`LeaderDuringDelete`), so brokers drop them from their metadata, and get no LeaderAndIsr.
    fn during_delete(&self, changes: &[PartitionChange]) -> Vec<PartitionChange> {
        changes
            .iter()
            .map(|c| match self.ctx.is_topic_queued_for_deletion(&c.partition.0) {
                true => PartitionChange { leader_and_isr: LeaderAndIsr { leader: LEADER_DURING_DELETE, ..c.leader_and_isr.clone() }, recipients: Vec::new(), ..c.clone() },
                false => c.clone(),
            })
            .collect()
    }

    fn partition_info(&self, topic: &str, partition: i32, new: &BTreeSet<PartitionKey>) -> Option<PartitionInfo> {
        let key = (topic.to_string(), partition);
        Some(PartitionInfo { topic_id: *self.ctx.topic_ids.get(topic)?, replicas: self.ctx.assignments.get(&key)?.clone(), is_new: new.contains(&key) })
    }
}

/// `getAllBrokerAndEpochsInCluster`, as the controller's live-broker list (every endpoint).
pub(crate) async fn read_live_brokers(zk: &KafkaZkClient) -> Result<Vec<LiveBroker>, ZkError> {
    let brokers = zk.get_all_brokers().await?;
    Ok(brokers.into_iter().map(|(info, epoch)| LiveBroker { id: info.id.0, epoch, endpoints: info.endpoints, rack: info.rack }).collect())
}

fn tp(key: &PartitionKey) -> TopicPartition {
    TopicPartition::new(key.0.clone(), key.1)
}

fn key_of(partition: &TopicPartition) -> PartitionKey {
    (partition.topic.clone(), partition.partition)
}

/// The controller's leadership as a `/state` znode, stamped with the controller's epoch.
fn to_zk(leadership: &LeaderAndIsr, epoch: ControllerEpoch) -> LeaderIsrAndControllerEpoch {
    LeaderIsrAndControllerEpoch {
        leader: BrokerId(leadership.leader),
        leader_epoch: LeaderEpoch(leadership.leader_epoch),
        isr: leadership.isr.iter().copied().map(BrokerId).collect(),
        controller_epoch: epoch,
    }
}

fn from_zk(state: &LeaderIsrAndControllerEpoch, version: ZkVersion) -> LeaderAndIsr {
    LeaderAndIsr { leader: state.leader.0, leader_epoch: state.leader_epoch.0, isr: state.isr.iter().map(|b| b.0).collect(), zk_version: version.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_round_trips_through_the_state_znode() {
        let leadership = LeaderAndIsr { leader: 2, leader_epoch: 7, isr: vec![2, 3], zk_version: 4 };
        let state = to_zk(&leadership, ControllerEpoch(5));
        assert_eq!(state.controller_epoch, ControllerEpoch(5));
        assert_eq!(from_zk(&state, ZkVersion(4)), leadership);
        assert_eq!(key_of(&tp(&("t.x".to_string(), 3))), ("t.x".to_string(), 3));
    }
}
