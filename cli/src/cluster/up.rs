//! `odradek cluster up`: what is missing installed or built first (ZooKeeper, the broker binary:
//! `prerequisites`), then the ensemble, then the brokers (each detached, in its own process
//! group), then a wait until the controller has told every broker about every broker.
//!
//! Anything that fails after the ensemble started stops what did start, so a failed `up` leaves
//! no processes behind.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::layout::{BrokerFiles, Layout};
use super::{prerequisites, UpArgs};
use crate::{locate, metadata, processes};

/// How long each broker may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the controller may take to push every broker to every broker.
const METADATA_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let layout = Layout::new(&args.dir)?;
    let script = locate::zookeeper_script()?;
    let count = i32::from(args.brokers);
    let brokers: Vec<BrokerFiles> = (1..=count).map(|id| layout.broker(id)).collect();
    let ports: Vec<u16> = (1..=args.brokers)
        .map(|n| {
            args.base_port
                .checked_add(n)
                .context("--base-port plus --brokers exceeds 65535")
        })
        .collect::<anyhow::Result<_>>()?;

    if already_up(&layout, &script, &brokers)? {
        eprintln!(
            "odradek: the cluster in {} is already up",
            layout.dir().display()
        );
        println!("{}", bootstrap(&ports));
        return Ok(ExitCode::SUCCESS);
    }
    prerequisites::ensure_zookeeper()?;
    let bin = prerequisites::ensure_broker(args.broker_bin.as_deref())?;
    for (broker, port) in brokers.iter().zip(&ports) {
        if TcpListener::bind(("127.0.0.1", *port)).is_err() {
            anyhow::bail!("port {port} on 127.0.0.1 (broker {}'s listener) is in use: stop what holds it or pass another --base-port", broker.id);
        }
    }

    std::fs::create_dir_all(layout.dir())
        .with_context(|| format!("cannot create {}", layout.dir().display()))?;
    let zk = processes::zookeeper_sh(
        &script,
        "start",
        &layout.zookeeper_dir(),
        &[&args.zk_base_port.to_string()],
    )?;
    if !zk.success {
        anyhow::bail!(
            "ZooKeeper did not start: {}",
            zk.reason()
                .replace("another BASE_PORT", "another --zk-base-port")
        );
    }
    let connect = zk.stdout.trim().to_string();
    anyhow::ensure!(
        !connect.is_empty(),
        "zookeeper.sh start printed no connect string"
    );

    match start_brokers(&bin, &brokers, &ports, &connect) {
        Ok(()) => {
            println!("{}", bootstrap(&ports));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("odradek: cluster up failed; stopping what started");
            let _ = super::down::stop_all(&layout, &script);
            Err(e)
        }
    }
}

fn bootstrap(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether everything already runs; an error when only part of it does.
fn already_up(
    layout: &Layout,
    script: &std::path::Path,
    brokers: &[BrokerFiles],
) -> anyhow::Result<bool> {
    let running: Vec<i32> = layout
        .brokers()?
        .iter()
        .filter(|b| processes::broker_pid(b).is_some())
        .map(|b| b.id)
        .collect();
    let ensemble_serves = layout.has_ensemble()
        && processes::zookeeper_sh(script, "status", &layout.zookeeper_dir(), &[])?.success;
    let wanted: Vec<i32> = brokers.iter().map(|b| b.id).collect();
    if running.is_empty() && !ensemble_serves {
        return Ok(false);
    }
    if ensemble_serves && running == wanted {
        return Ok(true);
    }
    anyhow::bail!(
        "part of the cluster in {} runs (ensemble {}, brokers {running:?}): run `odradek cluster down --dir {}` first",
        layout.dir().display(),
        if ensemble_serves { "up" } else { "down" },
        layout.dir().display()
    )
}

fn start_brokers(
    bin: &std::path::Path,
    brokers: &[BrokerFiles],
    ports: &[u16],
    connect: &str,
) -> anyhow::Result<()> {
    for (broker, port) in brokers.iter().zip(ports) {
        std::fs::create_dir_all(broker.log_dirs())
            .with_context(|| format!("cannot create {}", broker.log_dirs().display()))?;
        std::fs::write(
            broker.properties(),
            broker.server_properties(*port, connect),
        )
        .with_context(|| format!("cannot write {}", broker.properties().display()))?;
        // A fresh output file per start, so the ready line found is this start's.
        let _ = std::fs::remove_file(broker.output());
        processes::spawn_broker(bin, broker)?;
    }
    for broker in brokers {
        wait_ready(broker)?;
    }
    let expected: Vec<i32> = brokers.iter().map(|b| b.id).collect();
    metadata::block_on(wait_metadata(ports, &expected))?
}

/// Waits for `odradek-broker <id> listening on ...` in the broker's output.
fn wait_ready(broker: &BrokerFiles) -> anyhow::Result<()> {
    let ready = format!("odradek-broker {} listening on ", broker.id);
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let output = std::fs::read_to_string(broker.output()).unwrap_or_default();
        if output.lines().any(|line| line.starts_with(&ready)) {
            return Ok(());
        }
        if processes::broker_pid(broker).is_none() {
            // Read again: the broker may have written its last words after the first read.
            let output = std::fs::read_to_string(broker.output()).unwrap_or_default();
            let last = output
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            anyhow::bail!(
                "broker {} exited while starting: {} (see {})",
                broker.id,
                last.trim(),
                broker.output().display()
            );
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "broker {} not ready within {READY_TIMEOUT:?} (see {})",
                broker.id,
                broker.output().display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls every broker until it lists all `expected` brokers and a controller.
async fn wait_metadata(ports: &[u16], expected: &[i32]) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + METADATA_TIMEOUT;
    for port in ports {
        loop {
            let view = metadata::view(*port, Duration::from_secs(5)).await;
            if view
                .as_ref()
                .is_some_and(|v| v.brokers == expected && v.controller_id >= 0)
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "the broker at 127.0.0.1:{port} does not list brokers {expected:?} and a controller within {METADATA_TIMEOUT:?} (last answer: {view:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
