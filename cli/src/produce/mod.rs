//! `odradek produce`: Kafka 2.8's `kafka-console-producer.sh`. Each line of stdin is one record
//! (key and value split at `key.separator` with `--property parse.key=true`), every record
//! carries the `--header`s given, and records go where Kafka's default partitioner puts them.
//! Lines are sent in batches: what arrives within `linger` of the first line (up to
//! `batch.size` records) goes in one Produce per leader, so piped input is fast and typed input
//! is sent line by line. The command fails (exit 1, one line) on the first record it cannot
//! write.

mod partitioner;
pub mod reader;
pub mod sender;

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use tokio::sync::mpsc;

use crate::admin::AdminClient;
use crate::connect::{bootstrap, ConnectArgs};
use crate::leaders::PartitionLeaders;
use crate::metadata::block_on;
use partitioner::Partitioner;
pub use reader::parse_property;
use reader::ReaderConfig;
use sender::{send, ProducerRecord};

/// Kafka's console producer sets `linger.ms` to 1000; a short linger keeps interactive use snappy.
const LINGER: Duration = Duration::from_millis(20);
/// Records per send at most.
const BATCH_RECORDS: usize = 1000;

#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic to write to.
    #[arg(long)]
    pub topic: String,
    /// A reader property: parse.key=true|false, key.separator=SEP (default a tab).
    #[arg(long = "property", value_name = "NAME=VALUE", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,
    /// A header to add to every record.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub headers: Vec<(String, String)>,
    /// Acknowledgements to wait for: -1 (all in-sync replicas), 1 (the leader) or 0 (none).
    #[arg(long, default_value = "-1", allow_hyphen_values = true, value_parser = parse_acks)]
    pub acks: i16,
}

fn parse_acks(value: &str) -> Result<i16, String> {
    match value {
        "-1" | "all" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(format!("'{value}' is not -1, 0 or 1")),
    }
}

pub fn run(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let config = ReaderConfig::from_properties(&args.properties)?;
    let bootstrap = bootstrap(&args.connect)?;
    block_on(async move {
        let mut admin = AdminClient::connect(bootstrap).await?;
        let mut leaders =
            PartitionLeaders::load(&mut admin, std::slice::from_ref(&args.topic)).await?;
        let partitions = leaders
            .partition_counts()
            .get(&args.topic)
            .copied()
            .unwrap_or(0);
        anyhow::ensure!(partitions > 0, "topic '{}' has no partitions", args.topic);
        let headers: Vec<(String, Bytes)> = args
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Bytes::copy_from_slice(v.as_bytes())))
            .collect();
        let mut lines = stdin_lines();
        let mut partitioner = Partitioner::default();
        let mut number = 0u64;
        while let Some(batch) = next_batch(&mut lines).await? {
            let mut records = Vec::with_capacity(batch.len());
            for line in batch {
                number += 1;
                let (key, value) = config.parse(&line, number)?;
                let partition = partitioner.partition(key.as_deref(), partitions);
                records.push(ProducerRecord {
                    partition,
                    key,
                    value,
                    headers: headers.clone(),
                });
            }
            send(&mut admin, &mut leaders, &args.topic, records, args.acks).await?;
            partitioner.on_new_batch();
        }
        Ok(ExitCode::SUCCESS)
    })?
}

/// Stdin's lines, read on a blocking thread (tokio's stdin is one too).
fn stdin_lines() -> mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = mpsc::channel(BATCH_RECORDS);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next lines: the first one waited for, then those arriving within [`LINGER`]. `None` at
/// the end of input.
async fn next_batch(
    lines: &mut mpsc::Receiver<std::io::Result<String>>,
) -> anyhow::Result<Option<Vec<String>>> {
    let Some(first) = lines.recv().await else {
        return Ok(None);
    };
    let mut batch = vec![strip_cr(first?)];
    let deadline = tokio::time::Instant::now() + LINGER;
    while batch.len() < BATCH_RECORDS {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => batch.push(strip_cr(line?)),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(Some(batch))
}

/// Java's `BufferedReader.readLine` ends a line at `\r\n` too.
fn strip_cr(mut line: String) -> String {
    if line.ends_with('\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_kafkas() {
        assert_eq!(parse_acks("-1"), Ok(-1));
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("0"), Ok(0));
        assert_eq!(parse_acks("1"), Ok(1));
        assert!(parse_acks("2").is_err());
    }
}
