//! `chaos`: a produce–consume–validate run on a 3-broker cluster under a seeded fault schedule
//! (kill -9, pauses, ZooKeeper session expiry, a leader cut off from ZooKeeper), checked for lost,
//! duplicated, reordered and inconsistent records. docs/CHAOS.md explains the flags, the checker
//! and the output.
//!
//! `cargo run --release -p odradek-tests --bin chaos -- --duration 120 --faults 20 --seed 7`
//!
//! `--backend compose` runs the same workload and checker against the docker-compose project,
//! with container faults (`docker kill`/`start`, `pause`/`unpause`, `network disconnect`/`connect`)
//! and the ZooKeeper kinds `zk-node-kill`, `zk-node-cut`, `zk-majority-loss`:
//! `cargo run --release -p odradek-tests --bin chaos -- --backend compose --kinds kill,pause,zk-cut,zk-node-kill,zk-majority-loss`
//!
//! `--scenario jepsen-2013 [--unclean]` plays a script instead of the schedule: the 2013 Jepsen
//! loss (an ISR shrunk to the leader, `min.insync.replicas=1`, the leader lost, an unclean
//! election), which must FAIL with `--unclean` and PASS without it.
//!
//! Prints the fault log as it happens, then the producers, the checker's table and the verdict
//! on stdout (the brokers' and ZooKeeper's log tails go to stderr when the cluster stops); a
//! failed run also writes its history to the temporary directory unless `--history` named a
//! file. Exits 0 on PASS, 1 on FAIL, 2 when the harness itself failed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use odradek_tests::broker_binary::BROKER_BIN_ENV;
use odradek_tests::chaos::{self, ChaosConfig};

fn main() -> ExitCode {
    let config = match ChaosConfig::from_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{}", chaos::config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chaos: {e:#}");
            return ExitCode::from(2);
        }
    };
    // The compose backend builds its broker image from the same binary (scripts/docker-images.sh).
    let result = select_broker_binary(config.broker_bin.clone()).and_then(|broker| {
        println!("chaos: broker {}", broker.display());
        chaos::run(&config)
    });
    match result {
        Ok(run) => {
            print!("{}", run.summary());
            if run.passed() {
                return ExitCode::SUCCESS;
            }
            if config.history.is_none() {
                match run.write_history(&std::env::temp_dir()) {
                    Ok(path) => println!("history: {}", path.display()),
                    Err(e) => eprintln!("chaos: {e:#}"),
                }
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("chaos: the harness failed: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Points the harness at the broker to run (it reads `$ODRADEK_BROKER_BIN`): `--broker-bin`, else
/// the variable, else `odradek-broker` beside this executable (same profile).
fn select_broker_binary(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match (flag, std::env::var_os(BROKER_BIN_ENV)) {
        (Some(path), _) => path,
        (None, Some(env)) => env.into(),
        (None, None) => std::env::current_exe()
            .context("cannot find this executable")?
            .with_file_name("odradek-broker"),
    };
    anyhow::ensure!(
        path.is_file(),
        "no broker binary at {} (cargo build --release --bin odradek-broker, or --broker-bin)",
        path.display()
    );
    std::env::set_var(BROKER_BIN_ENV, &path);
    Ok(path)
}
