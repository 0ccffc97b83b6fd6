//! `odradek groups list`: `kafka-consumer-groups.sh --list`. Each coordinator knows only its own
//! groups, so ListGroups goes to every broker Metadata lists and the answers are merged.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::process::ExitCode;

use clap::Args;
use kafka_protocol::messages::ListGroupsRequest;

use crate::admin::{describe_error, host_port, Node, REQUEST_TIMEOUT};
use crate::connect::{with_admin, ConnectArgs};

/// v3 is flexible, v4 adds a state filter; v0-2 list every group.
const VERSIONS: RangeInclusive<i16> = 0..=2;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let groups = with_admin(&args.connect, async |admin| {
        let metadata = admin.metadata(Some(&[])).await?;
        let mut groups = BTreeSet::new();
        for broker in &metadata.brokers {
            let addr = host_port(&broker.host, broker.port);
            let id = broker.node_id.0;
            let mut node = Node::connect(&addr)
                .await
                .map_err(|e| anyhow::anyhow!("broker {id} at {addr}: {e:#}"))?;
            let version = node.version::<ListGroupsRequest>(VERSIONS)?;
            let response = node
                .send(&ListGroupsRequest::default(), version, REQUEST_TIMEOUT)
                .await?;
            anyhow::ensure!(
                response.error_code == 0,
                "ListGroups to broker {id} at {addr}: {}",
                describe_error(response.error_code, None)
            );
            groups.extend(response.groups.iter().map(|g| g.group_id.0.to_string()));
        }
        Ok(groups)
    })?;
    for group in groups {
        println!("{group}");
    }
    Ok(ExitCode::SUCCESS)
}
