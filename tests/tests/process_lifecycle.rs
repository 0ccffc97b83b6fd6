//! The broker process as an operator sees it: SIGTERM is a clean shutdown (exit 0, the
//! `.kafka_cleanshutdown` marker written, data intact on restart), and a bad configuration is
//! refused with exit code 1 and one stderr line naming the problem.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::controller_stub::announce_leader;
use odradek_tests::wire::{encode_batch, fetch_all, produce};
use odradek_tests::{broker_binary, create_topic, unique_topic, BrokerProcess};

const BROKER_ID: i32 = 6;
const CLEAN_SHUTDOWN_MARKER: &str = ".kafka_cleanshutdown";

#[tokio::test]
async fn sigterm_is_a_clean_shutdown_and_data_survives_restart() -> anyhow::Result<()> {
    let mut broker = BrokerProcess::start(BROKER_ID, &[])?;
    let topic = create_topic(broker.addr(), BROKER_ID, &unique_topic("lifecycle"), 2).await?;
    let mut conn = Connection::connect(broker.addr()).await?;
    let mut sent = [Vec::new(), Vec::new()];
    for round in 0..50 {
        for partition in 0..2 {
            let values: Vec<_> = (0..10)
                .map(|i| {
                    (
                        None,
                        Some(Bytes::from(format!(
                            "p{partition} round {round} record {i}"
                        ))),
                    )
                })
                .collect();
            let ack = produce(
                &mut conn,
                &topic.name,
                partition,
                encode_batch(&values, Compression::None)?,
                -1,
            )
            .await?;
            assert_eq!(ack.error_code, 0);
            assert_eq!(ack.base_offset, sent[partition as usize].len() as i64);
            sent[partition as usize].extend(values.into_iter().map(|(_, v)| v));
        }
    }
    drop(conn);

    assert!(
        !broker.log_dir().join(CLEAN_SHUTDOWN_MARKER).exists(),
        "marker present while the broker runs"
    );
    let status = broker.terminate()?;
    assert!(status.success(), "SIGTERM: broker exited with {status}");
    assert!(
        broker.log_dir().join(CLEAN_SHUTDOWN_MARKER).is_file(),
        "no {CLEAN_SHUTDOWN_MARKER} in {} after a clean shutdown",
        broker.log_dir().display()
    );

    broker.restart()?;
    // Kafka's LogManager deletes the marker once it has loaded the logs, so that a later crash is
    // not mistaken for a clean shutdown and recovery is not skipped.
    assert!(
        !broker.log_dir().join(CLEAN_SHUTDOWN_MARKER).exists(),
        "{CLEAN_SHUTDOWN_MARKER} still present after restart: a crash now would skip recovery"
    );
    announce_leader(broker.addr(), BROKER_ID, &topic, 1, false).await?;
    let mut conn = Connection::connect(broker.addr()).await?;
    for partition in 0..2 {
        let records = fetch_all(&mut conn, &topic.name, partition, 0).await?;
        let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
        assert_eq!(
            values, sent[partition as usize],
            "partition {partition} after a clean restart"
        );
    }
    Ok(())
}

/// Runs the broker binary with `args`, expecting it to exit by itself within 20 s.
fn run_broker_to_exit(args: &[&str], cwd: &Path) -> anyhow::Result<(Option<i32>, String)> {
    let mut child = Command::new(broker_binary()?)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output()?;
            anyhow::bail!(
                "broker {args:?} kept running with a bad configuration; stdout: {}; stderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

fn assert_refused(args: &[&str], cwd: &Path, names: &str) -> anyhow::Result<()> {
    let (code, stderr) = run_broker_to_exit(args, cwd)?;
    assert_eq!(code, Some(1), "broker {args:?} exit code; stderr: {stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "broker {args:?}: expected one stderr line, got:\n{stderr}"
    );
    assert!(
        lines[0].contains(names),
        "broker {args:?}: stderr {:?} does not name {names:?}",
        lines[0]
    );
    Ok(())
}

#[test]
fn bad_configuration_is_refused_with_exit_code_1() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("logs");
    let props = dir.path().join("server.properties");
    std::fs::write(
        &props,
        format!(
            "broker.id={BROKER_ID}\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n",
            log_dir.display()
        ),
    )?;
    let props = props.to_str().expect("temp paths are UTF-8");

    assert_refused(
        &[props, "--override", "broker.id=not-a-number"],
        dir.path(),
        "broker.id",
    )?;
    assert_refused(
        &[props, "--override", "listeners=nonsense"],
        dir.path(),
        "listeners",
    )?;
    assert_refused(
        &[props, "--override", "log.segment.bytes=-5"],
        dir.path(),
        "log.segment.bytes",
    )?;
    let missing = dir.path().join("no-such.properties");
    assert_refused(
        &[missing.to_str().expect("UTF-8")],
        dir.path(),
        "no-such.properties",
    )?;
    Ok(())
}
