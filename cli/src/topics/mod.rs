//! `odradek topics create|list|describe|delete`: Kafka 2.8's `kafka-topics.sh --bootstrap-server`,
//! as one subcommand per action instead of `--create`/`--list`/`--describe`/`--delete` flags.
//!
//! Like `kafka-topics.sh` it speaks only the Kafka protocol, through an admin client
//! ([`crate::admin`]): Metadata to any broker for list and describe, CreateTopics and
//! DeleteTopics to the controller. It never reads ZooKeeper.
//!
//! Differences from `kafka-topics.sh`: `--topic` names one topic exactly (Kafka's also takes a
//! regular expression for describe and delete); `--bootstrap-server` defaults to the local
//! cluster's brokers; `alter` and the `--*-partitions` describe filters are not offered.

mod create;
mod delete;
mod describe;
mod list;
mod replica_assignment;

use std::process::ExitCode;

use clap::Subcommand;

pub use crate::connect::{with_admin, ConnectArgs};

#[derive(Subcommand)]
pub enum TopicsCommand {
    /// Create a topic (kafka-topics.sh --create): CreateTopics to the controller.
    Create(create::CreateArgs),
    /// Every topic's name, sorted, one per line (kafka-topics.sh --list).
    List(list::ListArgs),
    /// Topics and their partitions: leader, replicas, ISR (kafka-topics.sh --describe).
    Describe(describe::DescribeArgs),
    /// Delete a topic (kafka-topics.sh --delete): DeleteTopics to the controller.
    Delete(delete::DeleteArgs),
}

pub fn run(command: TopicsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TopicsCommand::Create(args) => create::run(args),
        TopicsCommand::List(args) => list::run(args),
        TopicsCommand::Describe(args) => describe::run(args),
        TopicsCommand::Delete(args) => delete::run(args),
    }
}
