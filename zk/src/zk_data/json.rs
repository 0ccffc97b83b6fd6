//! Decoding helpers shared by the znode types: parse, check `version`, then let serde read the
//! fields. Jackson wrote Kafka's JSON from a map, so field order means nothing and unknown fields
//! must be ignored (serde's default); a few numbers are JSON strings.

use std::ops::RangeInclusive;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ZkDataError;

/// Parses `bytes` (a znode's data at `path`) as a JSON object.
pub(crate) fn parse_object(path: &str, bytes: &[u8]) -> Result<Value, ZkDataError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|source| ZkDataError::Json {
        path: path.to_string(),
        source,
    })?;
    if !value.is_object() {
        return Err(ZkDataError::Invalid {
            path: path.to_string(),
            reason: format!("expected a JSON object, got {value}"),
        });
    }
    Ok(value)
}

/// Reads the object's `version` (a number, or a decimal string as `/cluster/id` writes it) and
/// checks it is one this crate reads.
pub(crate) fn check_version(
    path: &str,
    object: &Value,
    supported: RangeInclusive<i64>,
) -> Result<i64, ZkDataError> {
    let unsupported = |version: String| ZkDataError::UnsupportedVersion {
        path: path.to_string(),
        version,
        supported: format!("{}..={}", supported.start(), supported.end()),
    };
    let version = match object.get("version") {
        None | Some(Value::Null) => {
            return Err(ZkDataError::Invalid {
                path: path.to_string(),
                reason: "no \"version\" field".to_string(),
            })
        }
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| unsupported(n.to_string()))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| unsupported(format!("{s:?}")))?,
        Some(other) => return Err(unsupported(other.to_string())),
    };
    if supported.contains(&version) {
        Ok(version)
    } else {
        Err(unsupported(version.to_string()))
    }
}

/// Reads the fields of a parsed object into `T`.
pub(crate) fn from_object<T: DeserializeOwned>(
    path: &str,
    object: Value,
) -> Result<T, ZkDataError> {
    serde_json::from_value(object).map_err(|source| ZkDataError::Json {
        path: path.to_string(),
        source,
    })
}

/// `parse_object` + `check_version` + `from_object`.
pub(crate) fn decode<T: DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    supported: RangeInclusive<i64>,
) -> Result<(i64, T), ZkDataError> {
    let object = parse_object(path, bytes)?;
    let version = check_version(path, &object, supported)?;
    Ok((version, from_object(path, object)?))
}

/// Serializes a JSON payload. Serializing these plain structs and maps cannot fail.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("znode payloads are plain structs and string-keyed maps")
}

/// A 64-bit number Kafka writes as a JSON string (`"timestamp":"1690000000000"`). Reads a string
/// or a number, writes a string.
pub(crate) mod string_i64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum StringOrNumber {
            String(String),
            Number(i64),
        }
        match StringOrNumber::deserialize(deserializer)? {
            StringOrNumber::Number(n) => Ok(n),
            StringOrNumber::String(s) => s
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a 64-bit integer"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_may_be_a_number_or_a_decimal_string() {
        assert_eq!(
            check_version("/p", &serde_json::json!({"version": 3}), 1..=3).unwrap(),
            3
        );
        assert_eq!(
            check_version("/p", &serde_json::json!({"version": "1"}), 1..=1).unwrap(),
            1
        );
    }

    #[test]
    fn unsupported_versions_name_the_path() {
        let err = check_version(
            "/brokers/topics/t",
            &serde_json::json!({"version": 9}),
            1..=3,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/brokers/topics/t: unsupported version 9 (this broker reads versions 1..=3)"
        );
        let err = check_version("/cluster/id", &serde_json::json!({"id": "x"}), 1..=1).unwrap_err();
        assert_eq!(err.to_string(), "/cluster/id: no \"version\" field");
        let err = check_version("/cluster/id", &serde_json::json!({"version": "one"}), 1..=1)
            .unwrap_err();
        assert!(err.to_string().contains("\"one\""), "{err}");
    }

    #[test]
    fn bad_json_names_the_path() {
        let err = parse_object("/controller", b"{not json").unwrap_err();
        assert!(
            err.to_string().starts_with("/controller: invalid JSON"),
            "{err}"
        );
        let err = parse_object("/controller", b"[1]").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/controller: expected a JSON object"),
            "{err}"
        );
    }
}
