//! `odradek cluster up|status|down`: a local cluster on loopback, all of it under one directory.
//!
//! Layout of DIR (default `./.odradek/cluster`):
//!
//! ```text
//! DIR/zookeeper/zk1..zk3/     the ensemble, as scripts/zookeeper.sh lays it out
//! DIR/broker-N/server.properties
//! DIR/broker-N/logs/          log.dirs
//! DIR/broker-N/broker.log     the broker's stdout and stderr
//! DIR/broker-N/broker.pid
//! ```
//!
//! The files are the only record of the cluster: `status` and `down` read the ports from each
//! `server.properties` and the processes from the pid files, so they need no flags but `--dir`.

mod down;
pub mod layout;
mod prerequisites;
mod status;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use layout::Layout;

/// Where `cluster` keeps a cluster, and where `topics` looks for one, unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = ".odradek/cluster";

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Start the ensemble and the brokers, wait until every broker knows all brokers and the
    /// controller, and print the bootstrap servers. Installs ZooKeeper (Debian's package) and
    /// builds odradek-broker first if they are missing.
    Up(UpArgs),
    /// Each ZooKeeper node and broker: up or down, and the controller. Exits 1 if anything is down.
    Status(DirArgs),
    /// Stop the brokers (SIGTERM, SIGKILL if they linger), then the ensemble. Idempotent.
    Down(DirArgs),
}

#[derive(Args)]
pub struct DirArgs {
    /// The cluster's directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct UpArgs {
    /// The cluster's directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// How many brokers (ids 1..=N).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub brokers: u16,
    /// Broker N listens on 127.0.0.1:BASE_PORT+N.
    #[arg(long, default_value_t = 9092, value_parser = clap::value_parser!(u16).range(1024..=65000))]
    pub base_port: u16,
    /// ZooKeeper's client ports are ZK_BASE_PORT..+2 (quorum +1000, election +2000).
    #[arg(long, default_value_t = 2181, value_parser = clap::value_parser!(u16).range(1024..=63000))]
    pub zk_base_port: u16,
    /// The odradek-broker binary (default: $ODRADEK_BROKER_BIN, else the one beside `odradek`,
    /// built with cargo if it is missing).
    #[arg(long)]
    pub broker_bin: Option<PathBuf>,
}

pub fn run(command: ClusterCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClusterCommand::Up(args) => up::run(&args),
        ClusterCommand::Status(args) => status::run(&Layout::new(&args.dir)?),
        ClusterCommand::Down(args) => down::run(&Layout::new(&args.dir)?),
    }
}
