//! Kafka's error codes by Kafka's names (`org.apache.kafka.common.protocol.Errors`), which is how
//! users and Kafka's own tools print them: `NOT_COORDINATOR`, never `NotCoordinator` or `16`.

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
            (16, "NOT_COORDINATOR"),
            (17, "INVALID_TOPIC_EXCEPTION"),
            (36, "TOPIC_ALREADY_EXISTS"),
            (38, "INVALID_REPLICATION_FACTOR"),
            (41, "NOT_CONTROLLER"),
            (68, "NON_EMPTY_GROUP"),
            (69, "GROUP_ID_NOT_FOUND"),
            (79, "MEMBER_ID_REQUIRED"),
            (9999, "UNKNOWN_ERROR_CODE_9999"),
        ] {
            assert_eq!(error_name(code), name, "code {code}");
        }
    }
}
