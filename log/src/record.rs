//! The leading fields of v2 records (`DefaultRecord`), decoded only where the log must look
//! inside a batch: ListOffsets by timestamp on an uncompressed batch.
//!
//! A record is `Length varint · Attributes int8 · TimestampDelta varlong · OffsetDelta varint ·
//! key · value · headers`; varints are zig-zag base-128. We read the first four fields and jump
//! `Length` bytes to the next record, never touching keys, values or headers.

use crate::batch::{BatchHeader, RECORD_BATCH_OVERHEAD};

/// Timestamp and offset of one record, absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordPosition {
    pub timestamp: i64,
    pub offset: i64,
}

/// Decodes a zig-zag varint of at most `max_bytes` groups, returning `(value, bytes read)`.
fn read_zigzag(buf: &[u8], max_bytes: usize) -> Option<(i64, usize)> {
    let mut raw: u64 = 0;
    for (i, &b) in buf.iter().take(max_bytes).enumerate() {
        raw |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            let value = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
            return Some((value, i + 1));
        }
    }
    None
}

pub(crate) fn read_varint(buf: &[u8]) -> Option<(i32, usize)> {
    read_zigzag(buf, 5).and_then(|(v, n)| i32::try_from(v).ok().map(|v| (v, n)))
}

pub(crate) fn read_varlong(buf: &[u8]) -> Option<(i64, usize)> {
    read_zigzag(buf, 10)
}

/// Iterates the records of an uncompressed batch (`batch` = the whole batch, header included),
/// yielding absolute timestamps and offsets. Stops (yielding `None`) at the first malformed
/// record; callers treat that like "not found" and fall back to batch-level answers.
pub(crate) struct RecordPositions<'a> {
    header: BatchHeader,
    buf: &'a [u8],
    pos: usize,
    remaining: i32,
}

impl<'a> RecordPositions<'a> {
    pub(crate) fn new(header: BatchHeader, batch: &'a [u8]) -> Self {
        RecordPositions { header, buf: batch, pos: RECORD_BATCH_OVERHEAD, remaining: header.record_count }
    }
}

impl Iterator for RecordPositions<'_> {
    type Item = RecordPosition;
    fn next(&mut self) -> Option<RecordPosition> {
        if self.remaining <= 0 {
            return None;
        }
        let rest = self.buf.get(self.pos..)?;
        let (length, n_len) = read_varint(rest)?;
        let body = rest.get(n_len..n_len.checked_add(usize::try_from(length).ok()?)?)?;
        // body: attributes int8, timestamp delta varlong, offset delta varint, ...
        let (timestamp_delta, n_ts) = read_varlong(body.get(1..)?)?;
        let (offset_delta, _) = read_varint(body.get(1 + n_ts..)?)?;
        self.pos += n_len + body.len();
        self.remaining -= 1;
        let timestamp = if self.header.is_log_append_time() { self.header.max_timestamp } else { self.header.first_timestamp + timestamp_delta };
        Some(RecordPosition { timestamp, offset: self.header.base_offset + offset_delta as i64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{batch_with_timestamps, stamp};

    #[test]
    fn zigzag_varints_decode_like_kafkas_byte_utils() {
        assert_eq!(read_varint(&[0x00]), Some((0, 1)));
        assert_eq!(read_varint(&[0x01]), Some((-1, 1)));
        assert_eq!(read_varint(&[0x02]), Some((1, 1)));
        assert_eq!(read_varint(&[0xac, 0x02]), Some((150, 2)));
        assert_eq!(read_varint(&[0xfe, 0xff, 0xff, 0xff, 0x0f]), Some((i32::MAX, 5)));
        assert_eq!(read_varint(&[0x80, 0x80]), None, "unterminated");
        assert_eq!(read_varlong(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Some((i64::MAX, 10)));
    }

    #[test]
    fn walks_records_of_an_uncompressed_batch() {
        let mut b = batch_with_timestamps(&[50, 10, 70, 60]);
        stamp(&mut b, 100);
        let header = BatchHeader::parse(&b).expect("header");
        let got: Vec<(i64, i64)> = RecordPositions::new(header, &b).map(|r| (r.offset, r.timestamp)).collect();
        assert_eq!(got, vec![(100, 50), (101, 10), (102, 70), (103, 60)]);
    }

    #[test]
    fn stops_at_a_truncated_record() {
        let b = batch_with_timestamps(&[1, 2, 3]);
        let header = BatchHeader::parse(&b).expect("header");
        assert_eq!(RecordPositions::new(header, &b[..b.len() - 2]).count(), 2);
    }
}
