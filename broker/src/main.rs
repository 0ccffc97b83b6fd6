//! `odradek-broker [server.properties] [--override key=value]...`, like `kafka-server-start.sh`.
//! Prints one line `odradek-broker <id> listening on <host>:<port>` on stdout when ready (the
//! first advertised host with the first listener's bound port); with several listeners the line
//! goes on with ` (listeners NAME://host:port,...)`, every listener's bound address. Logs go
//! to stderr (`RUST_LOG` filters them). SIGTERM or SIGINT shuts down cleanly.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser)]
#[command(name = "odradek-broker", about = "Odradek broker (Kafka 2.8 classic architecture)", version)]
struct Args {
    /// server.properties with Kafka's key names.
    config: Option<PathBuf>,
    /// Override a config key, e.g. `--override broker.id=1` (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = match odradek_broker::KafkaConfig::load(args.config.as_deref(), &args.overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("odradek-broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("odradek-broker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let broker_id = config.broker_id;
        // Handlers first: a SIGTERM sent as soon as the ready line appears must shut down cleanly.
        let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(t), Ok(i)) => (t, i),
            _ => {
                eprintln!("odradek-broker: cannot install signal handlers");
                return ExitCode::FAILURE;
            }
        };
        let broker = match odradek_broker::start(config).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("odradek-broker: {e}");
                return ExitCode::FAILURE;
            }
        };
        let ep = broker.endpoint();
        let mut ready = format!("odradek-broker {broker_id} listening on {}:{}", ep.host, broker.local_addr().port());
        if broker.listener_addrs().len() > 1 {
            let all: Vec<String> = broker.listener_addrs().iter().map(|(name, addr)| format!("{name}://{addr}")).collect();
            ready.push_str(&format!(" (listeners {})", all.join(",")));
        }
        println!("{ready}");
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        match broker.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("odradek-broker: unclean shutdown: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
