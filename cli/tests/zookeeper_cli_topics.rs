//! `odradek topics` end to end, as `kafka-topics.sh --bootstrap-server` is used against a real
//! cluster: `cluster up` starts a 3-node ensemble and three brokers; `topics create` makes a topic
//! of 6 partitions and 2 replicas through the controller, `describe` shows every partition led,
//! with the leaders spread over all three brokers, `list` names it, errors from the controller
//! are one line with Kafka's error name, and after `delete` the topic is gone.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{free_broker_base, free_zk_base, odradek, text, Down};

/// How long the cluster may take to make a created topic visible everywhere, and to forget a
/// deleted one.
const SETTLE: Duration = Duration::from_secs(30);

/// One `\tTopic: ...` partition line of `describe`.
#[derive(Debug)]
struct PartitionLine {
    partition: i32,
    leader: Option<i32>,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

fn ids(list: &str) -> Vec<i32> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("broker id"))
        .collect()
}

/// Parses `describe`'s output for `topic`: the topic line's fields, then the partition lines.
fn parse_describe(topic: &str, out: &str) -> (Vec<(String, String)>, Vec<PartitionLine>) {
    let mut lines = out.lines();
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("empty describe output"));
    let fields: Vec<(String, String)> = header
        .split('\t')
        .map(|field| {
            let (k, v) = field
                .split_once(": ")
                .or_else(|| field.strip_suffix(':').map(|k| (k, "")))
                .unwrap_or_else(|| panic!("field {field:?} in {header:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    let partitions = lines
        .map(|line| {
            let values: Vec<&str> = line
                .split('\t')
                .skip(1)
                .map(|f| f.split_once(": ").map_or("", |(_, v)| v))
                .collect();
            let keys: Vec<&str> = line
                .split('\t')
                .skip(1)
                .map(|f| f.split(':').next().unwrap_or(""))
                .collect();
            assert_eq!(
                keys,
                ["Topic", "Partition", "Leader", "Replicas", "Isr"],
                "partition line {line:?}"
            );
            assert!(line.starts_with('\t'), "{line:?}");
            assert_eq!(values[0], topic, "{line:?}");
            PartitionLine {
                partition: values[1].parse().expect("partition"),
                leader: (values[2] != "none").then(|| values[2].parse().expect("leader")),
                replicas: ids(values[3]),
                isr: ids(values[4]),
            }
        })
        .collect();
    (fields, partitions)
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

#[test]
fn topics_create_describe_list_delete() {
    let tmp = tempfile::Builder::new()
        .prefix("odradek-cli-topics-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("cluster");
    let dir_arg = dir.to_string_lossy().into_owned();
    let base = free_broker_base(200).to_string();
    let zk_base = free_zk_base(993).to_string();

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
    assert_eq!(
        bootstrap.split(',').count(),
        3,
        "bootstrap servers {bootstrap:?}"
    );
    let topics = |args: &[&str]| {
        let mut all = vec!["topics"];
        all.extend_from_slice(args);
        all.extend(["--bootstrap-server", &bootstrap]);
        odradek(&all)
    };

    // create
    let create = topics(&[
        "create",
        "--topic",
        "orders",
        "--partitions",
        "6",
        "--replication-factor",
        "2",
    ]);
    assert!(create.status.success(), "create: {}", text(&create.stderr));
    assert_eq!(text(&create.stdout), "Created topic orders.\n");

    // describe, until every broker's metadata has all six partitions led (the controller answers
    // CreateTopics once its own broker knows the leaders; the others learn them right after)
    let deadline = Instant::now() + SETTLE;
    let (fields, partitions) = loop {
        let describe = topics(&["describe", "--topic", "orders"]);
        let out = text(&describe.stdout);
        if describe.status.success() {
            let (fields, partitions) = parse_describe("orders", &out);
            if partitions.len() == 6 && partitions.iter().all(|p| p.leader.is_some()) {
                break (fields, partitions);
            }
        }
        assert!(
            Instant::now() < deadline,
            "describe never showed six led partitions: {out}{}",
            text(&describe.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(field(&fields, "Topic"), "orders");
    assert_eq!(field(&fields, "PartitionCount"), "6");
    assert_eq!(field(&fields, "ReplicationFactor"), "2");
    assert_eq!(field(&fields, "Configs"), "");
    assert_eq!(
        partitions.iter().map(|p| p.partition).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    for p in &partitions {
        assert_eq!(p.replicas.len(), 2, "{p:?}");
        assert_ne!(p.replicas[0], p.replicas[1], "{p:?}");
        assert!(p.replicas.iter().all(|b| (1..=3).contains(b)), "{p:?}");
        let leader = p.leader.expect("led");
        // A new partition's leader is its preferred replica, and its ISR is all its replicas.
        assert_eq!(leader, p.replicas[0], "{p:?}");
        assert_eq!(
            p.isr.iter().collect::<BTreeSet<_>>(),
            p.replicas.iter().collect::<BTreeSet<_>>(),
            "{p:?}"
        );
    }
    let leaders: BTreeSet<i32> = partitions.iter().filter_map(|p| p.leader).collect();
    assert_eq!(
        leaders,
        BTreeSet::from([1, 2, 3]),
        "leaders of {partitions:?}"
    );

    // list, here through the cluster directory instead of --bootstrap-server
    let list = odradek(&["topics", "list", "--dir", &dir_arg]);
    assert!(list.status.success(), "list: {}", text(&list.stderr));
    assert!(
        text(&list.stdout).lines().any(|l| l == "orders"),
        "list: {}",
        text(&list.stdout)
    );

    // the controller's errors, named
    let again = topics(&[
        "create",
        "--topic",
        "orders",
        "--partitions",
        "1",
        "--replication-factor",
        "1",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr)
            .starts_with("odradek: cannot create topic 'orders': TOPIC_ALREADY_EXISTS"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        text(&again.stderr).lines().count(),
        1,
        "{}",
        text(&again.stderr)
    );
    let quiet = topics(&[
        "create",
        "--topic",
        "orders",
        "--partitions",
        "1",
        "--if-not-exists",
    ]);
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    let too_many = topics(&[
        "create",
        "--topic",
        "wide",
        "--partitions",
        "1",
        "--replication-factor",
        "4",
    ]);
    assert_eq!(too_many.status.code(), Some(1));
    assert!(
        text(&too_many.stderr)
            .starts_with("odradek: cannot create topic 'wide': INVALID_REPLICATION_FACTOR"),
        "{}",
        text(&too_many.stderr)
    );
    assert_eq!(
        text(&too_many.stderr).lines().count(),
        1,
        "{}",
        text(&too_many.stderr)
    );

    // delete, then describe fails with one line (every broker forgets the topic shortly after the
    // controller answers)
    let delete = topics(&["delete", "--topic", "orders"]);
    assert!(delete.status.success(), "delete: {}", text(&delete.stderr));
    assert_eq!(text(&delete.stdout), "");
    let deadline = Instant::now() + SETTLE;
    loop {
        let describe = topics(&["describe", "--topic", "orders"]);
        if describe.status.code() == Some(1) {
            assert_eq!(
                text(&describe.stderr),
                "odradek: topic 'orders' does not exist\n"
            );
            assert_eq!(text(&describe.stdout), "");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "orders still described after delete: {}{}",
            text(&describe.stdout),
            text(&describe.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let list = topics(&["list"]);
    assert!(
        !text(&list.stdout).lines().any(|l| l == "orders"),
        "list after delete: {}",
        text(&list.stdout)
    );
    let delete_again = topics(&["delete", "--topic", "orders"]);
    assert_eq!(delete_again.status.code(), Some(1));
    assert_eq!(
        text(&delete_again.stderr),
        "odradek: topic 'orders' does not exist\n"
    );
    let if_exists = topics(&["delete", "--topic", "orders", "--if-exists"]);
    assert!(if_exists.status.success(), "{}", text(&if_exists.stderr));
}
