//! Topic-level config overrides, Kafka's `TopicConfig` names checked the way `LogConfig.validate`
//! checks them when a topic is created: every name must be a known topic config
//! ("Unknown topic config name: x") and every value must parse as its type and lie in its range,
//! with `ConfigDef`'s messages ("Invalid value x for configuration y: ..."). Both become
//! INVALID_CONFIG (40) in the CreateTopics response.
//!
//! The broker stores the overrides in `/config/topics/<topic>` as given; which of them the log
//! honours is the log's business.

use std::collections::BTreeMap;

/// Why a set of topic configs was refused. Creating a topic answers INVALID_CONFIG (40) for
/// both; altering configs answers INVALID_CONFIG for an unknown name and INVALID_REQUEST (42)
/// for a bad value (`ZkAdminManager.alterConfigs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicConfigError {
    #[error("Unknown topic config name: {0}")]
    UnknownName(String),
    /// Kafka's `ConfigException` message.
    #[error("{0}")]
    InvalidValue(String),
}

/// How a config value is parsed and bounded (Kafka's `ConfigDef.Type` plus its validator).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int { min: i64 },
    Long { min: Option<i64> },
    Double { min: f64, max: f64 },
    Bool,
    /// One of these strings (`ValidString.in`).
    OneOf(&'static [&'static str]),
    /// A comma-separated list, each element one of these (`ValidList.in`).
    ListOf(&'static [&'static str]),
    /// `message.format.version` (`ApiVersionValidator`).
    ApiVersion,
    /// `*` or `partition:broker,...` (`ThrottledReplicaListValidator`).
    ThrottledReplicas,
}

/// Every topic config Kafka 2.8 knows, with its type and validator (`LogConfig.configDef`).
const TOPIC_CONFIGS: &[(&str, Kind)] = &[
    ("cleanup.policy", Kind::ListOf(&["compact", "delete"])),
    ("compression.type", Kind::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"])),
    ("delete.retention.ms", Kind::Long { min: Some(0) }),
    ("file.delete.delay.ms", Kind::Long { min: Some(0) }),
    ("flush.messages", Kind::Long { min: Some(0) }),
    ("flush.ms", Kind::Long { min: Some(0) }),
    ("follower.replication.throttled.replicas", Kind::ThrottledReplicas),
    ("index.interval.bytes", Kind::Int { min: 0 }),
    ("leader.replication.throttled.replicas", Kind::ThrottledReplicas),
    ("max.compaction.lag.ms", Kind::Long { min: Some(1) }),
    ("max.message.bytes", Kind::Int { min: 0 }),
    ("message.downconversion.enable", Kind::Bool),
    ("message.format.version", Kind::ApiVersion),
    ("message.timestamp.difference.max.ms", Kind::Long { min: Some(0) }),
    ("message.timestamp.type", Kind::OneOf(&["CreateTime", "LogAppendTime"])),
    ("min.cleanable.dirty.ratio", Kind::Double { min: 0.0, max: 1.0 }),
    ("min.compaction.lag.ms", Kind::Long { min: Some(0) }),
    ("min.insync.replicas", Kind::Int { min: 1 }),
    ("preallocate", Kind::Bool),
    ("retention.bytes", Kind::Long { min: None }),
    ("retention.ms", Kind::Long { min: Some(-1) }),
    // LegacyRecord.RECORD_OVERHEAD_V0: a segment must hold at least one record header.
    ("segment.bytes", Kind::Int { min: 14 }),
    ("segment.index.bytes", Kind::Int { min: 0 }),
    ("segment.jitter.ms", Kind::Long { min: Some(0) }),
    ("segment.ms", Kind::Long { min: Some(1) }),
    ("unclean.leader.election.enable", Kind::Bool),
];

/// Whether `name` is a topic config Kafka knows.
pub fn is_topic_config(name: &str) -> bool {
    TOPIC_CONFIGS.iter().any(|(n, _)| *n == name)
}

/// Every topic config name, sorted (what DescribeConfigs lists for a topic).
pub fn topic_config_names() -> impl Iterator<Item = &'static str> {
    TOPIC_CONFIGS.iter().map(|(n, _)| *n)
}

/// Whether `name` is a LIST-typed topic config (IncrementalAlterConfigs' APPEND/SUBTRACT);
/// `None` for a name Kafka does not know.
pub fn is_list_config(name: &str) -> Option<bool> {
    TOPIC_CONFIGS.iter().find(|(n, _)| *n == name).map(|(_, kind)| matches!(kind, Kind::ListOf(_) | Kind::ThrottledReplicas))
}

/// DescribeConfigs' `ConfigType` of a topic config (1 BOOLEAN, 2 STRING, 3 INT, 5 LONG,
/// 6 DOUBLE, 7 LIST), 0 UNKNOWN for a name Kafka does not know.
pub fn config_type(name: &str) -> i8 {
    match TOPIC_CONFIGS.iter().find(|(n, _)| *n == name).map(|(_, kind)| *kind) {
        Some(Kind::Bool) => 1,
        Some(Kind::OneOf(_) | Kind::ApiVersion) => 2,
        Some(Kind::Int { .. }) => 3,
        Some(Kind::Long { .. }) => 5,
        Some(Kind::Double { .. }) => 6,
        Some(Kind::ListOf(_) | Kind::ThrottledReplicas) => 7,
        None => 0,
    }
}

/// Checks one value of topic config `topic_name` the way `ConfigDef` parses it, naming
/// `display_name` in the message (a broker config checked through its topic synonym names
/// itself, e.g. `log.retention.ms`).
pub fn validate_value_as(display_name: &str, topic_name: &str, value: &str) -> Result<(), TopicConfigError> {
    match TOPIC_CONFIGS.iter().find(|(n, _)| *n == topic_name) {
        Some((_, kind)) => check_value(display_name, value, *kind).map_err(TopicConfigError::InvalidValue),
        None => Err(TopicConfigError::UnknownName(topic_name.to_string())),
    }
}

/// `LogConfig.validate`: names, then each value, then the one cross-check (compaction lags).
/// The error carries Kafka's message.
pub fn validate(configs: &BTreeMap<String, String>) -> Result<(), TopicConfigError> {
    for name in configs.keys() {
        if !is_topic_config(name) {
            return Err(TopicConfigError::UnknownName(name.clone()));
        }
    }
    for (name, value) in configs {
        validate_value_as(name, name, value)?;
    }
    let lag = |key: &str, default: i64| configs.get(key).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(default);
    let (min_lag, max_lag) = (lag("min.compaction.lag.ms", 0), lag("max.compaction.lag.ms", i64::MAX));
    if min_lag > max_lag {
        return Err(TopicConfigError::InvalidValue(format!(
            "conflict topic config setting min.compaction.lag.ms ({min_lag}) > max.compaction.lag.ms ({max_lag})"
        )));
    }
    Ok(())
}

fn check_value(name: &str, value: &str, kind: Kind) -> Result<(), String> {
    let invalid = |reason: String| format!("Invalid value {value} for configuration {name}: {reason}");
    let v = value.trim();
    match kind {
        Kind::Int { min } => {
            let n: i32 = v.parse().map_err(|_| invalid("Not a number of type INT".into()))?;
            at_least(n as i64, min).map_err(invalid)
        }
        Kind::Long { min } => {
            let n: i64 = v.parse().map_err(|_| invalid("Not a number of type LONG".into()))?;
            min.map_or(Ok(()), |min| at_least(n, min)).map_err(invalid)
        }
        Kind::Double { min, max } => {
            let n: f64 = v.parse().map_err(|_| invalid("Not a number of type DOUBLE".into()))?;
            if n < min {
                Err(invalid(format!("Value must be at least {min}")))
            } else if n > max {
                Err(invalid(format!("Value must be no more than {max}")))
            } else {
                Ok(())
            }
        }
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(invalid("Expected value to be either true or false".into())),
        },
        Kind::OneOf(allowed) => one_of(v, allowed).map_err(|e| format!("Invalid value {v} for configuration {name}: {e}")),
        Kind::ListOf(allowed) => {
            for element in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                one_of(element, allowed).map_err(|e| format!("Invalid value {element} for configuration {name}: {e}"))?;
            }
            Ok(())
        }
        Kind::ApiVersion => {
            if is_api_version(v) {
                Ok(())
            } else {
                Err(invalid(format!("Version `{v}` is not a valid version")))
            }
        }
        Kind::ThrottledReplicas => {
            let entry_ok = |e: &str| e.split_once(':').is_some_and(|(p, b)| p.trim().parse::<i32>().is_ok() && b.trim().parse::<i32>().is_ok());
            if v == "*" || v.is_empty() || v.split(',').all(|e| entry_ok(e.trim())) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{v} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
                )))
            }
        }
    }
}

fn at_least(n: i64, min: i64) -> Result<(), String> {
    if n < min {
        Err(format!("Value must be at least {min}"))
    } else {
        Ok(())
    }
}

fn one_of(v: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(format!("String must be one of: {}", allowed.join(", ")))
    }
}

/// `ApiVersion.apply`'s accepted shapes: `0.8.0` .. `2.8`, optionally with an `-IVn` suffix.
fn is_api_version(v: &str) -> bool {
    let base = v.split_once("-IV").map_or(v, |(base, iv)| if iv.parse::<u32>().is_ok() { base } else { "" });
    let parts: Vec<&str> = base.split('.').collect();
    let numbers: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    match numbers.as_deref() {
        Some([0, minor, ..]) => (8..=11).contains(minor) && parts.len() <= 3,
        Some([major, minor, ..]) => (*major == 1 && *minor <= 1 || *major == 2 && *minor <= 8) && parts.len() <= 3,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn known_names_and_good_values_pass() {
        let ok = configs(&[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "-1"),
            ("segment.bytes", "1048576"),
            ("min.insync.replicas", "2"),
            ("unclean.leader.election.enable", "TRUE"),
            ("compression.type", "zstd"),
            ("min.cleanable.dirty.ratio", "0.5"),
            ("message.format.version", "2.8-IV1"),
            ("leader.replication.throttled.replicas", "0:1,1:2"),
            ("follower.replication.throttled.replicas", "*"),
        ]);
        assert_eq!(validate(&ok), Ok(()));
        assert_eq!(validate(&BTreeMap::new()), Ok(()));
    }

    #[test]
    fn unknown_names_and_bad_values_are_told_apart() {
        assert_eq!(validate(&configs(&[("retention.mss", "1")])), Err(TopicConfigError::UnknownName("retention.mss".into())));
        assert!(matches!(validate(&configs(&[("retention.ms", "x")])), Err(TopicConfigError::InvalidValue(_))));
        assert_eq!(
            validate_value_as("log.retention.ms", "retention.ms", "x").map_err(|e| e.to_string()),
            Err("Invalid value x for configuration log.retention.ms: Not a number of type LONG".to_string())
        );
        assert_eq!((is_list_config("cleanup.policy"), is_list_config("retention.ms"), is_list_config("nope")), (Some(true), Some(false), None));
        assert_eq!((config_type("min.insync.replicas"), config_type("retention.ms"), config_type("cleanup.policy")), (3, 5, 7));
    }

    #[test]
    fn unknown_names_and_bad_values_carry_kafkas_messages() {
        let cases = [
            (("retention.mss", "1"), "Unknown topic config name: retention.mss"),
            (("log.retention.ms", "1"), "Unknown topic config name: log.retention.ms"),
            (("retention.ms", "abc"), "Invalid value abc for configuration retention.ms: Not a number of type LONG"),
            (("retention.ms", "-2"), "Invalid value -2 for configuration retention.ms: Value must be at least -1"),
            (("segment.bytes", "13"), "Invalid value 13 for configuration segment.bytes: Value must be at least 14"),
            (("segment.bytes", "3000000000"), "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"),
            (("min.insync.replicas", "0"), "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"),
            (("preallocate", "yes"), "Invalid value yes for configuration preallocate: Expected value to be either true or false"),
            (("cleanup.policy", "delete,forever"), "Invalid value forever for configuration cleanup.policy: String must be one of: compact, delete"),
            (("min.cleanable.dirty.ratio", "1.5"), "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
            (("message.format.version", "3.0"), "Invalid value 3.0 for configuration message.format.version: Version `3.0` is not a valid version"),
        ];
        for ((k, v), message) in cases {
            assert_eq!(validate(&configs(&[(k, v)])).map_err(|e| e.to_string()), Err(message.to_string()), "{k}={v}");
        }
        let lags = configs(&[("min.compaction.lag.ms", "10"), ("max.compaction.lag.ms", "5")]);
        assert!(validate(&lags).unwrap_err().to_string().contains("min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"));
    }
}
