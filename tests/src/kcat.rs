//! Driving Debian's kcat (librdkafka 2.0.2) as a producer and as a partition consumer.
//!
//! Records travel as lines `key:value` (`-K:`): kcat splits at the first `:`, so keys must not
//! contain one and values must not contain `\n`. kcat's `-C` here is the simple (group-less)
//! consumer: one partition, `-o beginning` (a ListOffsets), `-e` to exit at the end of the
//! partition. The output format `%o:%k:%s\n` puts the offset first so a test checks offsets too.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::clients::{kcat, run_checked};

/// How long one kcat run may take before the test calls it hung.
pub const KCAT_TIMEOUT: Duration = Duration::from_secs(180);

/// One record as kcat printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KcatRecord {
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// The `-K:` stdin for kcat: one `key:value\n` line per record.
pub fn keyed_lines(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut input = Vec::with_capacity(records.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (key, value) in records {
        assert!(
            !key.contains(&b':') && !key.contains(&b'\n'),
            "kcat keys cannot hold ':' or newlines"
        );
        assert!(!value.contains(&b'\n'), "kcat values cannot hold newlines");
        input.extend_from_slice(key);
        input.push(b':');
        input.extend_from_slice(value);
        input.push(b'\n');
    }
    input
}

/// `kcat -P -K:` of `records` to `topic`, with Kafka's Java partitioner (`murmur2_random`) and any
/// `extra` arguments (e.g. `-z gzip`). Fails unless kcat exits 0 and reports no delivery failure.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    records: &[(Vec<u8>, Vec<u8>)],
    extra: &[&str],
) -> anyhow::Result<()> {
    let mut cmd = Command::new(kcat());
    cmd.args(["-P", "-b", bootstrap, "-t", topic, "-K:"])
        .args(["-X", "topic.partitioner=murmur2_random"])
        .args(["-X", "message.timeout.ms=60000"])
        .args(extra);
    let output = run_checked(
        &mut cmd,
        Some(keyed_lines(records)),
        KCAT_TIMEOUT,
        "kcat producer",
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        !stderr.contains("Delivery failed") && !stderr.contains("ERROR"),
        "kcat producer exited 0 but logged failures:\n{}",
        crate::clients::tail(&output.stderr, 8000)
    );
    Ok(())
}

/// Every record of `topic`-`partition` from the beginning to the end, as kcat prints them.
pub fn consume_partition(
    bootstrap: &str,
    topic: &str,
    partition: i32,
) -> anyhow::Result<Vec<KcatRecord>> {
    let mut cmd = Command::new(kcat());
    cmd.args([
        "-C",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-p",
        &partition.to_string(),
    ])
    .args(["-o", "beginning", "-e", "-f", "%o:%k:%s\\n"]);
    let output = run_checked(
        &mut cmd,
        None,
        KCAT_TIMEOUT,
        &format!("kcat consumer of {topic}-{partition}"),
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        !stderr.contains("ERROR"),
        "kcat consumer of {topic}-{partition} logged errors:\n{}",
        crate::clients::tail(&output.stderr, 8000)
    );
    parse_output(&output.stdout).with_context(|| format!("kcat output for {topic}-{partition}"))
}

/// Parses `%o:%k:%s\n` lines. Keys hold no `:`, so the value is everything after the second `:`.
pub fn parse_output(stdout: &[u8]) -> anyhow::Result<Vec<KcatRecord>> {
    let mut records = Vec::new();
    let body = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    if body.is_empty() {
        return Ok(records);
    }
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        let mut fields = line.splitn(3, |&b| b == b':');
        let (Some(offset), Some(key), Some(value)) = (fields.next(), fields.next(), fields.next())
        else {
            anyhow::bail!(
                "line {n} is not `offset:key:value`: {:?}",
                String::from_utf8_lossy(line)
            );
        };
        let offset = std::str::from_utf8(offset)
            .ok()
            .and_then(|o| o.parse().ok())
            .with_context(|| {
                format!("line {n}: bad offset {:?}", String::from_utf8_lossy(offset))
            })?;
        records.push(KcatRecord {
            offset,
            key: key.to_vec(),
            value: value.to_vec(),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_split_at_the_first_two_colons() {
        let out = b"0:key-1:a:b\x00c\n1:key-2:\n";
        let records = parse_output(out).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            KcatRecord {
                offset: 0,
                key: b"key-1".to_vec(),
                value: b"a:b\x00c".to_vec()
            }
        );
        assert_eq!(records[1].value, b"");
        assert!(parse_output(b"").unwrap().is_empty());
        assert!(parse_output(b"x:k:v\n").is_err());
    }

    #[test]
    fn input_is_one_line_per_record() {
        let lines = keyed_lines(&[(b"k".to_vec(), b"v:1".to_vec()), (b"j".to_vec(), vec![])]);
        assert_eq!(lines, b"k:v:1\nj:\n");
    }
}
