//! Odradek's ZooKeeper side, Kafka 2.8's `kafka.zk` package: the data model every broker and
//! the controller share, and the only client of the ZooKeeper ensemble.
//!
//! - [`zk_data`] (`ZkData.scala`): one type per znode with its path and the exact JSON Kafka 2.8
//!   writes, so `zkCli.sh` on an Odradek cluster shows Kafka's layout. Pure, unit-tested.
//! - [`KafkaZkClient`] (`KafkaZkClient.scala`): broker registration (broker epoch = czxid),
//!   cluster id, controller election with one multi, controller writes fenced on the
//!   `/controller_epoch` zkVersion, topics and partition state, watches as channels.
//! - `zookeeper_client` (`ZooKeeperClient.scala`): one session, re-created on expiry; requests
//!   retried across connection losses; chroot creation. With `watch` (event translation) and
//!   `error` (the source type), the only code that imports the `zookeeper-client` crate: other
//!   crates see this crate's types only ([`ZkOp`], [`ZkStat`], [`ZNodeChange`], ...).
//!
//! The controller and the broker depend on this crate, never on each other.

mod error;
mod kafka_zk_client;
mod watch;
pub mod zk_data;
mod zookeeper_client;

pub use error::{Result, ZkError, ZooKeeperError};
pub use kafka_zk_client::{ConfigChangeNotification, EntityConfigs, KafkaZkClient, UpdateLeaderAndIsrResult};
pub use watch::{ZNodeChange, ZNodeChangeKind, ZkSessionEvent, ZkWatch};
pub use zk_data::{
    BrokerId, BrokerInfo, ControllerEpoch, EndPoint, LeaderEpoch, LeaderIsrAndControllerEpoch,
    ReplicaAssignment, SecurityProtocol, TopicId, TopicIdReplicaAssignment, TopicPartition,
    ZkDataError, ZkVersion,
};
pub use zookeeper_client::{CreateMode, ZkClientConfig, ZkOp, ZkOpResult, ZkStat};
