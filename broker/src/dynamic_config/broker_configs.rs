//! Dynamic broker configs, Kafka's `DynamicBrokerConfig`: the layers a broker config's value
//! comes from, highest first (reference §5.3):
//!
//! 1. `/config/brokers/<id>` (DYNAMIC_BROKER_CONFIG, source 2),
//! 2. `/config/brokers/<default>` (DYNAMIC_DEFAULT_BROKER_CONFIG, 3),
//! 3. `server.properties` and `--override` (STATIC_BROKER_CONFIG, 4),
//! 4. Kafka's built-in default (DEFAULT_CONFIG, 5).
//!
//! [`DynamicBrokerConfig::effective`] is the `KafkaConfig` parsed from all layers merged, so the
//! synonym rules (`log.retention.ms` over `…minutes` over `…hours`) stay in one place, the
//! config parser. Partitions take their log defaults and `min.insync.replicas` from it, and the
//! controller its `unclean.leader.election.enable`.
//!
//! Which names may change: [`BROKER_CONFIGS`] marks Kafka's cluster-wide dynamic set (which may
//! also be set per broker). Odradek acts on the log defaults, `min.insync.replicas` and
//! `unclean.leader.election.enable`; the thread-pool, cleaner and connection settings are
//! validated and stored but change nothing here (the pools they size do not exist).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tracing::{error, info};

use crate::config::{KafkaConfig, ACCEPTED_UNUSED_KEYS, KNOWN_KEYS};
use crate::topic_config;

/// How a broker config's value is checked (`ConfigDef` types and validators).
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// As its topic-level synonym (same type and range).
    AsTopic(&'static str),
    Int { min: i64 },
    Long { min: i64 },
    Double,
    Any,
}

/// One broker config: name, Kafka 2.8's default (`None` = null), whether it is dynamic.
#[derive(Debug, Clone, Copy)]
pub struct BrokerConfigDef {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub dynamic: bool,
    pub check: Check,
}

const fn def(name: &'static str, default: Option<&'static str>, dynamic: bool, check: Check) -> BrokerConfigDef {
    BrokerConfigDef { name, default, dynamic, check }
}

const MAX_LONG: Option<&str> = Some("9223372036854775807");
const MAX_INT: Option<&str> = Some("2147483647");

/// The broker configs Odradek describes, with Kafka 2.8's defaults. Dynamic ones first.
pub const BROKER_CONFIGS: &[BrokerConfigDef] = &[
    def("log.segment.bytes", Some("1073741824"), true, Check::AsTopic("segment.bytes")),
    def("log.roll.ms", None, true, Check::AsTopic("segment.ms")),
    def("log.roll.hours", Some("168"), true, Check::Int { min: 1 }),
    def("log.roll.jitter.ms", None, true, Check::AsTopic("segment.jitter.ms")),
    def("log.roll.jitter.hours", Some("0"), true, Check::Int { min: 0 }),
    def("log.index.size.max.bytes", Some("10485760"), true, Check::Int { min: 4 }),
    def("log.flush.interval.messages", MAX_LONG, true, Check::Long { min: 1 }),
    def("log.flush.interval.ms", None, true, Check::AsTopic("flush.ms")),
    def("log.retention.bytes", Some("-1"), true, Check::AsTopic("retention.bytes")),
    def("log.retention.ms", None, true, Check::Long { min: i64::MIN }),
    def("log.retention.minutes", None, true, Check::Int { min: i32::MIN as i64 }),
    def("log.retention.hours", Some("168"), true, Check::Int { min: i32::MIN as i64 }),
    def("log.index.interval.bytes", Some("4096"), true, Check::AsTopic("index.interval.bytes")),
    def("log.cleaner.delete.retention.ms", Some("86400000"), true, Check::AsTopic("delete.retention.ms")),
    def("log.cleaner.min.compaction.lag.ms", Some("0"), true, Check::AsTopic("min.compaction.lag.ms")),
    def("log.cleaner.max.compaction.lag.ms", MAX_LONG, true, Check::AsTopic("max.compaction.lag.ms")),
    def("log.cleaner.min.cleanable.ratio", Some("0.5"), true, Check::AsTopic("min.cleanable.dirty.ratio")),
    def("log.cleanup.policy", Some("delete"), true, Check::AsTopic("cleanup.policy")),
    def("log.segment.delete.delay.ms", Some("60000"), true, Check::AsTopic("file.delete.delay.ms")),
    def("unclean.leader.election.enable", Some("false"), true, Check::AsTopic("unclean.leader.election.enable")),
    def("min.insync.replicas", Some("1"), true, Check::AsTopic("min.insync.replicas")),
    def("message.max.bytes", Some("1048588"), true, Check::AsTopic("max.message.bytes")),
    def("compression.type", Some("producer"), true, Check::AsTopic("compression.type")),
    def("log.preallocate", Some("false"), true, Check::AsTopic("preallocate")),
    def("log.message.timestamp.type", Some("CreateTime"), true, Check::AsTopic("message.timestamp.type")),
    def("log.message.timestamp.difference.max.ms", MAX_LONG, true, Check::AsTopic("message.timestamp.difference.max.ms")),
    def("log.message.downconversion.enable", Some("true"), true, Check::AsTopic("message.downconversion.enable")),
    def("log.cleaner.threads", Some("1"), true, Check::Int { min: 0 }),
    def("log.cleaner.io.max.bytes.per.second", Some("1.7976931348623157E308"), true, Check::Double),
    def("log.cleaner.dedupe.buffer.size", Some("134217728"), true, Check::Long { min: i64::MIN }),
    def("log.cleaner.io.buffer.size", Some("524288"), true, Check::Int { min: 0 }),
    def("log.cleaner.io.buffer.load.factor", Some("0.9"), true, Check::Double),
    def("log.cleaner.backoff.ms", Some("15000"), true, Check::Long { min: 0 }),
    def("num.io.threads", Some("8"), true, Check::Int { min: 1 }),
    def("num.network.threads", Some("3"), true, Check::Int { min: 1 }),
    def("num.replica.fetchers", Some("1"), true, Check::Int { min: 1 }),
    def("num.recovery.threads.per.data.dir", Some("1"), true, Check::Int { min: 1 }),
    def("background.threads", Some("10"), true, Check::Int { min: 1 }),
    def("max.connections", MAX_INT, true, Check::Int { min: 0 }),
    def("max.connection.creation.rate", MAX_INT, true, Check::Int { min: 0 }),
    def("max.connections.per.ip", MAX_INT, true, Check::Int { min: 0 }),
    def("max.connections.per.ip.overrides", Some(""), true, Check::Any),
    def("metric.reporters", Some(""), true, Check::Any),
    def("leader.replication.throttled.rate", MAX_LONG, true, Check::Long { min: 0 }),
    def("follower.replication.throttled.rate", MAX_LONG, true, Check::Long { min: 0 }),
    def("replica.alter.log.dirs.io.max.bytes.per.second", MAX_LONG, true, Check::Long { min: 0 }),
    // Read-only: changing them needs a restart.
    def("broker.id", Some("-1"), false, Check::Any),
    def("log.dirs", None, false, Check::Any),
    def("log.dir", Some("/tmp/kafka-logs"), false, Check::Any),
    def("listeners", None, false, Check::Any),
    def("advertised.listeners", None, false, Check::Any),
    def("zookeeper.connect", None, false, Check::Any),
    def("num.partitions", Some("1"), false, Check::Any),
    def("default.replication.factor", Some("1"), false, Check::Any),
    def("auto.create.topics.enable", Some("true"), false, Check::Any),
    def("delete.topic.enable", Some("true"), false, Check::Any),
    def("log.flush.scheduler.interval.ms", MAX_LONG, false, Check::Any),
    def("log.retention.check.interval.ms", Some("300000"), false, Check::Any),
    def("log.message.format.version", Some("2.8-IV1"), false, Check::Any),
    def("inter.broker.protocol.version", Some("2.8-IV1"), false, Check::Any),
    def("replica.lag.time.max.ms", Some("30000"), false, Check::Any),
];

/// Kafka's `LogConfig.TopicConfigSynonyms` (with `DynamicBrokerConfig.brokerConfigSynonyms`):
/// the broker configs a topic config falls back to, in precedence order.
pub fn topic_config_synonyms(topic_config: &str) -> &'static [&'static str] {
    match topic_config {
        "segment.bytes" => &["log.segment.bytes"],
        "segment.ms" => &["log.roll.ms", "log.roll.hours"],
        "segment.jitter.ms" => &["log.roll.jitter.ms", "log.roll.jitter.hours"],
        "segment.index.bytes" => &["log.index.size.max.bytes"],
        "flush.messages" => &["log.flush.interval.messages"],
        "flush.ms" => &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "retention.bytes" => &["log.retention.bytes"],
        "retention.ms" => &["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        "max.message.bytes" => &["message.max.bytes"],
        "index.interval.bytes" => &["log.index.interval.bytes"],
        "delete.retention.ms" => &["log.cleaner.delete.retention.ms"],
        "min.compaction.lag.ms" => &["log.cleaner.min.compaction.lag.ms"],
        "max.compaction.lag.ms" => &["log.cleaner.max.compaction.lag.ms"],
        "file.delete.delay.ms" => &["log.segment.delete.delay.ms"],
        "min.cleanable.dirty.ratio" => &["log.cleaner.min.cleanable.ratio"],
        "cleanup.policy" => &["log.cleanup.policy"],
        "unclean.leader.election.enable" => &["unclean.leader.election.enable"],
        "min.insync.replicas" => &["min.insync.replicas"],
        "compression.type" => &["compression.type"],
        "preallocate" => &["log.preallocate"],
        "message.format.version" => &["log.message.format.version"],
        "message.timestamp.type" => &["log.message.timestamp.type"],
        "message.timestamp.difference.max.ms" => &["log.message.timestamp.difference.max.ms"],
        "message.downconversion.enable" => &["log.message.downconversion.enable"],
        _ => &[],
    }
}

pub fn broker_config_def(name: &str) -> Option<&'static BrokerConfigDef> {
    BROKER_CONFIGS.iter().find(|d| d.name == name)
}

/// `DynamicBrokerConfig.validate` for one layer's complete new contents: every name must be
/// dynamic (a name Kafka knows that is not dynamic is refused; a name it does not know at all
/// is a custom config and accepted), every value must parse, and the merged result must still
/// be a valid broker config. The error is Kafka's `ConfigException` message.
pub fn validate_layer(static_props: &BTreeMap<String, String>, layer: &BTreeMap<String, String>) -> Result<(), String> {
    let non_dynamic: Vec<&str> = layer
        .keys()
        .filter(|k| match broker_config_def(k) {
            Some(d) => !d.dynamic,
            None => KNOWN_KEYS.contains(&k.as_str()) || ACCEPTED_UNUSED_KEYS.contains(&k.as_str()),
        })
        .map(String::as_str)
        .collect();
    if !non_dynamic.is_empty() {
        return Err(format!("Cannot update these configs dynamically: Set({})", non_dynamic.join(", ")));
    }
    for (name, value) in layer {
        if let Some(d) = broker_config_def(name) {
            check_value(d, value)?;
        }
    }
    KafkaConfig::from_props(&merge(static_props, &[layer])).map(drop).map_err(|e| e.to_string())
}

fn check_value(d: &BrokerConfigDef, value: &str) -> Result<(), String> {
    let invalid = |reason: &str| format!("Invalid value {value} for configuration {}: {reason}", d.name);
    let v = value.trim();
    match d.check {
        Check::AsTopic(topic) => topic_config::validate_value_as(d.name, topic, value).map_err(|e| e.to_string()),
        Check::Int { min } => match v.parse::<i32>() {
            Ok(n) if i64::from(n) >= min => Ok(()),
            Ok(_) => Err(invalid(&format!("Value must be at least {min}"))),
            Err(_) => Err(invalid("Not a number of type INT")),
        },
        Check::Long { min } => match v.parse::<i64>() {
            Ok(n) if n >= min => Ok(()),
            Ok(_) => Err(invalid(&format!("Value must be at least {min}"))),
            Err(_) => Err(invalid("Not a number of type LONG")),
        },
        Check::Double => v.parse::<f64>().map(drop).map_err(|_| invalid("Not a number of type DOUBLE")),
        Check::Any => Ok(()),
    }
}

/// `static` with each layer laid over it in turn (later layers win); only names the config
/// parser knows are kept (custom names and unused dynamic ones change nothing it parses).
fn merge(static_props: &BTreeMap<String, String>, layers: &[&BTreeMap<String, String>]) -> BTreeMap<String, String> {
    let mut merged = static_props.clone();
    for layer in layers {
        for (k, v) in layer.iter() {
            if KNOWN_KEYS.contains(&k.as_str()) || ACCEPTED_UNUSED_KEYS.contains(&k.as_str()) {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    merged
}

/// Which dynamic layer an update is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `/config/brokers/<default>`.
    ClusterDefault,
    /// `/config/brokers/<this broker's id>`.
    PerBroker,
}

/// The layers' contents, as DescribeConfigs shows them.
#[derive(Debug, Clone, Default)]
pub struct BrokerConfigLayers {
    pub per_broker: BTreeMap<String, String>,
    pub cluster_default: BTreeMap<String, String>,
    pub static_props: BTreeMap<String, String>,
}

impl BrokerConfigLayers {
    /// The first layer (highest precedence) that sets `name`: `(value, source)`.
    pub fn lookup(&self, name: &str) -> Option<(&str, i8)> {
        self.sources(name).into_iter().next()
    }

    /// Every layer that sets `name`, highest first, with Kafka's `ConfigSource` ids (5 for a
    /// built-in default that is not null).
    pub fn sources(&self, name: &str) -> Vec<(&str, i8)> {
        let mut found = Vec::new();
        for (layer, source) in [(&self.per_broker, 2), (&self.cluster_default, 3), (&self.static_props, 4)] {
            if let Some(v) = layer.get(name) {
                found.push((v.as_str(), source));
            }
        }
        if let Some(default) = broker_config_def(name).and_then(|d| d.default) {
            found.push((default, 5));
        }
        found
    }
}

/// The broker's dynamic config: the layers and the `KafkaConfig` they add up to.
pub struct DynamicBrokerConfig {
    broker_id: i32,
    state: RwLock<State>,
}

struct State {
    layers: BrokerConfigLayers,
    effective: Arc<KafkaConfig>,
}

impl DynamicBrokerConfig {
    /// Starts from the static config (no dynamic layers yet).
    pub fn new(static_config: &KafkaConfig) -> DynamicBrokerConfig {
        let layers = BrokerConfigLayers { static_props: static_config.props.clone(), ..Default::default() };
        DynamicBrokerConfig { broker_id: static_config.broker_id, state: RwLock::new(State { layers, effective: Arc::new(static_config.clone()) }) }
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// The effective broker config (all layers merged).
    pub fn effective(&self) -> Arc<KafkaConfig> {
        Arc::clone(&self.state.read().unwrap_or_else(|e| e.into_inner()).effective)
    }

    pub fn layers(&self) -> BrokerConfigLayers {
        self.state.read().unwrap_or_else(|e| e.into_inner()).layers.clone()
    }

    /// Replaces one layer with what ZooKeeper holds. Entries that are not dynamic or do not
    /// parse are dropped with an error log, as Kafka does on read. Returns true if the
    /// effective config changed (custom and unused names change nothing).
    pub fn update(&self, layer: Layer, configs: BTreeMap<String, String>) -> bool {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let kept: BTreeMap<String, String> = configs
            .into_iter()
            .filter(|(k, v)| {
                let one = BTreeMap::from([(k.clone(), v.clone())]);
                match validate_layer(&state.layers.static_props, &one) {
                    Ok(()) => true,
                    Err(e) => {
                        error!(broker_id = self.broker_id, ?layer, config = %k, error = %e, "ignoring a dynamic broker config");
                        false
                    }
                }
            })
            .collect();
        let mut layers = state.layers.clone();
        match layer {
            Layer::ClusterDefault => layers.cluster_default = kept,
            Layer::PerBroker => layers.per_broker = kept,
        }
        let merged = merge(&layers.static_props, &[&layers.cluster_default, &layers.per_broker]);
        let effective = match KafkaConfig::from_props(&merged) {
            Ok(config) => config,
            Err(e) => {
                // Each entry is valid alone; a combination (e.g. compaction lags) is not.
                error!(broker_id = self.broker_id, ?layer, error = %e, "ignoring a dynamic broker config layer");
                return false;
            }
        };
        // What the config parser sees is what partitions see: compare that, not the layers.
        let changed = merged != merge(&state.layers.static_props, &[&state.layers.cluster_default, &state.layers.per_broker]);
        info!(broker_id = self.broker_id, ?layer, per_broker = ?layers.per_broker, cluster_default = ?layers.cluster_default, "dynamic broker config updated");
        *state = State { layers, effective: Arc::new(effective) };
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn static_config(pairs: &[(&str, &str)]) -> KafkaConfig {
        let mut p = props(pairs);
        p.insert("broker.id".into(), "1".into());
        KafkaConfig::from_props(&p).unwrap()
    }

    #[test]
    fn per_broker_beats_default_beats_static_beats_built_in() {
        let dynamic = DynamicBrokerConfig::new(&static_config(&[("log.retention.hours", "10")]));
        assert_eq!(dynamic.effective().log.retention_ms, 10 * 3_600_000);
        dynamic.update(Layer::ClusterDefault, props(&[("log.retention.ms", "5000"), ("min.insync.replicas", "2")]));
        assert_eq!((dynamic.effective().log.retention_ms, dynamic.effective().min_insync_replicas), (5000, 2));
        dynamic.update(Layer::PerBroker, props(&[("log.retention.ms", "7000")]));
        assert_eq!((dynamic.effective().log.retention_ms, dynamic.effective().min_insync_replicas), (7000, 2));
        dynamic.update(Layer::PerBroker, BTreeMap::new());
        dynamic.update(Layer::ClusterDefault, BTreeMap::new());
        assert_eq!((dynamic.effective().log.retention_ms, dynamic.effective().min_insync_replicas), (10 * 3_600_000, 1));
        let layers = dynamic.layers();
        assert_eq!(layers.lookup("log.retention.hours"), Some(("10", 4)));
        assert_eq!(layers.lookup("log.segment.bytes"), Some(("1073741824", 5)));
        assert_eq!(layers.lookup("log.retention.ms"), None);
    }

    #[test]
    fn update_reports_changes_partitions_care_about_and_drops_bad_entries() {
        let dynamic = DynamicBrokerConfig::new(&static_config(&[]));
        assert!(dynamic.update(Layer::ClusterDefault, props(&[("log.segment.bytes", "100000")])));
        assert!(!dynamic.update(Layer::ClusterDefault, props(&[("log.segment.bytes", "100000"), ("log.cleaner.threads", "4")])));
        // A non-dynamic name and an unparsable value are dropped; the good entry stays.
        assert!(dynamic.update(Layer::PerBroker, props(&[("log.dirs", "/x"), ("min.insync.replicas", "zero"), ("log.retention.bytes", "9")])));
        assert_eq!(dynamic.layers().per_broker, props(&[("log.retention.bytes", "9")]));
    }

    #[test]
    fn layer_validation_has_kafkas_messages() {
        let s = props(&[("broker.id", "1")]);
        assert_eq!(validate_layer(&s, &props(&[("log.dirs", "/x")])), Err("Cannot update these configs dynamically: Set(log.dirs)".into()));
        assert_eq!(
            validate_layer(&s, &props(&[("log.retention.ms", "abc")])),
            Err("Invalid value abc for configuration log.retention.ms: Not a number of type LONG".into())
        );
        assert_eq!(
            validate_layer(&s, &props(&[("min.insync.replicas", "0")])),
            Err("Invalid value 0 for configuration min.insync.replicas: Value must be at least 1".into())
        );
        assert_eq!(validate_layer(&s, &props(&[("num.io.threads", "4"), ("my.custom", "x")])), Ok(()));
    }
}
