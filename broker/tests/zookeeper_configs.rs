//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over TCP against an in-process broker
//! on a real 3-node ensemble (reference §5.4–5.5): effective values with their sources and
//! synonyms, Kafka's error codes and messages per resource, exactly what lands in
//! `/config/topics/<t>`, `/config/brokers/<default>` and `/config/changes` (and nothing on an
//! error or with ValidateOnly), the flexible versions, and the change reaching the live partition.
//!
//! The broker and the test's ZooKeeper client connect to the same ensemble member, so a read made
//! after the broker answered sees its writes (see zookeeper_topics.rs).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{eventually, InProcessBroker};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::{
    alter_configs_request as alter, incremental_alter_configs_request as incremental, AlterConfigsRequest, AlterConfigsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_tests::zookeeper::ZkEnsemble;
use odradek_zk::{KafkaZkClient, ZkClientConfig};

const WAIT: Duration = Duration::from_secs(30);
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn describe(addr: SocketAddr, version: i16, resources: &[(i8, &str)], keys: Option<&[&str]>, synonyms: bool) -> Vec<DescribeConfigsResult> {
    let resources = resources
        .iter()
        .map(|(t, n)| DescribeConfigsResource::default().with_resource_type(*t).with_resource_name(s(n)).with_configuration_keys(keys.map(|k| k.iter().map(|k| s(k)).collect())))
        .collect();
    let request = DescribeConfigsRequest::default().with_resources(resources).with_include_synonyms(synonyms);
    let response: DescribeConfigsResponse = Connection::connect(addr).await.unwrap().send(&request, version).await.unwrap();
    response.results
}

/// `(code, message)` of an AlterConfigs of one resource.
async fn alter_configs(addr: SocketAddr, version: i16, resource: (i8, &str), entries: &[(&str, &str)], validate_only: bool) -> (i16, Option<String>) {
    let configs = entries.iter().map(|(k, v)| alter::AlterableConfig::default().with_name(s(k)).with_value(Some(s(v)))).collect();
    let request = AlterConfigsRequest::default()
        .with_resources(vec![alter::AlterConfigsResource::default().with_resource_type(resource.0).with_resource_name(s(resource.1)).with_configs(configs)])
        .with_validate_only(validate_only);
    let response: AlterConfigsResponse = Connection::connect(addr).await.unwrap().send(&request, version).await.unwrap();
    let r = &response.responses[0];
    assert_eq!((r.resource_type, r.resource_name.as_str()), resource);
    (r.error_code, r.error_message.as_ref().map(|m| m.to_string()))
}

/// `(code, message)` of an IncrementalAlterConfigs of one resource; ops are `(name, op, value)`.
async fn incremental_alter(addr: SocketAddr, version: i16, resource: (i8, &str), ops: &[(&str, i8, Option<&str>)], validate_only: bool) -> (i16, Option<String>) {
    let configs = ops.iter().map(|(k, op, v)| incremental::AlterableConfig::default().with_name(s(k)).with_config_operation(*op).with_value(v.map(s))).collect();
    let request = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![incremental::AlterConfigsResource::default().with_resource_type(resource.0).with_resource_name(s(resource.1)).with_configs(configs)])
        .with_validate_only(validate_only);
    let response: IncrementalAlterConfigsResponse = Connection::connect(addr).await.unwrap().send(&request, version).await.unwrap();
    let r = &response.responses[0];
    assert_eq!((r.resource_type, r.resource_name.as_str()), resource);
    (r.error_code, r.error_message.as_ref().map(|m| m.to_string()))
}

fn entry<'a>(result: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    result.configs.iter().find(|c| c.name.as_str() == name).unwrap_or_else(|| panic!("no {name} in {result:?}"))
}

/// `(value, source)` of one entry.
fn value_source(e: &DescribeConfigsResourceResult) -> (Option<&str>, i8) {
    (e.value.as_deref(), e.config_source)
}

fn synonyms(e: &DescribeConfigsResourceResult) -> Vec<(&str, Option<&str>, i8)> {
    e.synonyms.iter().map(|s| (s.name.as_str(), s.value.as_deref(), s.source)).collect()
}

struct Setup {
    _ensemble: ZkEnsemble,
    broker: InProcessBroker,
    zk: KafkaZkClient,
}

impl Setup {
    /// `path`'s data as text and its mzxid (`None`: no such node).
    async fn node(&self, path: &str) -> Option<(String, i64)> {
        self.zk.get_data_and_stat(path).await.unwrap().map(|(d, stat)| (String::from_utf8(d).unwrap(), stat.mzxid))
    }

    async fn notifications(&self) -> Vec<String> {
        self.zk.get_children("/config/changes").await.unwrap()
    }

    /// The `min.insync.replicas` the live partition `topic`-0 runs with, once it is `expected`.
    async fn wait_min_insync(&self, topic: &str, expected: i32) {
        let rm = self.broker.handle.replica_manager().clone();
        eventually(&format!("{topic}-0 to run with min.insync.replicas={expected}"), WAIT, || {
            let rm = rm.clone();
            async move { (rm.partition(topic, 0)?.min_insync_replicas() == Some(expected)).then_some(()) }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn describe_alter_and_incremental_alter_configs_over_tcp() {
    let _ = tracing_subscriber::fmt().with_env_filter("odradek_broker=info").with_test_writer().try_init();
    let ensemble = tokio::task::spawn_blocking(ZkEnsemble::start).await.unwrap().unwrap();
    let connect = format!("{}/configs_test", ensemble.client_addr(1));
    let zk = KafkaZkClient::connect(ZkClientConfig { connect: connect.clone(), session_timeout: Duration::from_secs(6), connection_timeout: Duration::from_secs(6) }).await.unwrap();
    let zk_connect = format!("zookeeper.connect={connect}");
    // A static log.retention.bytes, so one config comes from server.properties (source 4).
    let broker = InProcessBroker::start(1, &[&zk_connect, "zookeeper.session.timeout.ms=6000", "log.retention.bytes=1000000"]).await.unwrap();
    let addr = broker.addr();
    let setup = Setup { _ensemble: ensemble, broker, zk };

    let topic = CreatableTopic::default().with_name(TopicName(s("orders"))).with_num_partitions(1).with_replication_factor(1).with_configs(vec![
        CreatableTopicConfig::default().with_name(s("retention.ms")).with_value(Some(s("1000"))),
    ]);
    let created: CreateTopicsResponse = eventually("broker 1 to be the controller and create the topic", WAIT, || async {
        let request = CreateTopicsRequest::default().with_topics(vec![topic.clone()]).with_timeout_ms(15_000);
        let r: CreateTopicsResponse = Connection::connect(addr).await.ok()?.send(&request, 4).await.ok()?;
        (r.topics[0].error_code != codes::NOT_CONTROLLER).then_some(r)
    })
    .await;
    assert_eq!(created.topics[0].error_code, codes::NONE, "{created:?}");
    setup.wait_min_insync("orders", 1).await;

    // DescribeConfigs v4 (flexible), every key, with synonyms: the override, the static broker
    // value and Kafka's defaults, each with its source; an unknown topic fails alone.
    let results = describe(addr, 4, &[(TOPIC, "orders"), (TOPIC, "nosuch")], None, true).await;
    let orders = &results[0];
    assert_eq!((orders.error_code, orders.resource_name.as_str()), (codes::NONE, "orders"));
    assert!(orders.configs.len() > 20, "every topic config: {}", orders.configs.len());
    let retention = entry(orders, "retention.ms");
    assert_eq!((value_source(retention), retention.config_type, retention.read_only), ((Some("1000"), 1), 5, false));
    assert_eq!(synonyms(retention), vec![("retention.ms", Some("1000"), 1), ("log.retention.hours", Some("168"), 5)]);
    let bytes = entry(orders, "retention.bytes");
    assert_eq!(value_source(bytes), (Some("1000000"), 4));
    assert_eq!(synonyms(bytes), vec![("log.retention.bytes", Some("1000000"), 4), ("log.retention.bytes", Some("-1"), 5)]);
    assert_eq!(value_source(entry(orders, "segment.bytes")), (Some("1073741824"), 5));
    let min_isr = entry(orders, "min.insync.replicas");
    assert_eq!((value_source(min_isr), min_isr.config_type), ((Some("1"), 5), 3));
    let nosuch = &results[1];
    assert_eq!(
        (nosuch.error_code, nosuch.error_message.as_deref(), nosuch.configs.len()),
        (codes::UNKNOWN_TOPIC_OR_PARTITION, Some("The topic 'nosuch' does not exist."), 0)
    );

    // Without synonyms none are sent; named keys filter; v0 has IsDefault instead of a source.
    let plain = describe(addr, 1, &[(TOPIC, "orders")], Some(&["retention.ms", "min.insync.replicas"]), false).await;
    let names: Vec<&str> = plain[0].configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(plain[0].configs.iter().all(|c| c.synonyms.is_empty()), "{plain:?}");
    let v0 = describe(addr, 0, &[(TOPIC, "orders")], Some(&["retention.ms", "segment.bytes"]), false).await;
    assert_eq!((entry(&v0[0], "retention.ms").is_default, entry(&v0[0], "segment.bytes").is_default), (false, true));

    // AlterConfigs refusals write nothing: an unknown name (INVALID_CONFIG), a bad value
    // (INVALID_REQUEST naming the resource), and anything with ValidateOnly.
    let before = setup.node("/config/topics/orders").await.expect("written at creation");
    assert_eq!(before.0, r#"{"version":1,"config":{"retention.ms":"1000"}}"#);
    let changes_before = setup.notifications().await;
    let r = alter_configs(addr, 0, (TOPIC, "orders"), &[("min.insync.replicas", "2"), ("retention.mss", "5")], false).await;
    assert_eq!(r, (codes::INVALID_CONFIG, Some("Unknown topic config name: retention.mss".into())));
    let r = alter_configs(addr, 1, (TOPIC, "orders"), &[("retention.ms", "abc")], false).await;
    assert_eq!(
        r,
        (
            codes::INVALID_REQUEST,
            Some("Invalid config value for resource ConfigResource(type=TOPIC, name='orders'): Invalid value abc for configuration retention.ms: Not a number of type LONG".into())
        )
    );
    assert_eq!(alter_configs(addr, 1, (TOPIC, "orders"), &[("min.insync.replicas", "2")], true).await, (codes::NONE, None));
    assert_eq!(alter_configs(addr, 1, (TOPIC, "nosuch"), &[("min.insync.replicas", "2")], false).await.0, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert!(setup.node("/config/topics/nosuch").await.is_none());
    assert_eq!(setup.node("/config/topics/orders").await.as_ref(), Some(&before), "refusals and ValidateOnly write nothing");
    assert_eq!(setup.notifications().await, changes_before, "and notify nothing");

    // AlterConfigs v2 (flexible): the entries become the whole override set (retention.ms goes),
    // a notification names the topic, and the live partition takes the new minimum.
    assert_eq!(alter_configs(addr, 2, (TOPIC, "orders"), &[("min.insync.replicas", "2"), ("cleanup.policy", "delete")], false).await, (codes::NONE, None));
    let (json, _) = setup.node("/config/topics/orders").await.unwrap();
    assert_eq!(json, r#"{"version":1,"config":{"cleanup.policy":"delete","min.insync.replicas":"2"}}"#);
    let new: Vec<String> = setup.notifications().await.into_iter().filter(|c| !changes_before.contains(c)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let (notification, _) = setup.node(&format!("/config/changes/{}", new[0])).await.unwrap();
    assert_eq!(notification, r#"{"version":2,"entity_path":"topics/orders"}"#);
    setup.wait_min_insync("orders", 2).await;
    let after = describe(addr, 4, &[(TOPIC, "orders")], Some(&["retention.ms"]), false).await;
    assert_eq!(value_source(entry(&after[0], "retention.ms")), (Some("604800000"), 5), "back to log.retention.hours in ms");

    // IncrementalAlterConfigs v1 (flexible): SET, DELETE and APPEND in request order over the
    // current overrides; then v0 SUBTRACT.
    let ops = [("retention.ms", SET, Some("5000")), ("min.insync.replicas", DELETE, None), ("cleanup.policy", APPEND, Some("compact"))];
    assert_eq!(incremental_alter(addr, 1, (TOPIC, "orders"), &ops, false).await, (codes::NONE, None));
    let (json, _) = setup.node("/config/topics/orders").await.unwrap();
    assert_eq!(json, r#"{"version":1,"config":{"cleanup.policy":"delete,compact","retention.ms":"5000"}}"#);
    setup.wait_min_insync("orders", 1).await;
    assert_eq!(incremental_alter(addr, 0, (TOPIC, "orders"), &[("cleanup.policy", SUBTRACT, Some("delete"))], false).await, (codes::NONE, None));
    let current = setup.node("/config/topics/orders").await.unwrap();
    assert_eq!(current.0, r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"5000"}}"#);
    let after = describe(addr, 4, &[(TOPIC, "orders")], Some(&["cleanup.policy", "retention.ms"]), true).await;
    assert_eq!(value_source(entry(&after[0], "cleanup.policy")), (Some("compact"), 1));
    assert_eq!(synonyms(entry(&after[0], "retention.ms"))[0], ("retention.ms", Some("5000"), 1));

    // Incremental refusals and ValidateOnly write nothing.
    let changes_before = setup.notifications().await;
    let r = incremental_alter(addr, 1, (TOPIC, "orders"), &[("retention.ms", APPEND, Some("1"))], false).await;
    assert_eq!(r, (codes::INVALID_REQUEST, Some("Config value append is not allowed for config key: retention.ms".into())));
    let r = incremental_alter(addr, 1, (TOPIC, "orders"), &[("retention.ms", SET, Some("1")), ("no.such.config", SET, Some("1"))], false).await;
    assert_eq!(r, (codes::INVALID_CONFIG, Some("Unknown topic config name: no.such.config".into())));
    let r = incremental_alter(addr, 1, (TOPIC, "orders"), &[("retention.ms", SET, Some("1")), ("retention.ms", DELETE, None)], false).await;
    assert_eq!(r, (codes::INVALID_REQUEST, Some("Error due to duplicate config keys : retention.ms".into())));
    assert_eq!(incremental_alter(addr, 1, (TOPIC, "orders"), &[("min.insync.replicas", SET, Some("2"))], true).await, (codes::NONE, None));
    assert_eq!(incremental_alter(addr, 0, (TOPIC, "nosuch"), &[("retention.ms", SET, Some("1"))], false).await.0, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(setup.node("/config/topics/orders").await, Some(current), "refusals and ValidateOnly write nothing");
    assert!(setup.node("/config/topics/nosuch").await.is_none());
    assert_eq!(setup.notifications().await, changes_before);

    // Brokers: this broker's id lists its static configs; another id is refused; the cluster
    // default is written to /config/brokers/<default> and reaches a topic without an override.
    let own = describe(addr, 4, &[(BROKER, "1"), (BROKER, "2")], None, true).await;
    let id = entry(&own[0], "broker.id");
    assert_eq!((value_source(id), id.read_only), ((Some("1"), 4), true));
    assert_eq!(value_source(entry(&own[0], "log.retention.bytes")), (Some("1000000"), 4));
    assert_eq!((own[1].error_code, own[1].error_message.as_deref()), (codes::INVALID_REQUEST, Some("Unexpected broker id, expected 1 or empty string, but received 2")));
    assert_eq!(alter_configs(addr, 2, (BROKER, ""), &[("min.insync.replicas", "2")], false).await, (codes::NONE, None));
    assert_eq!(setup.node("/config/brokers/<default>").await.unwrap().0, r#"{"version":1,"config":{"min.insync.replicas":"2"}}"#);
    setup.wait_min_insync("orders", 2).await;
    let default = describe(addr, 4, &[(BROKER, "")], None, true).await;
    assert_eq!(default[0].configs.len(), 1, "{default:?}");
    assert_eq!((default[0].configs[0].name.as_str(), value_source(&default[0].configs[0])), ("min.insync.replicas", (Some("2"), 3)));
    let topic_view = describe(addr, 4, &[(TOPIC, "orders")], Some(&["min.insync.replicas"]), false).await;
    assert_eq!(value_source(entry(&topic_view[0], "min.insync.replicas")), (Some("2"), 3));
    // A topic override wins over the dynamic default; deleting the default leaves the built-in 1.
    assert_eq!(incremental_alter(addr, 1, (TOPIC, "orders"), &[("min.insync.replicas", SET, Some("3"))], false).await.0, codes::NONE);
    setup.wait_min_insync("orders", 3).await;
    assert_eq!(incremental_alter(addr, 1, (TOPIC, "orders"), &[("min.insync.replicas", DELETE, None)], false).await.0, codes::NONE);
    setup.wait_min_insync("orders", 2).await;
    assert_eq!(incremental_alter(addr, 1, (BROKER, ""), &[("min.insync.replicas", DELETE, None)], false).await.0, codes::NONE);
    setup.wait_min_insync("orders", 1).await;
    assert_eq!(alter_configs(addr, 0, (BROKER, "1"), &[("broker.id", "5")], false).await.0, codes::INVALID_REQUEST, "not dynamic");
    assert_eq!(alter_configs(addr, 0, (BROKER, "7"), &[("min.insync.replicas", "2")], false).await.0, codes::INVALID_REQUEST, "another broker's id");
    assert!(setup.node("/config/brokers/7").await.is_none() && setup.node("/config/brokers/1").await.is_none());

    setup.zk.close().await;
    setup.broker.handle.shutdown().await.unwrap();
}
