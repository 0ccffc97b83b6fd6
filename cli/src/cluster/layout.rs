//! Where a local cluster keeps its files, and reading back what `up` wrote.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The ZooKeeper chroot every broker of a local cluster registers under.
pub const CHROOT: &str = "/odradek";

/// The paths of one cluster directory. The directory is absolute, so the paths that end up in
/// process command lines name it whatever the working directory.
pub struct Layout {
    dir: PathBuf,
}

/// One broker as its directory records it.
pub struct BrokerFiles {
    pub id: i32,
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> anyhow::Result<Layout> {
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .context("cannot read the working directory")?
                .join(dir)
        };
        Ok(Layout { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What `scripts/zookeeper.sh` gets as its DIR.
    pub fn zookeeper_dir(&self) -> PathBuf {
        self.dir.join("zookeeper")
    }

    pub fn has_ensemble(&self) -> bool {
        self.zookeeper_dir().join("zk1").join("zoo.cfg").is_file()
    }

    pub fn broker(&self, id: i32) -> BrokerFiles {
        BrokerFiles {
            id,
            dir: self.dir.join(format!("broker-{id}")),
        }
    }

    /// The brokers with a `server.properties` under DIR, by id.
    pub fn brokers(&self) -> anyhow::Result<Vec<BrokerFiles>> {
        let mut brokers = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(brokers),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix("broker-"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let broker = self.broker(id);
            if broker.properties().is_file() {
                brokers.push(broker);
            }
        }
        brokers.sort_by_key(|b| b.id);
        Ok(brokers)
    }
}

impl BrokerFiles {
    pub fn properties(&self) -> PathBuf {
        self.dir.join("server.properties")
    }

    pub fn log_dirs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn output(&self) -> PathBuf {
        self.dir.join("broker.log")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("broker.pid")
    }

    /// The `server.properties` `up` writes.
    pub fn server_properties(&self, port: u16, zookeeper_connect: &str) -> String {
        format!(
            "# Written by `odradek cluster up`: broker {id} of a local cluster.\n\
             broker.id={id}\n\
             listeners=PLAINTEXT://127.0.0.1:{port}\n\
             log.dirs={logs}\n\
             zookeeper.connect={zookeeper_connect}{CHROOT}\n",
            id = self.id,
            logs = self.log_dirs().display(),
        )
    }

    /// The listener port from `server.properties`.
    pub fn port(&self) -> anyhow::Result<u16> {
        let path = self.properties();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("listeners="))
            .find_map(|value| {
                value
                    .rsplit_once(':')
                    .and_then(|(_, port)| port.trim().parse().ok())
            })
            .with_context(|| format!("{} names no listener port", path.display()))
    }
}
