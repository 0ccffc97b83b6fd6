//! `KafkaZkClient`: the ZooKeeper operations a Kafka 2.8 broker and controller perform, each
//! named after (and documented with) the `KafkaZkClient.scala` method it mirrors. Paths and
//! payloads come from [`crate::zk_data`]; the session, retries and watches from
//! [`crate::zookeeper_client`].
//!
//! Two rules carry over from Kafka unchanged:
//!
//! - **Broker epoch.** A broker registers `/brokers/ids/<id>` as an ephemeral znode through one
//!   multi `[create(path, EPHEMERAL), setData(path, json, version 0)]`; the setData's stat gives
//!   the znode's `czxid`, the broker epoch (KIP-380).
//! - **Controller fencing.** Election is one multi `[create /controller EPHEMERAL, setData
//!   /controller_epoch E+1 if version V]`; the new `/controller_epoch` zkVersion then guards
//!   every controller write as `multi[check(/controller_epoch, version), op]`
//!   ([`KafkaZkClient::fenced_multi`]). A deposed controller's check fails and its write is
//!   refused with [`ZkError::ControllerMoved`].
//!
//! Invariant: every write the controller makes goes through `fenced_multi` / `fenced_batch`
//! (directly or via the typed helpers taking an `epoch_zk_version`); only broker-owned znodes
//! (registration, cluster id, seqid, ISR and config notifications, producer id blocks) and admin
//! requests (topic creation, deletion requests) are written unfenced, as in Kafka.

mod configs;
mod notifications;
mod topics;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracing::{debug, info, warn};

pub use self::configs::{ConfigChangeNotification, EntityConfigs};
pub use self::topics::UpdateLeaderAndIsrResult;
use crate::error::{Result, ZkError};
use crate::watch::{ZNodeChange, ZkSessionEvent, ZkWatch};
use crate::zk_data::{
    BrokerId, BrokerIdZNode, BrokerIdsZNode, BrokerInfo, BrokerSequenceIdZNode, ClusterIdZNode,
    ControllerEpoch, ControllerEpochZNode, ControllerInfo, ControllerZNode, TopicsZNode, ZkVersion,
    PERSISTENT_ZK_PATHS,
};
use crate::zookeeper_client::{
    CreateMode, MultiFailure, ZkClientConfig, ZkOp, ZkOpResult, ZkStat, ZooKeeperClient,
};

/// A broker's ZooKeeper client. Clones share one session, which closes when the last clone is
/// dropped or [`KafkaZkClient::close`] is called.
#[derive(Clone)]
pub struct KafkaZkClient {
    zk: ZooKeeperClient,
}

/// Milliseconds since the Unix epoch, for the `timestamp` fields.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl KafkaZkClient {
    // ---- session ----------------------------------------------------------------------------

    /// `KafkaZkClient.apply` (with `KafkaServer.initZkClient`'s chroot creation): connects to
    /// `config.connect`, creating its chroot first if missing.
    pub async fn connect(config: ZkClientConfig) -> Result<KafkaZkClient> {
        Ok(KafkaZkClient {
            zk: ZooKeeperClient::connect(config).await?,
        })
    }

    pub fn config(&self) -> &ZkClientConfig {
        self.zk.config()
    }

    /// The current ZooKeeper session id (changes when an expired session is replaced).
    pub fn session_id(&self) -> i64 {
        self.zk.session_id()
    }

    /// Session expiry and re-initialization, as a channel of their own.
    pub fn subscribe_session_events(&self) -> UnboundedReceiver<ZkSessionEvent> {
        self.zk.subscribe_session_events()
    }

    /// `registerStateChangeHandler`: session events, converted with `From`, into an existing
    /// channel (the controller's event queue, say). Watches do not survive an expiry: re-register
    /// them on [`ZkSessionEvent::Reinitialized`].
    pub fn register_session_event_handler<E>(&self, events: UnboundedSender<E>)
    where
        E: From<ZkSessionEvent> + Send + 'static,
    {
        self.zk.register_session_event_handler(events)
    }

    /// `close`: ends the session now (its ephemeral znodes vanish at once) for every clone.
    pub async fn close(&self) {
        self.zk.close().await
    }

    /// Expires this client's session, as a pause longer than the session timeout would; a new
    /// session follows (see [`ZkSessionEvent`]). For chaos tests.
    pub async fn force_session_expiry(&self) -> Result<()> {
        self.zk.force_session_expiry().await
    }

    // ---- broker startup ----------------------------------------------------------------------

    /// `createTopLevelPaths`: the persistent paths every broker makes sure of on startup
    /// ([`PERSISTENT_ZK_PATHS`]), empty.
    pub async fn create_top_level_paths(&self) -> Result<()> {
        for path in PERSISTENT_ZK_PATHS {
            self.zk.make_persistent_path(path).await?;
        }
        Ok(())
    }

    /// `getClusterId`: the cluster id, if one was created.
    pub async fn get_cluster_id(&self) -> Result<Option<String>> {
        match self.zk.get_data(ClusterIdZNode::PATH).await? {
            Some((data, _)) => Ok(Some(ClusterIdZNode::decode(&data)?)),
            None => Ok(None),
        }
    }

    /// `getOrCreateClusterId` / `createOrGetClusterId`: reads `/cluster/id`, or creates it with
    /// a new random id; if another broker wins the race its id is returned.
    pub async fn get_or_create_cluster_id(&self) -> Result<String> {
        if let Some(id) = self.get_cluster_id().await? {
            return Ok(id);
        }
        let proposed = crate::zk_data::generate_cluster_id();
        self.zk
            .make_persistent_path(crate::zk_data::ClusterZNode::PATH)
            .await?;
        match self
            .zk
            .create(
                ClusterIdZNode::PATH,
                &ClusterIdZNode::encode(&proposed),
                CreateMode::Persistent,
            )
            .await
        {
            Ok(_) => {
                info!(cluster_id = %proposed, "created /cluster/id");
                Ok(proposed)
            }
            Err(ZkError::NodeExists { .. }) => {
                self.get_cluster_id().await?.ok_or_else(|| ZkError::NoNode {
                    path: ClusterIdZNode::PATH.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// `generateBrokerSequenceId`: bumps `/brokers/seqid`'s data version and returns it (the
    /// broker adds `reserved.broker.max.id`, so the first generated id is 1001).
    pub async fn generate_broker_sequence_id(&self) -> Result<i32> {
        match self
            .zk
            .set_data(BrokerSequenceIdZNode::PATH, b"", ZkVersion::MATCH_ANY)
            .await
        {
            Ok(stat) => Ok(stat.version.0),
            Err(ZkError::NoNode { .. }) => {
                self.zk
                    .make_persistent_path(BrokerSequenceIdZNode::PATH)
                    .await?;
                Ok(self
                    .zk
                    .set_data(BrokerSequenceIdZNode::PATH, b"", ZkVersion::MATCH_ANY)
                    .await?
                    .version
                    .0)
            }
            Err(e) => Err(e),
        }
    }

    /// `registerBroker`: creates the ephemeral `/brokers/ids/<id>` and returns the broker epoch
    /// (its czxid). Fails with [`ZkError::BrokerIdAlreadyRegistered`] when another session holds
    /// the id. The registration is stamped with the current time (`info.timestamp_ms` is
    /// ignored), as Kafka encodes it at registration.
    pub async fn register_broker(&self, info: &BrokerInfo) -> Result<i64> {
        let path = BrokerIdZNode::path(info.id);
        let registration = BrokerInfo {
            timestamp_ms: now_ms(),
            ..info.clone()
        };
        let stat = self
            .checked_ephemeral_create(&path, &BrokerIdZNode::encode(&registration))
            .await
            .map_err(|e| match e {
                CheckedEphemeralError::OwnedBy(owner_session) => {
                    ZkError::BrokerIdAlreadyRegistered {
                        broker_id: info.id,
                        path: path.clone(),
                        owner_session,
                    }
                }
                CheckedEphemeralError::Zk(e) => e,
            })?;
        let endpoints: Vec<String> = info
            .endpoints
            .iter()
            .map(|e| e.connection_string())
            .collect();
        info!(
            broker_id = %info.id, broker_epoch = stat.czxid,
            "registered broker {} at path {path} with addresses: {}, czxid (broker epoch): {}",
            info.id, endpoints.join(","), stat.czxid
        );
        Ok(stat.czxid)
    }

    /// `CheckedEphemeral.create`: multi `[create(path, EPHEMERAL), setData(path, data, 0)]`.
    /// NODEEXISTS is success if our session owns the node (a retry after connection loss); if
    /// our *previous* session owns it (expired, not yet reaped) it is deleted and re-created.
    async fn checked_ephemeral_create(
        &self,
        path: &str,
        data: &[u8],
    ) -> Result<ZkStat, CheckedEphemeralError> {
        for _ in 0..3 {
            let ops = [
                ZkOp::Create {
                    path: path.to_string(),
                    data: Vec::new(),
                    mode: CreateMode::Ephemeral,
                },
                ZkOp::SetData {
                    path: path.to_string(),
                    data: data.to_vec(),
                    version: ZkVersion(0),
                },
            ];
            match self.zk.multi(&ops).await {
                Ok(results) => match results.get(1) {
                    Some(ZkOpResult::SetData { stat }) => return Ok(*stat),
                    _ => return Err(unexpected_multi_result(path).into()),
                },
                Err(MultiFailure {
                    error: ZkError::NodeExists { .. },
                    ..
                }) => {
                    let Some((_, stat)) = self.zk.get_data(path).await? else {
                        continue; // Gone meanwhile: try again.
                    };
                    if stat.ephemeral_owner == self.zk.session_id() {
                        return Ok(stat);
                    }
                    if Some(stat.ephemeral_owner) == self.zk.previous_session_id() {
                        warn!(
                            path,
                            "deleting {path} left by this broker's expired session"
                        );
                        match self.zk.delete(path, stat.version).await {
                            Ok(())
                            | Err(ZkError::NoNode { .. })
                            | Err(ZkError::BadVersion { .. }) => continue,
                            Err(e) => return Err(e.into()),
                        }
                    }
                    return Err(CheckedEphemeralError::OwnedBy(stat.ephemeral_owner));
                }
                Err(failure) => return Err(failure.error.into()),
            }
        }
        Err(ZkError::NodeExists {
            path: path.to_string(),
        }
        .into())
    }

    // ---- brokers -----------------------------------------------------------------------------

    /// `getSortedBrokerList`: the ids of the live brokers.
    pub async fn get_sorted_broker_list(&self) -> Result<Vec<BrokerId>> {
        let children = self
            .zk
            .get_children(BrokerIdsZNode::PATH)
            .await?
            .unwrap_or_default();
        let mut ids: Vec<BrokerId> = children
            .iter()
            .filter_map(|c| c.parse().ok().map(BrokerId))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// `getBroker` + its epoch: one broker's registration and czxid, `None` if not live.
    pub async fn get_broker_and_epoch(&self, id: BrokerId) -> Result<Option<(BrokerInfo, i64)>> {
        match self.zk.get_data(&BrokerIdZNode::path(id)).await? {
            Some((data, stat)) => Ok(Some((BrokerIdZNode::decode(id, &data)?, stat.czxid))),
            None => Ok(None),
        }
    }

    /// `getAllBrokerAndEpochsInCluster`: every live broker's registration and broker epoch
    /// (czxid), by id. A broker that deregisters between the listing and the read is left out.
    pub async fn get_all_brokers(&self) -> Result<Vec<(BrokerInfo, i64)>> {
        let ids = self.get_sorted_broker_list().await?;
        let paths: Vec<String> = ids.iter().map(|id| BrokerIdZNode::path(*id)).collect();
        let mut brokers = Vec::with_capacity(ids.len());
        for (id, node) in ids.iter().zip(self.zk.get_data_batch(&paths).await?) {
            if let Some((data, stat)) = node {
                brokers.push((BrokerIdZNode::decode(*id, &data)?, stat.czxid));
            }
        }
        Ok(brokers)
    }

    // ---- controller --------------------------------------------------------------------------

    /// `getControllerId`: the broker in `/controller`, if any.
    pub async fn get_controller_id(&self) -> Result<Option<BrokerId>> {
        match self.zk.get_data(ControllerZNode::PATH).await? {
            Some((data, _)) => Ok(Some(ControllerZNode::decode(&data)?.broker_id)),
            None => Ok(None),
        }
    }

    /// `getControllerEpoch`: the epoch in `/controller_epoch` and that znode's zkVersion.
    pub async fn get_controller_epoch(&self) -> Result<Option<(ControllerEpoch, ZkVersion)>> {
        match self.zk.get_data(ControllerEpochZNode::PATH).await? {
            Some((data, stat)) => Ok(Some((ControllerEpochZNode::decode(&data)?, stat.version))),
            None => Ok(None),
        }
    }

    /// `registerControllerAndIncrementControllerEpoch` (reference §2.1 steps 2–4): reads
    /// `/controller_epoch` (E, V), creating it with `0` if absent; then one multi creates the
    /// ephemeral `/controller` and sets `/controller_epoch` to E+1 if still at version V.
    /// Returns the new epoch and the epoch zkVersion that fences this controller's writes.
    ///
    /// NODEEXISTS or BADVERSION means another broker won — unless `/controller` is ours and the
    /// epoch is E+1 (our multi committed before a connection loss and was retried): success.
    /// Otherwise [`ZkError::ControllerMoved`].
    pub async fn register_controller_and_increment_controller_epoch(
        &self,
        controller_id: BrokerId,
    ) -> Result<(ControllerEpoch, ZkVersion)> {
        let (epoch, epoch_zk_version) = match self.get_controller_epoch().await? {
            Some(current) => current,
            None => self.maybe_create_controller_epoch_znode().await?,
        };
        let new_epoch = epoch.next();
        debug!(
            "try to create /controller and increment controller epoch to {new_epoch} with expected controller epoch zkVersion {epoch_zk_version}"
        );
        let controller = ControllerInfo {
            broker_id: controller_id,
            timestamp_ms: now_ms(),
        };
        let ops = [
            ZkOp::Create {
                path: ControllerZNode::PATH.to_string(),
                data: ControllerZNode::encode(&controller),
                mode: CreateMode::Ephemeral,
            },
            ZkOp::SetData {
                path: ControllerEpochZNode::PATH.to_string(),
                data: ControllerEpochZNode::encode(new_epoch),
                version: epoch_zk_version,
            },
        ];
        match self.zk.multi(&ops).await {
            Ok(results) => match results.get(1) {
                Some(ZkOpResult::SetData { stat }) => Ok((new_epoch, stat.version)),
                _ => Err(unexpected_multi_result(ControllerEpochZNode::PATH)),
            },
            Err(MultiFailure {
                error: ZkError::NodeExists { .. } | ZkError::BadVersion { .. },
                ..
            }) => {
                self.check_controller_and_epoch(controller_id, new_epoch)
                    .await
            }
            Err(failure) => Err(failure.error),
        }
    }

    /// `maybeCreateControllerEpochZNode`: creates `/controller_epoch` = `0`, or reads it if
    /// another broker just did.
    async fn maybe_create_controller_epoch_znode(&self) -> Result<(ControllerEpoch, ZkVersion)> {
        let initial = ControllerEpoch::INITIAL;
        match self
            .zk
            .create(
                ControllerEpochZNode::PATH,
                &ControllerEpochZNode::encode(initial),
                CreateMode::Persistent,
            )
            .await
        {
            Ok(_) => {
                info!("successfully created /controller_epoch with initial epoch {initial}");
                Ok((initial, ZkVersion(0)))
            }
            Err(ZkError::NodeExists { .. }) => {
                self.get_controller_epoch()
                    .await?
                    .ok_or_else(|| ZkError::NoNode {
                        path: ControllerEpochZNode::PATH.to_string(),
                    })
            }
            Err(e) => Err(e),
        }
    }

    /// The election's NODEEXISTS/BADVERSION case: success only if `/controller` is us and the
    /// epoch is the one we tried to write.
    async fn check_controller_and_epoch(
        &self,
        controller_id: BrokerId,
        new_epoch: ControllerEpoch,
    ) -> Result<(ControllerEpoch, ZkVersion)> {
        let Some(current) = self.get_controller_id().await? else {
            return Err(ZkError::ControllerMoved {
                reason: "the ephemeral node at /controller went away while checking whether the controller election \
                         succeeded; aborting controller startup"
                    .to_string(),
            });
        };
        if current == controller_id {
            if let Some((epoch, version)) = self.get_controller_epoch().await? {
                if epoch == new_epoch {
                    return Ok((new_epoch, version));
                }
            }
        }
        Err(ZkError::ControllerMoved {
            reason: format!("broker {current} is the controller (broker {controller_id} tried epoch {new_epoch})"),
        })
    }

    /// `deleteController`: removes `/controller` (Kafka's `triggerControllerMove`), fenced. An
    /// already absent `/controller` is fine.
    pub async fn delete_controller(&self, epoch_zk_version: ZkVersion) -> Result<()> {
        let delete = ZkOp::Delete {
            path: ControllerZNode::PATH.to_string(),
            version: ZkVersion::MATCH_ANY,
        };
        match self.fenced_multi(epoch_zk_version, vec![delete]).await {
            Ok(_) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A controller write: one multi `[check(/controller_epoch, epoch_zk_version), ops...]`,
    /// all or nothing (Kafka wraps each controller request this way). A failed check is
    /// [`ZkError::ControllerMoved`]; a failed op is that op's error (e.g. `BadVersion` naming its
    /// path). Returns the results of `ops`. [`ZkVersion::MATCH_ANY`] skips the check.
    pub async fn fenced_multi(
        &self,
        epoch_zk_version: ZkVersion,
        ops: Vec<ZkOp>,
    ) -> Result<Vec<ZkOpResult>> {
        let mut results = self.fenced_batch(epoch_zk_version, vec![ops]).await?;
        results.pop().unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Many independent controller writes, each its own fenced multi, pipelined (Kafka's
    /// `retryRequestsUntilConnected(requests, expectedControllerEpochZkVersion)`). Fails as a
    /// whole with [`ZkError::ControllerMoved`] if any check fails; otherwise one result per
    /// multi, in order.
    pub async fn fenced_batch(
        &self,
        epoch_zk_version: ZkVersion,
        batch: Vec<Vec<ZkOp>>,
    ) -> Result<Vec<Result<Vec<ZkOpResult>>>> {
        let fenced = epoch_zk_version != ZkVersion::MATCH_ANY;
        let batch: Vec<Vec<ZkOp>> = if fenced {
            batch
                .into_iter()
                .map(|ops| {
                    let check = ZkOp::Check {
                        path: ControllerEpochZNode::PATH.to_string(),
                        version: epoch_zk_version,
                    };
                    std::iter::once(check).chain(ops).collect()
                })
                .collect()
        } else {
            batch
        };
        let skip = usize::from(fenced);
        let mut results = Vec::with_capacity(batch.len());
        for outcome in self.zk.multi_batch(&batch).await? {
            match outcome {
                Ok(mut ops) => results.push(Ok(ops.split_off(skip.min(ops.len())))),
                Err(MultiFailure { index: Some(0), error: ZkError::BadVersion { .. } | ZkError::NoNode { .. } }) if fenced => {
                    return Err(ZkError::ControllerMoved {
                        reason: format!("controller epoch zkVersion check fails, expected zkVersion = {epoch_zk_version}"),
                    })
                }
                Err(failure) => results.push(Err(failure.error)),
            }
        }
        Ok(results)
    }

    // ---- watches -----------------------------------------------------------------------------

    /// Kafka's `registerZNodeChildChangeHandler` + `getChildren(registerWatch = true)`: watches
    /// `path` and returns its children (empty if it does not exist). Changes go to `events`.
    pub async fn watch_children<E>(
        &self,
        path: &str,
        events: UnboundedSender<E>,
    ) -> Result<(Vec<String>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let watch = self.zk.watch(path, events).await?;
        let children = self.zk.get_children(path).await?.unwrap_or_default();
        Ok((children, watch))
    }

    /// `registerZNodeChangeHandlerAndCheckExistence`: watches `path` (existing or not) and returns
    /// its data and stat, if it exists.
    pub async fn watch_node<E>(
        &self,
        path: &str,
        events: UnboundedSender<E>,
    ) -> Result<(Option<(Vec<u8>, ZkStat)>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let watch = self.zk.watch(path, events).await?;
        let node = self.zk.get_data(path).await?;
        Ok((node, watch))
    }

    /// `BrokerChangeHandler`: watches `/brokers/ids`; returns the live broker ids.
    pub async fn watch_broker_ids<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<(Vec<BrokerId>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let (children, watch) = self.watch_children(BrokerIdsZNode::PATH, events).await?;
        let mut ids: Vec<BrokerId> = children
            .iter()
            .filter_map(|c| c.parse().ok().map(BrokerId))
            .collect();
        ids.sort();
        Ok((ids, watch))
    }

    /// `TopicChangeHandler`: watches `/brokers/topics`; returns the topics.
    pub async fn watch_topics<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<(BTreeSet<String>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let (children, watch) = self.watch_children(TopicsZNode::PATH, events).await?;
        Ok((children.into_iter().collect(), watch))
    }

    /// `ControllerChangeHandler`: watches `/controller` (creation, deletion, data change);
    /// returns the current controller, if any.
    pub async fn watch_controller<E>(
        &self,
        events: UnboundedSender<E>,
    ) -> Result<(Option<BrokerId>, ZkWatch)>
    where
        E: From<ZNodeChange> + Send + 'static,
    {
        let (node, watch) = self.watch_node(ControllerZNode::PATH, events).await?;
        let controller = match node {
            Some((data, _)) => Some(ControllerZNode::decode(&data)?.broker_id),
            None => None,
        };
        Ok((controller, watch))
    }

    /// Raw read for tools and tests (`zkCli get`): a znode's bytes and stat.
    pub async fn get_data_and_stat(&self, path: &str) -> Result<Option<(Vec<u8>, ZkStat)>> {
        self.zk.get_data(path).await
    }

    /// Raw listing for tools and tests (`zkCli ls`): a znode's children, sorted.
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let mut children = self.zk.get_children(path).await?.unwrap_or_default();
        children.sort();
        Ok(children)
    }

    /// `pathExists`.
    pub async fn path_exists(&self, path: &str) -> Result<bool> {
        Ok(self.zk.exists(path).await?.is_some())
    }
}

/// Why a checked ephemeral create failed.
enum CheckedEphemeralError {
    /// Another session owns the znode.
    OwnedBy(i64),
    Zk(ZkError),
}

impl From<ZkError> for CheckedEphemeralError {
    fn from(e: ZkError) -> Self {
        CheckedEphemeralError::Zk(e)
    }
}

fn unexpected_multi_result(path: &str) -> ZkError {
    let source = crate::error::ClientError::UnexpectedError(
        "a multi reply without the expected setData result".to_string(),
    );
    ZkError::from_client("multi", path, ZkVersion::MATCH_ANY, source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk_data::{LeaderIsrAndControllerEpoch, TopicPartition};

    fn assert_send<T: Send>(_: T) {}

    /// The controller and the broker run these on spawned tasks: their futures must be `Send`.
    #[allow(dead_code, unused_must_use)]
    fn futures_are_send(
        zk: KafkaZkClient,
        info: BrokerInfo,
        tp: TopicPartition,
        state: LeaderIsrAndControllerEpoch,
    ) {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel::<ZNodeChange>();
        assert_send(KafkaZkClient::connect(ZkClientConfig::new("h:2181")));
        assert_send(zk.create_top_level_paths());
        assert_send(zk.get_or_create_cluster_id());
        assert_send(zk.register_broker(&info));
        assert_send(zk.get_all_brokers());
        assert_send(zk.register_controller_and_increment_controller_epoch(BrokerId(1)));
        assert_send(zk.fenced_multi(ZkVersion(1), Vec::new()));
        assert_send(zk.watch_broker_ids(tx.clone()));
        assert_send(zk.watch_controller(tx));
        let states = [(tp.clone(), state.clone())];
        assert_send(zk.create_topic_partition_states(ZkVersion(1), &states));
        let updates = [(tp, state, ZkVersion(0))];
        assert_send(zk.update_leader_and_isr(ZkVersion(1), &updates));
        assert_send(zk.delete_topic_znode("t", ZkVersion(1)));
        assert_send(zk.force_session_expiry());
        assert_send(zk.close());
    }
}
