//! Kafka's `DefaultMessageFormatter` (the console consumer's output): per record, optionally the
//! timestamp (`CreateTime:1612345678901`), `Partition:N`, `Offset:N`, the headers (`k:v,k2:v2`,
//! or `NO_HEADERS`) and the key, each followed by `key.separator` (a tab), then the value and
//! `line.separator`. A null key, value or header value prints as `null`.

use std::io::Write;

use kafka_protocol::records::{Record, TimestampType};

use crate::produce::parse_property;
use crate::produce::reader::parse_bool;

/// The formatter's `--property` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatter {
    pub print_timestamp: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub print_key: bool,
    pub print_value: bool,
    pub key_separator: String,
    pub line_separator: String,
    pub headers_separator: String,
    pub headers_key_separator: String,
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter {
            print_timestamp: false,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            print_key: false,
            print_value: true,
            key_separator: "\t".into(),
            line_separator: "\n".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
        }
    }
}

impl Formatter {
    /// Reads `--property NAME=VALUE` pairs; an unknown name is an error.
    pub fn from_properties(properties: &[(String, String)]) -> anyhow::Result<Formatter> {
        let mut f = Formatter::default();
        for (name, value) in properties {
            match name.as_str() {
                "print.timestamp" => f.print_timestamp = parse_bool(name, value)?,
                "print.partition" => f.print_partition = parse_bool(name, value)?,
                "print.offset" => f.print_offset = parse_bool(name, value)?,
                "print.headers" => f.print_headers = parse_bool(name, value)?,
                "print.key" => f.print_key = parse_bool(name, value)?,
                "print.value" => f.print_value = parse_bool(name, value)?,
                "key.separator" => f.key_separator = value.clone(),
                "line.separator" => f.line_separator = value.clone(),
                "headers.separator" => f.headers_separator = value.clone(),
                "headers.key.separator" => f.headers_key_separator = value.clone(),
                _ => anyhow::bail!("unknown property '{name}'"),
            }
        }
        Ok(f)
    }

    /// Writes one record of `partition`.
    pub fn write(
        &self,
        out: &mut impl Write,
        partition: i32,
        record: &Record,
    ) -> std::io::Result<()> {
        let columns = [
            self.print_timestamp,
            self.print_partition,
            self.print_offset,
            self.print_headers,
            self.print_key,
            self.print_value,
        ];
        // Kafka writes the separator after a column only when another column follows.
        let more_after = |i: usize| columns[i + 1..].iter().any(|&c| c);
        let sep = |out: &mut dyn Write, i: usize| -> std::io::Result<()> {
            if more_after(i) {
                out.write_all(self.key_separator.as_bytes())?;
            }
            Ok(())
        };
        if self.print_timestamp {
            let kind = match record.timestamp_type {
                TimestampType::Creation => "CreateTime",
                TimestampType::LogAppend => "LogAppendTime",
            };
            if record.timestamp < 0 {
                write!(out, "NO_TIMESTAMP")?;
            } else {
                write!(out, "{kind}:{}", record.timestamp)?;
            }
            sep(out, 0)?;
        }
        if self.print_partition {
            write!(out, "Partition:{partition}")?;
            sep(out, 1)?;
        }
        if self.print_offset {
            write!(out, "Offset:{}", record.offset)?;
            sep(out, 2)?;
        }
        if self.print_headers {
            if record.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            }
            for (i, (key, value)) in record.headers.iter().enumerate() {
                if i > 0 {
                    out.write_all(self.headers_separator.as_bytes())?;
                }
                out.write_all(key.as_bytes())?;
                out.write_all(self.headers_key_separator.as_bytes())?;
                out.write_all(value.as_deref().unwrap_or(b"null"))?;
            }
            sep(out, 3)?;
        }
        if self.print_key {
            out.write_all(record.key.as_deref().unwrap_or(b"null"))?;
            sep(out, 4)?;
        }
        if self.print_value {
            out.write_all(record.value.as_deref().unwrap_or(b"null"))?;
            out.write_all(self.line_separator.as_bytes())?;
        }
        Ok(())
    }
}

/// `NAME=VALUE` for clap (shared with `produce`).
pub fn property(value: &str) -> Result<(String, String), String> {
    parse_property(value)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    fn record(key: Option<&str>, value: Option<&str>, headers: &[(&str, Option<&str>)]) -> Record {
        Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 42,
            sequence: -1,
            timestamp: 1_600_000_000_000,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        StrBytes::from_string(k.to_string()),
                        v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                    )
                })
                .collect::<IndexMap<_, _>>(),
        }
    }

    fn format(properties: &[(&str, &str)], record: &Record) -> String {
        let properties: Vec<(String, String)> = properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut out = Vec::new();
        Formatter::from_properties(&properties)
            .unwrap()
            .write(&mut out, 3, record)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn like_the_console_consumer() {
        let r = record(Some("k"), Some("v"), &[("a", Some("1")), ("b", None)]);
        assert_eq!(format(&[], &r), "v\n");
        assert_eq!(format(&[("print.key", "true")], &r), "k\tv\n");
        assert_eq!(format(&[("print.headers", "true")], &r), "a:1,b:null\tv\n");
        assert_eq!(
            format(
                &[
                    ("print.headers", "true"),
                    ("print.key", "true"),
                    ("key.separator", " | ")
                ],
                &r
            ),
            "a:1,b:null | k | v\n"
        );
        assert_eq!(
            format(
                &[
                    ("print.timestamp", "true"),
                    ("print.partition", "true"),
                    ("print.offset", "true")
                ],
                &r
            ),
            "CreateTime:1600000000000\tPartition:3\tOffset:42\tv\n"
        );
        let bare = record(None, None, &[]);
        assert_eq!(
            format(&[("print.key", "true"), ("print.headers", "true")], &bare),
            "NO_HEADERS\tnull\tnull\n"
        );
        assert_eq!(
            format(&[("print.key", "true"), ("print.value", "false")], &bare),
            "null"
        );
    }

    #[test]
    fn unknown_properties_are_named() {
        let err = Formatter::from_properties(&[("print.keys".into(), "true".into())]).unwrap_err();
        assert!(err.to_string().contains("print.keys"));
    }
}
