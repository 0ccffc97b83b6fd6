//! Down-conversion for Fetch v0–v3, Kafka 2.8's `RecordsUtil.downConvert` as
//! `LazyDownConversionRecords` sends it.
//!
//! Each v2 batch read from the log becomes legacy messages at the fetch's magic (0 for Fetch
//! v0–1, 1 for v2–3):
//! - control batches are dropped (no magic-0/1 reader knows them);
//! - an uncompressed batch becomes one message per record, without the records before the fetch
//!   offset (a v2 batch may start below it; a legacy reader would take them for new messages);
//! - a compressed batch becomes one wrapper with the batch's codec holding every record (inner
//!   offsets 0, 1, 2... at magic 1, absolute at magic 0; the wrapper carries the last offset and,
//!   at magic 1, the largest timestamp, or the LogAppendTime);
//! - headers are dropped, and timestamps at magic 0, which has neither;
//! - a zstd batch cannot be expressed before magic 2: UNSUPPORTED_COMPRESSION_TYPE.
//!
//! Size: the converted messages may be larger than the batches they came from, and a fetch must
//! still fit what the client asked for. Kafka declares the partition's size as the larger of the
//! bytes read and the first converted batch (a consumer must always be able to make progress,
//! even when that one batch alone exceeds the limit), and cuts the converted stream there; the
//! client drops the trailing partial message, as with any legacy fetch. When the conversion comes
//! out shorter, Kafka pads its lazily sent stream with an "overflow" message header; converting
//! in memory, Odradek knows the exact size and sends only the messages.

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};

use super::codec::{self, NONE};
use super::{write_message, LegacyError, MAGIC_VALUE_V0, TIMESTAMP_TYPE_MASK};
use crate::batch::{framed_size, BatchHeader, RECORD_BATCH_OVERHEAD};

/// Converts the magic-2 `records` read for a fetch at `fetch_offset` to `to_magic` (0 or 1),
/// bounded as Kafka bounds it. A batch cut short at the end of `records` is left out.
pub fn down_convert(
    records: &[u8],
    to_magic: i8,
    fetch_offset: i64,
) -> Result<Vec<u8>, LegacyError> {
    let mut out = Vec::new();
    let mut first_converted = None;
    let mut at = 0;
    while let Some(total) = next_batch_size(records, at) {
        let batch = &records[at..at + total];
        at += total;
        let header = BatchHeader::parse(batch)
            .ok_or_else(|| LegacyError::Corrupt(format!("unreadable batch header at byte {at}")))?;
        if header.is_control() {
            continue;
        }
        let before = out.len();
        convert_batch(&header, batch, to_magic, fetch_offset, &mut out)?;
        if first_converted.is_none() && out.len() > before {
            first_converted = Some(out.len());
        }
    }
    out.truncate(records.len().max(first_converted.unwrap_or(0)));
    Ok(out)
}

/// The size of the whole batch at `at`, `None` at the end or before a batch cut short.
fn next_batch_size(records: &[u8], at: usize) -> Option<usize> {
    let rest = records
        .get(at..)
        .filter(|r| r.len() >= RECORD_BATCH_OVERHEAD)?;
    framed_size(rest).filter(|&n| n <= rest.len())
}

fn convert_batch(
    header: &BatchHeader,
    batch: &[u8],
    to_magic: i8,
    fetch_offset: i64,
    out: &mut Vec<u8>,
) -> Result<(), LegacyError> {
    let codec = header.compression();
    if codec == codec::ZSTD {
        return Err(LegacyError::UnsupportedCompressionType(format!(
            "the batch at offset {} is zstd-compressed, which magic {to_magic} cannot carry",
            header.base_offset
        )));
    }
    let decompress = |data: &mut Bytes, _: Compression| {
        codec::decompress(codec, 2, data)
            .map(Bytes::from)
            .map_err(|e| anyhow_error(&e))
    };
    let decoded = RecordBatchDecoder::decode_with_custom_compression(
        &mut Bytes::copy_from_slice(batch),
        Some(decompress),
    )
    .map_err(|e| {
        LegacyError::Corrupt(format!(
            "batch at offset {} cannot be decoded: {e}",
            header.base_offset
        ))
    })?;
    let log_append_time = header.is_log_append_time();
    let attributes = if to_magic > MAGIC_VALUE_V0 && log_append_time {
        TIMESTAMP_TYPE_MASK
    } else {
        0
    };
    let timestamp = |t: i64| {
        if log_append_time {
            header.max_timestamp
        } else {
            t
        }
    };
    let records = decoded.records;
    if codec == NONE {
        for r in records.iter().filter(|r| r.offset >= fetch_offset) {
            write_message(
                out,
                r.offset,
                to_magic,
                attributes,
                timestamp(r.timestamp),
                r.key.as_deref(),
                r.value.as_deref(),
            );
        }
        return Ok(());
    }
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(());
    };
    let mut inner = Vec::new();
    for r in &records {
        let offset = if to_magic > MAGIC_VALUE_V0 {
            r.offset - first.offset
        } else {
            r.offset
        };
        write_message(
            &mut inner,
            offset,
            to_magic,
            attributes,
            timestamp(r.timestamp),
            r.key.as_deref(),
            r.value.as_deref(),
        );
    }
    let wrapper_timestamp = if log_append_time {
        header.max_timestamp
    } else {
        records.iter().map(|r| r.timestamp).max().unwrap_or(-1)
    };
    let value = codec::compress_legacy(codec, to_magic, &inner).map_err(LegacyError::Corrupt)?;
    write_message(
        out,
        last.offset,
        to_magic,
        attributes | codec as i8,
        wrapper_timestamp,
        None,
        Some(&value),
    );
    Ok(())
}

/// The codec's decompressor hook speaks `anyhow`.
fn anyhow_error(message: &str) -> anyhow::Error {
    anyhow::anyhow!("{message}")
}
