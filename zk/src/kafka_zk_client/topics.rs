//! Topics, partition state, topic deletion and entity configs: the `KafkaZkClient` methods the
//! controller's failover, partition state machine and topic deletion use, plus the admin path
//! that creates a topic.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc::UnboundedSender;

use super::KafkaZkClient;
use crate::error::{Result, ZkError};
use crate::watch::{ZNodeChange, ZkWatch};
use crate::zk_data::{
    ConfigEntityZNode, ConfigType, DeleteTopicsTopicZNode, DeleteTopicsZNode,
    LeaderIsrAndControllerEpoch, ReplicaAssignment, TopicId, TopicIdReplicaAssignment,
    TopicPartition, TopicPartitionStateZNode, TopicPartitionZNode, TopicPartitionsZNode,
    TopicZNode, TopicsZNode, ZkVersion,
};
use crate::zookeeper_client::{CreateMode, ZkOp, ZkOpResult};

/// Kafka's `UpdateLeaderAndIsrResult`: the partitions whose `/state` was written (with the new
/// zkVersion) or failed, and those to retry because their zkVersion was stale (re-read, then
/// decide again).
#[derive(Debug, Default)]
pub struct UpdateLeaderAndIsrResult {
    pub finished: BTreeMap<TopicPartition, Result<ZkVersion>>,
    pub to_retry: Vec<TopicPartition>,
}

impl KafkaZkClient {
    // ---- topics ------------------------------------------------------------------------------

    /// `createTopicAssignment` (the admin path of topic creation): writes
    /// `/brokers/topics/<topic>`. [`ZkError::TopicAlreadyExists`] if it exists. Not fenced: any
    /// broker may create a topic; the controller picks it up through its watch.
    pub async fn create_topic_assignment(
        &self,
        topic: &str,
        topic_id: Option<TopicId>,
        assignment: &BTreeMap<i32, ReplicaAssignment>,
    ) -> Result<()> {
        let path = TopicZNode::path(topic);
        let data = TopicZNode::encode(topic_id, assignment);
        let mut created = self.zk.create(&path, &data, CreateMode::Persistent).await;
        if matches!(created, Err(ZkError::NoNode { .. })) {
            // `/brokers/topics` itself is missing (a cluster no broker has set up yet).
            self.zk.make_persistent_path(TopicsZNode::PATH).await?;
            created = self.zk.create(&path, &data, CreateMode::Persistent).await;
        }
        match created {
            Ok(_) => Ok(()),
            Err(ZkError::NodeExists { .. }) => Err(ZkError::TopicAlreadyExists {
                topic: topic.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// `setTopicAssignment`: rewrites a topic's assignment (new partitions, a topic id for an old
    /// topic, a reassignment step), fenced by the controller's epoch zkVersion.
    pub async fn set_topic_assignment(
        &self,
        topic: &str,
        topic_id: Option<TopicId>,
        assignment: &BTreeMap<i32, ReplicaAssignment>,
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        let op = ZkOp::SetData {
            path: TopicZNode::path(topic),
            data: TopicZNode::encode(topic_id, assignment),
            version: ZkVersion::MATCH_ANY,
        };
        self.fenced_multi(epoch_zk_version, vec![op])
            .await
            .map(drop)
    }

    /// `getAllTopicsInCluster`.
    pub async fn get_all_topics_in_cluster(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .zk
            .get_children(TopicsZNode::PATH)
            .await?
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// `topicExists`.
    pub async fn topic_exists(&self, topic: &str) -> Result<bool> {
        Ok(self.zk.exists(&TopicZNode::path(topic)).await?.is_some())
    }

    /// `getReplicaAssignmentAndTopicIdForTopics`: the assignments and ids of `topics`, read
    /// pipelined; topics without a znode are left out.
    pub async fn get_replica_assignment_and_topic_ids_for_topics(
        &self,
        topics: &[String],
    ) -> Result<Vec<TopicIdReplicaAssignment>> {
        let paths: Vec<String> = topics.iter().map(|t| TopicZNode::path(t)).collect();
        let mut assignments = Vec::new();
        for (topic, node) in topics.iter().zip(self.zk.get_data_batch(&paths).await?) {
            if let Some((data, _)) = node {
                assignments.push(TopicZNode::decode(topic, &data)?);
            }
        }
        Ok(assignments)
    }

    /// `PartitionModificationsHandler`: watches `/brokers/topics/<topic>`'s data (new
    /// partitions, reassignments).
    pub async fn watch_topic<E>(&self, topic: &str, events: UnboundedSender<E>) -> Result<ZkWatch>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        Ok(self.watch_node(&TopicZNode::path(topic), events).await?.1)
    }

    // ---- partition state ---------------------------------------------------------------------

    /// `getTopicPartitionStates`: each partition's `/state` and its zkVersion, read pipelined;
    /// partitions without one are left out.
    pub async fn get_topic_partition_states(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, (LeaderIsrAndControllerEpoch, ZkVersion)>> {
        let paths: Vec<String> = partitions
            .iter()
            .map(TopicPartitionStateZNode::path)
            .collect();
        let mut states = BTreeMap::new();
        for (partition, node) in partitions.iter().zip(self.zk.get_data_batch(&paths).await?) {
            if let Some((data, stat)) = node {
                states.insert(
                    partition.clone(),
                    (
                        TopicPartitionStateZNode::decode(partition, &data)?,
                        stat.version,
                    ),
                );
            }
        }
        Ok(states)
    }

    /// `createTopicPartitionStatesRaw` (with `createTopicPartitions` / `createTopicPartition`):
    /// creates each partition's `/partitions/<p>/state` (and the empty parents, existing ones
    /// being fine), every create fenced. Per partition: the new zkVersion (0), or the error —
    /// `NodeExists` if the partition already has a state.
    pub async fn create_topic_partition_states(
        &self,
        epoch_zk_version: ZkVersion,
        states: &[(TopicPartition, LeaderIsrAndControllerEpoch)],
    ) -> Result<Vec<(TopicPartition, Result<ZkVersion>)>> {
        let empty = |path: String| {
            vec![ZkOp::Create {
                path,
                data: Vec::new(),
                mode: CreateMode::Persistent,
            }]
        };
        let topics: BTreeSet<&str> = states.iter().map(|(tp, _)| tp.topic.as_str()).collect();
        let parents = [
            topics
                .iter()
                .map(|t| empty(TopicPartitionsZNode::path(t)))
                .collect::<Vec<_>>(),
            states
                .iter()
                .map(|(tp, _)| empty(TopicPartitionZNode::path(tp)))
                .collect(),
        ];
        for level in parents {
            for outcome in self.fenced_batch(epoch_zk_version, level).await? {
                match outcome {
                    Ok(_) | Err(ZkError::NodeExists { .. }) => {}
                    // A missing topic znode shows up again below, per partition.
                    Err(ZkError::NoNode { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let creates = states
            .iter()
            .map(|(tp, state)| {
                vec![ZkOp::Create {
                    path: TopicPartitionStateZNode::path(tp),
                    data: TopicPartitionStateZNode::encode(state),
                    mode: CreateMode::Persistent,
                }]
            })
            .collect();
        let outcomes = self.fenced_batch(epoch_zk_version, creates).await?;
        Ok(states
            .iter()
            .zip(outcomes)
            .map(|((tp, _), outcome)| (tp.clone(), outcome.map(|_| ZkVersion(0))))
            .collect())
    }

    /// `updateLeaderAndIsr`: writes each partition's new `/state` if its zkVersion is still the
    /// expected one, fenced. A stale zkVersion puts the partition in `to_retry`.
    pub async fn update_leader_and_isr(
        &self,
        epoch_zk_version: ZkVersion,
        updates: &[(TopicPartition, LeaderIsrAndControllerEpoch, ZkVersion)],
    ) -> Result<UpdateLeaderAndIsrResult> {
        let writes = updates
            .iter()
            .map(|(tp, state, expected)| {
                vec![ZkOp::SetData {
                    path: TopicPartitionStateZNode::path(tp),
                    data: TopicPartitionStateZNode::encode(state),
                    version: *expected,
                }]
            })
            .collect();
        let mut result = UpdateLeaderAndIsrResult::default();
        for ((tp, _, _), outcome) in updates
            .iter()
            .zip(self.fenced_batch(epoch_zk_version, writes).await?)
        {
            match outcome {
                Ok(results) => {
                    let version = match results.first() {
                        Some(ZkOpResult::SetData { stat }) => Ok(stat.version),
                        _ => Err(ZkError::NoNode {
                            path: TopicPartitionStateZNode::path(tp),
                        }),
                    };
                    result.finished.insert(tp.clone(), version);
                }
                Err(ZkError::BadVersion { .. }) => result.to_retry.push(tp.clone()),
                Err(e) => {
                    result.finished.insert(tp.clone(), Err(e));
                }
            }
        }
        Ok(result)
    }

    // ---- topic deletion ----------------------------------------------------------------------

    /// `createDeleteTopicPath`: asks the controller to delete `topic`. Asking twice is fine
    /// (Kafka swallows `TopicAlreadyMarkedForDeletionException`).
    pub async fn create_delete_topic_path(&self, topic: &str) -> Result<()> {
        match self
            .zk
            .create(
                &DeleteTopicsTopicZNode::path(topic),
                b"",
                CreateMode::Persistent,
            )
            .await
        {
            Ok(_) | Err(ZkError::NodeExists { .. }) => Ok(()),
            Err(ZkError::NoNode { .. }) => {
                self.zk
                    .make_persistent_path(&DeleteTopicsTopicZNode::path(topic))
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// `getTopicDeletions`: the topics queued for deletion.
    pub async fn get_topic_deletions(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .zk
            .get_children(DeleteTopicsZNode::PATH)
            .await?
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// `TopicDeletionHandler`: watches `/admin/delete_topics`; returns the queued topics.
    pub async fn watch_topic_deletions<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<(BTreeSet<String>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let (children, watch) = self.watch_children(DeleteTopicsZNode::PATH, events).await?;
        Ok((children.into_iter().collect(), watch))
    }

    /// `deleteTopicDeletions`: removes finished (or refused) deletion requests, fenced.
    pub async fn delete_topic_deletions(
        &self,
        topics: &[String],
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        self.fenced_delete_each(topics.iter().map(|t| DeleteTopicsTopicZNode::path(t)), epoch_zk_version)
            .await
    }

    /// Deletes each path (any version) in one fenced batch; paths already gone are fine.
    async fn fenced_delete_each(
        &self,
        paths: impl Iterator<Item = String>,
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        let deletes = paths
            .map(|path| vec![ZkOp::Delete { path, version: ZkVersion::MATCH_ANY }])
            .collect();
        ignore_no_node(self.fenced_batch(epoch_zk_version, deletes).await?)
    }

    /// `deleteTopicZNode`: removes `/brokers/topics/<topic>` and everything under it, fenced.
    pub async fn delete_topic_znode(&self, topic: &str, epoch_zk_version: ZkVersion) -> Result<()> {
        self.delete_recursive(&TopicZNode::path(topic), epoch_zk_version)
            .await
    }

    /// `deleteTopicConfigs`: removes `/config/topics/<topic>` for each topic, fenced.
    pub async fn delete_topic_configs(
        &self,
        topics: &[String],
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        self.fenced_delete_each(topics.iter().map(|t| ConfigEntityZNode::path(ConfigType::TOPIC, t)), epoch_zk_version)
            .await
    }

    /// `deleteRecursive`: deletes the children depth first, then the znode, each delete fenced.
    /// A znode already gone is fine.
    pub(crate) async fn delete_recursive(
        &self,
        path: &str,
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        let mut stack = vec![(path.to_string(), false)];
        while let Some((node, children_done)) = stack.pop() {
            if children_done {
                let delete = ZkOp::Delete {
                    path: node,
                    version: ZkVersion::MATCH_ANY,
                };
                match self.fenced_multi(epoch_zk_version, vec![delete]).await {
                    Ok(_) | Err(ZkError::NoNode { .. }) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            stack.push((node.clone(), true));
            for child in self.zk.get_children(&node).await?.unwrap_or_default() {
                stack.push((format!("{node}/{child}"), false));
            }
        }
        Ok(())
    }

    // ---- configs -----------------------------------------------------------------------------

    /// `getEntityConfigs`: an entity's config overrides (empty if it has none).
    pub async fn get_entity_configs(
        &self,
        entity_type: &str,
        entity_name: &str,
    ) -> Result<BTreeMap<String, String>> {
        match self
            .zk
            .get_data(&ConfigEntityZNode::path(entity_type, entity_name))
            .await?
        {
            Some((data, _)) => Ok(ConfigEntityZNode::decode(entity_type, entity_name, &data)?),
            None => Ok(BTreeMap::new()),
        }
    }

    /// `setOrCreateEntityConfigs`: writes an entity's config overrides. The caller announces
    /// the change with [`KafkaZkClient::create_config_change_notification`], as Kafka's
    /// `AdminZkClient.changeConfigs` does (not needed for a topic being created).
    pub async fn set_or_create_entity_configs(
        &self,
        entity_type: &str,
        entity_name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        let path = ConfigEntityZNode::path(entity_type, entity_name);
        let data = ConfigEntityZNode::encode(config);
        match self.zk.set_data(&path, &data, ZkVersion::MATCH_ANY).await {
            Ok(_) => Ok(()),
            Err(ZkError::NoNode { .. }) => {
                self.zk
                    .make_persistent_path(&crate::zk_data::ConfigEntityTypeZNode::path(entity_type))
                    .await?;
                match self.zk.create(&path, &data, CreateMode::Persistent).await {
                    Ok(_) => Ok(()),
                    // Created meanwhile by someone else: ours is the later write.
                    Err(ZkError::NodeExists { .. }) => self
                        .zk
                        .set_data(&path, &data, ZkVersion::MATCH_ANY)
                        .await
                        .map(drop),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// Fenced deletes where an already missing znode is fine.
fn ignore_no_node(outcomes: Vec<Result<Vec<ZkOpResult>>>) -> Result<()> {
    for outcome in outcomes {
        match outcome {
            Ok(_) | Err(ZkError::NoNode { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
