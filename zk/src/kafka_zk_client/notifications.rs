//! Sequential notifications (ISR changes, config changes, log dir events), the producer id
//! block and the feature znode.

use tokio::sync::mpsc::UnboundedSender;

use super::KafkaZkClient;
use crate::error::{Result, ZkError};
use crate::watch::{ZNodeChange, ZkWatch};
use crate::zk_data::{
    ConfigEntityChangeNotificationSequenceZNode, FeatureZNode, IsrChangeNotificationSequenceZNode,
    IsrChangeNotificationZNode, LogDirEventNotificationZNode, ProducerIdBlock,
    ProducerIdBlockZNode, TopicPartition, ZkVersion,
};
use crate::zookeeper_client::{CreateMode, ZkOp};

impl KafkaZkClient {
    // ---- ISR change notifications ------------------------------------------------------------

    /// `propagateIsrChanges`: a partition leader announces ISR changes it wrote to ZooKeeper
    /// (IBP < 2.7-IV2; with AlterIsr the controller writes ISRs itself). Returns the created path.
    pub async fn propagate_isr_changes(&self, partitions: &[TopicPartition]) -> Result<String> {
        self.zk
            .create(
                &IsrChangeNotificationSequenceZNode::path(""),
                &IsrChangeNotificationSequenceZNode::encode(partitions),
                CreateMode::PersistentSequential,
            )
            .await
    }

    /// `getAllIsrChangeNotifications`: the pending notifications' sequence numbers, in order.
    pub async fn get_all_isr_change_notifications(&self) -> Result<Vec<String>> {
        let mut children = self
            .zk
            .get_children(IsrChangeNotificationZNode::PATH)
            .await?
            .unwrap_or_default();
        children.sort();
        Ok(children
            .iter()
            .map(|c| IsrChangeNotificationSequenceZNode::sequence_number(c).to_string())
            .collect())
    }

    /// `getPartitionsFromIsrChangeNotifications`: the partitions the notifications name
    /// (notifications deleted meanwhile are skipped).
    pub async fn get_partitions_from_isr_change_notifications(
        &self,
        sequence_numbers: &[String],
    ) -> Result<Vec<TopicPartition>> {
        let paths: Vec<String> = sequence_numbers
            .iter()
            .map(|s| IsrChangeNotificationSequenceZNode::path(s))
            .collect();
        let mut partitions = Vec::new();
        for (path, node) in paths.iter().zip(self.zk.get_data_batch(&paths).await?) {
            if let Some((data, _)) = node {
                partitions.extend(IsrChangeNotificationSequenceZNode::decode(path, &data)?);
            }
        }
        Ok(partitions)
    }

    /// `IsrChangeNotificationHandler`: watches `/isr_change_notification`'s children.
    pub async fn watch_isr_change_notifications<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<ZkWatch>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        Ok(self
            .watch_children(IsrChangeNotificationZNode::PATH, events)
            .await?
            .1)
    }

    /// `deleteIsrChangeNotifications(sequenceNumbers, ...)`: removes processed notifications,
    /// fenced.
    pub async fn delete_isr_change_notifications(
        &self,
        sequence_numbers: &[String],
        epoch_zk_version: ZkVersion,
    ) -> Result<()> {
        let paths = sequence_numbers
            .iter()
            .map(|s| IsrChangeNotificationSequenceZNode::path(s))
            .collect();
        self.delete_fenced(paths, epoch_zk_version).await
    }

    /// `deleteIsrChangeNotifications` + `deleteLogDirEventNotifications`: a new controller's
    /// first step, dropping stale notifications (it re-reads every `/state` anyway). Fenced.
    pub async fn delete_all_notifications(&self, epoch_zk_version: ZkVersion) -> Result<()> {
        for parent in [
            IsrChangeNotificationZNode::PATH,
            LogDirEventNotificationZNode::PATH,
        ] {
            let children = self.zk.get_children(parent).await?.unwrap_or_default();
            let paths = children.iter().map(|c| format!("{parent}/{c}")).collect();
            self.delete_fenced(paths, epoch_zk_version).await?;
        }
        Ok(())
    }

    async fn delete_fenced(&self, paths: Vec<String>, epoch_zk_version: ZkVersion) -> Result<()> {
        let deletes = paths
            .into_iter()
            .map(|path| {
                vec![ZkOp::Delete {
                    path,
                    version: ZkVersion::MATCH_ANY,
                }]
            })
            .collect();
        for outcome in self.fenced_batch(epoch_zk_version, deletes).await? {
            match outcome {
                Ok(_) | Err(ZkError::NoNode { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    // ---- config change notifications ---------------------------------------------------------

    /// `createConfigChangeNotification`: tells every broker's dynamic config manager that the
    /// entity at `entity_path` (`topics/<t>`, `brokers/<id>`, ...) changed. Returns the path.
    pub async fn create_config_change_notification(&self, entity_path: &str) -> Result<String> {
        self.zk
            .create(
                ConfigEntityChangeNotificationSequenceZNode::CREATE_PATH,
                &ConfigEntityChangeNotificationSequenceZNode::encode(entity_path),
                CreateMode::PersistentSequential,
            )
            .await
    }

    // ---- producer ids ------------------------------------------------------------------------

    /// `getDataAndVersion(ProducerIdBlockZNode.path)`: the last producer id block handed out
    /// (`None` before the first) and the znode's zkVersion, for
    /// [`KafkaZkClient::conditional_update_producer_id_block`].
    pub async fn get_producer_id_block(&self) -> Result<(Option<ProducerIdBlock>, ZkVersion)> {
        match self.zk.get_data(ProducerIdBlockZNode::PATH).await? {
            Some((data, stat)) => Ok((ProducerIdBlockZNode::decode(&data)?, stat.version)),
            None => Ok((None, ZkVersion::UNKNOWN)),
        }
    }

    /// `conditionalUpdatePath` on `/latest_producer_id_block`: claims `block` if nobody wrote the
    /// znode since `expected` was read; [`ZkError::BadVersion`] means read again and retry.
    pub async fn conditional_update_producer_id_block(
        &self,
        block: &ProducerIdBlock,
        expected: ZkVersion,
    ) -> Result<ZkVersion> {
        let data = ProducerIdBlockZNode::encode(block);
        if expected == ZkVersion::UNKNOWN {
            return match self
                .zk
                .create(ProducerIdBlockZNode::PATH, &data, CreateMode::Persistent)
                .await
            {
                Ok(_) => Ok(ZkVersion(0)),
                Err(ZkError::NodeExists { path }) => Err(ZkError::BadVersion { path, expected }),
                Err(e) => Err(e),
            };
        }
        Ok(self
            .zk
            .set_data(ProducerIdBlockZNode::PATH, &data, expected)
            .await?
            .version)
    }

    // ---- features ----------------------------------------------------------------------------

    /// `createFeatureZNode` / `updateFeatureZNode`: what a 2.8 controller does first on failover
    /// (`setupFeatureVersioning`). Returns the znode's new zkVersion.
    pub async fn create_or_update_feature_znode(&self, node: &FeatureZNode) -> Result<ZkVersion> {
        match self
            .zk
            .create(FeatureZNode::PATH, &node.encode(), CreateMode::Persistent)
            .await
        {
            Ok(_) => Ok(ZkVersion(0)),
            Err(ZkError::NodeExists { .. }) => Ok(self
                .zk
                .set_data(FeatureZNode::PATH, &node.encode(), ZkVersion::MATCH_ANY)
                .await?
                .version),
            Err(e) => Err(e),
        }
    }

    /// The `/feature` znode, if any.
    pub async fn get_feature_znode(&self) -> Result<Option<(FeatureZNode, ZkVersion)>> {
        match self.zk.get_data(FeatureZNode::PATH).await? {
            Some((data, stat)) => Ok(Some((FeatureZNode::decode(&data)?, stat.version))),
            None => Ok(None),
        }
    }
}
