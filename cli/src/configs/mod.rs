//! `odradek configs`: Kafka 2.8's `kafka-configs.sh --bootstrap-server` for topics and brokers
//! (reference §5.6), with its flags: `--describe [--all]`, `--alter --add-config k=v,k2=[a,b]
//! --delete-config k,k2`, `--entity-type topics|brokers`, `--entity-name N` or
//! `--entity-default`.
//!
//! Topics are described with DescribeConfigs and altered with IncrementalAlterConfigs (SET for
//! `--add-config`, DELETE for `--delete-config`; deleting a key the topic does not set is an
//! error). Brokers are altered as kafka-configs does: the entity's current dynamic entries are
//! described, merged with the change, and sent whole with the legacy AlterConfigs. A broker id is
//! asked at that broker; `--entity-default` (the empty name) at any broker.

mod parse;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request as incremental;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::admin::{describe_error, AdminClient};
use crate::connect::{with_admin, ConnectArgs};
use parse::{Action, Entity};

const TIMEOUT: Duration = Duration::from_secs(30);
const TOPIC: i8 = 2;
const BROKER: i8 = 4;

#[derive(Args)]
pub struct ConfigsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// List configs for the given entity.
    #[arg(long)]
    pub describe: bool,
    /// Alter the configuration for the entity.
    #[arg(long)]
    pub alter: bool,
    /// topics or brokers.
    #[arg(long)]
    pub entity_type: Option<String>,
    /// Name of the entity (topic name or broker id).
    #[arg(long)]
    pub entity_name: Option<String>,
    /// The cluster-wide default (brokers only).
    #[arg(long)]
    pub entity_default: bool,
    /// Key value pairs to add or update: k1=v1,k2=[v1,v2,v2],k3=v3.
    #[arg(long)]
    pub add_config: Option<String>,
    /// Config keys to remove: k1,k2.
    #[arg(long)]
    pub delete_config: Option<String>,
    /// With --describe: every config, not just the dynamic ones.
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: ConfigsArgs) -> anyhow::Result<ExitCode> {
    let action = parse::check(&args)?;
    with_admin(&args.connect, async |admin| match action {
        Action::Describe { entity, all } => describe(admin, entity, all).await,
        Action::Alter { entity, add, delete } => alter(admin, entity, add, delete).await,
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn describe(admin: &mut AdminClient, entity: Entity, all: bool) -> anyhow::Result<()> {
    let names: Vec<String> = match &entity {
        Entity::Topic(Some(name)) => vec![name.clone()],
        Entity::Topic(None) => {
            let metadata = admin.metadata(None).await?;
            let mut names: Vec<String> = metadata.topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect();
            names.sort();
            names
        }
        Entity::Broker(id) => vec![id.map(|i| i.to_string()).unwrap_or_default()],
    };
    for name in names {
        let (resource_type, broker, heading) = match &entity {
            Entity::Topic(_) => (TOPIC, None, format!("configs for topic {name} are:")),
            Entity::Broker(Some(id)) => (BROKER, Some(*id), format!("configs for broker {id} are:")),
            Entity::Broker(None) => (BROKER, None, "configs for brokers in the cluster are:".to_string()),
        };
        let entries = describe_resource(admin, resource_type, &name, broker).await?;
        let dynamic_sources: &[i8] = match &entity {
            Entity::Topic(_) => &[1],
            Entity::Broker(Some(_)) => &[2],
            Entity::Broker(None) => &[3],
        };
        let prefix = if all { "All" } else if matches!(entity, Entity::Broker(None)) { "Default" } else { "Dynamic" };
        println!("{prefix} {heading}");
        for e in entries.iter().filter(|e| all || dynamic_sources.contains(&e.config_source)) {
            println!("  {}", format_entry(e));
        }
    }
    Ok(())
}

async fn describe_resource(admin: &mut AdminClient, resource_type: i8, name: &str, broker: Option<i32>) -> anyhow::Result<Vec<DescribeConfigsResourceResult>> {
    let request = DescribeConfigsRequest::default().with_include_synonyms(true).with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from_string(name.to_string()))
        .with_configuration_keys(None)]);
    let response: DescribeConfigsResponse = admin.send_to_broker(broker, 1..=4, &request, TIMEOUT).await?;
    let result = response.results.into_iter().next().ok_or_else(|| anyhow::anyhow!("the broker's DescribeConfigs response is empty"))?;
    anyhow::ensure!(result.error_code == 0, "cannot describe {}: {}", entity_label(resource_type, name), describe_error(result.error_code, result.error_message.as_deref()));
    Ok(result.configs)
}

/// `name=value sensitive=false synonyms={SOURCE:name=value, ...}`, as kafka-configs prints it.
fn format_entry(e: &DescribeConfigsResourceResult) -> String {
    let value = |v: &Option<StrBytes>, sensitive: bool| if sensitive { "null".to_string() } else { v.as_deref().unwrap_or("null").to_string() };
    let synonyms: Vec<String> = e.synonyms.iter().map(|s| format!("{}:{}={}", source_name(s.source), s.name.as_str(), value(&s.value, e.is_sensitive))).collect();
    format!("{}={} sensitive={} synonyms={{{}}}", e.name.as_str(), value(&e.value, e.is_sensitive), e.is_sensitive, synonyms.join(", "))
}

fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

fn entity_label(resource_type: i8, name: &str) -> String {
    match (resource_type, name) {
        (TOPIC, _) => format!("topic {name}"),
        (_, "") => "the brokers' default config".to_string(),
        _ => format!("broker {name}"),
    }
}

async fn alter(admin: &mut AdminClient, entity: Entity, add: BTreeMap<String, String>, delete: Vec<String>) -> anyhow::Result<()> {
    match entity {
        Entity::Topic(name) => {
            let name = name.ok_or_else(|| anyhow::anyhow!("an entity name must be specified with --alter of topics"))?;
            let current = describe_resource(admin, TOPIC, &name, None).await?;
            let unknown: Vec<&str> = delete.iter().filter(|k| !current.iter().any(|e| e.name.as_str() == k.as_str() && e.config_source == 1)).map(String::as_str).collect();
            anyhow::ensure!(unknown.is_empty(), "Invalid config(s): {}", unknown.join(","));
            let ops = add
                .iter()
                .map(|(k, v)| (k, 0, Some(v.clone())))
                .chain(delete.iter().map(|k| (k, 1, None)))
                .map(|(k, op, v)| incremental::AlterableConfig::default().with_name(StrBytes::from_string(k.clone())).with_config_operation(op).with_value(v.map(StrBytes::from_string)))
                .collect();
            let request = IncrementalAlterConfigsRequest::default().with_resources(vec![incremental::AlterConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(StrBytes::from_string(name.clone()))
                .with_configs(ops)]);
            let response: IncrementalAlterConfigsResponse = admin.send_to_broker(None, 0..=1, &request, TIMEOUT).await?;
            let r = response.responses.first().ok_or_else(|| anyhow::anyhow!("the broker's IncrementalAlterConfigs response is empty"))?;
            anyhow::ensure!(r.error_code == 0, "cannot alter topic {name}: {}", describe_error(r.error_code, r.error_message.as_deref()));
            println!("Completed updating config for topic {name}.");
        }
        Entity::Broker(id) => {
            let name = id.map(|i| i.to_string()).unwrap_or_default();
            let source = if id.is_some() { 2 } else { 3 };
            let current = describe_resource(admin, BROKER, &name, id).await?;
            // A sensitive entry is described without its value (`None`): it cannot be sent back.
            let mut configs: BTreeMap<String, Option<String>> = current
                .iter()
                .filter(|e| e.config_source == source)
                .map(|e| (e.name.to_string(), if e.is_sensitive { None } else { e.value.as_ref().map(|v| v.to_string()) }))
                .collect();
            let unknown: Vec<&str> = delete.iter().filter(|k| !configs.contains_key(k.as_str())).map(String::as_str).collect();
            anyhow::ensure!(unknown.is_empty(), "Invalid config(s): {}", unknown.join(","));
            configs.extend(add.into_iter().map(|(k, v)| (k, Some(v))));
            for k in &delete {
                configs.remove(k);
            }
            // AlterConfigs replaces the whole set: a hidden value would be overwritten with
            // nothing, so kafka-configs refuses unless the command gives it again.
            let hidden: Vec<&str> = configs.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k.as_str()).collect();
            anyhow::ensure!(hidden.is_empty(), "All sensitive broker config entries must be specified for --alter, missing entries: Set({})", hidden.join(", "));
            let configs: BTreeMap<String, String> = configs.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect();
            let entries = configs.into_iter().map(|(k, v)| AlterableConfig::default().with_name(StrBytes::from_string(k)).with_value(Some(StrBytes::from_string(v)))).collect();
            let request = AlterConfigsRequest::default()
                .with_resources(vec![AlterConfigsResource::default().with_resource_type(BROKER).with_resource_name(StrBytes::from_string(name.clone())).with_configs(entries)]);
            let response: AlterConfigsResponse = admin.send_to_broker(id, 0..=2, &request, TIMEOUT).await?;
            let r = response.responses.first().ok_or_else(|| anyhow::anyhow!("the broker's AlterConfigs response is empty"))?;
            anyhow::ensure!(r.error_code == 0, "cannot alter {}: {}", entity_label(BROKER, &name), describe_error(r.error_code, r.error_message.as_deref()));
            match id {
                Some(id) => println!("Completed updating config for broker {id}."),
                None => println!("Completed updating default config for brokers in the cluster."),
            }
        }
    }
    Ok(())
}
