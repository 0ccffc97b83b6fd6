//! `odradek cluster down`: brokers first, one at a time (each SIGTERM runs a controlled shutdown
//! that moves leadership to the brokers still running), then the ensemble they coordinate
//! through. Idempotent: what is not running is skipped.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::layout::Layout;
use crate::{locate, processes};

/// How long a broker may take to shut down after SIGTERM before it gets SIGKILL.
const BROKER_GRACE: Duration = Duration::from_secs(30);

pub fn run(layout: &Layout) -> anyhow::Result<ExitCode> {
    let script = locate::zookeeper_script()?;
    stop_all(layout, &script)?;
    Ok(ExitCode::SUCCESS)
}

pub fn stop_all(layout: &Layout, script: &Path) -> anyhow::Result<()> {
    for broker in layout.brokers()? {
        if processes::broker_pid(&broker).is_none() {
            continue;
        }
        if processes::stop_broker(&broker, BROKER_GRACE)? {
            eprintln!(
                "odradek: broker {} ignored SIGTERM for {BROKER_GRACE:?}; killed it",
                broker.id
            );
        } else {
            eprintln!("odradek: stopped broker {}", broker.id);
        }
    }
    if layout.zookeeper_dir().is_dir() {
        let zk = processes::zookeeper_sh(script, "stop", &layout.zookeeper_dir(), &[])?;
        anyhow::ensure!(zk.success, "cannot stop ZooKeeper: {}", zk.reason());
    }
    Ok(())
}
