//! `odradek topics create`: `kafka-topics.sh --create`. One CreateTopics request to the
//! controller, which assigns replicas (unless `--replica-assignment` does), writes
//! `/brokers/topics/<topic>` and answers once the partitions have leaders, or after the
//! request's timeout.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::{BrokerId, CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{replica_assignment, with_admin, ConnectArgs};
use crate::admin::{describe_error, is, topic_name};

/// The controller waits this long for the new partitions' leaders (kafka-topics' default).
const CREATE_TIMEOUT_MS: i32 = 30_000;
/// CreateTopics versions spoken: v4 is the first that lets the broker pick partitions and
/// replication factor (-1), which Kafka 2.8's kafka-topics asks for when the options are left out.
const VERSIONS: std::ops::RangeInclusive<i16> = 0..=4;

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic to create.
    #[arg(long)]
    pub topic: String,
    /// Number of partitions [default: the broker's num.partitions].
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// Replicas per partition [default: the broker's default.replication.factor].
    #[arg(long, value_parser = clap::value_parser!(i16).range(1..))]
    pub replication_factor: Option<i16>,
    /// A topic config override, KEY=VALUE; repeat for more.
    #[arg(long, value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Replicas per partition, preferred leader first: `1:2,2:3,3:1` is three partitions of two
    /// replicas.
    #[arg(long, conflicts_with_all = ["partitions", "replication_factor"])]
    pub replica_assignment: Option<String>,
    /// Succeed quietly if the topic already exists.
    #[arg(long)]
    pub if_not_exists: bool,
}

pub fn run(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let assignment = args
        .replica_assignment
        .as_deref()
        .map(replica_assignment::parse)
        .transpose()?;
    let configs = parse_configs(&args.config)?;
    if args.topic.contains('.') || args.topic.contains('_') {
        // kafka-topics prints this warning too (on stdout; here on stderr, with the errors).
        eprintln!(
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore \
             ('_') could collide. To avoid issues it is best to use either, but not both."
        );
    }
    let topic = CreatableTopic::default()
        .with_name(topic_name(&args.topic))
        .with_num_partitions(args.partitions.unwrap_or(-1))
        .with_replication_factor(args.replication_factor.unwrap_or(-1))
        .with_assignments(
            assignment
                .iter()
                .flatten()
                .zip(0..)
                .map(|(brokers, partition)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(partition)
                        .with_broker_ids(brokers.iter().copied().map(BrokerId).collect())
                })
                .collect(),
        )
        .with_configs(
            configs
                .into_iter()
                .map(|(key, value)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(key))
                        .with_value(Some(StrBytes::from_string(value)))
                })
                .collect(),
        );
    let broker_defaults =
        assignment.is_none() && (args.partitions.is_none() || args.replication_factor.is_none());
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(CREATE_TIMEOUT_MS);

    let response = with_admin(&args.connect, async |admin| {
        admin
            .send_to_controller(
                VERSIONS,
                |version| {
                    anyhow::ensure!(
                        !broker_defaults || version >= 4,
                        "the controller serves CreateTopics only up to v{version}, and leaving out \
                         --partitions or --replication-factor needs v4: pass both"
                    );
                    Ok(request.clone())
                },
                Duration::from_millis(CREATE_TIMEOUT_MS as u64) + Duration::from_secs(15),
                |response: &CreateTopicsResponse| {
                    response
                        .topics
                        .iter()
                        .any(|t| is(t.error_code, ResponseError::NotController))
                },
            )
            .await
    })?;

    let Some(result) = response.topics.iter().find(|t| *t.name.0 == *args.topic) else {
        anyhow::bail!(
            "the controller's CreateTopics response does not mention topic '{}'",
            args.topic
        );
    };
    match result.error_code {
        0 => println!("Created topic {}.", args.topic),
        code if is(code, ResponseError::TopicAlreadyExists) && args.if_not_exists => {}
        code => anyhow::bail!(
            "cannot create topic '{}': {}",
            args.topic,
            describe_error(code, result.error_message.as_deref())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--config KEY=VALUE`s, in order (Kafka's `parseTopicConfigsToBeAdded`; unlike Kafka's, a value
/// may itself contain `=`). The broker validates names and values.
fn parse_configs(configs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    configs
        .iter()
        .map(|config| {
            config
                .split_once('=')
                .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| anyhow::anyhow!("invalid --config '{config}': expected KEY=VALUE"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_configs;

    #[test]
    fn configs_are_key_value() {
        let parsed = parse_configs(&["retention.ms = 1000".into(), "a=b=c".into()]).unwrap();
        assert_eq!(
            parsed,
            [
                ("retention.ms".to_string(), "1000".to_string()),
                ("a".to_string(), "b=c".to_string())
            ]
        );
        assert_eq!(
            parse_configs(&["cleanup.policy".into()])
                .unwrap_err()
                .to_string(),
            "invalid --config 'cleanup.policy': expected KEY=VALUE"
        );
        assert!(parse_configs(&["=x".into()]).is_err());
    }
}
