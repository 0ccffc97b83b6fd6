//! Up-conversion of a produced legacy message set, Kafka 2.8's `LogValidator` with the topic at
//! magic 2 (`convertAndAssignOffsetsNonCompressed` and the rebuilding branch of
//! `validateMessagesAndAssignOffsetsCompressed`).
//!
//! Checks, in Kafka's order and with its exceptions:
//! - every shallow message's CRC and size (`Log.analyzeAndValidateRecords`, CORRUPT_MESSAGE);
//! - every shallow message has the first one's magic (INVALID_RECORD);
//! - a compressed set is a single wrapper (INVALID_RECORD), with a value, holding at least one
//!   inner message; each inner message has the wrapper's magic, is not itself compressed, has a
//!   valid CRC and, at magic 1, the inner offset 0, 1, 2... (INVALID_RECORD with the message's
//!   index, the `RecordError` Produce v8 reports);
//! - no message claims LogAppendTime ("Producer should not set timestamp type to
//!   LogAppendTime", INVALID_TIMESTAMP with the index).
//!
//! The result is one magic-2 batch whose records are numbered 0, 1, 2... (the log assigns the
//! real offsets), compressed with the producer's codec (`compression.type=producer`, the only
//! policy Odradek offers), with CreateTime timestamps: each message's own at magic 1 and
//! `NO_TIMESTAMP` (−1) at magic 0, which has none (Kafka's builder copies `record.timestamp`,
//! −1 for a v0 record). Headers do not exist before magic 2. Keys and values are copied as they
//! are; a compacted topic's keyless records are then refused by the normal append.
//!
//! One byte-level difference: Kafka's builder takes the first record's timestamp as the batch's
//! FirstTimestamp, the codec here the smallest; every record's absolute timestamp is the same.

use bytes::Bytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::codec::{self, NONE};
use super::{read_message, LegacyError, LegacyMessage, MAGIC_OFFSET};

/// Whether produced `records` are a legacy message set (magic 0 or 1 in the first entry).
pub fn is_legacy(records: &[u8]) -> bool {
    records
        .get(MAGIC_OFFSET)
        .is_some_and(|&magic| (magic as i8) < 2)
}

/// Validates a legacy message set as Kafka does and rebuilds it as one magic-2 batch.
pub fn up_convert(records: &[u8]) -> Result<Vec<u8>, LegacyError> {
    let mut shallow = Vec::new();
    let mut at = 0;
    while let Some((message, next)) = read_message(records, at)? {
        if let Some(first) = shallow.first().map(|m: &LegacyMessage| m.magic) {
            if message.magic != first {
                return Err(LegacyError::invalid(
                    format!(
                        "Batch magic {} is not the same as the first batch's magic byte {first}",
                        message.magic
                    ),
                    None,
                ));
            }
        }
        shallow.push(message);
        at = next;
    }
    if shallow.is_empty() {
        return Err(LegacyError::invalid(
            "Record batch has no batches at all",
            None,
        ));
    }
    let source_codec = shallow
        .iter()
        .map(LegacyMessage::codec)
        .rev()
        .find(|&c| c != NONE)
        .unwrap_or(NONE);
    let converted = if source_codec == NONE {
        for message in &shallow {
            check_timestamp_type(message, 0)?;
        }
        shallow
            .iter()
            .map(|m| (m.timestamp, m.key, m.value))
            .map(to_record)
            .collect()
    } else {
        if shallow.len() > 1 {
            return Err(LegacyError::invalid(
                "Compressed outer record has more than one batch",
                None,
            ));
        }
        inner_records(&shallow[0])?
    };
    encode_v2(converted, source_codec)
}

/// Kafka's `validateTimestamp` with CreateTime and no allowed difference limit.
fn check_timestamp_type(wrapper: &LegacyMessage, batch_index: i32) -> Result<(), LegacyError> {
    if wrapper.is_log_append_time() {
        return Err(LegacyError::InvalidTimestamp {
            message: format!("Invalid timestamp type in message at offset {}. Producer should not set timestamp type to LogAppendTime.", wrapper.offset),
            batch_index,
        });
    }
    Ok(())
}

/// The validated inner messages of a compressed wrapper.
fn inner_records(wrapper: &LegacyMessage) -> Result<Vec<Record>, LegacyError> {
    let magic = wrapper.magic;
    match wrapper.codec() {
        codec::GZIP | codec::SNAPPY | codec::LZ4 => {}
        codec::ZSTD => {
            return Err(LegacyError::UnsupportedCompressionType(format!(
                "ZStandard compression is not supported for magic {magic}"
            )))
        }
        other => {
            return Err(LegacyError::Corrupt(format!(
                "Unknown compression type id {other} in the message at offset {}",
                wrapper.offset
            )))
        }
    }
    let value = wrapper.value.ok_or_else(|| {
        LegacyError::invalid(
            format!("Found invalid compressed record set with null value (magic = {magic})"),
            None,
        )
    })?;
    let inner = codec::decompress(wrapper.codec(), magic, value).map_err(|e| {
        LegacyError::Corrupt(format!(
            "Compressed message set at offset {}: {e}",
            wrapper.offset
        ))
    })?;
    let mut records = Vec::new();
    let mut at = 0;
    while at < inner.len() {
        let (message, next) = read_message(&inner, at)?.ok_or_else(|| {
            LegacyError::Corrupt(format!(
                "Inner message at byte {at} of the wrapper at offset {} is cut short",
                wrapper.offset
            ))
        })?;
        let index = records.len() as i32;
        if message.magic != magic {
            return Err(LegacyError::invalid(
                format!(
                    "Log record magic {} does not match outer magic {magic}",
                    message.magic
                ),
                Some(index),
            ));
        }
        if message.codec() != NONE {
            return Err(LegacyError::invalid("Compressed outer record should not have an inner record with a compression attribute set", Some(index)));
        }
        check_timestamp_type(wrapper, index)?;
        if magic > 0 && message.offset != index as i64 {
            return Err(LegacyError::invalid(
                format!("Inner record at offset {} inside the compressed record batch does not have incremental offsets, expected offset is {index}", message.offset),
                Some(index),
            ));
        }
        records.push(to_record((message.timestamp, message.key, message.value)));
        at = next;
    }
    if records.is_empty() {
        return Err(LegacyError::invalid(
            "Found invalid compressed record set with no inner records",
            None,
        ));
    }
    Ok(records)
}

fn to_record((timestamp, key, value): (i64, Option<&[u8]>, Option<&[u8]>)) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp,
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        headers: Default::default(),
    }
}

/// One v2 batch of `records`, numbered from 0.
fn encode_v2(mut records: Vec<Record>, codec: u8) -> Result<Vec<u8>, LegacyError> {
    for (delta, record) in records.iter_mut().enumerate() {
        record.offset = delta as i64;
        // The codec starts a new batch wherever `offset - sequence` changes; a batch without a
        // producer has BaseSequence −1, and its records' sequences count on from there.
        record.sequence = delta as i32 - 1;
    }
    let compression = match codec {
        codec::GZIP => Compression::Gzip,
        codec::SNAPPY => Compression::Snappy,
        codec::LZ4 => Compression::Lz4,
        _ => Compression::None,
    };
    let mut out = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| {
        LegacyError::invalid(
            format!("cannot rebuild the message set as a record batch: {e}"),
            None,
        )
    })?;
    Ok(out.to_vec())
}
