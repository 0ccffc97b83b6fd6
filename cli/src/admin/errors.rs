//! Kafka's error codes as `kafka-topics.sh` users read them: by name
//! (`org.apache.kafka.common.protocol.Errors`), with the broker's message when it sent one.

use kafka_protocol::ResponseError;

pub use odradek_client::error_name::error_name;

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

#[cfg(test)]
mod tests {
    use super::*;

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
