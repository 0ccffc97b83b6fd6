//! `odradek consume`: Kafka 2.8's `kafka-console-consumer.sh`. Without `--group` it reads every
//! partition of the topic on its own. With `--group` it is a real group member
//! (`odradek_client::group::GroupMember`): it joins, consumes the partitions assigned to it from
//! the committed offsets (else from `auto.offset.reset`: earliest with `--from-beginning`, else
//! latest), commits after printing each fetch, rejoins when a heartbeat reports a rebalance
//! (committing first, so the next owner starts where it stopped), and on exit commits and leaves.
//!
//! It stops on Ctrl-C or SIGTERM, after `--max-messages`, or when `--timeout-ms` passes without a
//! record, and then prints Kafka's "Processed a total of N messages" on stderr.

mod fetcher;
mod format;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use odradek_client::group::{GroupMember, MemberConfig, Offsets};

use crate::admin::AdminClient;
use crate::connect::{bootstrap, ConnectArgs};
use crate::leaders::{PartitionLeaders, TopicPartition};
use crate::list_offsets::{list_offsets, EARLIEST, LATEST};
use crate::metadata::block_on;
use fetcher::fetch;
use format::{property, Formatter};

#[derive(Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic to read.
    #[arg(long)]
    pub topic: String,
    /// Consume as a member of this group, committing offsets.
    #[arg(long)]
    pub group: Option<String>,
    /// Start from the earliest offset when there is no committed one (else the latest).
    #[arg(long)]
    pub from_beginning: bool,
    /// Exit after this many records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages: Option<u64>,
    /// Exit when no record arrives for this long.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    /// A formatter property: print.key, print.headers, print.timestamp, print.partition,
    /// print.offset, print.value (true|false); key.separator, line.separator, headers.separator,
    /// headers.key.separator.
    #[arg(long = "property", value_name = "NAME=VALUE", value_parser = property)]
    pub properties: Vec<(String, String)>,
}

pub fn run(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let formatter = Formatter::from_properties(&args.properties)?;
    let bootstrap = bootstrap(&args.connect)?;
    let processed = block_on(async move {
        let mut admin = AdminClient::connect(bootstrap.clone_servers()).await?;
        let leaders = PartitionLeaders::load(&mut admin, std::slice::from_ref(&args.topic)).await?;
        let mut consumer = Consumer {
            args: &args,
            formatter,
            admin,
            leaders,
            processed: 0,
            positions: BTreeMap::new(),
        };
        let member = match &args.group {
            Some(group) => {
                let client_id = format!("consumer-{group}-{}", std::process::id());
                let config = MemberConfig::new(group, &client_id, vec![args.topic.clone()]);
                Some(GroupMember::connect(bootstrap.servers.clone(), config).await?)
            }
            None => None,
        };
        consumer.run(member).await?;
        anyhow::Ok(consumer.processed)
    })??;
    eprintln!("Processed a total of {processed} messages");
    Ok(ExitCode::SUCCESS)
}

struct Consumer<'a> {
    args: &'a ConsumeArgs,
    formatter: Formatter,
    admin: AdminClient,
    leaders: PartitionLeaders,
    processed: u64,
    /// The next offset to read per owned partition.
    positions: BTreeMap<TopicPartition, i64>,
}

impl Consumer<'_> {
    async fn run(&mut self, mut member: Option<GroupMember>) -> anyhow::Result<()> {
        let result = self.consume(&mut member).await;
        if let Some(member) = member.as_mut() {
            // Commit what was printed and leave, even after an error.
            let committed = member.commit(&self.positions).await;
            let _ = member.leave().await;
            if result.is_ok() {
                committed?;
            }
        }
        result
    }

    async fn consume(&mut self, member: &mut Option<GroupMember>) -> anyhow::Result<()> {
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        match member.as_mut() {
            Some(member) => self.join(member).await?,
            None => {
                let partitions = self.leaders.partitions();
                self.positions = self.start_positions(&partitions, &Offsets::new()).await?;
            }
        }
        let timeout = self.args.timeout_ms.map(Duration::from_millis);
        let mut last_record = tokio::time::Instant::now();
        let stdout = std::io::stdout();
        loop {
            let fetched = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                fetched = fetch(&mut self.leaders, &self.positions) => fetched?,
            };
            if fetched.stale_metadata {
                self.leaders.refresh(&mut self.admin).await?;
            }
            if !fetched.out_of_range.is_empty() {
                let reset = self
                    .start_positions(&fetched.out_of_range, &Offsets::new())
                    .await?;
                self.positions.extend(reset);
            }
            let mut printed = 0;
            {
                let mut out = stdout.lock();
                'records: for (tp, records) in &fetched.records {
                    for record in records {
                        if self
                            .args
                            .max_messages
                            .is_some_and(|max| self.processed >= max)
                        {
                            break 'records;
                        }
                        self.formatter.write(&mut out, tp.1, record)?;
                        self.processed += 1;
                        printed += 1;
                        self.positions.insert(tp.clone(), record.offset + 1);
                    }
                }
                out.flush()?;
            }
            if printed > 0 {
                last_record = tokio::time::Instant::now();
                if let Some(member) = member.as_mut() {
                    // A refused commit (a rebalance began) is retried by the rejoin below.
                    let _ = member.commit(&self.positions).await;
                }
            }
            if self
                .args
                .max_messages
                .is_some_and(|max| self.processed >= max)
            {
                return Ok(());
            }
            if timeout.is_some_and(|t| last_record.elapsed() >= t) {
                return Ok(());
            }
            if let Some(member) = member.as_mut() {
                if member.rejoin_needed() {
                    let _ = member.commit(&self.positions).await;
                    self.join(member).await?;
                }
            }
        }
    }

    /// Joins the group and positions the consumer on its assignment.
    async fn join(&mut self, member: &mut GroupMember) -> anyhow::Result<()> {
        self.leaders.refresh(&mut self.admin).await?;
        let assignment = member.join(self.leaders.partition_counts()).await?;
        let partitions: Vec<TopicPartition> = assignment
            .topic_partitions()
            .into_iter()
            .filter(|(t, _)| *t == self.args.topic)
            .collect();
        let committed = member.committed(&partitions).await?;
        self.positions = self.start_positions(&partitions, &committed).await?;
        Ok(())
    }

    /// The committed offset of each partition, else `auto.offset.reset`'s.
    async fn start_positions(
        &mut self,
        partitions: &[TopicPartition],
        committed: &Offsets,
    ) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
        let missing: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !committed.contains_key(*tp))
            .cloned()
            .collect();
        let reset = if self.args.from_beginning {
            EARLIEST
        } else {
            LATEST
        };
        let mut positions = if missing.is_empty() {
            BTreeMap::new()
        } else {
            list_offsets(&mut self.leaders, &missing, reset).await?
        };
        for tp in partitions {
            if let Some(&offset) = committed.get(tp) {
                positions.insert(tp.clone(), offset);
            }
        }
        Ok(positions)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
