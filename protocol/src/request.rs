//! Turning one request frame (the bytes after the int32 size) into a typed request.
//!
//! Every request starts `int16 api_key, int16 api_version, int32 correlation_id`, whatever the
//! header version, so the key, version and correlation id are read before anything else. That is
//! what lets the broker answer a too-new ApiVersions probe in the v0 format (clients retry at the
//! version we name) and name the API in the log line when it closes a connection for an
//! unsupported one.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::error::ProtocolError;
use crate::versions::supported_range;

/// A decoded request: its header, key and body.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: RequestKind,
}

impl Request {
    pub fn api_version(&self) -> i16 {
        self.header.request_api_version
    }
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
}

/// What a frame turned out to be.
#[derive(Debug)]
pub enum ParsedRequest {
    Request(Box<Request>),
    /// An ApiVersions request newer than we serve: answer [`crate::unsupported_api_versions_response`]
    /// and keep the connection open (kafka-clients.md §4.5-1).
    ApiVersionsTooNew { correlation_id: i32, api_version: i16 },
}

/// Parses one request frame.
pub fn parse_request(frame: Bytes) -> Result<ParsedRequest, ProtocolError> {
    if frame.len() < 8 {
        return Err(ProtocolError::FrameTooShort { size: frame.len() });
    }
    let mut peek = &frame[..8];
    let raw_key = peek.get_i16();
    let api_version = peek.get_i16();
    let correlation_id = peek.get_i32();

    let api_key = ApiKey::try_from(raw_key)
        .map_err(|_| ProtocolError::UnknownApiKey { api_key: raw_key, api_version, correlation_id })?;
    let unsupported = || ProtocolError::UnsupportedVersion {
        api_key: raw_key,
        api_name: api_name(api_key),
        api_version,
        correlation_id,
    };
    let (min, max) = supported_range(api_key).ok_or_else(unsupported)?;
    if api_key == ApiKey::ApiVersions && api_version > max {
        return Ok(ParsedRequest::ApiVersionsTooNew { correlation_id, api_version });
    }
    if api_version < min || api_version > max {
        return Err(unsupported());
    }

    let malformed = |reason: String| ProtocolError::Malformed {
        api_name: api_name(api_key),
        api_version,
        correlation_id,
        reason,
    };
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(api_version))
        .map_err(|e| malformed(format!("header: {e}")))?;
    let body = RequestKind::decode(api_key, &mut buf, api_version).map_err(|e| malformed(format!("{e:#}")))?;
    Ok(ParsedRequest::Request(Box::new(Request { api_key, header, body })))
}

/// Kafka's name for an API key, for log lines and errors.
pub fn api_name(api_key: ApiKey) -> &'static str {
    match api_key {
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::Metadata => "Metadata",
        ApiKey::LeaderAndIsr => "LeaderAndIsr",
        ApiKey::StopReplica => "StopReplica",
        ApiKey::UpdateMetadata => "UpdateMetadata",
        ApiKey::ControlledShutdown => "ControlledShutdown",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::DescribeGroups => "DescribeGroups",
        ApiKey::ListGroups => "ListGroups",
        ApiKey::DeleteGroups => "DeleteGroups",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::InitProducerId => "InitProducerId",
        ApiKey::OffsetForLeaderEpoch => "OffsetForLeaderEpoch",
        ApiKey::AlterPartition => "AlterIsr",
        _ => "an API Odradek does not serve",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::{MetadataRequest, ProduceRequest};
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn frame_for<T: Encodable>(key: ApiKey, version: i16, body: &T) -> Bytes {
        let mut buf = BytesMut::new();
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = 42;
        header.client_id = Some(StrBytes::from_static_str("test"));
        header.encode(&mut buf, key.request_header_version(version)).unwrap();
        body.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn decodes_a_supported_request() {
        let frame = frame_for(ApiKey::Metadata, 8, &MetadataRequest::default());
        match parse_request(frame).unwrap() {
            ParsedRequest::Request(r) => {
                assert_eq!(r.api_key, ApiKey::Metadata);
                assert_eq!(r.correlation_id(), 42);
                assert!(matches!(r.body, RequestKind::Metadata(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn too_new_api_versions_is_not_an_error() {
        let mut buf = BytesMut::new();
        buf.put_i16(18);
        buf.put_i16(9);
        buf.put_i32(7);
        buf.put_slice(b"whatever follows is not parsed");
        assert!(matches!(
            parse_request(buf.freeze()).unwrap(),
            ParsedRequest::ApiVersionsTooNew { correlation_id: 7, api_version: 9 }
        ));
    }

    #[test]
    fn unsupported_version_and_key_are_errors_naming_them() {
        let frame = frame_for(ApiKey::Produce, 10, &ProduceRequest::default());
        let err = parse_request(frame).unwrap_err();
        assert!(err.to_string().contains("version 10 of Produce"), "{err}");

        let mut buf = BytesMut::new();
        buf.put_i16(999);
        buf.put_i16(0);
        buf.put_i32(1);
        let err = parse_request(buf.freeze()).unwrap_err();
        assert!(matches!(err, ProtocolError::UnknownApiKey { api_key: 999, .. }));
    }

    #[test]
    fn truncated_and_garbage_bodies_are_malformed_not_panics() {
        let frame = frame_for(ApiKey::Metadata, 8, &MetadataRequest::default());
        for cut in 8..frame.len() {
            let _ = parse_request(frame.slice(..cut));
        }
        assert!(matches!(parse_request(frame.slice(..3)), Err(ProtocolError::FrameTooShort { size: 3 })));
        // A Produce v7 header followed by an array count of i32::MAX: must fail, not allocate.
        let mut buf = BytesMut::new();
        buf.put_i16(0);
        buf.put_i16(7);
        buf.put_i32(5);
        buf.put_i16(-1); // null client id
        buf.put_i16(-1); // null transactional id
        buf.put_i16(1); // acks
        buf.put_i32(1000); // timeout
        buf.put_i32(i32::MAX); // topic count
        assert!(matches!(parse_request(buf.freeze()), Err(ProtocolError::Malformed { .. })));
    }
}
