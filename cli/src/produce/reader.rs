//! Kafka's `LineMessageReader` (the console producer's `--line-reader`): one record per line;
//! with `parse.key=true` the line is split at the first `key.separator` (default a tab) into key
//! and value, and a line without the separator is an error, as in Kafka 2.8.

use bytes::Bytes;

/// The reader's `--property` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    pub parse_key: bool,
    pub key_separator: String,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            parse_key: false,
            key_separator: "\t".to_string(),
        }
    }
}

impl ReaderConfig {
    /// Reads `--property NAME=VALUE` pairs; an unknown name is an error (a typo would otherwise
    /// silently produce the wrong keys).
    pub fn from_properties(properties: &[(String, String)]) -> anyhow::Result<ReaderConfig> {
        let mut config = ReaderConfig::default();
        for (name, value) in properties {
            match name.as_str() {
                "parse.key" => config.parse_key = parse_bool(name, value)?,
                "key.separator" => {
                    anyhow::ensure!(
                        !value.is_empty(),
                        "property key.separator must not be empty"
                    );
                    config.key_separator = value.clone();
                }
                _ => anyhow::bail!(
                    "unknown property '{name}' (the producer reads parse.key and key.separator)"
                ),
            }
        }
        Ok(config)
    }

    /// The key and value of line `number` (1-based, for the error message).
    pub fn parse(&self, line: &str, number: u64) -> anyhow::Result<(Option<Bytes>, Bytes)> {
        if !self.parse_key {
            return Ok((None, Bytes::copy_from_slice(line.as_bytes())));
        }
        match line.split_once(self.key_separator.as_str()) {
            Some((key, value)) => Ok((
                Some(Bytes::copy_from_slice(key.as_bytes())),
                Bytes::copy_from_slice(value.as_bytes()),
            )),
            None => anyhow::bail!("No key found on line {number}: {line}"),
        }
    }
}

/// Java's `Boolean.parseBoolean` accepts anything, reading all but "true" as false; this accepts
/// only true and false.
pub fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => anyhow::bail!("property {name} must be true or false, not '{value}'"),
    }
}

/// `NAME=VALUE`, for clap.
pub fn parse_property(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((name, v)) if !name.is_empty() => Ok((name.to_string(), v.to_string())),
        _ => Err(format!("'{value}' is not NAME=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lines_are_values_unless_keys_are_parsed() {
        let plain = ReaderConfig::default();
        assert_eq!(plain.parse("a:b", 1).unwrap(), (None, Bytes::from("a:b")));
        let keyed =
            ReaderConfig::from_properties(&props(&[("parse.key", "true"), ("key.separator", ":")]))
                .unwrap();
        assert_eq!(
            keyed.parse("k:v:w", 1).unwrap(),
            (Some(Bytes::from("k")), Bytes::from("v:w"))
        );
        assert_eq!(
            keyed.parse(":v", 1).unwrap(),
            (Some(Bytes::from("")), Bytes::from("v"))
        );
        assert_eq!(
            keyed.parse("nokey", 7).unwrap_err().to_string(),
            "No key found on line 7: nokey"
        );
    }

    #[test]
    fn tab_is_the_default_separator() {
        let keyed = ReaderConfig::from_properties(&props(&[("parse.key", "true")])).unwrap();
        assert_eq!(keyed.parse("k\tv", 1).unwrap().0, Some(Bytes::from("k")));
    }

    #[test]
    fn bad_properties_are_named() {
        assert!(ReaderConfig::from_properties(&props(&[("parse.key", "yes")])).is_err());
        assert!(
            ReaderConfig::from_properties(&props(&[("parse.keys", "true")]))
                .unwrap_err()
                .to_string()
                .contains("parse.keys")
        );
        assert!(parse_property("a=b=c").is_ok_and(|(k, v)| k == "a" && v == "b=c"));
        assert!(parse_property("=x").is_err());
        assert!(parse_property("x").is_err());
    }
}
