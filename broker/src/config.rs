//! `server.properties`: Kafka's key names and defaults (2.8, reference Appendix A), parsed from a
//! Java-properties file plus `--override key=value` pairs.
//!
//! Invariant: every key the broker reads is declared in [`KNOWN_KEYS`]; an unknown key, a value of
//! the wrong type or out of range stops startup with one line naming the key. Keys Kafka has but
//! this broker does not use yet (thread counts, socket buffers, ...) are accepted and listed in
//! [`ACCEPTED_UNUSED_KEYS`] so a stock Kafka `server.properties` starts unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use odradek_log::LogConfig;
use odradek_zk::SecurityProtocol;

mod listeners;
pub use listeners::{ListenerSettings, DEFAULT_SECURITY_PROTOCOL_MAP};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("unknown configuration key '{0}'")]
    UnknownKey(String),
    #[error("invalid value '{value}' for configuration key '{key}': {reason}")]
    InvalidValue { key: String, value: String, reason: String },
    #[error("malformed --override '{0}': expected key=value")]
    MalformedOverride(String),
    #[error("missing required configuration key '{0}'")]
    Missing(&'static str),
}

/// Keys the broker interprets.
pub const KNOWN_KEYS: &[&str] = &[
    "broker.id",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
    "log.dirs",
    "log.dir",
    "num.partitions",
    "default.replication.factor",
    "auto.create.topics.enable",
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.hours",
    "log.retention.ms",
    "log.retention.minutes",
    "log.retention.hours",
    "log.retention.bytes",
    "log.retention.check.interval.ms",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
    "log.flush.offset.checkpoint.interval.ms",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.segment.delete.delay.ms",
    "log.cleaner.enable",
    "log.cleaner.backoff.ms",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "message.max.bytes",
    "socket.request.max.bytes",
    "zookeeper.connect",
    "zookeeper.session.timeout.ms",
    "zookeeper.connection.timeout.ms",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "delete.topic.enable",
    "controlled.shutdown.enable",
    "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms",
    "controller.socket.timeout.ms",
    "replica.lag.time.max.ms",
    "replica.fetch.wait.max.ms",
    "replica.fetch.min.bytes",
    "replica.fetch.max.bytes",
    "replica.fetch.response.max.bytes",
    "replica.fetch.backoff.ms",
    "replica.socket.timeout.ms",
    "replica.high.watermark.checkpoint.interval.ms",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "offsets.topic.segment.bytes",
    "offsets.commit.timeout.ms",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "offset.metadata.max.bytes",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "group.max.size",
];

/// Kafka keys accepted so stock config files work, but not acted on (yet).
pub const ACCEPTED_UNUSED_KEYS: &[&str] = &[
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "inter.broker.protocol.version",
    "log.message.format.version",
    "num.replica.fetchers",
];

/// One listener, `NAME://host:port` (see [`listeners`](self::listeners) for the model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    /// Empty means all interfaces.
    pub host: String,
    pub port: u16,
}

/// The broker's configuration, Kafka's `KafkaConfig`.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub broker_id: i32,
    /// `listeners`: every socket the broker binds, in configured order.
    pub listeners: Vec<Listener>,
    /// `advertised.listeners` (default `listeners`): the endpoints registered in ZooKeeper.
    pub advertised_listeners: Vec<Listener>,
    /// `listener.security.protocol.map`: listener name → protocol (only PLAINTEXT is served).
    pub listener_security_protocol_map: BTreeMap<String, SecurityProtocol>,
    /// `inter.broker.listener.name` (default: the listener named PLAINTEXT): the listener the
    /// controller, followers and AlterIsr/ControlledShutdown senders connect to.
    pub inter_broker_listener_name: String,
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub log: LogConfig,
    pub log_retention_check_interval_ms: i64,
    /// `log.cleaner.*`: the log cleaner task (its per-log defaults are in `log`).
    pub log_cleaner: LogCleanerConfig,
    pub log_flush_scheduler_interval_ms: i64,
    pub log_flush_offset_checkpoint_interval_ms: i64,
    pub message_max_bytes: u32,
    pub socket_request_max_bytes: usize,
    pub zookeeper_connect: Option<String>,
    pub zookeeper_session_timeout_ms: i64,
    pub zookeeper_connection_timeout_ms: Option<i64>,
    pub min_insync_replicas: i32,
    pub unclean_leader_election_enable: bool,
    pub delete_topic_enable: bool,
    /// `controlled.shutdown.enable`: ask the controller to move leadership away before stopping.
    pub controlled_shutdown_enable: bool,
    /// `controlled.shutdown.max.retries`: attempts before shutting down anyway.
    pub controlled_shutdown_max_retries: u32,
    /// `controlled.shutdown.retry.backoff.ms`: the pause between attempts.
    pub controlled_shutdown_retry_backoff_ms: u64,
    /// `controller.socket.timeout.ms`: how long a ControlledShutdown request may take.
    pub controller_socket_timeout_ms: u64,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    pub replica_lag_time_max_ms: i64,
    /// `replica.fetch.*` and `replica.socket.timeout.ms`: the followers' Fetch requests.
    pub replica_fetch_wait_max_ms: i32,
    pub replica_fetch_min_bytes: i32,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_response_max_bytes: i32,
    pub replica_fetch_backoff_ms: u64,
    pub replica_socket_timeout_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`: how often HWs go to
    /// `replication-offset-checkpoint`.
    pub replica_high_watermark_checkpoint_interval_ms: i64,
    /// `offsets.*`, `offset.metadata.max.bytes` and `group.*`: the group coordinator and its
    /// `__consumer_offsets` topic.
    pub group: GroupCoordinatorConfig,
    /// The key/value pairs this config was parsed from (`server.properties` plus overrides):
    /// DescribeConfigs' STATIC_BROKER_CONFIG layer, under the dynamic layers.
    pub props: BTreeMap<String, String>,
}

/// The group coordinator's keys (Kafka's `OffsetConfig` and `GroupConfig`, 2.8 defaults).
#[derive(Clone, Debug)]
pub struct GroupCoordinatorConfig {
    /// `offsets.topic.num.partitions` (50).
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (3), capped at the live brokers when the topic is created.
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes` (100 MiB).
    pub offsets_topic_segment_bytes: i32,
    /// `offsets.commit.timeout.ms` (5000): how long a commit waits for the ISR.
    pub offsets_commit_timeout_ms: i32,
    /// `offsets.retention.minutes` (7 days), in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (600000).
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes` (4096).
    pub offset_metadata_max_bytes: i32,
    /// `group.min.session.timeout.ms` (6000) and `group.max.session.timeout.ms` (1800000).
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (3000).
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.max.size` (unbounded).
    pub group_max_size: i32,
}

impl KafkaConfig {
    /// Reads `path` (if given) and applies `overrides` (`key=value`) on top.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<KafkaConfig, ConfigError> {
        let mut props = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.to_path_buf(), source })?;
                parse_properties(&text)
            }
            None => BTreeMap::new(),
        };
        for o in overrides {
            let (k, v) = o.split_once('=').ok_or_else(|| ConfigError::MalformedOverride(o.clone()))?;
            if k.trim().is_empty() {
                return Err(ConfigError::MalformedOverride(o.clone()));
            }
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        KafkaConfig::from_props(&props)
    }

    /// Builds the config from key/value pairs.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<KafkaConfig, ConfigError> {
        if let Some(k) = props.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str()) && !ACCEPTED_UNUSED_KEYS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey(k.clone()));
        }
        let p = Props(props);
        let broker_id: i32 = p.int("broker.id", -1, 0, i32::MAX as i64)? as i32;
        if broker_id < 0 {
            return Err(ConfigError::Missing("broker.id"));
        }
        let ListenerSettings { listeners, advertised_listeners, security_protocol_map, inter_broker_listener_name } = listeners::parse(&p)?;
        let dirs = p.str("log.dirs").or(p.str("log.dir")).unwrap_or("/tmp/kafka-logs");
        let log_dirs: Vec<PathBuf> = dirs.split(',').map(str::trim).filter(|d| !d.is_empty()).map(PathBuf::from).collect();
        if log_dirs.is_empty() {
            return Err(invalid("log.dirs", dirs, "no directory given"));
        }

        let hour = 3_600_000i64;
        let segment_ms = match (p.get("log.roll.ms"), p.get("log.roll.hours")) {
            (Some(_), _) => p.int("log.roll.ms", 0, 1, i64::MAX)?,
            (None, _) => p.int("log.roll.hours", 168, 1, i32::MAX as i64)? * hour,
        };
        let retention_ms = if p.get("log.retention.ms").is_some() {
            p.int("log.retention.ms", 0, -1, i64::MAX)?
        } else if p.get("log.retention.minutes").is_some() {
            p.int("log.retention.minutes", 0, -1, i32::MAX as i64)?.max(-1) * 60_000
        } else {
            p.int("log.retention.hours", 168, -1, i32::MAX as i64)? * hour
        };
        let retention_ms = if retention_ms < 0 { -1 } else { retention_ms };
        let flush_scheduler = p.int("log.flush.scheduler.interval.ms", i64::MAX, 1, i64::MAX)?;
        let message_max_bytes = p.int("message.max.bytes", 1_048_588, 0, i32::MAX as i64)? as u32;
        let log = LogConfig {
            segment_bytes: p.int("log.segment.bytes", 1 << 30, 14, i32::MAX as i64)? as u64,
            segment_ms,
            max_index_size: p.int("log.index.size.max.bytes", 10 * 1024 * 1024, 4, i32::MAX as i64)? as u32,
            index_interval_bytes: p.int("log.index.interval.bytes", 4096, 0, i32::MAX as i64)? as u32,
            retention_ms,
            retention_bytes: p.int("log.retention.bytes", -1, -1, i64::MAX)?,
            flush_interval_messages: p.int("log.flush.interval.messages", i64::MAX, 1, i64::MAX)?,
            // Kafka: log.flush.interval.ms unset falls back to the scheduler interval.
            flush_interval_ms: p.int("log.flush.interval.ms", flush_scheduler, 0, i64::MAX)?,
            max_message_bytes: message_max_bytes,
            file_delete_delay_ms: p.int("log.segment.delete.delay.ms", 60_000, 0, i64::MAX)?,
            ..LogCleanerConfig::log_defaults(&p)?
        };
        Ok(KafkaConfig {
            broker_id,
            listeners,
            advertised_listeners,
            listener_security_protocol_map: security_protocol_map,
            inter_broker_listener_name,
            log_dirs,
            num_partitions: p.int("num.partitions", 1, 1, i32::MAX as i64)? as i32,
            default_replication_factor: p.int("default.replication.factor", 1, 1, i16::MAX as i64)? as i16,
            auto_create_topics_enable: p.bool("auto.create.topics.enable", true)?,
            log,
            log_retention_check_interval_ms: p.int("log.retention.check.interval.ms", 300_000, 1, i64::MAX)?,
            log_cleaner: LogCleanerConfig::from_props(&p)?,
            log_flush_scheduler_interval_ms: flush_scheduler,
            log_flush_offset_checkpoint_interval_ms: p.int("log.flush.offset.checkpoint.interval.ms", 60_000, 0, i32::MAX as i64)?,
            message_max_bytes,
            socket_request_max_bytes: p.int("socket.request.max.bytes", 104_857_600, 1, i32::MAX as i64)? as usize,
            zookeeper_connect: p.str("zookeeper.connect").map(str::to_string),
            zookeeper_session_timeout_ms: p.int("zookeeper.session.timeout.ms", 18_000, 1, i32::MAX as i64)?,
            zookeeper_connection_timeout_ms: p.get("zookeeper.connection.timeout.ms").map(|_| p.int("zookeeper.connection.timeout.ms", 0, 1, i32::MAX as i64)).transpose()?,
            min_insync_replicas: p.int("min.insync.replicas", 1, 1, i32::MAX as i64)? as i32,
            unclean_leader_election_enable: p.bool("unclean.leader.election.enable", false)?,
            delete_topic_enable: p.bool("delete.topic.enable", true)?,
            controlled_shutdown_enable: p.bool("controlled.shutdown.enable", true)?,
            controlled_shutdown_max_retries: p.int("controlled.shutdown.max.retries", 3, 0, i32::MAX as i64)? as u32,
            controlled_shutdown_retry_backoff_ms: p.int("controlled.shutdown.retry.backoff.ms", 5000, 0, i64::MAX)? as u64,
            controller_socket_timeout_ms: p.int("controller.socket.timeout.ms", 30_000, 1, i32::MAX as i64)? as u64,
            replica_lag_time_max_ms: p.int("replica.lag.time.max.ms", 30_000, 1, i64::MAX)?,
            replica_fetch_wait_max_ms: p.int("replica.fetch.wait.max.ms", 500, 0, i32::MAX as i64)? as i32,
            replica_fetch_min_bytes: p.int("replica.fetch.min.bytes", 1, 0, i32::MAX as i64)? as i32,
            replica_fetch_max_bytes: p.int("replica.fetch.max.bytes", 1_048_576, 0, i32::MAX as i64)? as i32,
            replica_fetch_response_max_bytes: p.int("replica.fetch.response.max.bytes", 10_485_760, 0, i32::MAX as i64)? as i32,
            replica_fetch_backoff_ms: p.int("replica.fetch.backoff.ms", 1000, 0, i32::MAX as i64)? as u64,
            replica_socket_timeout_ms: p.int("replica.socket.timeout.ms", 30_000, 1, i32::MAX as i64)? as u64,
            replica_high_watermark_checkpoint_interval_ms: p.int("replica.high.watermark.checkpoint.interval.ms", 5000, 1, i64::MAX)?,
            group: GroupCoordinatorConfig::from_props(&p)?,
            props: props.clone(),
        })
    }

    /// Keys present in `props` that are accepted but have no effect.
    pub fn unused_keys(props: &BTreeMap<String, String>) -> Vec<String> {
        props.keys().filter(|k| ACCEPTED_UNUSED_KEYS.contains(&k.as_str())).cloned().collect()
    }
}

impl GroupCoordinatorConfig {
    fn from_props(p: &Props<'_>) -> Result<GroupCoordinatorConfig, ConfigError> {
        let max = i32::MAX as i64;
        Ok(GroupCoordinatorConfig {
            offsets_topic_num_partitions: p.int("offsets.topic.num.partitions", 50, 1, max)? as i32,
            offsets_topic_replication_factor: p.int("offsets.topic.replication.factor", 3, 1, i16::MAX as i64)? as i16,
            offsets_topic_segment_bytes: p.int("offsets.topic.segment.bytes", 104_857_600, 1, max)? as i32,
            offsets_commit_timeout_ms: p.int("offsets.commit.timeout.ms", 5000, 1, max)? as i32,
            offsets_retention_ms: p.int("offsets.retention.minutes", 7 * 24 * 60, 1, max)? * 60_000,
            offsets_retention_check_interval_ms: p.int("offsets.retention.check.interval.ms", 600_000, 1, i64::MAX)?,
            offset_metadata_max_bytes: p.int("offset.metadata.max.bytes", 4096, 0, max)? as i32,
            group_min_session_timeout_ms: p.int("group.min.session.timeout.ms", 6000, 0, max)? as i32,
            group_max_session_timeout_ms: p.int("group.max.session.timeout.ms", 1_800_000, 0, max)? as i32,
            group_initial_rebalance_delay_ms: p.int("group.initial.rebalance.delay.ms", 3000, 0, max)? as i32,
            group_max_size: p.int("group.max.size", max, 1, max)? as i32,
        })
    }
}

/// The log cleaner's keys (Kafka's `log.cleaner.*`, 2.8 defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct LogCleanerConfig {
    /// `log.cleaner.enable` (true): run the cleaner for `cleanup.policy=compact` topics.
    pub enable: bool,
    /// `log.cleaner.backoff.ms` (15000): the pause between cleaning rounds.
    pub backoff_ms: i64,
}

impl LogCleanerConfig {
    fn from_props(p: &Props<'_>) -> Result<LogCleanerConfig, ConfigError> {
        Ok(LogCleanerConfig { enable: p.bool("log.cleaner.enable", true)?, backoff_ms: p.int("log.cleaner.backoff.ms", 15_000, 0, i64::MAX)? })
    }

    /// The broker-wide compaction defaults of every log (topics override them with
    /// `delete.retention.ms`, `min.cleanable.dirty.ratio`, `min.compaction.lag.ms` and
    /// `max.compaction.lag.ms`); the other fields are `LogConfig`'s defaults.
    fn log_defaults(p: &Props<'_>) -> Result<LogConfig, ConfigError> {
        let key = "log.cleaner.min.cleanable.ratio";
        let min_cleanable_dirty_ratio = match p.str(key) {
            None => 0.5,
            Some(v) => match v.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => return Err(invalid(key, v, "expected a number between 0 and 1")),
            },
        };
        Ok(LogConfig {
            delete_retention_ms: p.int("log.cleaner.delete.retention.ms", 86_400_000, 0, i64::MAX)?,
            min_cleanable_dirty_ratio,
            min_compaction_lag_ms: p.int("log.cleaner.min.compaction.lag.ms", 0, 0, i64::MAX)?,
            max_compaction_lag_ms: p.int("log.cleaner.max.compaction.lag.ms", i64::MAX, 1, i64::MAX)?,
            ..LogConfig::default()
        })
    }
}

fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue { key: key.to_string(), value: value.to_string(), reason: reason.into() }
}

struct Props<'a>(&'a BTreeMap<String, String>);

impl Props<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn str(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
    fn int(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
        let Some(raw) = self.get(key) else { return Ok(default) };
        let v: i64 = raw.parse().map_err(|_| invalid(key, raw, "expected an integer"))?;
        if v < min || v > max {
            return Err(invalid(key, raw, format!("must be between {min} and {max}")));
        }
        Ok(v)
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(invalid(key, v, "expected true or false")),
        }
    }
}

/// Java-properties subset: `#`/`!` comments, `key=value`, `key: value` or `key value`,
/// backslash line continuations.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if logical.is_empty() && (trimmed.starts_with('#') || trimmed.starts_with('!') || trimmed.is_empty()) {
            continue;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            logical.push_str(cont);
            continue;
        }
        logical.push_str(trimmed);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']);
        let (k, v) = match split {
            Some(i) => (&entry[..i], entry[i + 1..].trim_start_matches([' ', '\t', '=', ':'])),
            None => (entry.as_str(), ""),
        };
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[&str]) -> Result<KafkaConfig, ConfigError> {
        let o: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        KafkaConfig::load(None, &o)
    }

    #[test]
    fn defaults_are_kafkas() {
        let c = load(&["broker.id=3"]).unwrap();
        assert_eq!(c.broker_id, 3);
        assert_eq!(c.listeners, vec![Listener { name: "PLAINTEXT".into(), host: "".into(), port: 9092 }]);
        assert_eq!((c.advertised_listeners.clone(), c.inter_broker_listener_name.as_str()), (c.listeners.clone(), "PLAINTEXT"));
        assert_eq!(c.log.segment_bytes, 1 << 30);
        assert_eq!(c.log.retention_ms, 168 * 3_600_000);
        assert_eq!(c.log.flush_interval_messages, i64::MAX);
        assert_eq!(c.message_max_bytes, 1_048_588);
        assert_eq!(c.socket_request_max_bytes, 104_857_600);
        assert_eq!(c.log_dirs, vec![PathBuf::from("/tmp/kafka-logs")]);
        assert!(c.controlled_shutdown_enable);
        assert_eq!((c.controlled_shutdown_max_retries, c.controlled_shutdown_retry_backoff_ms), (3, 5000));
        assert_eq!(c.controller_socket_timeout_ms, 30_000);
        assert!(c.auto_create_topics_enable && c.delete_topic_enable);
    }

    #[test]
    fn properties_file_syntax() {
        let p = parse_properties("# comment\n! also\nbroker.id=1\nlog.dirs : /a,/b\nzookeeper.connect localhost:2181/x\nlisteners=PLAINTEXT://\\\n  127.0.0.1:9093\n\n");
        assert_eq!(p["broker.id"], "1");
        assert_eq!(p["log.dirs"], "/a,/b");
        assert_eq!(p["zookeeper.connect"], "localhost:2181/x");
        assert_eq!(p["listeners"], "PLAINTEXT://127.0.0.1:9093");
        let c = KafkaConfig::from_props(&p).unwrap();
        assert_eq!(c.log_dirs.len(), 2);
        assert_eq!(c.listeners[0].port, 9093);
    }

    #[test]
    fn overrides_win_and_errors_name_the_key() {
        let c = load(&["broker.id=1", "log.retention.ms=5", "log.retention.hours=1"]).unwrap();
        assert_eq!(c.log.retention_ms, 5);
        let e = load(&["broker.id=1", "log.segmnet.bytes=10"]).unwrap_err().to_string();
        assert_eq!(e, "unknown configuration key 'log.segmnet.bytes'");
        let e = load(&["broker.id=1", "log.segment.bytes=big"]).unwrap_err().to_string();
        assert!(e.contains("'log.segment.bytes'") && e.contains("integer"), "{e}");
        let e = load(&["broker.id=1", "log.segment.bytes=3"]).unwrap_err().to_string();
        assert!(e.contains("between 14"), "{e}");
        let e = load(&["broker.id=1", "listeners=SSL://:9093"]).unwrap_err().to_string();
        assert!(e.contains("only PLAINTEXT"), "{e}");
        assert!(matches!(load(&["nonsense"]), Err(ConfigError::MalformedOverride(_))));
        assert!(matches!(load(&[]), Err(ConfigError::Missing("broker.id"))));
        let e = load(&["broker.id=1", "auto.create.topics.enable=yes"]).unwrap_err().to_string();
        assert!(e.contains("true or false"), "{e}");
    }

    #[test]
    fn log_cleaner_keys() {
        let c = load(&["broker.id=1"]).unwrap();
        assert_eq!(c.log_cleaner, LogCleanerConfig { enable: true, backoff_ms: 15_000 });
        assert_eq!((c.log.delete_retention_ms, c.log.min_cleanable_dirty_ratio), (86_400_000, 0.5));
        assert_eq!((c.log.min_compaction_lag_ms, c.log.max_compaction_lag_ms), (0, i64::MAX));
        let c = load(&[
            "broker.id=1",
            "log.cleaner.enable=false",
            "log.cleaner.backoff.ms=100",
            "log.cleaner.delete.retention.ms=5",
            "log.cleaner.min.cleanable.ratio=0.1",
            "log.cleaner.min.compaction.lag.ms=6",
            "log.cleaner.max.compaction.lag.ms=7",
        ])
        .unwrap();
        assert_eq!(c.log_cleaner, LogCleanerConfig { enable: false, backoff_ms: 100 });
        assert_eq!((c.log.delete_retention_ms, c.log.min_cleanable_dirty_ratio), (5, 0.1));
        assert_eq!((c.log.min_compaction_lag_ms, c.log.max_compaction_lag_ms), (6, 7));
        assert!(!KafkaConfig::unused_keys(&parse_properties("log.cleaner.enable=true")).contains(&"log.cleaner.enable".to_string()));
        let e = load(&["broker.id=1", "log.cleaner.min.cleanable.ratio=2"]).unwrap_err().to_string();
        assert!(e.contains("'log.cleaner.min.cleanable.ratio'"), "{e}");
    }

    #[test]
    fn stock_kafka_keys_are_accepted() {
        let c = load(&["broker.id=0", "num.network.threads=3", "socket.send.buffer.bytes=102400", "log.retention.check.interval.ms=300000"]);
        assert!(c.is_ok());
    }
}
