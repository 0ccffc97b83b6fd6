//! `odradek`: the project's command line, like Kafka's `bin/*.sh` tools in one binary.
//!
//! * `odradek cluster up|status|down` runs a local cluster on loopback: a 3-node ZooKeeper
//!   ensemble (through `scripts/zookeeper.sh`) and N `odradek-broker` processes registered under
//!   the `/odradek` chroot, with every file under one directory.
//! * `odradek topics create|list|describe|delete` is `kafka-topics.sh --bootstrap-server`: it
//!   speaks the Kafka protocol to any cluster through a small admin client (`admin/`).
//! * `odradek groups list|describe|delete` is `kafka-consumer-groups.sh`; `odradek produce` and
//!   `odradek consume` are the console producer and consumer (a real group member with
//!   `--group`, built on `odradek_client::group`).
//!
//! Errors are one line, `odradek: ...`, with exit code 1 (2 for bad arguments, from clap).

mod admin;
mod cluster;
mod configs;
mod connect;
mod consume;
mod groups;
mod leaders;
mod list_offsets;
mod locate;
mod metadata;
mod processes;
mod produce;
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
    /// Describe or alter topic and broker configs, like kafka-configs.sh --bootstrap-server.
    Configs(configs::ConfigsArgs),
    /// List, describe or delete consumer groups, like kafka-consumer-groups.sh.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Write stdin's lines to a topic, one record each, like kafka-console-producer.sh.
    Produce(produce::ProduceArgs),
    /// Print a topic's records, alone or as a group member, like kafka-console-consumer.sh.
    Consume(consume::ConsumeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cluster(command) => cluster::run(command),
        Command::Topics(command) => topics::run(command),
        Command::Groups(command) => groups::run(command),
        Command::Configs(args) => configs::run(args),
        Command::Produce(args) => produce::run(args),
        Command::Consume(args) => consume::run(args),
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
