//! `odradek produce`, `consume --group` and `groups` end to end against a real cluster, as the
//! console tools are used with Kafka: `cluster up` starts a 3-node ensemble and three brokers,
//! `produce` writes 100 keyed records to a 6-partition topic, two `consume --group g` processes
//! share the partitions, and together they print every record exactly once; afterwards
//! `groups describe --group g` shows every partition at lag 0 and `groups list` names `g`.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_broker_base, free_zk_base, odradek, text, Down};

const RECORDS: usize = 100;
const SETTLE: Duration = Duration::from_secs(30);

#[test]
fn produce_consume_as_a_group_then_describe_and_list() {
    let tmp = tempfile::Builder::new()
        .prefix("odradek-cli-groups-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("cluster");
    let dir_arg = dir.to_string_lossy().into_owned();
    let base = free_broker_base(300).to_string();
    let zk_base = free_zk_base(996).to_string();
    let up = odradek(&[
        "cluster",
        "up",
        "--dir",
        &dir_arg,
        "--base-port",
        &base,
        "--zk-base-port",
        &zk_base,
    ]);
    let _down = Down(&dir);
    assert!(
        up.status.success(),
        "cluster up failed: {}",
        text(&up.stderr)
    );
    let bootstrap = text(&up.stdout).trim().to_string();

    let create = odradek(&[
        "topics",
        "create",
        "--topic",
        "clicks",
        "--partitions",
        "6",
        "--replication-factor",
        "2",
        "--bootstrap-server",
        &bootstrap,
    ]);
    assert!(create.status.success(), "create: {}", text(&create.stderr));

    // produce, retrying while the new partitions' leaders become known everywhere
    let input: String = (0..RECORDS)
        .map(|i| format!("key-{i}:value-{i}\n"))
        .collect();
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut producer = Command::new(env!("CARGO_BIN_EXE_odradek"))
            .args([
                "produce",
                "--bootstrap-server",
                &bootstrap,
                "--topic",
                "clicks",
            ])
            .args([
                "--property",
                "parse.key=true",
                "--property",
                "key.separator=:",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn produce");
        producer
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let output = producer.wait_with_output().expect("produce");
        if output.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "produce: {}",
            text(&output.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // two group members, started together so the first rebalance usually includes both
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_odradek"))
                .args([
                    "consume",
                    "--bootstrap-server",
                    &bootstrap,
                    "--topic",
                    "clicks",
                    "--group",
                    "g",
                ])
                .args([
                    "--from-beginning",
                    "--timeout-ms",
                    "15000",
                    "--property",
                    "print.key=true",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn consume")
        })
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for consumer in consumers {
        let output = consumer.wait_with_output().expect("consume");
        assert!(output.status.success(), "consume: {}", text(&output.stderr));
        for line in text(&output.stdout).lines() {
            *seen.entry(line.to_string()).or_default() += 1;
        }
    }
    let expected: BTreeMap<String, usize> = (0..RECORDS)
        .map(|i| (format!("key-{i}\tvalue-{i}"), 1))
        .collect();
    assert_eq!(
        seen, expected,
        "every record exactly once across the two members"
    );

    // describe: every partition committed at the log end
    let describe = odradek(&[
        "groups",
        "describe",
        "--group",
        "g",
        "--bootstrap-server",
        &bootstrap,
    ]);
    assert!(
        describe.status.success(),
        "describe: {}",
        text(&describe.stderr)
    );
    let out = text(&describe.stdout);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.first() == Some(&"g"))
        .collect();
    assert_eq!(rows.len(), 6, "six partitions: {out}");
    for row in &rows {
        assert_eq!(row[1], "clicks", "{out}");
        assert_eq!(row[5], "0", "lag 0: {out}");
    }
    let total: i64 = rows
        .iter()
        .map(|r| r[3].parse::<i64>().expect("current offset"))
        .sum();
    assert_eq!(total, RECORDS as i64, "{out}");

    let list = odradek(&["groups", "list", "--bootstrap-server", &bootstrap]);
    assert!(list.status.success(), "list: {}", text(&list.stderr));
    assert!(
        text(&list.stdout).lines().any(|l| l == "g"),
        "list: {}",
        text(&list.stdout)
    );
}
