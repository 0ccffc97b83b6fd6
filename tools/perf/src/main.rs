//! Thin binary: parse the command line and run one of the library's subcommands.

use clap::{Parser, Subcommand};
use odradek_perf::{consume, create_topic, end_to_end, produce};

#[derive(Parser)]
#[command(name = "odradek-perf", version, about = "Produce/consume benchmarks against any Kafka-compatible broker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send N records in pre-built v2 batches, pipelined, and report throughput and latency.
    Produce(produce::ProduceArgs),
    /// Fetch N records from offset 0 of every partition and report throughput.
    Consume(consume::ConsumeArgs),
    /// Produce at a fixed rate while consuming; report produce-to-consume latency.
    EndToEnd(end_to_end::EndToEndArgs),
    /// Make one broker leader of a new topic by sending it LeaderAndIsr v5 + UpdateMetadata v7.
    CreateTopic(create_topic::CreateTopicArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // One thread: the client should leave the machine's cores to the broker under test.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let ok = runtime.block_on(async {
        match cli.command {
            Command::Produce(args) => produce::run(args).await.map(|r| r.ok),
            Command::Consume(args) => consume::run(args).await.map(|r| r.ok),
            Command::EndToEnd(args) => end_to_end::run(args).await.map(|r| r.ok),
            Command::CreateTopic(args) => create_topic::run(args).await.map(|()| true),
        }
    });
    match ok {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("odradek-perf: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
