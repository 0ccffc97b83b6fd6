//! Running the Python interop scripts of `tests/interop/` in the venv.
//!
//! Each script produces, consumes back and compares by itself, and exits non-zero with a `FAIL:`
//! line at the first mismatch; the Rust side only starts the broker, creates the topic and
//! checks the disk afterwards.

use std::process::{Command, Output};
use std::time::Duration;

use crate::clients::{interop_script, run_checked, venv_python};

/// How long one script run may take.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// Arguments every round-trip script takes (see `tests/interop/common.py`).
#[derive(Debug, Clone)]
pub struct RoundTrip<'a> {
    pub bootstrap: &'a str,
    pub topic: &'a str,
    pub partitions: i32,
    pub count: usize,
    /// `all` or `1`.
    pub acks: &'a str,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: &'a str,
    /// Whether the script asserts every record landed on `murmur2(key) % partitions`.
    pub check_partitioner: bool,
}

impl RoundTrip<'_> {
    /// Runs `script` (e.g. `confluent_roundtrip.py`) with these arguments and `extra`.
    pub fn run(&self, script: &str, extra: &[&str]) -> anyhow::Result<Output> {
        let mut cmd = Command::new(venv_python());
        cmd.arg(interop_script(script))
            .args(["--bootstrap", self.bootstrap, "--topic", self.topic])
            .args([
                "--partitions",
                &self.partitions.to_string(),
                "--count",
                &self.count.to_string(),
            ])
            .args(["--acks", self.acks, "--compression", self.compression])
            .args(["--timeout", "120"]);
        if self.check_partitioner {
            cmd.arg("--check-partitioner");
        }
        cmd.args(extra)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let output = run_checked(&mut cmd, None, SCRIPT_TIMEOUT, script)?;
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        print!("{}", String::from_utf8_lossy(&output.stdout));
        Ok(output)
    }
}
