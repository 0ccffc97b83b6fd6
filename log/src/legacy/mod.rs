//! Legacy message sets (magic 0 and 1), Kafka's `LegacyRecord` and `AbstractLegacyRecordBatch`,
//! and the two conversions a 2.8 broker makes between them and the v2 batches it stores
//! (`message.format.version` 2.8, so magic 2):
//!
//! - [`up_convert`]: Produce v0–v2 may carry a legacy message set; `LogValidator` validates it
//!   and rebuilds it as one magic-2 batch before the normal append (which then assigns offsets
//!   and stamps the leader epoch, as for any produced batch).
//! - [`down_convert`]: Fetch v0–v3 cannot carry magic 2; `RecordsUtil.downConvert` (lazily, in
//!   `LazyDownConversionRecords`) rewrites the batches read from the log as magic 0 (Fetch v0–1)
//!   or magic 1 (Fetch v2–3) messages, in memory, giving up zero-copy for those fetches only.
//!
//! They live in the log crate because the log owns the record formats and their compression;
//! both are pure functions over byte slices, so the broker decides when to call them and the
//! log's own append and read paths keep handling magic 2 only.
//!
//! A legacy message is `Offset int64 · MessageSize int32 · Crc uint32 · Magic int8 · Attributes
//! int8 · [Timestamp int64, magic 1] · Key bytes · Value bytes`; the CRC-32 (IEEE) covers Magic
//! to the end. Attributes hold the codec (bits 0–2: 1 gzip, 2 snappy, 3 lz4) and, from magic 1, the
//! timestamp type (bit 3). A compressed message is a *wrapper* whose value
//! is a compressed message set; magic 1 numbers the inner messages 0, 1, 2... and gives the
//! wrapper the last absolute offset, magic 0 uses absolute offsets inside too.

mod codec;
mod down_convert;
mod up_convert;

/// The zstd codec id of a batch's or message's attributes (bits 0–2, the same at every magic).
pub use codec::ZSTD;
pub use down_convert::down_convert;
pub use up_convert::{is_legacy, up_convert};

use kafka_protocol::records::IEEE;

pub const MAGIC_VALUE_V0: i8 = 0;
pub const MAGIC_VALUE_V1: i8 = 1;
/// Offset + MessageSize.
const LOG_OVERHEAD: usize = 12;
/// Crc + Magic + Attributes + KeyLength + ValueLength (`LegacyRecord.RECORD_OVERHEAD_V0`).
const RECORD_OVERHEAD_V0: usize = 14;
const CODEC_MASK: i8 = 0x07;
/// Attributes bit 3 (magic 1): the timestamp is the broker's LogAppendTime.
const TIMESTAMP_TYPE_MASK: i8 = 0x08;
/// Where the magic byte sits in a legacy message and in a v2 batch alike.
const MAGIC_OFFSET: usize = 16;

/// Why a legacy conversion failed, in Kafka's exception vocabulary (the broker maps each to its
/// error code in `errors.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// `CorruptRecordException`: bad CRC, bad sizes, undecodable compressed data (CORRUPT_MESSAGE).
    #[error("{0}")]
    Corrupt(String),
    /// `InvalidRecordException` (INVALID_RECORD). `batch_index` is set where Kafka raises a
    /// `RecordValidationException`, which Produce v8+ reports in `record_errors`.
    #[error("{message}")]
    Invalid {
        message: String,
        batch_index: Option<i32>,
    },
    /// `InvalidTimestampException` inside a `RecordValidationException` (INVALID_TIMESTAMP).
    #[error("{message}")]
    InvalidTimestamp { message: String, batch_index: i32 },
    /// A zstd batch asked for at magic 0 or 1 (UNSUPPORTED_COMPRESSION_TYPE).
    #[error("{0}")]
    UnsupportedCompressionType(String),
}

impl LegacyError {
    fn invalid(message: impl Into<String>, batch_index: Option<i32>) -> LegacyError {
        LegacyError::Invalid {
            message: message.into(),
            batch_index,
        }
    }
}

/// One legacy message, borrowed from the buffer it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LegacyMessage<'a> {
    offset: i64,
    magic: i8,
    attributes: i8,
    /// −1 (`NO_TIMESTAMP`) at magic 0.
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

impl LegacyMessage<'_> {
    fn codec(&self) -> u8 {
        (self.attributes & CODEC_MASK) as u8
    }
    fn is_log_append_time(&self) -> bool {
        self.magic > MAGIC_VALUE_V0 && self.attributes & TIMESTAMP_TYPE_MASK != 0
    }
}

/// Reads the message at `at`. `Ok(None)` at the end or before a message cut short (Kafka's
/// `ByteBufferLogInputStream` stops there too); a message whose CRC does not match, whose size
/// is below the minimum or whose fields overrun it is corrupt.
fn read_message(buf: &[u8], at: usize) -> Result<Option<(LegacyMessage<'_>, usize)>, LegacyError> {
    let Some(head) = buf.get(at..at + LOG_OVERHEAD) else {
        return Ok(None);
    };
    // Invariant: `head` is LOG_OVERHEAD (12) bytes, so these fixed-width slices convert.
    let offset = i64::from_be_bytes(head[..8].try_into().expect("head[..8] is 8 bytes"));
    let size = i32::from_be_bytes(head[8..12].try_into().expect("head[8..12] is 4 bytes"));
    if size < RECORD_OVERHEAD_V0 as i32 {
        return Err(LegacyError::Corrupt(format!(
            "Record size {size} is less than the minimum record overhead ({RECORD_OVERHEAD_V0})"
        )));
    }
    let end = at + LOG_OVERHEAD + size as usize;
    let Some(body) = buf.get(at + LOG_OVERHEAD..end) else {
        return Ok(None);
    };
    // Invariant: `body` is `size` >= RECORD_OVERHEAD_V0 bytes, so its CRC, magic and attributes exist.
    let stored = u32::from_be_bytes(body[..4].try_into().expect("body[..4] is 4 bytes"));
    let computed = IEEE.checksum(&body[4..]);
    if stored != computed {
        return Err(LegacyError::Corrupt(format!(
            "Record is corrupt (stored crc = {stored}, computed crc = {computed})"
        )));
    }
    let magic = body[4] as i8;
    let attributes = body[5] as i8;
    let corrupt = || {
        LegacyError::Corrupt(format!(
            "Record at offset {offset} overruns its size {size}"
        ))
    };
    let mut pos = 6;
    let timestamp = if magic > MAGIC_VALUE_V0 {
        let t = body.get(pos..pos + 8).ok_or_else(corrupt)?;
        pos += 8;
        i64::from_be_bytes(t.try_into().expect("`t` was taken as 8 bytes"))
    } else {
        -1
    };
    let mut bytes_field = || -> Result<Option<&[u8]>, LegacyError> {
        let len = body.get(pos..pos + 4).ok_or_else(corrupt)?;
        let len = i32::from_be_bytes(len.try_into().expect("`len` was taken as 4 bytes"));
        pos += 4;
        if len < 0 {
            return Ok(None);
        }
        let field = body.get(pos..pos + len as usize).ok_or_else(corrupt)?;
        pos += len as usize;
        Ok(Some(field))
    };
    let key = bytes_field()?;
    let value = bytes_field()?;
    Ok(Some((
        LegacyMessage {
            offset,
            magic,
            attributes,
            timestamp,
            key,
            value,
        },
        end,
    )))
}

/// Appends one legacy message (`LegacyRecord.write`), CRC included.
fn write_message(
    out: &mut Vec<u8>,
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let size = RECORD_OVERHEAD_V0
        + if magic > MAGIC_VALUE_V0 { 8 } else { 0 }
        + key.map_or(0, <[u8]>::len)
        + value.map_or(0, <[u8]>::len);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&(size as i32).to_be_bytes());
    let crc_at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(magic as u8);
    out.push(attributes as u8);
    if magic > MAGIC_VALUE_V0 {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            Some(bytes) => {
                out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                out.extend_from_slice(bytes);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    let crc = IEEE.checksum(&out[crc_at + 4..]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests;
