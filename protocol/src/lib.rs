//! Kafka's wire protocol as Odradek speaks it, on top of the `kafka-protocol` codec.
//!
//! Nothing here does I/O: the broker's connection reads a size-prefixed frame and hands the bytes
//! to [`parse_request`]; it encodes answers with [`encode_response`], except Fetch, whose records
//! travel from segment files to the socket by `sendfile(2)` and so has its own encoder
//! ([`fetch`]) that lays a response out as `[bytes, file region, bytes, ...]`.
//!
//! [`versions`] is the single list of API keys and versions the broker advertises in ApiVersions
//! and accepts on the wire. Invariant: a version is in that table only if the broker implements it.

pub mod error;
pub mod error_codes;
pub mod fetch;
pub mod request;
pub mod response;
pub mod versions;

pub use error::{EncodeError, ProtocolError};
pub use request::{parse_request, ParsedRequest, Request};
pub use response::{encode_response, unsupported_api_versions_response};
pub use versions::{is_supported, supported_range, SUPPORTED_APIS};

/// Bytes of the int32 size prefix that frames every request and response.
pub const FRAME_SIZE_BYTES: usize = 4;

/// A `TopicName` for a request or response body.
pub fn topic_name(name: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_string(name.to_string()))
}
