//! `odradek`: the project's command line, like Kafka's `bin/*.sh` tools in one binary.
//!
//! * `odradek cluster up|status|down` runs a local cluster on loopback: a 3-node ZooKeeper
//!   ensemble (through `scripts/zookeeper.sh`) and N `odradek-broker` processes registered under
//!   the `/odradek` chroot, with every file under one directory.
//! * `odradek topics create|list|describe|delete` is `kafka-topics.sh --bootstrap-server`: it
//!   speaks the Kafka protocol to any cluster through a small admin client (`admin/`).
//!
//! Errors are one line, `odradek: ...`, with exit code 1 (2 for bad arguments, from clap).

mod admin;
mod cluster;
mod locate;
mod metadata;
mod processes;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "odradek", about = "Odradek's command line", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start, check or stop a local cluster (3-node ZooKeeper ensemble plus brokers).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Create, list, describe or delete topics, like kafka-topics.sh --bootstrap-server.
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cluster(command) => cluster::run(command),
        Command::Topics(command) => topics::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` joins the context chain with ": " on one line.
            eprintln!("odradek: {e:#}");
            ExitCode::FAILURE
        }
    }
}
