//! `odradek groups describe --group G [--members | --state]`: `kafka-consumer-groups.sh
//! --describe`. DescribeGroups (to the coordinator) gives the state, the chosen assignor and the
//! members, whose assignments are consumer-protocol bytes this tool decodes; OffsetFetch gives
//! the committed offsets; ListOffsets (to the leaders) the log end offsets; LAG is their
//! difference. A group the coordinator does not know is described as state "Dead".

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::Args;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::DescribeGroupsRequest;
use odradek_client::group::coordinator::REQUEST_TIMEOUT;
use odradek_client::group::{fetch_committed, group_id, Assignment, Offsets};

use super::table::{members_table, offsets_table, state_table, MemberRow, OffsetRow, StateRow};
use super::{coordinator, ConnectArgs};
use crate::admin::{describe_error, AdminClient};
use crate::connect::bootstrap;
use crate::leaders::{PartitionLeaders, TopicPartition};
use crate::list_offsets::{list_offsets, LATEST};
use crate::metadata::block_on;

#[derive(Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The group to describe.
    #[arg(long)]
    pub group: String,
    /// Describe the members instead of the offsets.
    #[arg(long, conflicts_with = "state")]
    pub members: bool,
    /// Describe the group's state: coordinator, assignor, state, member count.
    #[arg(long)]
    pub state: bool,
}

/// A member as DescribeGroups reports it, its assignment decoded.
#[derive(Debug, Clone)]
pub struct Member {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

pub fn run(args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let group = args.group.clone();
    let output = block_on(describe(&args))??;
    match output {
        None => anyhow::bail!("Consumer group '{group}' does not exist."),
        Some(text) => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The text to print; `None` for a group that does not exist.
async fn describe(args: &DescribeArgs) -> anyhow::Result<Option<String>> {
    let group = &args.group;
    let (found, mut conn) = coordinator(&args.connect, group).await?;
    let version = conn.version::<DescribeGroupsRequest>(0..=4, "DescribeGroups")?;
    let request = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
    let response = conn
        .send(&request, version, "DescribeGroups", REQUEST_TIMEOUT)
        .await?;
    let Some(described) = response
        .groups
        .into_iter()
        .find(|g| g.group_id.0.as_str() == group)
    else {
        anyhow::bail!("DescribeGroups: the coordinator did not describe group '{group}'");
    };
    anyhow::ensure!(
        described.error_code == 0,
        "DescribeGroups for group '{group}': {}",
        describe_error(described.error_code, None)
    );
    if described.group_state.as_str() == "Dead" {
        return Ok(None);
    }
    let members = members_of(&described)?;
    if args.state {
        return Ok(Some(state_table(&StateRow {
            group: group.clone(),
            coordinator: format!("{} ({})", found.addr(), found.node_id),
            assignment_strategy: described.protocol_data.to_string(),
            state: described.group_state.to_string(),
            members: members.len(),
        })));
    }
    let mut out = String::new();
    if members.is_empty() {
        out.push_str(&format!(
            "\nConsumer group '{group}' has no active members.\n"
        ));
    }
    if args.members {
        let rows: Vec<MemberRow> = members
            .iter()
            .map(|m| MemberRow {
                group: group.clone(),
                consumer_id: m.member_id.clone(),
                host: m.host.clone(),
                client_id: m.client_id.clone(),
                partitions: m.assignment.len(),
            })
            .collect();
        out.push_str(&members_table(&rows));
        return Ok(Some(out));
    }
    let committed = fetch_committed(&mut conn, group, None).await?;
    let partitions: BTreeSet<TopicPartition> = committed
        .keys()
        .cloned()
        .chain(members.iter().flat_map(|m| m.assignment.iter().cloned()))
        .collect();
    let log_end = log_end_offsets(&args.connect, &partitions).await?;
    out.push_str(&offsets_table(&offset_rows(
        group, &members, &committed, &log_end,
    )));
    Ok(Some(out))
}

/// The members, their assignments decoded with the consumer protocol (another protocol type's
/// assignments are opaque: no partitions).
fn members_of(described: &DescribedGroup) -> anyhow::Result<Vec<Member>> {
    let consumer =
        described.protocol_type.is_empty() || described.protocol_type.as_str() == "consumer";
    described
        .members
        .iter()
        .map(|m| {
            let assignment = if consumer {
                Assignment::decode(&m.member_assignment)
                    .map_err(|e| anyhow::anyhow!("member {}: {e}", m.member_id.as_str()))?
                    .topic_partitions()
            } else {
                Vec::new()
            };
            Ok(Member {
                member_id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment,
            })
        })
        .collect()
}

/// LOG-END-OFFSET of each partition; a topic that no longer exists has none.
async fn log_end_offsets(
    connect: &ConnectArgs,
    partitions: &BTreeSet<TopicPartition>,
) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let topics: BTreeSet<String> = partitions.iter().map(|(t, _)| t.clone()).collect();
    let mut admin = AdminClient::connect(bootstrap(connect)?).await?;
    let mut out = BTreeMap::new();
    for topic in topics {
        let Ok(mut leaders) =
            PartitionLeaders::load(&mut admin, std::slice::from_ref(&topic)).await
        else {
            continue;
        };
        let wanted: Vec<TopicPartition> = partitions
            .iter()
            .filter(|(t, _)| *t == topic)
            .cloned()
            .collect();
        out.extend(list_offsets(&mut leaders, &wanted, LATEST).await?);
    }
    Ok(out)
}

/// The offsets table's rows as Kafka orders them: members' partitions first (the member with
/// most partitions first, partitions ascending), a member with none as a row of dashes, then the
/// partitions with a committed offset but no owner.
pub fn offset_rows(
    group: &str,
    members: &[Member],
    committed: &Offsets,
    log_end: &BTreeMap<TopicPartition, i64>,
) -> Vec<OffsetRow> {
    let mut members: Vec<&Member> = members.iter().collect();
    members.sort_by(|a, b| {
        b.assignment
            .len()
            .cmp(&a.assignment.len())
            .then(a.member_id.cmp(&b.member_id))
    });
    let row = |tp: Option<&TopicPartition>, member: Option<&Member>| OffsetRow {
        group: group.to_string(),
        topic: tp.map(|(t, _)| t.clone()),
        partition: tp.map(|(_, p)| *p),
        current_offset: tp.and_then(|tp| committed.get(tp).copied()),
        log_end_offset: tp.and_then(|tp| log_end.get(tp).copied()),
        consumer_id: member.map(|m| m.member_id.clone()),
        host: member.map(|m| m.host.clone()),
        client_id: member.map(|m| m.client_id.clone()),
    };
    let mut rows = Vec::new();
    let mut owned = BTreeSet::new();
    for member in members {
        if member.assignment.is_empty() {
            rows.push(row(None, Some(member)));
        }
        let mut assignment = member.assignment.clone();
        assignment.sort();
        for tp in &assignment {
            owned.insert(tp.clone());
            rows.push(row(Some(tp), Some(member)));
        }
    }
    for tp in committed.keys().filter(|tp| !owned.contains(*tp)) {
        rows.push(row(Some(tp), None));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        (topic.to_string(), partition)
    }

    fn member(id: &str, assignment: &[TopicPartition]) -> Member {
        Member {
            member_id: id.into(),
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            assignment: assignment.to_vec(),
        }
    }

    #[test]
    fn rows_follow_kafkas_order() {
        let members = [
            member("b", &[tp("t", 2), tp("t", 0)]),
            member("a", &[tp("t", 1)]),
            member("idle", &[]),
        ];
        let committed: Offsets = [(tp("t", 0), 5), (tp("t", 1), 7), (tp("old", 0), 3)]
            .into_iter()
            .collect();
        let log_end: BTreeMap<TopicPartition, i64> =
            [(tp("t", 0), 5), (tp("t", 1), 9), (tp("t", 2), 4)]
                .into_iter()
                .collect();
        let rows = offset_rows("g", &members, &committed, &log_end);
        type Summary = (Option<String>, Option<i32>, Option<String>, Option<i64>);
        let summary: Vec<Summary> = rows
            .iter()
            .map(|r| (r.topic.clone(), r.partition, r.consumer_id.clone(), r.lag()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("t".into()), Some(0), Some("b".into()), Some(0)),
                (Some("t".into()), Some(2), Some("b".into()), None),
                (Some("t".into()), Some(1), Some("a".into()), Some(2)),
                (None, None, Some("idle".into()), None),
                (Some("old".into()), Some(0), None, None),
            ]
        );
    }
}
