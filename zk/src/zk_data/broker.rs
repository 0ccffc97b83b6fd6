//! `/brokers/ids/<id>`: a live broker's registration, Kafka's `BrokerIdZNode` and `BrokerInfo`.
//!
//! The znode is ephemeral: it exists exactly as long as the broker's ZooKeeper session, and its
//! `czxid` is the broker epoch (KIP-380). Kafka 2.8 writes version 5:
//!
//! ```json
//! {"version":5,"host":"b1","port":9092,"endpoints":["PLAINTEXT://b1:9092"],
//!  "listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"jmx_port":-1,
//!  "timestamp":"1690000000000","features":{}}
//! ```
//!
//! `host`/`port` repeat the first PLAINTEXT endpoint for pre-0.10 clients (`null`/`-1` without
//! one); `rack` appears only when configured. Versions 1 to 5 are read: v1 has only `host`/`port`,
//! v2 adds `endpoints`, v3 `rack`, v4 the listener map, v5 `features`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::BrokerId;
use super::json::{self, string_i64};
use super::ZkDataError;

/// `/brokers`.
pub struct BrokersZNode;

impl BrokersZNode {
    pub const PATH: &'static str = "/brokers";
}

/// `/brokers/ids`, whose children are the live brokers.
pub struct BrokerIdsZNode;

impl BrokerIdsZNode {
    pub const PATH: &'static str = "/brokers/ids";
}

/// `/brokers/seqid`: empty; its data version is the sequence for generated broker ids.
pub struct BrokerSequenceIdZNode;

impl BrokerSequenceIdZNode {
    pub const PATH: &'static str = "/brokers/seqid";
}

/// A listener's security protocol, Kafka's `SecurityProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// The wire id (`SecurityProtocol.id`), as in UpdateMetadata v1+.
    pub fn id(self) -> i16 {
        match self {
            SecurityProtocol::Plaintext => 0,
            SecurityProtocol::Ssl => 1,
            SecurityProtocol::SaslPlaintext => 2,
            SecurityProtocol::SaslSsl => 3,
        }
    }

    /// `SecurityProtocol.forId`.
    pub fn from_id(id: i16) -> Option<SecurityProtocol> {
        SecurityProtocol::ALL.into_iter().find(|p| p.id() == id)
    }

    /// The name Kafka writes (`SecurityProtocol.name`).
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;

    /// `SecurityProtocol.forName`: case-insensitive.
    fn from_str(s: &str) -> Result<SecurityProtocol, String> {
        SecurityProtocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown security protocol {s:?}"))
    }
}

/// One advertised listener, Kafka's `EndPoint`: written as `"<LISTENER_NAME>://host:port"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    /// Empty means Kafka's `null` host.
    pub host: String,
    pub port: i32,
    /// Upper case, as Kafka's `ListenerName.normalised`.
    pub listener_name: String,
    pub security_protocol: SecurityProtocol,
}

impl EndPoint {
    /// A PLAINTEXT listener named `PLAINTEXT`, the common single-listener case.
    pub fn plaintext(host: impl Into<String>, port: i32) -> EndPoint {
        EndPoint {
            host: host.into(),
            port,
            listener_name: "PLAINTEXT".to_string(),
            security_protocol: SecurityProtocol::Plaintext,
        }
    }

    /// `EndPoint.connectionString`: `LISTENER://host:port`, IPv6 hosts in brackets.
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }

    /// `EndPoint.createEndPoint`: parses `LISTENER://host:port`; the listener's security protocol
    /// comes from `protocol_map` (v4+), or, without one, the listener name must be a protocol name.
    pub fn parse(
        connection_string: &str,
        protocol_map: Option<&BTreeMap<String, String>>,
    ) -> Result<EndPoint, String> {
        let bad = || format!("endpoint {connection_string:?} is not LISTENER://host:port");
        let (listener, address) = connection_string.split_once("://").ok_or_else(bad)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port: i32 = port.parse().map_err(|_| bad())?;
        let listener_name = listener.to_ascii_uppercase();
        let protocol_name = match protocol_map {
            Some(map) => map
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&listener_name))
                .map(|(_, protocol)| protocol.as_str())
                .ok_or_else(|| {
                    format!("no security protocol defined for listener {listener_name}")
                })?,
            None => listener_name.as_str(),
        };
        let security_protocol = protocol_name.parse()?;
        Ok(EndPoint {
            host: host.to_string(),
            port,
            listener_name,
            security_protocol,
        })
    }
}

/// A feature's supported version range in a broker registration (KIP-584), Kafka's
/// `SupportedVersionRange`. Kafka 2.8 registers no features (`"features":{}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportedVersionRange {
    pub min_version: i16,
    pub max_version: i16,
}

/// What a broker registers, Kafka's `BrokerInfo` (with its `Broker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: BrokerId,
    /// The advertised listeners, in `advertised.listeners` order.
    pub endpoints: Vec<EndPoint>,
    pub rack: Option<String>,
    /// `-1` when JMX is off.
    pub jmx_port: i32,
    pub features: BTreeMap<String, SupportedVersionRange>,
    /// When the broker registered (ms since the epoch); Kafka writes it as a string.
    pub timestamp_ms: i64,
}

impl BrokerInfo {
    /// The endpoint of the listener named `listener_name`, if the broker advertises it.
    pub fn endpoint(&self, listener_name: &str) -> Option<&EndPoint> {
        self.endpoints
            .iter()
            .find(|e| e.listener_name.eq_ignore_ascii_case(listener_name))
    }
}

/// The JSON fields of every version; `decode` maps them to [`BrokerInfo`].
#[derive(Serialize, Deserialize)]
struct BrokerIdJson {
    version: i32,
    #[serde(default)]
    host: Option<String>,
    #[serde(default = "no_port")]
    port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoints: Option<Vec<String>>,
    /// In endpoint order, as Kafka writes it (a small Scala map keeps insertion order).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ordered_map")]
    listener_security_protocol_map: Option<Vec<(String, String)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rack: Option<String>,
    #[serde(default = "no_port")]
    jmx_port: i32,
    #[serde(default, with = "string_i64")]
    timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    features: Option<BTreeMap<String, SupportedVersionRange>>,
}

fn no_port() -> i32 {
    -1
}

/// A JSON object kept as its key/value pairs in order.
mod ordered_map {
    use std::collections::BTreeMap;

    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Vec<(String, String)>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let pairs = value.as_deref().unwrap_or_default();
        let mut map = serializer.serialize_map(Some(pairs.len()))?;
        for (k, v) in pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<(String, String)>>, D::Error> {
        let map = Option::<BTreeMap<String, String>>::deserialize(deserializer)?;
        Ok(map.map(|m| m.into_iter().collect()))
    }
}

/// `/brokers/ids/<id>`.
pub struct BrokerIdZNode;

impl BrokerIdZNode {
    /// The version Kafka 2.8 writes (IBP ≥ 2.7-IV0).
    pub const VERSION: i32 = 5;

    pub fn path(id: BrokerId) -> String {
        format!("{}/{id}", BrokerIdsZNode::PATH)
    }

    /// The v5 registration JSON.
    pub fn encode(info: &BrokerInfo) -> Vec<u8> {
        // "the default host and port are here for compatibility with older clients that only
        // support PLAINTEXT": the first PLAINTEXT endpoint, or null/-1.
        let plaintext = info
            .endpoints
            .iter()
            .find(|e| e.security_protocol == SecurityProtocol::Plaintext);
        let json = BrokerIdJson {
            version: Self::VERSION,
            host: plaintext.map(|e| e.host.clone()).filter(|h| !h.is_empty()),
            port: plaintext.map_or(-1, |e| e.port),
            endpoints: Some(
                info.endpoints
                    .iter()
                    .map(EndPoint::connection_string)
                    .collect(),
            ),
            listener_security_protocol_map: Some(
                info.endpoints
                    .iter()
                    .map(|e| {
                        (
                            e.listener_name.clone(),
                            e.security_protocol.name().to_string(),
                        )
                    })
                    .fold(Vec::new(), |mut pairs, (name, protocol)| {
                        if !pairs.iter().any(|(n, _)| *n == name) {
                            pairs.push((name, protocol));
                        }
                        pairs
                    }),
            ),
            rack: info.rack.clone(),
            jmx_port: info.jmx_port,
            timestamp: info.timestamp_ms,
            features: Some(info.features.clone()),
        };
        json::encode(&json)
    }

    /// Reads a registration of any version from 1 to 5 (`BrokerIdZNode.decode`).
    pub fn decode(id: BrokerId, bytes: &[u8]) -> Result<BrokerInfo, ZkDataError> {
        let path = Self::path(id);
        let (version, json): (_, BrokerIdJson) = json::decode(&path, bytes, 1..=5)?;
        let invalid = |reason: String| ZkDataError::Invalid {
            path: path.clone(),
            reason,
        };
        let protocol_map: Option<BTreeMap<String, String>> = json
            .listener_security_protocol_map
            .clone()
            .map(|pairs| pairs.into_iter().collect());
        let endpoints = if version == 1 {
            let host = json.host.clone().unwrap_or_default();
            vec![EndPoint::plaintext(host, json.port)]
        } else {
            let listeners = json
                .endpoints
                .as_ref()
                .ok_or_else(|| invalid("no \"endpoints\" field".to_string()))?;
            listeners
                .iter()
                .map(|listener| {
                    EndPoint::parse(listener, protocol_map.as_ref())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?
        };
        Ok(BrokerInfo {
            id,
            endpoints,
            rack: json.rack,
            jmx_port: json.jmx_port,
            features: json.features.unwrap_or_default(),
            timestamp_ms: json.timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn value(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    /// Reference §1.2's example, verbatim.
    const KAFKA_V5: &str = r#"{"version":5,"host":"b1","port":9092,"endpoints":["PLAINTEXT://b1:9092"],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"jmx_port":-1,"timestamp":"1690000000000","features":{}}"#;

    #[test]
    fn decodes_and_re_encodes_kafkas_v5_example() {
        let info = BrokerIdZNode::decode(BrokerId(1), KAFKA_V5.as_bytes()).unwrap();
        assert_eq!(
            info,
            BrokerInfo {
                id: BrokerId(1),
                endpoints: vec![EndPoint::plaintext("b1", 9092)],
                rack: None,
                jmx_port: -1,
                features: BTreeMap::new(),
                timestamp_ms: 1_690_000_000_000,
            }
        );
        assert_eq!(
            value(&BrokerIdZNode::encode(&info)),
            value(KAFKA_V5.as_bytes())
        );
    }

    #[test]
    fn encodes_two_listeners_byte_for_byte_as_kafka() {
        let ep = |name: &str, host: &str, port| EndPoint {
            host: host.into(),
            port,
            listener_name: name.into(),
            security_protocol: SecurityProtocol::Plaintext,
        };
        let info = BrokerInfo {
            id: BrokerId(1),
            endpoints: vec![
                ep("INTERNAL", "kafka-1", 19092),
                ep("EXTERNAL", "localhost", 9092),
            ],
            rack: None,
            jmx_port: -1,
            features: BTreeMap::new(),
            timestamp_ms: 1_690_000_000_000,
        };
        // Kafka's field order; the map in endpoint order; legacy host/port from the first
        // PLAINTEXT-protocol endpoint.
        let kafka = r#"{"version":5,"host":"kafka-1","port":19092,"endpoints":["INTERNAL://kafka-1:19092","EXTERNAL://localhost:9092"],"listener_security_protocol_map":{"INTERNAL":"PLAINTEXT","EXTERNAL":"PLAINTEXT"},"jmx_port":-1,"timestamp":"1690000000000","features":{}}"#;
        assert_eq!(String::from_utf8(BrokerIdZNode::encode(&info)).unwrap(), kafka);
        assert_eq!(BrokerIdZNode::decode(BrokerId(1), kafka.as_bytes()).unwrap(), info);
        // The single-listener case is the reference's example, byte for byte.
        let single = BrokerInfo {
            id: BrokerId(1),
            endpoints: vec![EndPoint::plaintext("b1", 9092)],
            ..info
        };
        assert_eq!(String::from_utf8(BrokerIdZNode::encode(&single)).unwrap(), KAFKA_V5);
    }

    #[test]
    fn field_order_and_unknown_fields_do_not_matter() {
        let shuffled = r#"{"features":{},"timestamp":"1690000000000","jmx_port":-1,"future_field":[1,{"x":2}],
            "listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://b1:9092"],
            "port":9092,"host":"b1","version":5}"#;
        let a = BrokerIdZNode::decode(BrokerId(1), shuffled.as_bytes()).unwrap();
        let b = BrokerIdZNode::decode(BrokerId(1), KAFKA_V5.as_bytes()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn several_listeners_rack_and_features() {
        let kafka = json!({
            "listener_security_protocol_map": {"CLIENT": "SASL_SSL", "REPLICATION": "PLAINTEXT", "EXTERNAL": "SSL"},
            "endpoints": ["CLIENT://host1:9092", "REPLICATION://host1:9093", "EXTERNAL://[::1]:9094"],
            "rack": "dc1", "jmx_port": 9999, "host": "host1", "timestamp": "2233345666", "port": 9093,
            "version": 5,
            "features": {"feature": {"min_version": 1, "first_active_version": 2, "max_version": 3}},
        });
        let info = BrokerIdZNode::decode(BrokerId(7), kafka.to_string().as_bytes()).unwrap();
        assert_eq!(info.rack.as_deref(), Some("dc1"));
        assert_eq!(info.jmx_port, 9999);
        assert_eq!(
            info.endpoints[0].security_protocol,
            SecurityProtocol::SaslSsl
        );
        assert_eq!(info.endpoints[2].host, "::1");
        assert_eq!(
            info.endpoints[2].connection_string(),
            "EXTERNAL://[::1]:9094"
        );
        assert_eq!(info.endpoint("replication").map(|e| e.port), Some(9093));
        assert_eq!(
            info.features["feature"],
            SupportedVersionRange {
                min_version: 1,
                max_version: 3
            }
        );

        // Re-encoded: the same JSON, less the feature label Kafka 2.8 does not know either.
        let mut expected = kafka.clone();
        expected["features"] = json!({"feature": {"min_version": 1, "max_version": 3}});
        assert_eq!(value(&BrokerIdZNode::encode(&info)), expected);
    }

    #[test]
    fn no_plaintext_listener_means_null_host_and_port_minus_one() {
        let info = BrokerInfo {
            id: BrokerId(2),
            endpoints: vec![EndPoint {
                host: "h".into(),
                port: 9093,
                listener_name: "SSL".into(),
                security_protocol: SecurityProtocol::Ssl,
            }],
            rack: None,
            jmx_port: -1,
            features: BTreeMap::new(),
            timestamp_ms: 5,
        };
        let encoded = value(&BrokerIdZNode::encode(&info));
        assert_eq!(encoded["host"], Value::Null);
        assert_eq!(encoded["port"], json!(-1));
        assert_eq!(encoded["timestamp"], json!("5"));
        assert!(encoded.get("rack").is_none());
    }

    #[test]
    fn older_versions() {
        let v1 = r#"{"version":1,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666"}"#;
        let info = BrokerIdZNode::decode(BrokerId(0), v1.as_bytes()).unwrap();
        assert_eq!(info.endpoints, vec![EndPoint::plaintext("localhost", 9092)]);

        // v2/v3: no listener map, so the listener name is the protocol.
        let v3 = r#"{"version":3,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666",
            "endpoints":["PLAINTEXT://host1:9092", "SSL://host1:9093"],"rack":"dc1"}"#;
        let info = BrokerIdZNode::decode(BrokerId(0), v3.as_bytes()).unwrap();
        assert_eq!(info.endpoints[1].security_protocol, SecurityProtocol::Ssl);
        assert_eq!(info.rack.as_deref(), Some("dc1"));
    }

    #[test]
    fn errors_name_the_path() {
        let err =
            BrokerIdZNode::decode(BrokerId(3), br#"{"version":6,"endpoints":[]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/brokers/ids/3: unsupported version 6 (this broker reads versions 1..=5)"
        );
        let err = BrokerIdZNode::decode(
            BrokerId(3),
            br#"{"version":4,"endpoints":["CLIENT://h:1"],"listener_security_protocol_map":{}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/brokers/ids/3: no security protocol defined for listener CLIENT"
        );
        let err = BrokerIdZNode::decode(BrokerId(3), br#"{"version":5,"endpoints":["nonsense"]}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/brokers/ids/3: endpoint \"nonsense\""),
            "{err}"
        );
    }
}
