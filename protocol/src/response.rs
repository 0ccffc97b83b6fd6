//! Encoding a response frame: int32 size, response header, body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, ResponseHeader, ResponseKind};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::protocol::Encodable;

use crate::error::EncodeError;
use crate::versions::SUPPORTED_APIS;

/// Encodes `body` as the answer to a request of `api_key` v`api_version`, size prefix included.
/// Fails only if the body cannot be encoded at that version (a broker bug, not bad input).
pub fn encode_response(api_key: ApiKey, api_version: i16, correlation_id: i32, body: &ResponseKind) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut buf, api_key.response_header_version(api_version))
        .map_err(|e| EncodeError(format!("response header: {e}")))?;
    body.encode(&mut buf, api_version)
        .map_err(|e| EncodeError(format!("{api_key:?} v{api_version} response: {e:#}")))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

/// The ApiVersions body listing [`SUPPORTED_APIS`].
pub fn api_versions_body(error_code: i16) -> ApiVersionsResponse {
    let mut body = ApiVersionsResponse::default();
    body.error_code = error_code;
    body.api_keys = SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect();
    body
}

/// The answer to a too-new ApiVersions request: a v0-format body (error UNSUPPORTED_VERSION 35
/// and the int32-counted list of supported APIs, key 18 included) under a v0 response header,
/// exactly what clients decode before retrying at our maximum (kafka-clients.md §4.5-1).
pub fn unsupported_api_versions_response(correlation_id: i32) -> Bytes {
    let body = ResponseKind::ApiVersions(api_versions_body(crate::error_codes::UNSUPPORTED_VERSION));
    // Invariant: ApiVersions v0 encodes any list of (i16, i16, i16) entries.
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body).expect("ApiVersions v0 always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_api_versions_reply_is_byte_exact_v0() {
        let frame = unsupported_api_versions_response(77);
        let n = SUPPORTED_APIS.len();
        // size, correlation id, error code, int32 count, n * (key, min, max); no throttle time.
        assert_eq!(frame.len(), 4 + 4 + 2 + 4 + n * 6);
        assert_eq!(&frame[0..4], &((frame.len() - 4) as i32).to_be_bytes());
        assert_eq!(&frame[4..8], &77i32.to_be_bytes());
        assert_eq!(&frame[8..10], &35i16.to_be_bytes());
        assert_eq!(&frame[10..14], &(n as i32).to_be_bytes());
        let entries: Vec<[i16; 3]> = frame[14..]
            .chunks(6)
            .map(|c| [i16::from_be_bytes([c[0], c[1]]), i16::from_be_bytes([c[2], c[3]]), i16::from_be_bytes([c[4], c[5]])])
            .collect();
        assert!(entries.contains(&[18, 0, 3]), "{entries:?}");
    }

    #[test]
    fn api_versions_v3_reply_has_a_v0_header() {
        let body = ResponseKind::ApiVersions(api_versions_body(0));
        let frame = encode_response(ApiKey::ApiVersions, 3, 9, &body).unwrap();
        assert_eq!(&frame[4..8], &9i32.to_be_bytes());
        // v0 header: the error code follows the correlation id directly (no tag byte).
        assert_eq!(&frame[8..10], &0i16.to_be_bytes());
    }
}
