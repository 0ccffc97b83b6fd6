//! Hand-writing Kafka's wire format for the golden tests (`golden*.rs`): classic and compact
//! strings, compact lengths, tagged-field sections, request headers v1/v2 and response header v1,
//! each written out byte by byte so the expected bytes do not come from the codec under test.
//! Each golden test binary uses a subset.
#![allow(dead_code)]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::{parse_request, ParsedRequest, Request};

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

/// A classic string: int16 length, bytes.
pub fn string(buf: &mut BytesMut, v: &str) {
    buf.put_i16(v.len() as i16);
    buf.put_slice(v.as_bytes());
}

/// A compact string: unsigned varint of length + 1 (every string here is under 127 bytes).
pub fn compact_string(buf: &mut BytesMut, v: &str) {
    buf.put_u8(v.len() as u8 + 1);
    buf.put_slice(v.as_bytes());
}

/// Compact bytes: as a compact string.
pub fn compact_bytes(buf: &mut BytesMut, v: &[u8]) {
    buf.put_u8(v.len() as u8 + 1);
    buf.put_slice(v);
}

/// A compact array or nullable field's length: n + 1 (0 is null; every count here is small).
pub fn compact_len(buf: &mut BytesMut, n: usize) {
    buf.put_u8(n as u8 + 1);
}

/// An empty tagged-field section.
pub fn no_tags(buf: &mut BytesMut) {
    buf.put_u8(0);
}

/// A tagged-field section with one field no version defines: tag 7, two bytes. A reader must
/// skip it.
pub fn unknown_tag(buf: &mut BytesMut) {
    buf.put_u8(1);
    buf.put_u8(7);
    buf.put_u8(2);
    buf.put_slice(&[0xAB, 0xCD]);
}

/// Request header v1 (non-flexible versions): key, version, correlation id, client id "golden".
pub fn header_v1(key: ApiKey, version: i16, correlation_id: i32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_i16(key as i16);
    buf.put_i16(version);
    buf.put_i32(correlation_id);
    string(&mut buf, "golden");
    buf
}

/// Request header v2 (flexible versions): v1 plus a tagged-field section; the client id stays a
/// classic string.
pub fn header_v2(key: ApiKey, version: i16, correlation_id: i32) -> BytesMut {
    let mut buf = header_v1(key, version, correlation_id);
    no_tags(&mut buf);
    buf
}

/// Response header v1: correlation id and an empty tagged-field section.
pub fn response_header_v1(correlation_id: i32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_i32(correlation_id);
    no_tags(&mut buf);
    buf
}

/// Parses a request frame (after its size prefix) that must be a served request.
pub fn parse(frame: BytesMut) -> Request {
    match parse_request(frame.freeze()) {
        Ok(ParsedRequest::Request(r)) => *r,
        other => panic!("{other:?}"),
    }
}

/// The frame after its size prefix, checked against the prefix.
pub fn body_of(frame: Bytes) -> Vec<u8> {
    assert_eq!(&frame[..4], &((frame.len() - 4) as i32).to_be_bytes());
    frame[4..].to_vec()
}
