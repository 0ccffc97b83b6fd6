//! `odradek topics describe`: `kafka-topics.sh --describe`. Metadata for one topic or every
//! topic, printed exactly as Kafka 2.8's `TopicCommand` prints it (`TopicDescription` and
//! `PartitionDescription.printDescription`): a tab-separated topic line, then a line per
//! partition, leader `none` when the partition has none.

use std::fmt::Write as _;
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Args;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::ResponseError;

use super::{with_admin, ConnectArgs};
use crate::admin::{describe_error, is};

#[derive(Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic to describe [default: every topic].
    #[arg(long)]
    pub topic: Option<String>,
    /// With --topic: print nothing, and succeed, if the topic does not exist.
    #[arg(long, requires = "topic")]
    pub if_exists: bool,
    /// Leave out internal topics (such as __consumer_offsets).
    #[arg(long)]
    pub exclude_internal: bool,
}

/// What `kafka-topics.sh --describe` shows of a topic (Kafka's `TopicDescription`), from
/// Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    /// Kafka's `Uuid` as its 16 bytes. All zeros (`Uuid.ZERO_UUID`: Metadata before v10 carries
    /// no topic id) is not printed, as in Kafka.
    pub topic_id: [u8; 16],
    pub partitions: Vec<PartitionDescription>,
}

/// One partition's line (Kafka's `PartitionDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    pub partition: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

pub fn run(args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let topic = args.topic.as_deref();
    let requested: Vec<&str> = topic.into_iter().collect();
    let metadata = with_admin(&args.connect, async |admin| {
        admin.metadata(topic.map(|_| requested.as_slice())).await
    })?;
    let mut descriptions = Vec::new();
    for found in &metadata.topics {
        let name = found
            .name
            .as_ref()
            .map(|n| n.0.to_string())
            .unwrap_or_default();
        if args.exclude_internal && found.is_internal {
            continue;
        }
        match found.error_code {
            0 => descriptions.push(description(name, found)),
            code if missing(code) && topic.is_some() => {
                if args.if_exists {
                    return Ok(ExitCode::SUCCESS);
                }
                anyhow::bail!("topic '{name}' does not exist");
            }
            code => anyhow::bail!(
                "cannot describe topic '{name}': {}",
                describe_error(code, None)
            ),
        }
    }
    if let Some(topic) = topic {
        anyhow::ensure!(
            descriptions.iter().any(|d| d.name == topic) || args.if_exists,
            "topic '{topic}' does not exist"
        );
    }
    descriptions.sort_by(|a, b| a.name.cmp(&b.name));
    for description in &descriptions {
        print!("{}", format_description(description));
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a Metadata topic error means "no such topic" (a name Kafka cannot hold included).
pub fn missing(code: i16) -> bool {
    is(code, ResponseError::UnknownTopicOrPartition)
        || is(code, ResponseError::InvalidTopicException)
}

fn description(name: String, topic: &MetadataResponseTopic) -> TopicDescription {
    TopicDescription {
        name,
        topic_id: *topic.topic_id.as_bytes(),
        partitions: topic
            .partitions
            .iter()
            .map(|p| PartitionDescription {
                partition: p.partition_index,
                leader: p.leader_id.0,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
            })
            .collect(),
    }
}

/// Kafka 2.8's `--describe` text for one topic, every line ending in `\n`:
///
/// ```text
/// Topic: T<TAB>TopicId: <id><TAB>PartitionCount: N<TAB>ReplicationFactor: R<TAB>Configs:
/// <TAB>Topic: T<TAB>Partition: 0<TAB>Leader: 1<TAB>Replicas: 1,2<TAB>Isr: 1,2
/// ```
///
/// The topic id is Kafka's `Uuid.toString`, URL-safe base64 without padding. The replication
/// factor is partition 0's replica count, as in Kafka (no reassignment is ever in progress here).
/// `Configs:` lists a topic's non-default configs in Kafka, from DescribeConfigs, which Odradek
/// does not serve yet: it is always empty.
pub fn format_description(topic: &TopicDescription) -> String {
    let mut partitions: Vec<&PartitionDescription> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition);
    let replication_factor = partitions.first().map_or(0, |p| p.replicas.len());
    let mut out = format!("Topic: {}", topic.name);
    if topic.topic_id != [0; 16] {
        let _ = write!(out, "\tTopicId: {}", URL_SAFE_NO_PAD.encode(topic.topic_id));
    }
    let _ = writeln!(
        out,
        "\tPartitionCount: {}\tReplicationFactor: {replication_factor}\tConfigs: ",
        partitions.len()
    );
    for p in partitions {
        let leader = if p.leader < 0 {
            "none".to_string()
        } else {
            p.leader.to_string()
        };
        let _ = writeln!(
            out,
            "\tTopic: {}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
            topic.name,
            p.partition,
            join(&p.replicas),
            join(&p.isr)
        );
    }
    out
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(
        partition: i32,
        leader: i32,
        replicas: &[i32],
        isr: &[i32],
    ) -> PartitionDescription {
        PartitionDescription {
            partition,
            leader,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
        }
    }

    #[test]
    fn kafka_2_8_format() {
        let topic = TopicDescription {
            name: "demo".to_string(),
            topic_id: [
                0x8e, 0x1c, 0x7b, 0x3f, 0x55, 0x0a, 0x4e, 0x2b, 0x9d, 0x61, 0x0f, 0xc2, 0x11, 0xa7,
                0xe4, 0xfe,
            ],
            // Out of order on purpose: partitions print by index.
            partitions: vec![
                partition(2, -1, &[3, 1], &[]),
                partition(0, 1, &[1, 2], &[1, 2]),
                partition(1, 2, &[2, 3], &[2]),
            ],
        };
        assert_eq!(
            format_description(&topic),
            "Topic: demo\tTopicId: jhx7P1UKTiudYQ_CEafk_g\tPartitionCount: 3\tReplicationFactor: 2\tConfigs: \n\
             \tTopic: demo\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n\
             \tTopic: demo\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2\n\
             \tTopic: demo\tPartition: 2\tLeader: none\tReplicas: 3,1\tIsr: \n"
        );
    }

    #[test]
    fn a_zero_topic_id_is_left_out() {
        let topic = TopicDescription {
            name: "t".to_string(),
            topic_id: [0; 16],
            partitions: vec![partition(0, 3, &[3], &[3])],
        };
        assert_eq!(
            format_description(&topic),
            "Topic: t\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n\
             \tTopic: t\tPartition: 0\tLeader: 3\tReplicas: 3\tIsr: 3\n"
        );
    }
}
