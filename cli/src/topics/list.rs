//! `odradek topics list`: `kafka-topics.sh --list`. Metadata for every topic, the names sorted,
//! one per line; internal topics too unless `--exclude-internal`, as in Kafka.

use std::process::ExitCode;

use clap::Args;

use super::{with_admin, ConnectArgs};

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Leave out internal topics (such as __consumer_offsets).
    #[arg(long)]
    pub exclude_internal: bool,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let metadata = with_admin(&args.connect, async |admin| admin.metadata(None).await)?;
    let mut names: Vec<String> = metadata
        .topics
        .iter()
        .filter(|topic| !(args.exclude_internal && topic.is_internal))
        .filter_map(|topic| topic.name.as_ref().map(|name| name.0.to_string()))
        .collect();
    names.sort();
    // Kafka prints an empty line when there is no topic; nothing is printed here.
    for name in names {
        println!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}
