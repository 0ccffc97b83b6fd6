//! `odradek groups list|describe|delete`: Kafka 2.8's `kafka-consumer-groups.sh
//! --bootstrap-server`, one subcommand per action (`--list`, `--describe`, `--delete`).
//!
//! Groups live on their coordinators, not in Metadata: `list` asks every broker (ListGroups),
//! `describe` and `delete` find the group's coordinator (FindCoordinator) and ask it
//! (DescribeGroups, OffsetFetch; DeleteGroups). The partitions' log end offsets come from their
//! leaders (ListOffsets), as in Kafka's tool.

mod delete;
mod describe;
mod list;
mod table;

use std::process::ExitCode;

use clap::Subcommand;
use odradek_client::group::{find_coordinator, BrokerConnection, Coordinator};

use crate::connect::{bootstrap, ConnectArgs};

/// The `client.id` of the tool's requests.
const CLIENT_ID: &str = "odradek-consumer-groups";

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Every group on every broker, one per line (kafka-consumer-groups.sh --list).
    List(list::ListArgs),
    /// A group's offsets, lag and members (kafka-consumer-groups.sh --describe).
    Describe(describe::DescribeArgs),
    /// Delete a group with no active members (kafka-consumer-groups.sh --delete).
    Delete(delete::DeleteArgs),
}

pub fn run(command: GroupsCommand) -> anyhow::Result<ExitCode> {
    match command {
        GroupsCommand::List(args) => list::run(args),
        GroupsCommand::Describe(args) => describe::run(args),
        GroupsCommand::Delete(args) => delete::run(args),
    }
}

/// FindCoordinator through the bootstrap servers, then a connection to the coordinator.
async fn coordinator(
    connect: &ConnectArgs,
    group: &str,
) -> anyhow::Result<(Coordinator, BrokerConnection)> {
    let servers = bootstrap(connect)?.servers;
    let coordinator = find_coordinator(&servers, group, CLIENT_ID).await?;
    let conn = BrokerConnection::connect(&coordinator.addr(), CLIENT_ID).await?;
    Ok((coordinator, conn))
}
