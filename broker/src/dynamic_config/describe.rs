//! DescribeConfigs' entries, Kafka's `ZkAdminManager.describeConfigs` (reference §5.4), as
//! pure functions over a topic's overrides and the broker's config layers.
//!
//! A topic lists every topic config with its effective value; its synonyms are the override
//! (source 1, if set), then the broker synonyms set in the per-broker, cluster-default, static
//! and built-in layers, in that order (`retention.ms` → `log.retention.ms`, `…minutes`,
//! `…hours`); its source is the first synonym's. A broker's own id lists every config this
//! broker knows; the empty name lists only the cluster-default layer.

use std::collections::{BTreeMap, BTreeSet};

use super::broker_configs::{broker_config_def, topic_config_synonyms, BrokerConfigLayers, Check, BROKER_CONFIGS};
use crate::config::{ACCEPTED_UNUSED_KEYS, KNOWN_KEYS};
use crate::topic_config;

/// `ConfigSource.TOPIC_CONFIG`, `DYNAMIC_DEFAULT_BROKER_CONFIG` and `DEFAULT_CONFIG`.
pub const SOURCE_TOPIC: i8 = 1;
pub const SOURCE_DYNAMIC_DEFAULT: i8 = 3;
pub const SOURCE_DEFAULT: i8 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// Null for a sensitive config.
    pub value: Option<String>,
    pub read_only: bool,
    pub source: i8,
    pub is_sensitive: bool,
    pub synonyms: Vec<ConfigSynonym>,
    pub config_type: i8,
}

/// Keeps the entries `keys` asks for (null or empty = all).
pub fn filter_keys(entries: Vec<ConfigEntry>, keys: Option<&[String]>) -> Vec<ConfigEntry> {
    match keys {
        Some(keys) if !keys.is_empty() => entries.into_iter().filter(|e| keys.contains(&e.name)).collect(),
        _ => entries,
    }
}

/// Every topic config of a topic with `overrides`.
pub fn describe_topic(overrides: &BTreeMap<String, String>, layers: &BrokerConfigLayers) -> Vec<ConfigEntry> {
    topic_config::topic_config_names()
        .map(|name| {
            let mut synonyms = broker_synonyms(topic_config_synonyms(name), layers);
            let value = match overrides.get(name) {
                Some(v) => Some(v.clone()),
                // The broker value in the topic's unit (`log.retention.hours` = 168 → 604800000).
                None => synonyms.first().map(|s| to_topic_unit(&s.name, s.value.as_deref().unwrap_or_default())).or(Some(String::new())),
            };
            if let Some(v) = overrides.get(name) {
                synonyms.insert(0, ConfigSynonym { name: name.to_string(), value: Some(v.clone()), source: SOURCE_TOPIC });
            }
            ConfigEntry {
                name: name.to_string(),
                value,
                read_only: false,
                source: synonyms.first().map_or(SOURCE_DEFAULT, |s| s.source),
                is_sensitive: false,
                synonyms,
                config_type: topic_config::config_type(name),
            }
        })
        .collect()
}

/// A broker resource: the own id (`per_broker`) lists every config this broker knows, the
/// empty name only the cluster-default layer.
pub fn describe_broker(per_broker: bool, layers: &BrokerConfigLayers) -> Vec<ConfigEntry> {
    let names: BTreeSet<String> = if per_broker {
        BROKER_CONFIGS
            .iter()
            .map(|d| d.name.to_string())
            .chain(layers.static_props.keys().cloned())
            .chain(layers.cluster_default.keys().cloned())
            .chain(layers.per_broker.keys().cloned())
            .collect()
    } else {
        layers.cluster_default.keys().cloned().collect()
    };
    names
        .into_iter()
        .map(|name| {
            let config_type = broker_config_type(&name);
            // Kafka's `maybeSensitive`: a name it cannot type (a custom config) is hidden.
            let is_sensitive = config_type.is_none();
            let chain = broker_synonym_chain(&name);
            let mut synonyms: Vec<ConfigSynonym> = broker_synonyms(&chain, layers);
            if !per_broker {
                synonyms.retain(|s| s.source == SOURCE_DYNAMIC_DEFAULT);
            }
            if is_sensitive {
                synonyms.iter_mut().for_each(|s| s.value = None);
            }
            let value = if per_broker { layers.lookup(&name).map(|(v, _)| v.to_string()) } else { layers.cluster_default.get(&name).cloned() };
            ConfigEntry {
                read_only: !broker_config_def(&name).is_some_and(|d| d.dynamic),
                source: synonyms.first().map_or(SOURCE_DEFAULT, |s| s.source),
                value: if is_sensitive { None } else { value },
                is_sensitive,
                synonyms,
                config_type: config_type.unwrap_or(0),
                name,
            }
        })
        .collect()
}

/// `configSynonyms`: every layer outer, every synonym inner, highest layer first.
fn broker_synonyms(chain: &[&str], layers: &BrokerConfigLayers) -> Vec<ConfigSynonym> {
    let mut by_layer: BTreeMap<i8, Vec<ConfigSynonym>> = BTreeMap::new();
    for name in chain {
        for (value, source) in layers.sources(name) {
            by_layer.entry(source).or_default().push(ConfigSynonym { name: name.to_string(), value: Some(value.to_string()), source });
        }
    }
    by_layer.into_values().flatten().collect()
}

/// The synonyms of a broker config from itself on (`log.retention.minutes` →
/// `[log.retention.minutes, log.retention.hours]`; Kafka drops the ones before it).
fn broker_synonym_chain(name: &str) -> Vec<&str> {
    for topic in topic_config::topic_config_names() {
        let chain = topic_config_synonyms(topic);
        if let Some(i) = chain.iter().position(|s| *s == name) {
            return chain[i..].to_vec();
        }
    }
    vec![name]
}

fn broker_config_type(name: &str) -> Option<i8> {
    match broker_config_def(name).map(|d| d.check) {
        Some(Check::AsTopic(topic)) => Some(topic_config::config_type(topic)),
        Some(Check::Int { .. }) => Some(3),
        Some(Check::Long { .. }) => Some(5),
        Some(Check::Double) => Some(6),
        Some(Check::Any) => Some(2),
        None if KNOWN_KEYS.contains(&name) || ACCEPTED_UNUSED_KEYS.contains(&name) => Some(2),
        None => None,
    }
}

fn to_topic_unit(broker_name: &str, value: &str) -> String {
    let factor = if broker_name.ends_with(".hours") {
        3_600_000
    } else if broker_name.ends_with(".minutes") {
        60_000
    } else {
        return value.to_string();
    };
    value.trim().parse::<i64>().map_or_else(|_| value.to_string(), |n| n.saturating_mul(factor).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn entry<'a>(entries: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
        entries.iter().find(|e| e.name == name).unwrap()
    }

    #[test]
    fn topic_values_and_synonyms_follow_the_layers() {
        let layers = BrokerConfigLayers {
            per_broker: map(&[("log.retention.minutes", "2")]),
            cluster_default: map(&[("min.insync.replicas", "2")]),
            static_props: map(&[("broker.id", "1"), ("log.retention.hours", "10")]),
        };
        let entries = describe_topic(&map(&[("cleanup.policy", "compact")]), &layers);
        assert_eq!(entries.len(), topic_config::topic_config_names().count());

        let policy = entry(&entries, "cleanup.policy");
        assert_eq!((policy.value.as_deref(), policy.source), (Some("compact"), SOURCE_TOPIC));
        assert_eq!(policy.synonyms.iter().map(|s| (s.name.as_str(), s.source)).collect::<Vec<_>>(), vec![("cleanup.policy", 1), ("log.cleanup.policy", 5)]);

        let retention = entry(&entries, "retention.ms");
        assert_eq!((retention.value.as_deref(), retention.source), (Some("120000"), 2));
        assert_eq!(
            retention.synonyms.iter().map(|s| (s.name.as_str(), s.source)).collect::<Vec<_>>(),
            vec![("log.retention.minutes", 2), ("log.retention.hours", 4), ("log.retention.hours", 5)]
        );
        let min_isr = entry(&entries, "min.insync.replicas");
        assert_eq!((min_isr.value.as_deref(), min_isr.source, min_isr.config_type), (Some("2"), 3, 3));
        let segment = entry(&entries, "segment.bytes");
        assert_eq!((segment.value.as_deref(), segment.source), (Some("1073741824"), SOURCE_DEFAULT));
    }

    #[test]
    fn broker_default_resource_lists_only_the_default_layer() {
        let layers = BrokerConfigLayers { per_broker: map(&[("log.retention.ms", "9")]), cluster_default: map(&[("log.retention.ms", "5")]), static_props: map(&[("broker.id", "1")]) };
        let entries = describe_broker(false, &layers);
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].value.as_deref(), entries[0].source, entries[0].read_only), (Some("5"), 3, false));

        let all = describe_broker(true, &layers);
        let retention = entry(&all, "log.retention.ms");
        assert_eq!((retention.value.as_deref(), retention.source), (Some("9"), 2));
        let broker_id = entry(&all, "broker.id");
        assert_eq!((broker_id.value.as_deref(), broker_id.source, broker_id.read_only), (Some("1"), 4, true));
    }

    #[test]
    fn custom_broker_configs_are_sensitive() {
        let layers = BrokerConfigLayers { cluster_default: map(&[("my.custom", "secret")]), ..Default::default() };
        let entries = describe_broker(false, &layers);
        assert_eq!((entries[0].value.as_deref(), entries[0].is_sensitive), (None, true));
    }

    #[test]
    fn keys_filter() {
        let entries = describe_topic(&BTreeMap::new(), &BrokerConfigLayers::default());
        let keys = vec!["retention.ms".to_string()];
        assert_eq!(filter_keys(entries.clone(), Some(&keys)).len(), 1);
        assert_eq!(filter_keys(entries.clone(), Some(&[])).len(), entries.len());
    }
}
