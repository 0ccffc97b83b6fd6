//! Kafka's listener keys: `listeners`, `advertised.listeners`, `listener.security.protocol.map`
//! and `inter.broker.listener.name` (with the older `security.inter.broker.protocol`).
//!
//! A listener is a named socket, `NAME://host:port`; the name maps to a security protocol, and
//! the broker advertises one endpoint per listener name in `/brokers/ids/<id>`. A client is
//! answered with every broker's endpoint for the listener its request arrived on, and brokers talk
//! to each other over `inter.broker.listener.name`. This is how one broker is `localhost:9092` to
//! a client on the host and `kafka-1:19092` to the other brokers on a container network.
//!
//! Invariant: after [`parse`], listener names are upper case and unique, every listener maps to
//! PLAINTEXT (the only protocol served), every advertised name is a listener, and the
//! inter-broker listener is advertised.

use std::collections::BTreeMap;

use odradek_zk::SecurityProtocol;

use super::{invalid, ConfigError, Listener, Props};

/// Kafka's default `listener.security.protocol.map`: each protocol name is also a listener name.
pub const DEFAULT_SECURITY_PROTOCOL_MAP: &str = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/// The listener keys, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    /// `listeners` (default `PLAINTEXT://:9092`): the sockets to bind; empty host = all interfaces.
    pub listeners: Vec<Listener>,
    /// `advertised.listeners` (default: `listeners`): what goes into `/brokers/ids/<id>`; an empty
    /// host means the machine's host name, port 0 the port the same-named listener bound.
    pub advertised_listeners: Vec<Listener>,
    /// `listener.security.protocol.map`, listener name → protocol.
    pub security_protocol_map: BTreeMap<String, SecurityProtocol>,
    /// `inter.broker.listener.name`: what the controller and followers connect to.
    pub inter_broker_listener_name: String,
}

pub(super) fn parse(p: &Props<'_>) -> Result<ListenerSettings, ConfigError> {
    let raw_map = p.str("listener.security.protocol.map").unwrap_or(DEFAULT_SECURITY_PROTOCOL_MAP);
    let security_protocol_map = parse_protocol_map(raw_map)?;

    let raw_listeners = p.str("listeners").unwrap_or("PLAINTEXT://:9092");
    let listeners = parse_list("listeners", raw_listeners)?;
    if listeners.is_empty() {
        return Err(invalid("listeners", raw_listeners, "no listener given"));
    }
    // Port 0 (an ephemeral port per listener) may repeat; a fixed port may not.
    let mut ports = BTreeMap::new();
    for l in listeners.iter().filter(|l| l.port != 0) {
        if let Some(other) = ports.insert(l.port, &l.name) {
            return Err(invalid("listeners", raw_listeners, format!("each listener must have a different port; {other} and {} both use {}", l.name, l.port)));
        }
    }
    for l in &listeners {
        match security_protocol_map.get(&l.name) {
            None => return Err(invalid("listener.security.protocol.map", raw_map, format!("no security protocol defined for listener {}", l.name))),
            Some(SecurityProtocol::Plaintext) => {}
            Some(other) => return Err(invalid("listeners", raw_listeners, format!("listener {} uses security protocol {other}; only PLAINTEXT is served", l.name))),
        }
    }

    let advertised_listeners = match p.str("advertised.listeners") {
        None => listeners.clone(),
        Some(raw) => {
            let advertised = parse_list("advertised.listeners", raw)?;
            if let Some(l) = advertised.iter().find(|a| !listeners.iter().any(|l| l.name == a.name)) {
                return Err(invalid("advertised.listeners", raw, format!("listener {} is not in listeners; advertised names must be a subset of the listener names", l.name)));
            }
            advertised
        }
    };

    let inter_broker_listener_name = match (p.str("inter.broker.listener.name"), p.str("security.inter.broker.protocol")) {
        (Some(_), Some(_)) => {
            return Err(invalid("inter.broker.listener.name", p.str("inter.broker.listener.name").unwrap_or_default(), "only one of inter.broker.listener.name and security.inter.broker.protocol may be set"))
        }
        (Some(name), None) => name.to_ascii_uppercase(),
        (None, protocol) => {
            // Kafka: security.inter.broker.protocol (default PLAINTEXT) names the listener.
            let protocol = protocol.unwrap_or("PLAINTEXT");
            match protocol.parse::<SecurityProtocol>() {
                Ok(SecurityProtocol::Plaintext) => SecurityProtocol::Plaintext.name().to_string(),
                _ => return Err(invalid("security.inter.broker.protocol", protocol, "only PLAINTEXT is served")),
            }
        }
    };
    if !advertised_listeners.iter().any(|l| l.name == inter_broker_listener_name) {
        let valid: Vec<&str> = advertised_listeners.iter().map(|l| l.name.as_str()).collect();
        return Err(invalid(
            "inter.broker.listener.name",
            &inter_broker_listener_name,
            format!("must be a listener name defined in advertised.listeners; the valid options are {}", valid.join(",")),
        ));
    }
    Ok(ListenerSettings { listeners, advertised_listeners, security_protocol_map, inter_broker_listener_name })
}

/// `NAME://host:port,...` with unique names (Kafka's `listenerListToEndPoints`).
fn parse_list(key: &str, value: &str) -> Result<Vec<Listener>, ConfigError> {
    let mut out: Vec<Listener> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let l = parse_listener(key, value, entry)?;
        if out.iter().any(|o| o.name == l.name) {
            return Err(invalid(key, value, format!("each listener must have a different name; {} appears twice", l.name)));
        }
        out.push(l);
    }
    Ok(out)
}

/// One `NAME://host:port`; IPv6 hosts in brackets; the name is normalised to upper case.
fn parse_listener(key: &str, value: &str, entry: &str) -> Result<Listener, ConfigError> {
    let malformed = || invalid(key, value, format!("{entry:?} is not NAME://host:port"));
    let (name, rest) = entry.split_once("://").ok_or_else(malformed)?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(malformed());
    }
    let (host, port) = rest.rsplit_once(':').ok_or_else(malformed)?;
    let port: u16 = port.parse().map_err(|_| invalid(key, value, format!("port of {entry:?} must be 0-65535")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Listener { name: name.to_ascii_uppercase(), host, port })
}

/// `NAME:PROTOCOL,...`.
fn parse_protocol_map(value: &str) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
    let key = "listener.security.protocol.map";
    let mut map = BTreeMap::new();
    for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, protocol) = entry.split_once(':').ok_or_else(|| invalid(key, value, format!("{entry:?} is not NAME:PROTOCOL")))?;
        let protocol: SecurityProtocol = protocol.trim().parse().map_err(|e: String| invalid(key, value, e))?;
        if map.insert(name.trim().to_ascii_uppercase(), protocol).is_some() {
            return Err(invalid(key, value, format!("listener {} is mapped twice", name.trim().to_ascii_uppercase())));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::super::KafkaConfig;
    use super::*;

    fn settings(pairs: &[&str]) -> Result<KafkaConfig, String> {
        let mut o: Vec<String> = vec!["broker.id=1".to_string()];
        o.extend(pairs.iter().map(|s| s.to_string()));
        KafkaConfig::load(None, &o).map_err(|e| e.to_string())
    }

    fn l(name: &str, host: &str, port: u16) -> Listener {
        Listener { name: name.into(), host: host.into(), port }
    }

    /// Overrides, then the expected listeners, advertised listeners and inter-broker listener.
    type Accepted<'a> = (&'a [&'a str], &'a [Listener], &'a [Listener], &'a str);

    #[test]
    fn accepted_listener_configs() {
        let cases: &[Accepted<'_>] = &[
            (&[], &[l("PLAINTEXT", "", 9092)], &[l("PLAINTEXT", "", 9092)], "PLAINTEXT"),
            (&["listeners=plaintext://127.0.0.1:9093"], &[l("PLAINTEXT", "127.0.0.1", 9093)], &[l("PLAINTEXT", "127.0.0.1", 9093)], "PLAINTEXT"),
            (
                &["listeners=PLAINTEXT://:9092", "advertised.listeners=PLAINTEXT://b1.example:19092"],
                &[l("PLAINTEXT", "", 9092)],
                &[l("PLAINTEXT", "b1.example", 19092)],
                "PLAINTEXT",
            ),
            (
                &[
                    "listeners=INTERNAL://0.0.0.0:19092, EXTERNAL://[::]:9092",
                    "advertised.listeners=INTERNAL://kafka-1:19092,EXTERNAL://localhost:9092",
                    "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
                    "inter.broker.listener.name=internal",
                ],
                &[l("INTERNAL", "0.0.0.0", 19092), l("EXTERNAL", "::", 9092)],
                &[l("INTERNAL", "kafka-1", 19092), l("EXTERNAL", "localhost", 9092)],
                "INTERNAL",
            ),
            // Advertised names may be a subset; two ephemeral ports are not a clash.
            (
                &["listeners=A://127.0.0.1:0,B://127.0.0.1:0", "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT", "advertised.listeners=B://h:0", "inter.broker.listener.name=B"],
                &[l("A", "127.0.0.1", 0), l("B", "127.0.0.1", 0)],
                &[l("B", "h", 0)],
                "B",
            ),
            // Without advertised.listeners, every listener is advertised.
            (
                &["listeners=PLAINTEXT://:9092,REPLICATION://:9093", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT"],
                &[l("PLAINTEXT", "", 9092), l("REPLICATION", "", 9093)],
                &[l("PLAINTEXT", "", 9092), l("REPLICATION", "", 9093)],
                "PLAINTEXT",
            ),
            (&["security.inter.broker.protocol=PLAINTEXT"], &[l("PLAINTEXT", "", 9092)], &[l("PLAINTEXT", "", 9092)], "PLAINTEXT"),
        ];
        for (pairs, listeners, advertised, inter) in cases {
            let s = settings(pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
            assert!(s.listener_security_protocol_map.values().all(|p| *p == SecurityProtocol::Plaintext) || s.listener_security_protocol_map.len() == 4);
            assert_eq!((&s.listeners[..], &s.advertised_listeners[..], s.inter_broker_listener_name.as_str()), (*listeners, *advertised, *inter), "{pairs:?}");
        }
    }

    #[test]
    fn refused_listener_configs_name_the_key_and_the_reason() {
        let two = "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT";
        let cases: &[(&[&str], &str)] = &[
            (&["listeners=SSL://:9093"], "invalid value 'SSL://:9093' for configuration key 'listeners': listener SSL uses security protocol SSL; only PLAINTEXT is served"),
            (
                &["listeners=A://:1,B://:2", "listener.security.protocol.map=A:PLAINTEXT,B:SASL_SSL", "inter.broker.listener.name=A"],
                "invalid value 'A://:1,B://:2' for configuration key 'listeners': listener B uses security protocol SASL_SSL; only PLAINTEXT is served",
            ),
            (&["listeners=A://:1"], &format!("invalid value '{DEFAULT_SECURITY_PROTOCOL_MAP}' for configuration key 'listener.security.protocol.map': no security protocol defined for listener A")),
            (&["listener.security.protocol.map=PLAINTEXT:TLS"], "invalid value 'PLAINTEXT:TLS' for configuration key 'listener.security.protocol.map': unknown security protocol \"TLS\""),
            (&["listener.security.protocol.map=PLAINTEXT"], "invalid value 'PLAINTEXT' for configuration key 'listener.security.protocol.map': \"PLAINTEXT\" is not NAME:PROTOCOL"),
            (&["listeners=A://:1,a://:2", two, "inter.broker.listener.name=A"], "invalid value 'A://:1,a://:2' for configuration key 'listeners': each listener must have a different name; A appears twice"),
            (&["listeners=A://:1,B://h:1", two, "inter.broker.listener.name=A"], "invalid value 'A://:1,B://h:1' for configuration key 'listeners': each listener must have a different port; A and B both use 1"),
            (&["listeners=A://:1,B://:2", two], "invalid value 'PLAINTEXT' for configuration key 'inter.broker.listener.name': must be a listener name defined in advertised.listeners; the valid options are A,B"),
            (&["listeners=A://:1,B://:2", two, "inter.broker.listener.name=C"], "invalid value 'C' for configuration key 'inter.broker.listener.name': must be a listener name defined in advertised.listeners; the valid options are A,B"),
            (
                &["listeners=A://:1,B://:2", two, "advertised.listeners=A://h:1", "inter.broker.listener.name=B"],
                "invalid value 'B' for configuration key 'inter.broker.listener.name': must be a listener name defined in advertised.listeners; the valid options are A",
            ),
            (&["advertised.listeners=OTHER://h:1"], "invalid value 'OTHER://h:1' for configuration key 'advertised.listeners': listener OTHER is not in listeners; advertised names must be a subset of the listener names"),
            (&["advertised.listeners=PLAINTEXT://h:1,PLAINTEXT://g:1"], "invalid value 'PLAINTEXT://h:1,PLAINTEXT://g:1' for configuration key 'advertised.listeners': each listener must have a different name; PLAINTEXT appears twice"),
            (&["listeners=localhost:9092"], "invalid value 'localhost:9092' for configuration key 'listeners': \"localhost:9092\" is not NAME://host:port"),
            (&["listeners=PLAINTEXT://:70000"], "invalid value 'PLAINTEXT://:70000' for configuration key 'listeners': port of \"PLAINTEXT://:70000\" must be 0-65535"),
            (&["security.inter.broker.protocol=SSL"], "invalid value 'SSL' for configuration key 'security.inter.broker.protocol': only PLAINTEXT is served"),
            (
                &["security.inter.broker.protocol=PLAINTEXT", "inter.broker.listener.name=PLAINTEXT"],
                "invalid value 'PLAINTEXT' for configuration key 'inter.broker.listener.name': only one of inter.broker.listener.name and security.inter.broker.protocol may be set",
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(settings(pairs).unwrap_err(), *expected, "{pairs:?}");
        }
    }
}
