//! Kafka's error codes as `kafka-topics.sh` users read them: by name
//! (`org.apache.kafka.common.protocol.Errors`), with the broker's message when it sent one.

use kafka_protocol::ResponseError;

/// Kafka's name for `code`, e.g. `INVALID_REPLICATION_FACTOR` for 38; `NONE` for 0 and
/// `UNKNOWN_ERROR_CODE_<n>` for a code this client does not know.
pub fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN_ERROR_CODE_{code}"),
        // The codec names variants in CamelCase (`InvalidReplicationFactor`); Kafka's names are
        // the same words in SCREAMING_SNAKE_CASE.
        Some(error) => screaming_snake(&error.to_string()),
    }
}

/// `NAME: message`, or `NAME` when the broker sent no message (or an empty one).
pub fn describe_error(code: i16, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(message) => format!("{}: {message}", error_name(code)),
        None => error_name(code),
    }
}

/// Whether `code` is `error`.
pub fn is(code: i16, error: ResponseError) -> bool {
    code == error.code()
}

fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafkas() {
        for (code, name) in [
            (0, "NONE"),
            (-1, "UNKNOWN_SERVER_ERROR"),
            (3, "UNKNOWN_TOPIC_OR_PARTITION"),
            (17, "INVALID_TOPIC_EXCEPTION"),
            (36, "TOPIC_ALREADY_EXISTS"),
            (38, "INVALID_REPLICATION_FACTOR"),
            (41, "NOT_CONTROLLER"),
            (9999, "UNKNOWN_ERROR_CODE_9999"),
        ] {
            assert_eq!(error_name(code), name, "code {code}");
        }
    }

    #[test]
    fn message_follows_the_name() {
        assert_eq!(
            describe_error(
                38,
                Some("Replication factor: 4 larger than available brokers: 3.")
            ),
            "INVALID_REPLICATION_FACTOR: Replication factor: 4 larger than available brokers: 3."
        );
        assert_eq!(describe_error(36, Some("  ")), "TOPIC_ALREADY_EXISTS");
        assert_eq!(describe_error(36, None), "TOPIC_ALREADY_EXISTS");
    }
}
