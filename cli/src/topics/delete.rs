//! `odradek topics delete`: `kafka-topics.sh --delete`. Like Kafka's, it first checks through
//! Metadata that the topic exists, then sends DeleteTopics to the controller, which marks the
//! topic for deletion (`/admin/delete_topics/<topic>`) and answers once the topic has left the
//! metadata, or after the request's timeout. Prints nothing on success, as Kafka 2.8 does.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use kafka_protocol::ResponseError;

use super::describe::missing;
use super::{with_admin, ConnectArgs};
use crate::admin::{describe_error, is, topic_name};

/// How long the controller may take to remove the topic (kafka-topics' default).
const DELETE_TIMEOUT_MS: i32 = 30_000;
/// DeleteTopics versions spoken: v0–3 differ only in throttling; v4 is flexible and v6 names
/// topics by id.
const VERSIONS: std::ops::RangeInclusive<i16> = 0..=3;

#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic to delete.
    #[arg(long)]
    pub topic: String,
    /// Succeed quietly if the topic does not exist.
    #[arg(long)]
    pub if_exists: bool,
}

pub fn run(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let topic = args.topic.as_str();
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name(topic)])
        .with_timeout_ms(DELETE_TIMEOUT_MS);
    let outcome = with_admin(&args.connect, async |admin| {
        let metadata = admin.metadata(Some(&[topic])).await?;
        let exists = metadata
            .topics
            .iter()
            .any(|t| t.name.as_ref().is_some_and(|n| *n.0 == *topic) && !missing(t.error_code));
        if !exists {
            return Ok(None);
        }
        let response = admin
            .send_to_controller(
                VERSIONS,
                |_| Ok(request.clone()),
                Duration::from_millis(DELETE_TIMEOUT_MS as u64) + Duration::from_secs(15),
                |response: &DeleteTopicsResponse| {
                    response
                        .responses
                        .iter()
                        .any(|t| is(t.error_code, ResponseError::NotController))
                },
            )
            .await?;
        Ok(Some(response))
    })?;

    let code = match &outcome {
        None => ResponseError::UnknownTopicOrPartition.code(),
        Some(response) => response
            .responses
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| *n.0 == *topic))
            .map(|t| t.error_code)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the controller's DeleteTopics response does not mention topic '{topic}'"
                )
            })?,
    };
    match code {
        0 => {}
        code if missing(code) && args.if_exists => {}
        code if missing(code) => anyhow::bail!("topic '{topic}' does not exist"),
        // DeleteTopics carries an error message only from v5 on.
        code => anyhow::bail!(
            "cannot delete topic '{topic}': {}",
            describe_error(code, None)
        ),
    }
    Ok(ExitCode::SUCCESS)
}
