//! `odradek groups delete --group G`: `kafka-consumer-groups.sh --delete`. DeleteGroups goes to
//! the group's coordinator, which refuses a group that still has members (NON_EMPTY_GROUP) and
//! one it does not know (GROUP_ID_NOT_FOUND).

use std::process::ExitCode;

use clap::Args;
use kafka_protocol::messages::DeleteGroupsRequest;
use kafka_protocol::ResponseError;
use odradek_client::group::{coordinator::REQUEST_TIMEOUT, group_id};

use super::{coordinator, ConnectArgs};
use crate::admin::describe_error;
use crate::metadata::block_on;

#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The group to delete.
    #[arg(long)]
    pub group: String,
}

pub fn run(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let group = args.group.clone();
    let code = block_on(async {
        let (_, mut conn) = coordinator(&args.connect, &group).await?;
        let version = conn.version::<DeleteGroupsRequest>(0..=1, "DeleteGroups")?;
        let request = DeleteGroupsRequest::default().with_groups_names(vec![group_id(&group)]);
        let response = conn
            .send(&request, version, "DeleteGroups", REQUEST_TIMEOUT)
            .await?;
        let result = response
            .results
            .iter()
            .find(|r| r.group_id.0.as_str() == group);
        anyhow::Ok(result.map_or(0, |r| r.error_code))
    })??;
    anyhow::ensure!(code == 0, "{}", failure(&group, code));
    println!("Deletion of requested consumer groups ('{group}') was successful.");
    Ok(ExitCode::SUCCESS)
}

/// Kafka's wording for a failed deletion, on one line.
fn failure(group: &str, code: i16) -> String {
    let reason = if code == ResponseError::NonEmptyGroup.code() {
        format!("Group '{group}' is not empty.")
    } else if code == ResponseError::GroupIdNotFound.code() {
        format!("Group '{group}' does not exist.")
    } else {
        describe_error(code, None)
    };
    format!("Deletion of some consumer groups failed: Group '{group}' could not be deleted due to: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_group() {
        assert_eq!(
            failure("g", 68),
            "Deletion of some consumer groups failed: Group 'g' could not be deleted due to: Group 'g' is not empty."
        );
        assert!(failure("g", 69).ends_with("Group 'g' does not exist."));
        assert!(failure("g", 15).ends_with("COORDINATOR_NOT_AVAILABLE"));
    }
}
