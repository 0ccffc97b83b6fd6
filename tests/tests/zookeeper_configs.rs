//! Dynamic configuration on a 3-broker cluster over a real ZooKeeper ensemble (reference §5):
//! a topic's `min.insync.replicas` changed with IncrementalAlterConfigs or AlterConfigs, or the
//! cluster-wide `<default>`, reaches the live leader through `/config/changes` and decides
//! whether acks=all is taken; a topic config the broker cannot read never lets acks=all through
//! below the topic's minimum; and `odradek configs` end to end.
//!
//! The unreadable config is a real ZooKeeper fault: an ACL on `/config/topics/<t>` that grants
//! ADMIN only (set with zkCli through scripts/zookeeper.sh), so the broker's read gets NOAUTH
//! until the ACL is opened again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{alter_configs_request as alter, incremental_alter_configs_request as incremental};
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::cluster::{wait_until, Cluster, CHROOT};
use odradek_tests::controller_stub::block_on;
use odradek_tests::{unique_topic, wire};
use odradek_zk::{BrokerId, ReplicaAssignment, TopicId};

const BROKERS: [i32; 3] = [1, 2, 3];
/// Bounds every wait for a change to travel through ZooKeeper to the brokers.
const PROPAGATION: Duration = Duration::from_secs(30);
const NOT_ENOUGH_REPLICAS: i16 = 19;
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;

fn start() -> anyhow::Result<Cluster> {
    Cluster::start(&BROKERS, &[("replica.lag.time.max.ms", "2000"), ("controlled.shutdown.retry.backoff.ms", "200")])
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The error code of one produce of one record to `topic`-0 at broker `leader`.
fn produce(cluster: &Cluster, leader: i32, topic: &str, acks: i16) -> anyhow::Result<i16> {
    let batch = wire::encode_batch(&[(None, Some(Bytes::from_static(b"v")))], Compression::None)?;
    let addr = cluster.addr(leader);
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        Ok(wire::produce(&mut conn, topic, 0, batch, acks).await?.error_code)
    })
}

/// Produces with acks=all until the leader answers `expected` (a config change is applied
/// asynchronously on every broker).
fn wait_for_acks_all(cluster: &Cluster, topic: &str, expected: i16, why: &str) -> anyhow::Result<()> {
    let mut last = None;
    let waited = wait_until(PROPAGATION, &format!("acks=all to {topic} to answer {expected} ({why})"), || {
        last = Some(produce(cluster, 1, topic, -1).map_err(|e| e.to_string()));
        (last == Some(Ok(expected))).then_some(())
    });
    waited.map_err(|e| e.context(format!("last answer: {last:?}")))
}

fn isr(cluster: &Cluster, topic: &str) -> Vec<i32> {
    let mut isr = cluster.partitions(1, topic).ok().and_then(|p| p.get(&0).map(|p| p.isr.clone())).unwrap_or_default();
    isr.sort();
    isr
}

/// `(code, message)` of an IncrementalAlterConfigs of one resource at broker `via`.
fn incremental_alter(cluster: &Cluster, via: i32, resource: (i8, &str), ops: &[(&str, i8, Option<&str>)]) -> anyhow::Result<(i16, Option<String>)> {
    let configs = ops.iter().map(|(k, op, v)| incremental::AlterableConfig::default().with_name(s(k)).with_config_operation(*op).with_value(v.map(s))).collect();
    let request = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![incremental::AlterConfigsResource::default().with_resource_type(resource.0).with_resource_name(s(resource.1)).with_configs(configs)]);
    let addr = cluster.addr(via);
    block_on(async move {
        let response: IncrementalAlterConfigsResponse = Connection::connect(addr).await?.send(&request, 1).await?;
        let r = &response.responses[0];
        Ok((r.error_code, r.error_message.as_ref().map(|m| m.to_string())))
    })
}

/// `(code, message)` of an AlterConfigs (the whole override set) of one resource at broker `via`.
fn alter_configs(cluster: &Cluster, via: i32, resource: (i8, &str), entries: &[(&str, &str)]) -> anyhow::Result<(i16, Option<String>)> {
    let configs = entries.iter().map(|(k, v)| alter::AlterableConfig::default().with_name(s(k)).with_value(Some(s(v)))).collect();
    let request = AlterConfigsRequest::default().with_resources(vec![alter::AlterConfigsResource::default().with_resource_type(resource.0).with_resource_name(s(resource.1)).with_configs(configs)]);
    let addr = cluster.addr(via);
    block_on(async move {
        let response: AlterConfigsResponse = Connection::connect(addr).await?.send(&request, 2).await?;
        let r = &response.responses[0];
        Ok((r.error_code, r.error_message.as_ref().map(|m| m.to_string())))
    })
}

/// Whether broker `id`'s log has a line containing every one of `parts`.
fn logged(cluster: &Cluster, id: i32, parts: &[&str]) -> bool {
    let log = std::fs::read_to_string(cluster.brokers[&id].stderr_path()).unwrap_or_default();
    log.lines().any(|line| parts.iter().all(|p| line.contains(p)))
}

#[test]
fn min_insync_replicas_follows_dynamic_configs_and_an_unreadable_config_never_lowers_it() -> anyhow::Result<()> {
    let mut cluster = start()?;
    let zk = cluster.zk()?;
    let ok = (0, None);

    // (a) A live RF-3 topic with min.insync.replicas=2 and broker 3 gone: the ISR [1, 2] takes
    // acks=all until the minimum is raised to 3, and again once the override is deleted.
    let topic = unique_topic("live-min-isr");
    zk.create_topic_with_configs(&topic, &[(0, vec![1, 2, 3])].into_iter().collect(), &[("min.insync.replicas", "2")])?;
    cluster.wait_for_leaders(1, &topic, 1, &[1], PROPAGATION)?;
    assert_eq!(produce(&cluster, 1, &topic, -1)?, 0);
    cluster.broker(3).kill9()?;
    wait_until(PROPAGATION, "the ISR to lose the killed broker", || (isr(&cluster, &topic) == vec![1, 2]).then_some(()))?;
    assert_eq!(produce(&cluster, 1, &topic, -1)?, 0, "ISR [1, 2], min.insync.replicas=2");

    assert_eq!(incremental_alter(&cluster, 2, (TOPIC, &topic), &[("min.insync.replicas", SET, Some("3"))])?, ok);
    assert_eq!(zk.get(&format!("/config/topics/{topic}"))?.as_deref(), Some(r#"{"version":1,"config":{"min.insync.replicas":"3"}}"#));
    wait_for_acks_all(&cluster, &topic, NOT_ENOUGH_REPLICAS, "IncrementalAlterConfigs SET min.insync.replicas=3")?;
    assert_eq!(produce(&cluster, 1, &topic, 1)?, 0, "acks=1 does not care");
    assert_eq!(incremental_alter(&cluster, 2, (TOPIC, &topic), &[("min.insync.replicas", DELETE, None)])?, ok);
    wait_for_acks_all(&cluster, &topic, 0, "DELETE: back to the broker default of 1")?;

    assert_eq!(alter_configs(&cluster, 1, (TOPIC, &topic), &[("min.insync.replicas", "3")])?, ok);
    wait_for_acks_all(&cluster, &topic, NOT_ENOUGH_REPLICAS, "AlterConfigs min.insync.replicas=3")?;
    assert_eq!(alter_configs(&cluster, 1, (TOPIC, &topic), &[])?, ok);
    assert_eq!(zk.get(&format!("/config/topics/{topic}"))?.as_deref(), Some(r#"{"version":1,"config":{}}"#));
    wait_for_acks_all(&cluster, &topic, 0, "AlterConfigs without entries: every override gone")?;

    // The cluster-wide dynamic default reaches a topic without an override; an override wins.
    assert_eq!(alter_configs(&cluster, 2, (BROKER, ""), &[("min.insync.replicas", "3")])?, ok);
    wait_for_acks_all(&cluster, &topic, NOT_ENOUGH_REPLICAS, "brokers/<default> min.insync.replicas=3")?;
    assert_eq!(incremental_alter(&cluster, 2, (TOPIC, &topic), &[("min.insync.replicas", SET, Some("2"))])?, ok);
    wait_for_acks_all(&cluster, &topic, 0, "the topic's 2 over the default's 3")?;
    assert_eq!(incremental_alter(&cluster, 1, (TOPIC, &topic), &[("min.insync.replicas", DELETE, None)])?, ok);
    wait_for_acks_all(&cluster, &topic, NOT_ENOUGH_REPLICAS, "the default's 3 again")?;
    assert_eq!(incremental_alter(&cluster, 1, (BROKER, ""), &[("min.insync.replicas", DELETE, None)])?, ok);
    wait_for_acks_all(&cluster, &topic, 0, "the default deleted: the built-in 1")?;

    // (b) A topic created with min.insync.replicas=3 whose config node the brokers cannot read
    // (an ADMIN-only ACL: NOAUTH), broker 3 still down: the partition is led and takes acks=1,
    // but never acks=all under the broker default of 1 while its config is unknown.
    let hidden = unique_topic("hidden"); // sorts before `topic`: a broker that re-reads its topics in order meets it first
    let config_path = format!("/config/topics/{hidden}");
    let client = zk.client();
    zk.block_on(client.set_or_create_entity_configs("topics", &hidden, &BTreeMap::from([("min.insync.replicas".to_string(), "3".to_string())])))?;
    cluster.ensemble.cli(&["setAcl", &format!("{CHROOT}{config_path}"), "world:anyone:a"])?;
    assert!(zk.get(&config_path).is_err(), "the ACL must make the node unreadable");
    let assignment = BTreeMap::from([(0, ReplicaAssignment::new(vec![BrokerId(1), BrokerId(2), BrokerId(3)]))]);
    zk.block_on(client.create_topic_assignment(&hidden, Some(TopicId::random()), &assignment))?;
    cluster.wait_for_leaders(1, &hidden, 1, &[1], PROPAGATION)?;
    wait_until(PROPAGATION, "broker 1 to fail reading the topic's config", || logged(&cluster, 1, &["cannot read the topic's config", &hidden]).then_some(()))?;
    assert_eq!(isr(&cluster, &hidden), vec![1, 2]);
    assert_eq!(produce(&cluster, 1, &hidden, 1)?, 0, "the partition serves acks=1");
    for attempt in 0..5 {
        assert_eq!(produce(&cluster, 1, &hidden, -1)?, NOT_ENOUGH_REPLICAS, "acks=all with the config unread, attempt {attempt}");
        std::thread::sleep(Duration::from_millis(300));
    }

    // A change notification for the unreadable topic (as `kafka-configs.sh --zookeeper` writes
    // one after the node) fails on every broker; other topics' changes still apply meanwhile.
    zk.block_on(client.create_config_change_notification(&format!("topics/{hidden}")))?;
    assert_eq!(incremental_alter(&cluster, 2, (TOPIC, &topic), &[("min.insync.replicas", SET, Some("3"))])?, ok);
    wait_for_acks_all(&cluster, &topic, NOT_ENOUGH_REPLICAS, "another topic's change during the fault")?;
    assert_eq!(incremental_alter(&cluster, 2, (TOPIC, &topic), &[("min.insync.replicas", DELETE, None)])?, ok);
    wait_for_acks_all(&cluster, &topic, 0, "and its deletion")?;
    assert_eq!(produce(&cluster, 1, &hidden, -1)?, NOT_ENOUGH_REPLICAS, "still unread");

    // Readable again: the retried read applies 3, which ISR [1, 2] still cannot meet.
    cluster.ensemble.cli(&["setAcl", &format!("{CHROOT}{config_path}"), "world:anyone:cdrwa"])?;
    let partition = format!("partition={hidden}-0");
    wait_until(PROPAGATION, "broker 1 to apply the topic's config", || logged(&cluster, 1, &["topic config applied", &partition, "min_insync_replicas=3"]).then_some(()))?;
    assert_eq!(produce(&cluster, 1, &hidden, -1)?, NOT_ENOUGH_REPLICAS, "ISR [1, 2] below the loaded min.insync.replicas=3");

    // The third replica back in the ISR: acks=all is taken.
    cluster.broker(3).restart()?;
    wait_until(PROPAGATION, "broker 3 to rejoin the ISR", || (isr(&cluster, &hidden) == vec![1, 2, 3]).then_some(()))?;
    wait_for_acks_all(&cluster, &hidden, 0, "ISR [1, 2, 3] meets min.insync.replicas=3")?;
    Ok(())
}

/// The `odradek` binary, built beside the broker by `cargo build --workspace --bins`.
fn odradek_binary() -> anyhow::Result<PathBuf> {
    let path = odradek_tests::broker_binary()?.with_file_name("odradek");
    anyhow::ensure!(path.is_file(), "{} is missing: run `cargo build --workspace --bins` (scripts/test.sh does)", path.display());
    Ok(path)
}

struct Cli {
    binary: PathBuf,
    bootstrap: String,
}

impl Cli {
    /// `odradek configs --bootstrap-server ... ARGS`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary).args(["configs", "--bootstrap-server", &self.bootstrap]).args(args).output().expect("cannot run odradek")
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "odradek configs {args:?} failed: {stderr}{stdout}");
        stdout
    }

    /// Runs and expects exit 1 with one line on stderr; returns that line.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "odradek configs {args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", String::from_utf8_lossy(&out.stdout));
        stderr.trim_end().to_string()
    }
}

#[test]
fn odradek_configs_describes_and_alters_topics_and_brokers() -> anyhow::Result<()> {
    let mut cluster = start()?;
    let zk = cluster.zk()?;
    let cli = Cli { binary: odradek_binary()?, bootstrap: cluster.bootstrap() };
    let topic = unique_topic("cli-configs");
    zk.create_topic(&topic, &[(0, vec![1, 2, 3])].into_iter().collect())?;
    for via in BROKERS {
        cluster.wait_for_leaders(via, &topic, 1, &BROKERS, PROPAGATION)?;
    }
    let t = ["--entity-type", "topics", "--entity-name", topic.as_str()];
    let with = |extra: &[&'static str]| -> Vec<&str> { t.iter().copied().chain(extra.iter().copied()).collect() };

    // A fresh topic has no dynamic configs; --all lists the defaults with their synonyms.
    assert_eq!(cli.ok(&with(&["--describe"])), format!("Dynamic configs for topic {topic} are:\n"));
    let all = cli.ok(&with(&["--describe", "--all"]));
    assert!(all.starts_with(&format!("All configs for topic {topic} are:\n")), "{all}");
    assert!(all.contains("\n  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}\n"), "{all}");

    // --add-config sets both; --describe shows them with the topic as their source.
    let add = "retention.ms=3600000,min.insync.replicas=2";
    assert_eq!(cli.ok(&with(&["--alter", "--add-config", add])), format!("Completed updating config for topic {topic}.\n"));
    assert_eq!(zk.get(&format!("/config/topics/{topic}"))?.as_deref(), Some(r#"{"version":1,"config":{"min.insync.replicas":"2","retention.ms":"3600000"}}"#));
    let described = cli.ok(&with(&["--describe"]));
    let mut lines: Vec<&str> = described.lines().skip(1).collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2, DEFAULT_CONFIG:min.insync.replicas=1}",
            "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}",
        ],
        "{described}"
    );

    // --delete-config removes one; the other stays.
    assert_eq!(cli.ok(&with(&["--alter", "--delete-config", "retention.ms"])), format!("Completed updating config for topic {topic}.\n"));
    assert_eq!(zk.get(&format!("/config/topics/{topic}"))?.as_deref(), Some(r#"{"version":1,"config":{"min.insync.replicas":"2"}}"#));
    let described = cli.ok(&with(&["--describe"]));
    let lines: Vec<&str> = described.lines().skip(1).collect();
    assert!(lines.len() == 1 && lines[0].starts_with("  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:"), "{described}");

    // Errors are one line with Kafka's error name, and change nothing.
    let line = cli.fails(&with(&["--alter", "--add-config", "retention.mss=1"]));
    assert_eq!(line, format!("odradek: cannot alter topic {topic}: INVALID_CONFIG: Unknown topic config name: retention.mss"));
    let line = cli.fails(&with(&["--alter", "--add-config", "retention.ms=soon"]));
    assert!(line.starts_with(&format!("odradek: cannot alter topic {topic}: INVALID_REQUEST: ")) && line.contains("retention.ms"), "{line}");
    assert_eq!(cli.fails(&with(&["--alter", "--delete-config", "retention.ms"])), "odradek: Invalid config(s): retention.ms");
    let missing = cli.fails(&["--describe", "--entity-type", "topics", "--entity-name", "no-such-topic"]);
    assert_eq!(missing, "odradek: cannot describe topic no-such-topic: UNKNOWN_TOPIC_OR_PARTITION: The topic 'no-such-topic' does not exist.");
    assert_eq!(zk.get(&format!("/config/topics/{topic}"))?.as_deref(), Some(r#"{"version":1,"config":{"min.insync.replicas":"2"}}"#));

    // Brokers: the cluster-wide default, then broker 1's own layer over it.
    let default = ["--entity-type", "brokers", "--entity-default"];
    let d = |extra: &[&'static str]| -> Vec<&str> { default.iter().copied().chain(extra.iter().copied()).collect() };
    assert_eq!(cli.ok(&d(&["--alter", "--add-config", "log.retention.ms=7200000"])), "Completed updating default config for brokers in the cluster.\n");
    assert_eq!(zk.get("/config/brokers/<default>")?.as_deref(), Some(r#"{"version":1,"config":{"log.retention.ms":"7200000"}}"#));
    let expected_default = "Default configs for brokers in the cluster are:\n  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000}\n";
    wait_until(PROPAGATION, "the default to be described", || (cli.ok(&d(&["--describe"])) == expected_default).then_some(()))?;
    // The topic without a retention override now takes the dynamic default (every broker).
    wait_until(PROPAGATION, "the topic to show the dynamic default retention", || {
        cli.ok(&with(&["--describe", "--all"])).contains("\n  retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000,").then_some(())
    })?;
    assert!(cli.fails(&d(&["--alter", "--add-config", "broker.id=5"])).starts_with("odradek: cannot alter the brokers' default config: INVALID_REQUEST"));
    // A custom config is described without its value, so altering the set without giving it
    // again is refused (AlterConfigs would overwrite it with nothing), as kafka-configs does.
    assert_eq!(cli.ok(&d(&["--alter", "--add-config", "my.custom.setting=secret"])), "Completed updating default config for brokers in the cluster.\n");
    let both = r#"{"version":1,"config":{"log.retention.ms":"7200000","my.custom.setting":"secret"}}"#;
    assert_eq!(zk.get("/config/brokers/<default>")?.as_deref(), Some(both));
    wait_until(PROPAGATION, "the custom default to be described", || {
        cli.ok(&d(&["--describe"])).contains("\n  my.custom.setting=null sensitive=true synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:my.custom.setting=null}\n").then_some(())
    })?;
    let refused = cli.fails(&d(&["--alter", "--add-config", "log.retention.ms=7200001"]));
    assert_eq!(refused, "odradek: All sensitive broker config entries must be specified for --alter, missing entries: Set(my.custom.setting)");
    assert_eq!(zk.get("/config/brokers/<default>")?.as_deref(), Some(both), "nothing written");
    assert_eq!(cli.ok(&d(&["--alter", "--delete-config", "my.custom.setting"])), "Completed updating default config for brokers in the cluster.\n");
    assert_eq!(zk.get("/config/brokers/<default>")?.as_deref(), Some(r#"{"version":1,"config":{"log.retention.ms":"7200000"}}"#));

    let one = ["--entity-type", "brokers", "--entity-name", "1"];
    let b1 = |extra: &[&'static str]| -> Vec<&str> { one.iter().copied().chain(extra.iter().copied()).collect() };
    assert_eq!(cli.ok(&b1(&["--alter", "--add-config", "log.retention.ms=60000"])), "Completed updating config for broker 1.\n");
    assert_eq!(zk.get("/config/brokers/1")?.as_deref(), Some(r#"{"version":1,"config":{"log.retention.ms":"60000"}}"#));
    let want = "  log.retention.ms=60000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=60000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000";
    wait_until(PROPAGATION, "broker 1 to describe its own layer", || {
        let out = cli.ok(&b1(&["--describe"]));
        (out.starts_with("Dynamic configs for broker 1 are:\n") && out.lines().count() == 2 && out.contains(want)).then_some(())
    })?;
    assert_eq!(cli.ok(&["--describe", "--entity-type", "brokers", "--entity-name", "2"]), "Dynamic configs for broker 2 are:\n", "broker 1's layer is its own");
    assert_eq!(cli.ok(&b1(&["--alter", "--delete-config", "log.retention.ms"])), "Completed updating config for broker 1.\n");
    assert_eq!(zk.get("/config/brokers/1")?.as_deref(), Some(r#"{"version":1,"config":{}}"#));
    wait_until(PROPAGATION, "broker 1 to drop its own layer", || (cli.ok(&b1(&["--describe"])) == "Dynamic configs for broker 1 are:\n").then_some(()))?;
    assert_eq!(cli.fails(&b1(&["--alter", "--delete-config", "log.retention.ms"])), "odradek: Invalid config(s): log.retention.ms");
    Ok(())
}
