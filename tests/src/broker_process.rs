//! A real `odradek-broker` process in a temporary directory: the unit of the process and interop
//! tests, driven the way an operator drives `kafka-server-start.sh`.
//!
//! The directory holds `server.properties`, the log dir (`logs/`) and the broker's output
//! (`broker.stderr`, plus `broker.stdout` for anything after the ready line). It lives as long as
//! the [`BrokerProcess`], so a restart finds the same log dir. Readiness is the broker's one
//! stdout line `odradek-broker <id> listening on <host>:<port>`; the broker binds port 0 and that
//! line is the only place the chosen port is learnt. A broker with several listeners (a
//! `listeners` override such as `INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0`) adds
//! ` (listeners NAME://addr,...)` to the line: [`BrokerProcess::listener_addr`] gives each one, and
//! a restart binds the same ports again.
//!
//! Failures carry the tail of the broker's stderr, and dropping a `BrokerProcess` prints it (test
//! runners show it only for failed tests), so a red test shows what the broker logged; with
//! `ODRADEK_KEEP_TEST_DIRS=1` the directories are kept for a post-mortem.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::broker_binary::broker_binary;
use crate::clients::tail;

/// How long a broker may take to print its ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERMed broker may take to exit.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

const STDERR_TAIL_BYTES: usize = 12 * 1024;

/// Set to keep brokers' temporary directories (config, log dir, output) after the test.
pub const KEEP_DIRS_ENV: &str = "ODRADEK_KEEP_TEST_DIRS";

/// A running (or stopped, between a kill and a restart) broker process.
pub struct BrokerProcess {
    broker_id: i32,
    overrides: Vec<(String, String)>,
    dir: tempfile::TempDir,
    child: Option<Child>,
    addr: SocketAddr,
    /// Every listener's bound address by name, from the ready line (one `PLAINTEXT` entry for a
    /// single-listener broker).
    listener_addrs: BTreeMap<String, SocketAddr>,
}

impl BrokerProcess {
    /// Starts broker `broker_id` in a fresh temporary directory on `127.0.0.1:0`. `overrides` are
    /// passed as `--override key=value` after the generated `server.properties`, so they win.
    pub fn start(broker_id: i32, overrides: &[(&str, &str)]) -> anyhow::Result<BrokerProcess> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("odradek-broker-{broker_id}-"))
            .tempdir()
            .context("cannot create the broker's temporary directory")?;
        let log_dir = dir.path().join("logs");
        std::fs::create_dir(&log_dir)
            .with_context(|| format!("cannot create {}", log_dir.display()))?;
        write_server_properties(&dir.path().join("server.properties"), broker_id, &log_dir)?;
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut broker = BrokerProcess {
            broker_id,
            overrides,
            dir,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener_addrs: BTreeMap::new(),
        };
        broker.spawn(0)?;
        Ok(broker)
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// The address from the broker's ready line.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the listener named `name` (upper case), from the ready line.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listener_addrs.get(name).copied()
    }

    /// `host:port`, as clients take a bootstrap server.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// The broker's `log.dirs` (one directory).
    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// The temporary directory holding config, logs and output.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where the broker's stderr (its tracing output) goes, across restarts.
    pub fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("broker.stderr")
    }

    /// The last 12 KiB of the broker's stderr.
    pub fn stderr_tail(&self) -> String {
        stderr_tail(&self.stderr_path())
    }

    /// The child's pid while it is held; check [`BrokerProcess::is_running`] before signalling
    /// it, since an exited child reaped by `is_running` frees its pid for reuse.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (not exited, not killed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL, as in a power cut for the process: no flush, no clean-shutdown marker.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("cannot SIGKILL the broker")?;
            child.wait().context("cannot reap the killed broker")?;
        }
        Ok(())
    }

    /// SIGTERM and wait for the exit (a clean shutdown flushes and writes `.kafka_cleanshutdown`).
    /// Returns the exit status; a broker still running after [`SHUTDOWN_TIMEOUT`] is SIGKILLed
    /// and reported as an error.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("the broker is not running")?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .context("cannot SIGTERM the broker")?;
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().context("cannot wait for the broker")? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "broker {} did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM; killed it\n--- broker stderr (tail) ---\n{}",
                    self.broker_id,
                    self.stderr_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the broker again on the same directory and, if it can still be bound, the same port
    /// (passed explicitly, so clients and metadata keep pointing at it). A running broker is
    /// terminated cleanly first. Partitions must be announced again afterwards (LeaderAndIsr with
    /// a higher leader epoch), as a controller would after the broker re-registers.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            let status = self.terminate()?;
            anyhow::ensure!(
                status.success(),
                "broker {} exited with {status} on SIGTERM",
                self.broker_id
            );
        } else if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let port = self.addr.port();
        match self.spawn(port) {
            Ok(()) => Ok(()),
            Err(e) if format!("{e:#}").to_lowercase().contains("in use") => {
                eprintln!(
                    "odradek-tests: port {port} is taken; restarting broker {} on a new port",
                    self.broker_id
                );
                self.spawn(0)
            }
            Err(e) => Err(e),
        }
    }

    fn spawn(&mut self, port: u16) -> anyhow::Result<()> {
        let binary = broker_binary()?;
        let stderr_path = self.stderr_path();
        let mut stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .with_context(|| format!("cannot open {}", stderr_path.display()))?;
        writeln!(
            stderr,
            "==== odradek-tests: starting broker {} on port {port} ====",
            self.broker_id
        )?;
        let stderr_start = stderr.metadata().map(|m| m.len()).unwrap_or(0);

        let mut cmd = Command::new(&binary);
        cmd.arg(self.dir.path().join("server.properties"))
            .arg("--override")
            .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"));
        for (key, value) in &self.overrides {
            // A restart keeps each listener's port (the first start bound port 0).
            let value = if key == "listeners" && port != 0 { pin_listener_ports(value, &self.listener_addrs) } else { value.clone() };
            cmd.arg("--override").arg(format!("{key}={value}"));
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        // The output goes to a file for people to read: no terminal colour codes.
        cmd.env("NO_COLOR", "1");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;

        let stdout = child
            .stdout
            .take()
            .context("the broker's stdout is not piped")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let stdout_path = self.dir.path().join("broker.stdout");
        std::thread::spawn(move || drain_stdout(stdout, &stdout_path, ready_tx));

        let deadline = Instant::now() + READY_TIMEOUT;
        let line = loop {
            match ready_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout)
                | Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Some(status) = child.try_wait().context("cannot wait for the broker")? {
                anyhow::bail!(
                    "broker {} exited with {status} before printing its ready line\n--- broker stderr ---\n{}",
                    self.broker_id,
                    stderr_since(&stderr_path, stderr_start)
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "broker {} printed no ready line within {READY_TIMEOUT:?}; killed it\n--- broker stderr ---\n{}",
                    self.broker_id,
                    stderr_since(&stderr_path, stderr_start)
                );
            }
        };
        let addr = match parse_ready_line(&line, self.broker_id) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        self.addr = addr;
        self.listener_addrs = parse_ready_listeners(&line)?;
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for BrokerProcess {
    /// Kills the broker and prints the tail of its stderr. Test harnesses show a test's output
    /// only when it fails, which is exactly when the broker's side of the story is wanted, whether
    /// the test panicked or returned an error.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let keep = std::env::var_os(KEEP_DIRS_ENV).is_some();
        self.dir.disable_cleanup(keep);
        eprintln!(
            "---- broker {} stderr ({}), tail ----\n{}\n---- end of broker {} stderr; directory {} ----",
            self.broker_id,
            self.stderr_path().display(),
            stderr_tail(&self.stderr_path()),
            self.broker_id,
            if keep { "kept" } else { "deleted (ODRADEK_KEEP_TEST_DIRS=1 keeps it)" }
        );
    }
}

fn write_server_properties(path: &Path, broker_id: i32, log_dir: &Path) -> anyhow::Result<()> {
    let text = format!(
        "# Written by odradek-tests; --override flags on the command line take precedence.\n\
         broker.id={broker_id}\n\
         listeners=PLAINTEXT://127.0.0.1:0\n\
         log.dirs={}\n",
        log_dir.display()
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Copies the broker's stdout to `path`, handing the first ready-looking line to `ready`.
fn drain_stdout(stdout: impl std::io::Read, path: &Path, ready: mpsc::Sender<String>) {
    let mut copy = OpenOptions::new().create(true).append(true).open(path).ok();
    let mut sent = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(file) = copy.as_mut() {
            let _ = writeln!(file, "{line}");
        }
        if !sent && line.starts_with("odradek-broker ") {
            sent = true;
            let _ = ready.send(line);
        }
    }
}

/// Parses `odradek-broker <id> listening on <host>:<port>`.
pub fn parse_ready_line(line: &str, broker_id: i32) -> anyhow::Result<SocketAddr> {
    let malformed = || {
        anyhow::anyhow!("malformed ready line {line:?}: expected `odradek-broker {broker_id} listening on <host>:<port>`")
    };
    let rest = line
        .trim_end()
        .strip_prefix("odradek-broker ")
        .ok_or_else(malformed)?;
    let (id, endpoint) = rest.split_once(" listening on ").ok_or_else(malformed)?;
    // Several listeners: `<host>:<port> (listeners NAME://addr,...)`.
    let endpoint = endpoint.split(" (listeners ").next().unwrap_or(endpoint);
    let id: i32 = id.parse().map_err(|_| malformed())?;
    anyhow::ensure!(
        id == broker_id,
        "ready line {line:?} names broker {id}, expected {broker_id}"
    );
    let addr = endpoint
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("ready line {line:?}: cannot resolve {endpoint:?}: {e}"))?
        .next()
        .ok_or_else(malformed)?;
    anyhow::ensure!(addr.port() != 0, "ready line {line:?} reports port 0");
    Ok(addr)
}

/// Every listener's address from a ready line: the ` (listeners NAME://addr,...)` suffix, or, for a
/// single listener, `PLAINTEXT` at the line's address.
pub fn parse_ready_listeners(line: &str) -> anyhow::Result<BTreeMap<String, SocketAddr>> {
    let Some((_, list)) = line.trim_end().split_once(" (listeners ") else {
        let (_, endpoint) = line.trim_end().split_once(" listening on ").context("no address in the ready line")?;
        let addr = endpoint.to_socket_addrs().ok().and_then(|mut a| a.next()).with_context(|| format!("cannot resolve {endpoint:?}"))?;
        return Ok(BTreeMap::from([("PLAINTEXT".to_string(), addr)]));
    };
    let list = list.strip_suffix(')').with_context(|| format!("ready line {line:?}: unterminated listener list"))?;
    list.split(',')
        .map(|entry| {
            let (name, addr) = entry.split_once("://").with_context(|| format!("ready line {line:?}: {entry:?} is not NAME://addr"))?;
            let addr: SocketAddr = addr.parse().with_context(|| format!("ready line {line:?}: bad address in {entry:?}"))?;
            Ok((name.to_string(), addr))
        })
        .collect()
}

/// `NAME://host:0,...` with each listener's previously bound port in place of 0.
fn pin_listener_ports(listeners: &str, bound: &BTreeMap<String, SocketAddr>) -> String {
    listeners
        .split(',')
        .map(|entry| {
            let entry = entry.trim();
            let name = entry.split_once("://").map(|(n, _)| n.to_ascii_uppercase()).unwrap_or_default();
            match (entry.strip_suffix(":0"), bound.get(&name)) {
                (Some(prefix), Some(addr)) => format!("{prefix}:{}", addr.port()),
                _ => entry.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn stderr_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail(&bytes, STDERR_TAIL_BYTES),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

fn stderr_since(path: &Path, start: u64) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail(
            &bytes[(start as usize).min(bytes.len())..],
            STDERR_TAIL_BYTES,
        ),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_parses() {
        let addr = parse_ready_line("odradek-broker 3 listening on 127.0.0.1:40123", 3).unwrap();
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 40123)));
        let addr = parse_ready_line("odradek-broker 0 listening on localhost:9092\n", 0).unwrap();
        assert_eq!(addr.port(), 9092);
    }

    #[test]
    fn ready_line_with_several_listeners() {
        let line = "odradek-broker 2 listening on 127.0.0.1:4001 (listeners INTERNAL://127.0.0.1:4001,EXTERNAL://127.0.0.1:4002)";
        assert_eq!(parse_ready_line(line, 2).unwrap(), SocketAddr::from(([127, 0, 0, 1], 4001)));
        let all = parse_ready_listeners(line).unwrap();
        assert_eq!(all["EXTERNAL"], SocketAddr::from(([127, 0, 0, 1], 4002)));
        assert_eq!(all.len(), 2);
        let single = parse_ready_listeners("odradek-broker 2 listening on 127.0.0.1:4001").unwrap();
        assert_eq!(single["PLAINTEXT"].port(), 4001);
        assert_eq!(
            pin_listener_ports("INTERNAL://127.0.0.1:0, EXTERNAL://127.0.0.1:0,OTHER://h:0", &all),
            "INTERNAL://127.0.0.1:4001,EXTERNAL://127.0.0.1:4002,OTHER://h:0"
        );
    }

    #[test]
    fn ready_line_rejects_other_brokers_and_garbage() {
        assert!(parse_ready_line("odradek-broker 4 listening on 127.0.0.1:1", 3).is_err());
        assert!(parse_ready_line("odradek-broker 3 listening on 127.0.0.1:0", 3).is_err());
        assert!(parse_ready_line("odradek-broker 3 started", 3).is_err());
        assert!(parse_ready_line("broker 3 listening on 127.0.0.1:1", 3).is_err());
    }
}
