//! Dynamic configuration in ZooKeeper: the entity nodes `/config/<type>/<name>` and the change
//! notifications under `/config/changes`, as `AdminZkClient.changeConfigs`, `fetchEntityConfig`
//! and `ZkNodeChangeNotificationListener` use them.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedSender;

use super::KafkaZkClient;
use crate::error::{Result, ZkError};
use crate::watch::{ZNodeChange, ZkWatch};
use crate::zk_data::{
    ConfigEntityChangeNotificationSequenceZNode, ConfigEntityChangeNotificationZNode,
    ConfigEntityZNode, ZkVersion,
};
use crate::zookeeper_client::ZkStat;

/// An entity's overrides as read, with the znode's stat (`None` if the node does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityConfigs {
    pub configs: BTreeMap<String, String>,
    pub stat: Option<ZkStat>,
}

impl EntityConfigs {
    /// The zxid of the node's last data change, 0 if it does not exist: a later write always
    /// has a larger one, so it orders two reads of the same node.
    pub fn mzxid(&self) -> i64 {
        self.stat.map_or(0, |s| s.mzxid)
    }
}

/// One `/config/changes` notification as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChangeNotification {
    /// `topics/<t>`, `brokers/<id>`, ...; `None` if the payload could not be parsed.
    pub entity_path: Option<String>,
    /// Creation time (ms since the epoch, ZooKeeper's clock).
    pub ctime: i64,
}

impl KafkaZkClient {
    /// `getEntityConfigs` with the node's stat, so callers can order reads by `mzxid`.
    pub async fn get_entity_configs_and_stat(
        &self,
        entity_type: &str,
        entity_name: &str,
    ) -> Result<EntityConfigs> {
        match self
            .zk
            .get_data(&ConfigEntityZNode::path(entity_type, entity_name))
            .await?
        {
            Some((data, stat)) => Ok(EntityConfigs {
                configs: ConfigEntityZNode::decode(entity_type, entity_name, &data)?,
                stat: Some(stat),
            }),
            None => Ok(EntityConfigs { configs: BTreeMap::new(), stat: None }),
        }
    }

    /// `AdminZkClient.changeConfigs`: writes the entity's **whole** override set, then a
    /// `/config/changes/config_change_<seq>` notification naming it. Returns the
    /// notification's path.
    pub async fn change_configs(
        &self,
        entity_type: &str,
        entity_name: &str,
        configs: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.set_or_create_entity_configs(entity_type, entity_name, configs)
            .await?;
        self.create_config_change_notification(&format!("{entity_type}/{entity_name}"))
            .await
    }

    /// `ZkNodeChangeNotificationListener`'s watch: every change under `/config/changes` goes to
    /// `events`; returns the current children (notification names, unsorted).
    pub async fn watch_config_changes<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<(Vec<String>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        self.watch_children(ConfigEntityChangeNotificationZNode::PATH, events)
            .await
    }

    /// Reads one notification (`config_change_<seq>`); `None` if it is gone (purged meanwhile).
    pub async fn get_config_change_notification(
        &self,
        child: &str,
    ) -> Result<Option<ConfigChangeNotification>> {
        let path = format!("{}/{child}", ConfigEntityChangeNotificationZNode::PATH);
        Ok(self.zk.get_data(&path).await?.map(|(data, stat)| ConfigChangeNotification {
            entity_path: ConfigEntityChangeNotificationSequenceZNode::decode(&path, &data).ok(),
            ctime: stat.ctime,
        }))
    }

    /// Deletes one notification (`purgeObsoleteNotifications`); already gone is fine, since
    /// every broker purges.
    pub async fn delete_config_change_notification(&self, child: &str) -> Result<()> {
        let path = format!("{}/{child}", ConfigEntityChangeNotificationZNode::PATH);
        match self.zk.delete(&path, ZkVersion::MATCH_ANY).await {
            Ok(()) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
