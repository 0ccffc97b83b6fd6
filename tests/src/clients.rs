//! Where the third-party clients the interop tests drive live: Debian's kcat and the Python venv
//! with confluent-kafka and kafka-python (`scripts/install-deps.sh` installs both).
//!
//! A missing client is a broken test environment, not a reason to pass: every lookup here panics
//! with the command that fixes it instead of letting a test skip quietly.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives one level below the workspace root")
        .to_path_buf()
}

const INSTALL_HINT: &str =
    "run scripts/test.sh (or scripts/install-deps.sh), which installs the interop clients";

/// `kcat` from `PATH`.
pub fn kcat() -> PathBuf {
    find_in_path("kcat").unwrap_or_else(|| panic!("kcat is not on PATH: {INSTALL_HINT}"))
}

/// The venv's Python: `$ODRADEK_VENV/bin/python` if `ODRADEK_VENV` is set, else
/// `<repo>/.venv/bin/python`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("ODRADEK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        panic!("no Python venv at {}: {INSTALL_HINT}", venv.display());
    }
    python
}

/// A script in `tests/interop/`.
pub fn interop_script(name: &str) -> PathBuf {
    let path = repo_root().join("tests").join("interop").join(name);
    assert!(
        path.is_file(),
        "interop script {} is missing",
        path.display()
    );
    path
}

/// Runs `cmd` with `stdin` fed to it, and fails, with the tail of both output streams, unless it
/// exits 0 within `timeout` (a hung client is killed, so a broker that stops answering fails the
/// test instead of hanging it).
pub fn run_checked(
    cmd: &mut Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    what: &str,
) -> anyhow::Result<Output> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {what} ({cmd:?}): {e}"))?;
    let feeder = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
            // A client that exits early closes the pipe; its exit status tells why.
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let report = |headline: String| {
        anyhow::anyhow!(
            "{headline}\n--- {what} stdout (tail) ---\n{}\n--- {what} stderr (tail) ---\n{}",
            tail(&stdout, 4000),
            tail(&stderr, 12000)
        )
    };
    match status {
        None => Err(report(format!(
            "{what} did not finish within {timeout:?}; killed it ({cmd:?})"
        ))),
        Some(status) if !status.success() => {
            Err(report(format!("{what} failed with {status} ({cmd:?})")))
        }
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// The last `max` bytes of `bytes`, lossily decoded, for error messages.
pub fn tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    let mut s = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if start > 0 {
        s.insert_str(0, "[...]\n");
    }
    s
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
