//! The real-client producer: `tests/interop/chaos_producer.py` (confluent-kafka, librdkafka) in
//! the repo's venv, one JSON line per send on its stdout, stopped by closing its stdin.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::history::{Outcome, SendRecord};
use crate::clients::{interop_script, tail, venv_python};

/// librdkafka's bound on one send (`message.timeout.ms`), retries included.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the script may take to flush and exit once its stdin closes.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(45);

/// A running `chaos_producer.py`.
pub struct PythonProducer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Option<JoinHandle<Vec<(Duration, String)>>>,
    stderr_path: PathBuf,
}

impl PythonProducer {
    /// Starts producer `name` (`c<n>`) against `bootstrap`; its stderr goes to `<dir>/<name>.stderr`.
    /// Report lines are stamped with their arrival time since `clock`.
    pub fn start(
        name: &str,
        bootstrap: &str,
        topic: &str,
        partitions: i32,
        rate: u32,
        clock: Instant,
        dir: &Path,
    ) -> anyhow::Result<PythonProducer> {
        let stderr_path = dir.join(format!("{name}.stderr"));
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("cannot create {}", stderr_path.display()))?;
        let mut child = Command::new(venv_python())
            .arg(interop_script("chaos_producer.py"))
            .args(["--bootstrap", bootstrap, "--topic", topic, "--name", name])
            .args([
                "--partitions",
                &partitions.to_string(),
                "--rate",
                &rate.to_string(),
            ])
            .args([
                "--message-timeout-ms",
                &MESSAGE_TIMEOUT.as_millis().to_string(),
            ])
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .context("cannot start chaos_producer.py")?;
        let stdout = child
            .stdout
            .take()
            .context("the script's stdout is not piped")?;
        let lines = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .map(|line| (clock.elapsed(), line))
                .collect()
        });
        Ok(PythonProducer {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines: Some(lines),
            stderr_path,
        })
    }

    /// Closes the script's stdin, waits for it to flush and exit, and returns its sends.
    pub fn stop(mut self) -> anyhow::Result<Vec<SendRecord>> {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                anyhow::bail!(
                    "{} did not exit within {EXIT_TIMEOUT:?} of its stdin closing\n{}",
                    self.name,
                    self.stderr_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let lines = self
            .lines
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        anyhow::ensure!(
            status.success(),
            "{} exited with {status}\n{}",
            self.name,
            self.stderr_tail()
        );
        lines
            .iter()
            .map(|(at, line)| {
                parse_report(line, *at).with_context(|| format!("{} printed {line:?}", self.name))
            })
            .collect()
    }

    fn stderr_tail(&self) -> String {
        let bytes = std::fs::read(&self.stderr_path).unwrap_or_default();
        format!(
            "--- {} ---\n{}",
            self.stderr_path.display(),
            tail(&bytes, 4000)
        )
    }
}

impl Drop for PythonProducer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One report line of the script.
pub fn parse_report(line: &str, completed_at: Duration) -> anyhow::Result<SendRecord> {
    let json: serde_json::Value = serde_json::from_str(line).context("not JSON")?;
    let field = |name: &str| json.get(name).with_context(|| format!("no {name:?}"));
    let text = |name: &str| -> anyhow::Result<String> {
        field(name)?
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{name:?} is not a string"))
    };
    let int = |name: &str| -> anyhow::Result<i64> {
        field(name)?
            .as_i64()
            .with_context(|| format!("{name:?} is not an integer"))
    };
    let outcome = match json.get("offset") {
        Some(_) => Outcome::Acked {
            offset: int("offset")?,
        },
        None if json.get("definite").and_then(serde_json::Value::as_bool) == Some(true) => {
            Outcome::Failed {
                error: text("error")?,
            }
        }
        None => Outcome::Indeterminate {
            error: text("error")?,
        },
    };
    Ok(SendRecord {
        producer: text("producer")?,
        seq: u64::try_from(int("seq")?).context("negative seq")?,
        value: text("value")?,
        partition: i32::try_from(int("partition")?).context("partition out of range")?,
        requests: None,
        ordered: false,
        outcome,
        completed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_parse_into_sends() {
        let at = Duration::from_millis(1234);
        let acked = parse_report(
            r#"{"producer": "c1", "seq": 7, "value": "c1-7", "partition": 1, "offset": 42}"#,
            at,
        )
        .unwrap();
        assert_eq!(
            acked,
            SendRecord {
                producer: "c1".into(),
                seq: 7,
                value: "c1-7".into(),
                partition: 1,
                requests: None,
                ordered: false,
                outcome: Outcome::Acked { offset: 42 },
                completed_at: at
            }
        );
        let unknown = parse_report(r#"{"producer": "c1", "seq": 8, "value": "c1-8", "partition": 2, "error": "Local: Message timed out", "definite": false}"#, at).unwrap();
        assert_eq!(
            unknown.outcome,
            Outcome::Indeterminate {
                error: "Local: Message timed out".into()
            }
        );
        let refused = parse_report(r#"{"producer": "c1", "seq": 9, "value": "c1-9", "partition": 0, "error": "Local: Unknown partition", "definite": true}"#, at).unwrap();
        assert_eq!(
            refused.outcome,
            Outcome::Failed {
                error: "Local: Unknown partition".into()
            }
        );
        assert!(parse_report(
            r#"{"producer": "c1", "seq": null, "value": "c1-9", "partition": 0, "offset": 1}"#,
            at
        )
        .is_err());
        assert!(parse_report("Traceback (most recent call last):", at).is_err());
    }
}
