//! The processes a local cluster runs: detached brokers recorded in pid files, and
//! `scripts/zookeeper.sh` for the ensemble.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cluster::layout::BrokerFiles;

/// Starts `bin server.properties` in a process group of its own (so the terminal's Ctrl-C and the
/// CLI's exit leave it running), output appended to `broker.log`, and writes its pid file.
pub fn spawn_broker(bin: &Path, broker: &BrokerFiles) -> anyhow::Result<u32> {
    let output_path = broker.output();
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&output_path)
        .with_context(|| format!("cannot open {}", output_path.display()))?;
    let child = Command::new(bin)
        .arg(broker.properties())
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start broker {} ({})", broker.id, bin.display()))?;
    let pid = child.id();
    std::fs::write(broker.pid_file(), format!("{pid}\n"))
        .with_context(|| format!("cannot write {}", broker.pid_file().display()))?;
    Ok(pid)
}

/// The broker's pid if its pid file names a live, non-zombie process whose command line holds
/// its `server.properties` (so a recycled pid is never mistaken for the broker, or signalled).
pub fn broker_pid(broker: &BrokerFiles) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(broker.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(") ")?.1;
    if state.starts_with('Z') {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let properties = broker.properties();
    let needle = properties.as_os_str().as_encoded_bytes();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == needle)
        .then_some(pid)
}

/// Stops the broker: SIGTERM (a controlled shutdown), SIGKILL if it still runs after `grace`.
/// Returns whether it needed the SIGKILL.
pub fn stop_broker(broker: &BrokerFiles, grace: Duration) -> anyhow::Result<bool> {
    let Some(pid) = broker_pid(broker) else {
        let _ = std::fs::remove_file(broker.pid_file());
        return Ok(false);
    };
    let target = Pid::from_raw(pid as i32);
    let _ = kill(target, Signal::SIGTERM);
    let killed = if wait_gone(broker, grace) {
        false
    } else {
        let _ = kill(target, Signal::SIGKILL);
        anyhow::ensure!(
            wait_gone(broker, Duration::from_secs(10)),
            "broker {} (pid {pid}) survived SIGKILL",
            broker.id
        );
        true
    };
    let _ = std::fs::remove_file(broker.pid_file());
    Ok(killed)
}

fn wait_gone(broker: &BrokerFiles, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while broker_pid(broker).is_some() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// What `scripts/zookeeper.sh` printed.
pub struct ScriptOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl ScriptOutput {
    /// The script's last complaint, without its `zookeeper: ` prefix, for a one-line error.
    pub fn reason(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .map(|line| line.strip_prefix("zookeeper: ").unwrap_or(line).to_string())
            .unwrap_or_else(|| "no reason given".to_string())
    }
}

/// Runs `scripts/zookeeper.sh COMMAND DIR ARGS...`.
pub fn zookeeper_sh(
    script: &Path,
    command: &str,
    dir: &Path,
    args: &[&str],
) -> anyhow::Result<ScriptOutput> {
    let output = Command::new(script)
        .arg(command)
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    Ok(ScriptOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
