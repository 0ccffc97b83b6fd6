//! A real 3-node ZooKeeper 3.8 ensemble on loopback, the coordination service the cluster tests
//! run brokers against, as Kafka 2.8's brokers and controller run against one.
//!
//! [`ZkEnsemble`] drives `scripts/zookeeper.sh` (the same script an operator and the local cluster
//! use) on a temporary directory, so the tests exercise what people run. Nodes are numbered 1..=3
//! as ZooKeeper numbers them (`myid`, `server.N`, the `zkN/` directories); index 0 of
//! [`ZkEnsemble::client_ports`] is node 1.
//!
//! Ports. Each ensemble takes nine ports from one base (client `B..B+2`, quorum `B+1000..`,
//! election `B+2000..`). Bases are drawn from fixed slots below the kernel's ephemeral range, so
//! they never meet the port-0 listeners of broker processes and two ensembles either use the same
//! nine ports or disjoint ones. The probe and the start run under a lock file shared by every
//! test process, so a second ensemble sees the first one's ports taken instead of racing it for
//! them; a start that still loses a port is retried on another base.
//!
//! Failure. A missing ZooKeeper install panics with the command that fixes it: a cluster test
//! that cannot get its ensemble must fail, never skip. Dropping the ensemble stops every node and
//! prints the warnings and errors of each node's log (shown for failed tests);
//! `ODRADEK_KEEP_TEST_DIRS=1` keeps the directory. The JVMs stay in the test's process group, so a
//! test runner that kills a hung test's group stops its ensemble too.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::broker_process::KEEP_DIRS_ENV;
use crate::clients::{repo_root, run_checked};

/// The jar Debian's `zookeeper` package installs; its absence means the package is missing.
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// The number of nodes in an ensemble.
pub const NODES: usize = 3;
/// How long `start` and `start-node` may take (the script itself gives up after 60 s).
pub const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long stopping one node or the ensemble may take (TERM to each, KILL 5 s later).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one zkCli.sh command may take.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// Base ports: `FIRST_BASE + 3000 * block + 10 * slot`. Within a block the client, quorum and
/// election ranges each sit in their own thousand, so distinct slots never share a port, and the
/// highest port (27,992) stays below Linux's ephemeral range (32,768 and up).
const FIRST_BASE: u16 = 10_000;
const BLOCKS: u64 = 6;
const SLOTS_PER_BLOCK: u64 = 100;
/// Bases tried before giving up when ports are taken.
const START_ATTEMPTS: usize = 4;

/// A node's role as its `srvr` reply states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkMode {
    Leader,
    Follower,
    /// A node that runs without an ensemble (never the case here).
    Standalone,
    /// The node answers but is not serving: it has no quorum (yet).
    NotServing,
    /// Nothing accepts connections on the node's client port.
    Down,
}

impl ZkMode {
    /// Whether the node is part of a serving quorum.
    pub fn is_serving(&self) -> bool {
        matches!(self, ZkMode::Leader | ZkMode::Follower)
    }

    /// The mode from a `srvr` reply (`Mode: leader`, ...).
    pub fn from_srvr(reply: &str) -> ZkMode {
        match reply
            .lines()
            .find_map(|line| line.strip_prefix("Mode: "))
            .map(str::trim)
        {
            Some("leader") => ZkMode::Leader,
            Some("follower") => ZkMode::Follower,
            Some("standalone") => ZkMode::Standalone,
            _ => ZkMode::NotServing,
        }
    }
}

/// A running 3-node ensemble in a temporary directory, stopped on drop.
pub struct ZkEnsemble {
    dir: tempfile::TempDir,
    base_port: u16,
}

impl ZkEnsemble {
    /// Starts an ensemble on free loopback ports and returns once a leader and two followers
    /// serve. Panics if ZooKeeper is not installed.
    pub fn start() -> anyhow::Result<ZkEnsemble> {
        require_installed();
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("odradek-zk-")
                .tempdir()
                .context("cannot create the ensemble's temporary directory")?;
            let lock = ports_lock()?;
            let base_port = free_base_port()?;
            let result = zookeeper_sh(
                "start",
                dir.path(),
                &[&base_port.to_string()],
                START_TIMEOUT,
            );
            drop(lock);
            let ensemble = ZkEnsemble { dir, base_port };
            match result {
                Ok(stdout) => {
                    let printed = stdout.trim();
                    anyhow::ensure!(
                        printed == ensemble.connect_string(),
                        "zookeeper.sh start printed {printed:?}, expected {:?}",
                        ensemble.connect_string()
                    );
                    return Ok(ensemble);
                }
                // Another process took one of the ports between the probe and the bind.
                Err(e) if format!("{e:#}").contains("in use") => {
                    eprintln!(
                        "odradek-tests: ZooKeeper base port {base_port} lost a port, \
                         trying another: {e:#}"
                    );
                    failures.push(format!("{e:#}"));
                    // Dropping `ensemble` stops whatever started and deletes the directory.
                }
                Err(e) => {
                    return Err(e.context(format!(
                        "starting a ZooKeeper ensemble on base port {base_port}"
                    )))
                }
            }
        }
        anyhow::bail!(
            "no ZooKeeper ensemble after {START_ATTEMPTS} bases:\n{}",
            failures.join("\n")
        )
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`, as `zookeeper.connect` takes it.
    pub fn connect_string(&self) -> String {
        self.client_ports()
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The connect string with a chroot path (`.../odradek`), as in `zookeeper.connect`.
    pub fn connect_string_with_chroot(&self, chroot: &str) -> String {
        assert!(
            chroot.starts_with('/') && chroot.len() > 1,
            "a chroot is an absolute znode path, not {chroot:?}"
        );
        format!("{}{chroot}", self.connect_string())
    }

    /// The client ports of nodes 1, 2 and 3.
    pub fn client_ports(&self) -> [u16; NODES] {
        [self.base_port, self.base_port + 1, self.base_port + 2]
    }

    /// Node `node`'s client address.
    pub fn client_addr(&self, node: usize) -> SocketAddr {
        check_node(node);
        SocketAddr::from(([127, 0, 0, 1], self.client_ports()[node - 1]))
    }

    /// The directory holding `zk1/`..`zk3/` (config, data, log and pid file of each node).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node `node`'s log (the JVM's output).
    pub fn log_path(&self, node: usize) -> PathBuf {
        check_node(node);
        self.dir
            .path()
            .join(format!("zk{node}"))
            .join("zookeeper.log")
    }

    /// Stops node `node` (SIGTERM, SIGKILL after 5 s) and waits until its process is gone.
    pub fn stop_node(&self, node: usize) -> anyhow::Result<()> {
        check_node(node);
        zookeeper_sh("stop-node", self.dir(), &[&node.to_string()], STOP_TIMEOUT)?;
        Ok(())
    }

    /// Starts node `node` again on its old ports and data and waits until it serves again.
    pub fn start_node(&self, node: usize) -> anyhow::Result<()> {
        check_node(node);
        zookeeper_sh(
            "start-node",
            self.dir(),
            &[&node.to_string()],
            START_TIMEOUT,
        )?;
        Ok(())
    }

    /// Sends a four-letter word (`srvr`, `ruok`, `mntr`, ...) to node `node` and returns the reply.
    pub fn four_letter_word(&self, node: usize, word: &str) -> anyhow::Result<String> {
        let addr = self.client_addr(node);
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
            .with_context(|| format!("cannot connect to ZooKeeper node {node} at {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream
            .write_all(word.as_bytes())
            .with_context(|| format!("cannot send {word:?} to node {node} at {addr}"))?;
        let mut reply = String::new();
        stream
            .read_to_string(&mut reply)
            .with_context(|| format!("no reply to {word:?} from node {node} at {addr}"))?;
        Ok(reply)
    }

    /// Node `node`'s mode from `srvr`; [`ZkMode::Down`] when nothing listens on its port.
    pub fn mode(&self, node: usize) -> ZkMode {
        match self.four_letter_word(node, "srvr") {
            Ok(reply) => ZkMode::from_srvr(&reply),
            Err(e) if is_refused(&e) => ZkMode::Down,
            Err(_) => ZkMode::NotServing,
        }
    }

    /// The modes of nodes 1, 2 and 3.
    pub fn modes(&self) -> [ZkMode; NODES] {
        [self.mode(1), self.mode(2), self.mode(3)]
    }

    /// Runs one zkCli.sh command (`["get", "/controller"]`) against a serving node and returns its
    /// stdout without zkCli's connection chatter. A failed command (a missing znode, say) is an
    /// error carrying zkCli's stderr.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        zookeeper_sh("cli", self.dir(), args, CLI_TIMEOUT)
    }

    /// Like [`ZkEnsemble::cli`], through node `node` only.
    pub fn cli_at(&self, node: usize, args: &[&str]) -> anyhow::Result<String> {
        check_node(node);
        let node = node.to_string();
        let full: Vec<&str> = ["--node", &node]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        zookeeper_sh("cli", self.dir(), &full, CLI_TIMEOUT)
    }

    /// The pids of live processes whose command line names this ensemble's directory: its
    /// ZooKeeper JVMs, whatever the pid files say.
    pub fn processes(&self) -> Vec<u32> {
        processes_mentioning(self.dir())
    }

    /// Stops every node (`zookeeper.sh stop`); the directory stays until the ensemble is dropped.
    pub fn stop(&self) -> anyhow::Result<()> {
        zookeeper_sh("stop", self.dir(), &[], STOP_TIMEOUT)?;
        Ok(())
    }
}

impl Drop for ZkEnsemble {
    /// Stops the ensemble and prints each node's warnings and errors (shown for failed tests).
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!(
                "odradek-tests: cannot stop the ZooKeeper ensemble in {}: {e:#}",
                self.dir().display()
            );
        }
        let keep = std::env::var_os(KEEP_DIRS_ENV).is_some();
        self.dir.disable_cleanup(keep);
        for node in 1..=NODES {
            eprintln!(
                "---- ZooKeeper node {node} ({}), last warnings and errors ----\n{}",
                self.log_path(node).display(),
                warnings_tail(&self.log_path(node), 15)
            );
        }
        eprintln!(
            "---- end of ZooKeeper logs; directory {} {} ----",
            self.dir().display(),
            if keep {
                "kept"
            } else {
                "deleted (ODRADEK_KEEP_TEST_DIRS=1 keeps it)"
            }
        );
    }
}

/// Panics, pointing at the install, unless Debian's ZooKeeper and a `java` are present.
fn require_installed() {
    const HINT: &str =
        "run scripts/test.sh (or scripts/install-deps.sh), which installs Debian's zookeeper package";
    if !Path::new(ZOOKEEPER_JAR).is_file() {
        panic!("ZooKeeper is not installed ({ZOOKEEPER_JAR} is missing): {HINT}");
    }
    let java_found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join("java").is_file()))
        .unwrap_or(false);
    if !java_found {
        panic!("java is not on PATH, so ZooKeeper cannot run: {HINT}");
    }
}

fn check_node(node: usize) {
    assert!(
        (1..=NODES).contains(&node),
        "ZooKeeper nodes are 1..={NODES}, not {node}"
    );
}

/// Runs `scripts/zookeeper.sh COMMAND DIR ARGS...` and returns its stdout.
fn zookeeper_sh(
    command: &str,
    dir: &Path,
    args: &[&str],
    timeout: Duration,
) -> anyhow::Result<String> {
    let mut cmd = Command::new(repo_root().join("scripts").join("zookeeper.sh"));
    cmd.arg(command).arg(dir).args(args);
    let what = format!("zookeeper.sh {command}");
    let output = run_checked(&mut cmd, None, timeout, &what)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// An exclusive lock shared by every test process on the machine, held while probing ports and
/// starting an ensemble on them. Released on drop.
fn ports_lock() -> anyhow::Result<nix::fcntl::Flock<std::fs::File>> {
    let path = std::env::temp_dir().join("odradek-zk-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| anyhow::anyhow!("cannot lock {}: {errno}", path.display()))
}

/// A base port whose nine derived ports can all be bound on 127.0.0.1 now.
fn free_base_port() -> anyhow::Result<u16> {
    let mut random = RandomState::new().build_hasher();
    random.write_u32(std::process::id());
    let start = random.finish();
    let slots = BLOCKS * SLOTS_PER_BLOCK;
    for i in 0..slots {
        let slot = (start + i) % slots;
        let base = FIRST_BASE
            + 3000 * (slot / SLOTS_PER_BLOCK) as u16
            + 10 * (slot % SLOTS_PER_BLOCK) as u16;
        let ports = (0..NODES as u16).flat_map(|n| [base + n, base + 1000 + n, base + 2000 + n]);
        // std's listeners set SO_REUSEADDR, as ZooKeeper's do: a port in TIME_WAIT counts as free.
        if ports
            .into_iter()
            .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        {
            return Ok(base);
        }
    }
    anyhow::bail!("no free ZooKeeper base port among {slots} slots from {FIRST_BASE}")
}

fn is_refused(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// Live processes whose command line names something under directory `path` (zombies have an
/// empty command line).
pub fn processes_mentioning(path: &Path) -> Vec<u32> {
    let mut needle = path.as_os_str().as_encoded_bytes().to_vec();
    needle.push(b'/');
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice())
            })
        })
        .collect()
}

/// The last `lines` WARN and ERROR lines of a node's log.
fn warnings_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let hits: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.contains(" - WARN ") || l.contains(" - ERROR ") || l.starts_with("====")
                })
                .collect();
            hits[hits.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_replies_map_to_modes() {
        let reply = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\n\
                     Mode: follower\nNode count: 5\n";
        assert_eq!(ZkMode::from_srvr(reply), ZkMode::Follower);
        assert_eq!(ZkMode::from_srvr("Mode: leader\n"), ZkMode::Leader);
        assert_eq!(
            ZkMode::from_srvr("This ZooKeeper instance is not currently serving requests\n"),
            ZkMode::NotServing
        );
        assert!(!ZkMode::Down.is_serving());
    }

    #[test]
    fn base_port_slots_stay_below_the_ephemeral_range() {
        let highest = FIRST_BASE as u64
            + 3000 * (BLOCKS - 1)
            + 10 * (SLOTS_PER_BLOCK - 1)
            + 2000
            + NODES as u64
            - 1;
        assert!(highest < 32_768, "highest ZooKeeper port {highest}");
    }
}
