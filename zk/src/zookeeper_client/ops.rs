//! The operations of a ZooKeeper `multi` and the stat Kafka reads, in this crate's own types
//! (so no other crate sees the `zookeeper-client` crate's), and their translation to it.

use zookeeper_client as zk;

use crate::error::ZkError;
use crate::zk_data::ZkVersion;

/// Persistent or ephemeral, optionally sequential (ZooKeeper's `CreateMode`, without TTL and
/// container nodes, which Kafka does not use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    PersistentSequential,
    Ephemeral,
}

impl CreateMode {
    pub(crate) fn options(self) -> zk::CreateOptions<'static> {
        // OPEN_ACL_UNSAFE: Kafka's default (`zookeeper.set.acl=false`).
        let mode = match self {
            CreateMode::Persistent => zk::CreateMode::Persistent,
            CreateMode::PersistentSequential => zk::CreateMode::PersistentSequential,
            CreateMode::Ephemeral => zk::CreateMode::Ephemeral,
        };
        mode.with_acls(zk::Acls::anyone_all())
    }
}

/// The parts of a znode's `Stat` Kafka uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkStat {
    /// The zxid that created the znode; for `/brokers/ids/<id>` the broker epoch.
    pub czxid: i64,
    /// The zxid of the last data change.
    pub mzxid: i64,
    /// When the znode was created, in milliseconds since the Unix epoch (the server's clock).
    pub ctime: i64,
    /// The data version ("zkVersion").
    pub version: ZkVersion,
    /// The children version.
    pub cversion: i32,
    /// The owning session of an ephemeral znode, else 0.
    pub ephemeral_owner: i64,
    pub num_children: i32,
}

impl From<zk::Stat> for ZkStat {
    fn from(stat: zk::Stat) -> ZkStat {
        ZkStat {
            czxid: stat.czxid,
            mzxid: stat.mzxid,
            ctime: stat.ctime,
            version: ZkVersion(stat.version),
            cversion: stat.cversion,
            ephemeral_owner: stat.ephemeral_owner,
            num_children: stat.num_children,
        }
    }
}

/// A znode's data and stat.
pub(crate) type NodeData = (Vec<u8>, ZkStat);

/// One operation of a ZooKeeper `multi` (Kafka's `CreateOp`, `SetDataOp`, `DeleteOp`,
/// `CheckOp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOp {
    Create {
        path: String,
        data: Vec<u8>,
        mode: CreateMode,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: ZkVersion,
    },
    Delete {
        path: String,
        version: ZkVersion,
    },
    Check {
        path: String,
        version: ZkVersion,
    },
}

impl ZkOp {
    pub fn path(&self) -> &str {
        match self {
            ZkOp::Create { path, .. }
            | ZkOp::SetData { path, .. }
            | ZkOp::Delete { path, .. }
            | ZkOp::Check { path, .. } => path,
        }
    }

    fn expected_version(&self) -> ZkVersion {
        match self {
            ZkOp::Create { .. } => ZkVersion::MATCH_ANY,
            ZkOp::SetData { version, .. }
            | ZkOp::Delete { version, .. }
            | ZkOp::Check { version, .. } => *version,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            ZkOp::Create { .. } => "create",
            ZkOp::SetData { .. } => "setData",
            ZkOp::Delete { .. } => "delete",
            ZkOp::Check { .. } => "check",
        }
    }
}

/// The result of one [`ZkOp`] of a committed multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOpResult {
    /// The created path (with its sequence number, for sequential creates). ZooKeeper may return
    /// an invalid stat for creates inside a multi (ZOOKEEPER-4026/4667), so none is given: pair
    /// a create with a `SetData` when the stat matters, as Kafka does.
    Created {
        path: String,
    },
    SetData {
        stat: ZkStat,
    },
    Deleted,
    Checked,
}

/// A multi that did not commit.
#[derive(Debug)]
pub(crate) struct MultiFailure {
    /// The operation that failed, `None` when the whole request failed.
    pub index: Option<usize>,
    pub error: ZkError,
}

pub(crate) type CommitFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = std::result::Result<Vec<zk::MultiWriteResult>, zk::MultiWriteError>,
            > + Send
            + 'a,
    >,
>;

/// Builds and sends one multi.
pub(crate) fn commit<'a>(
    client: &'a zk::Client,
    ops: &[ZkOp],
) -> std::result::Result<CommitFuture<'a>, zk::MultiWriteError> {
    let mut writer = client.new_multi_writer();
    for (index, op) in ops.iter().enumerate() {
        let added = match op {
            ZkOp::Create { path, data, mode } => writer.add_create(path, data, &mode.options()),
            ZkOp::SetData {
                path,
                data,
                version,
            } => writer.add_set_data(path, data, version.expected()),
            ZkOp::Delete { path, version } => writer.add_delete(path, version.expected()),
            ZkOp::Check { path, version } => writer.add_check_version(path, version.0),
        };
        added.map_err(|source| zk::MultiWriteError::OperationFailed { index, source })?;
    }
    Ok(Box::pin(writer.commit()))
}

pub(crate) fn map_multi_outcome(
    ops: &[ZkOp],
    outcome: std::result::Result<Vec<zk::MultiWriteResult>, zk::MultiWriteError>,
) -> std::result::Result<Vec<ZkOpResult>, MultiFailure> {
    match outcome {
        Ok(results) => Ok(results
            .into_iter()
            .map(|result| match result {
                zk::MultiWriteResult::Create { path, .. } => ZkOpResult::Created { path },
                zk::MultiWriteResult::SetData { stat } => ZkOpResult::SetData { stat: stat.into() },
                zk::MultiWriteResult::Delete => ZkOpResult::Deleted,
                _ => ZkOpResult::Checked,
            })
            .collect()),
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            let (name, path, version) = match ops.get(index) {
                Some(op) => (op.name(), op.path(), op.expected_version()),
                None => ("multi", "/", ZkVersion::MATCH_ANY),
            };
            Err(MultiFailure {
                index: Some(index),
                error: ZkError::from_client(name, path, version, source),
            })
        }
        Err(zk::MultiWriteError::RequestFailed { source }) => {
            let path = ops.first().map_or("/", ZkOp::path);
            Err(MultiFailure {
                index: None,
                error: ZkError::from_client("multi", path, ZkVersion::MATCH_ANY, source),
            })
        }
    }
}
