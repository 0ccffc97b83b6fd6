//! `DynamicConfigManager`: every broker watches `/config/changes` and hands each changed entity
//! to its type's handler (reference §5.2).
//!
//! Started just before the socket server accepts requests. It first feeds the handlers every
//! existing entity they care about (this broker's topics, `brokers/<default>` and
//! `brokers/<id>`), then processes every notification above the last one processed (initially
//! −1, so a restarted broker replays them all). A notification only names the entity; the
//! entity node is re-read and is the truth, so two quick changes may be applied as one. After a
//! new ZooKeeper session (watches die with the old one) the watch is registered again and
//! everything is re-read. After each round, notifications over 15 minutes old are deleted.
//!
//! A topic whose node cannot be read (NOAUTH, a node no parser takes, a lost connection) is the
//! topic's problem alone: the `TopicConfigHandler` retries it in the background and the round
//! goes on, as Kafka's listener logs a failed notification and moves to the next. (Stopping the
//! round would hold every later change on this broker, other topics' `min.insync.replicas`
//! included, behind the one unreadable node.)

use std::sync::Arc;

use odradek_zk::zk_data::{ConfigEntityName, ConfigType};
use odradek_zk::{KafkaZkClient, ZNodeChange, ZkSessionEvent, ZkWatch};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::broker_configs::{DynamicBrokerConfig, Layer};
use super::notification::{is_obsolete, new_notifications, parse_entity_path};
use super::topic_config_handler::TopicConfigHandler;
use odradek_log::now_ms;

pub struct DynamicConfigManager {
    zk: KafkaZkClient,
    broker_config: Arc<DynamicBrokerConfig>,
    topic_handler: Arc<TopicConfigHandler>,
    last_processed: i64,
}

impl DynamicConfigManager {
    pub fn new(zk: KafkaZkClient, broker_config: Arc<DynamicBrokerConfig>, topic_handler: Arc<TopicConfigHandler>) -> DynamicConfigManager {
        DynamicConfigManager { zk, broker_config, topic_handler, last_processed: -1 }
    }

    /// Runs until `shutdown`.
    pub fn start(mut self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let mut sessions = self.zk.subscribe_session_events();
        tokio::spawn(async move {
            let (tx, mut changes) = mpsc::unbounded_channel::<ZNodeChange>();
            let mut watch = self.resync(&tx).await;
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    Some(_) = changes.recv() => {
                        while changes.try_recv().is_ok() {}
                        if let Err(e) = self.process_notifications().await {
                            warn!(error = %e, "cannot process config change notifications; re-reading everything");
                            watch = self.resync(&tx).await;
                        }
                    }
                    Some(event) = sessions.recv() => {
                        if let ZkSessionEvent::Reinitialized { .. } = event {
                            watch = self.resync(&tx).await;
                        }
                    }
                }
                debug!(watching = watch.is_some(), "config change notifications processed");
            }
        })
    }

    /// Registers the watch and re-reads every entity and notification, retrying until it
    /// succeeds (each failure waits a second).
    async fn resync(&mut self, tx: &mpsc::UnboundedSender<ZNodeChange>) -> Option<ZkWatch> {
        loop {
            match self.try_resync(tx).await {
                Ok(watch) => return Some(watch),
                Err(e) => {
                    warn!(error = %e, "cannot read dynamic configs; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn try_resync(&mut self, tx: &mpsc::UnboundedSender<ZNodeChange>) -> odradek_zk::Result<ZkWatch> {
        let (_, watch) = self.zk.watch_config_changes(tx.clone()).await?;
        self.broker_changed(ConfigEntityName::DEFAULT).await?;
        self.broker_changed(&self.broker_config.broker_id().to_string()).await?;
        for topic in self.topic_handler.local_topics() {
            self.topic_changed(&topic).await;
        }
        self.process_notifications().await?;
        Ok(watch)
    }

    /// `processNotifications`: every notification above the last processed, in order, then the
    /// purge of obsolete ones.
    async fn process_notifications(&mut self) -> odradek_zk::Result<()> {
        let children = self.zk.get_children(odradek_zk::zk_data::ConfigEntityChangeNotificationZNode::PATH).await?;
        for (seq, child) in new_notifications(&children, self.last_processed) {
            let Some(notification) = self.zk.get_config_change_notification(&child).await? else {
                self.last_processed = seq;
                continue;
            };
            match notification.entity_path.as_deref().and_then(parse_entity_path) {
                Some((ConfigType::TOPIC, topic)) => self.topic_changed(topic).await,
                Some((ConfigType::BROKER, broker)) => self.broker_changed(broker).await?,
                Some((other, name)) => debug!(entity_type = other, name, "config change for an entity type this broker does not handle"),
                None => warn!(notification = %child, "ignoring a config change notification without a valid entity path"),
            }
            self.last_processed = seq;
        }
        self.purge_obsolete_notifications(&children).await
    }

    /// `purgeObsoleteNotifications`: deletes the processed notifications over 15 minutes old.
    async fn purge_obsolete_notifications(&self, children: &[String]) -> odradek_zk::Result<()> {
        for (seq, child) in new_notifications(children, -1) {
            if seq > self.last_processed {
                break;
            }
            if let Some(notification) = self.zk.get_config_change_notification(&child).await? {
                if is_obsolete(notification.ctime, now_ms()) {
                    self.zk.delete_config_change_notification(&child).await?;
                }
            }
        }
        Ok(())
    }

    /// Re-reads `topic`'s node and applies it to the local partitions; a failed read is handed
    /// to the handler's background retry.
    async fn topic_changed(&self, topic: &str) {
        match self.zk.get_entity_configs_and_stat(ConfigType::TOPIC, topic).await {
            Ok(read) => {
                info!(topic, overrides = ?read.configs, "topic config changed");
                self.topic_handler.topic_changed(topic, &read);
            }
            Err(e) => {
                warn!(topic, error = %e, "cannot read the topic's config; retrying it in the background");
                self.topic_handler.reread(topic);
            }
        }
    }

    /// `BrokerConfigHandler`: `<default>` and this broker's id; other ids are ignored.
    async fn broker_changed(&self, name: &str) -> odradek_zk::Result<()> {
        let layer = if name == ConfigEntityName::DEFAULT {
            Layer::ClusterDefault
        } else if name == self.broker_config.broker_id().to_string() {
            Layer::PerBroker
        } else {
            return Ok(());
        };
        let configs = self.zk.get_entity_configs(ConfigType::BROKER, name).await?;
        if self.broker_config.update(layer, configs) {
            self.topic_handler.broker_defaults_changed();
        }
        Ok(())
    }
}

/// Reads both dynamic broker layers at startup (before log recovery, as Kafka does), so the
/// logs open with the dynamic defaults.
pub async fn load_dynamic_broker_configs(zk: &KafkaZkClient, broker_config: &DynamicBrokerConfig) -> odradek_zk::Result<()> {
    let default = zk.get_entity_configs(ConfigType::BROKER, ConfigEntityName::DEFAULT).await?;
    broker_config.update(Layer::ClusterDefault, default);
    let own = zk.get_entity_configs(ConfigType::BROKER, &broker_config.broker_id().to_string()).await?;
    broker_config.update(Layer::PerBroker, own);
    Ok(())
}
