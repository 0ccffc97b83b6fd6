//! Validation of a leader append, Kafka's `Log.analyzeAndValidateRecords` + `LogValidator`.
//!
//! A produce request's records are checked completely before a single byte is written, so a bad
//! batch anywhere rejects the whole append and the log never holds half a request. Only headers
//! are inspected plus one CRC-32C pass per batch: no per-record work, no copy. The error kinds
//! follow Kafka: framing, size and CRC problems are `CorruptRecord` (CORRUPT_MESSAGE), a
//! well-formed batch the leader refuses is `InvalidRecord` (INVALID_RECORD), an oversized batch is
//! `MessageTooLarge`.

use crate::batch::{crc_is_valid, framed_size, BatchHeader, MAGIC_VALUE_V2, NO_TIMESTAMP, RECORD_BATCH_OVERHEAD};
use crate::error::{LogError, Result};

/// What the validation pass learned about an append, so the write pass needs no decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ValidatedRecords {
    pub batch_count: usize,
    /// Sum of RecordCount (== sum of LastOffsetDelta + 1).
    pub record_count: i64,
    /// Bytes of the append.
    pub size: usize,
    /// Largest MaxTimestamp among the batches (`NO_TIMESTAMP` if none has one).
    pub max_timestamp: i64,
    /// BaseOffset of the first batch and last offset of the last one, as the batches say
    /// (meaningful for a follower append; a leader reassigns them).
    pub first_offset: i64,
    pub last_offset: i64,
}

fn corrupt(position: usize, reason: String) -> LogError {
    LogError::CorruptRecord { position, reason }
}
fn invalid(position: usize, reason: String) -> LogError {
    LogError::InvalidRecord { position, reason }
}

/// Checks one batch's framing at `position` of `records` and returns its header. Shared by leader
/// validation and recovery-style checks of in-memory buffers.
pub(crate) fn check_framing(records: &[u8], position: usize) -> Result<BatchHeader> {
    let remaining = records.len() - position;
    if remaining < RECORD_BATCH_OVERHEAD {
        return Err(corrupt(position, format!("truncated batch header: {remaining} bytes, a v2 header needs {RECORD_BATCH_OVERHEAD}")));
    }
    let Some(total) = framed_size(&records[position..]) else {
        let header = BatchHeader::parse(&records[position..]);
        let length = header.map_or(0, |h| h.batch_length);
        return Err(corrupt(position, format!("batch length {length} is smaller than the {RECORD_BATCH_OVERHEAD}-byte header")));
    };
    if total > remaining {
        return Err(corrupt(position, format!("truncated batch: length says {total} bytes, only {remaining} present")));
    }
    // Safe: remaining >= RECORD_BATCH_OVERHEAD.
    BatchHeader::parse(&records[position..]).ok_or_else(|| corrupt(position, "unreadable header".into()))
}

/// The checks every appended batch passes, leader or follower: framing, magic 2, size within
/// `max_message_bytes`, CRC-32C.
fn check_batch(records: &[u8], position: usize, max_message_bytes: u32) -> Result<BatchHeader> {
    let header = check_framing(records, position)?;
    let total = header.total_size();
    if header.magic != MAGIC_VALUE_V2 {
        return Err(invalid(position, format!("magic {} is not supported, only magic {MAGIC_VALUE_V2}", header.magic)));
    }
    if total > max_message_bytes as usize {
        return Err(LogError::MessageTooLarge { size: total, max: max_message_bytes });
    }
    let batch = &records[position..position + total];
    if !crc_is_valid(batch) {
        return Err(corrupt(position, format!("stored crc {:#010x} does not match the computed crc {:#010x}", header.crc, crate::batch::compute_crc(batch))));
    }
    Ok(header)
}

/// Validates a leader append: every batch framed, magic 2, within `max_message_bytes`, CRC-32C
/// valid, `LastOffsetDelta + 1 == RecordCount > 0`, not a control batch, idempotent batches with
/// BaseSequence ≥ 0, and on a compacted log every record keyed (Kafka's `validateKey`: the
/// cleaner could never keep or remove a keyless record). At least one batch is required.
pub(crate) fn validate_leader_append(records: &[u8], max_message_bytes: u32, compacted: bool) -> Result<ValidatedRecords> {
    if records.is_empty() {
        return Err(invalid(0, "no record batches in the append".into()));
    }
    let mut validated = ValidatedRecords::empty(records.len());
    let mut position = 0;
    while position < records.len() {
        let header = check_batch(records, position, max_message_bytes)?;
        let total = header.total_size();
        if header.record_count <= 0 || header.last_offset_delta < 0 || header.last_offset_delta as i64 + 1 != header.record_count as i64 {
            return Err(invalid(position, format!(
                "inconsistent batch: last offset delta {} + 1 != record count {} (must be > 0)",
                header.last_offset_delta, header.record_count
            )));
        }
        if header.is_control() {
            return Err(invalid(position, "clients are not allowed to write control records".into()));
        }
        if header.has_producer_id() && header.base_sequence < 0 {
            return Err(invalid(position, format!("producer {} sent base sequence {}", header.producer_id, header.base_sequence)));
        }
        if compacted {
            check_every_record_keyed(&header, &records[position..position + total], position)?;
        }
        validated.add(&header);
        position += total;
    }
    Ok(validated)
}

/// Compacted topics refuse records without a key (decompressing the batch if needed); the
/// first keyless record is named, as Kafka's `validateKey` does.
fn check_every_record_keyed(header: &BatchHeader, batch: &[u8], position: usize) -> Result<()> {
    let records = crate::cleaner::records::record_bytes(header, batch).map_err(|e| corrupt(position, e))?;
    let mut index = 0;
    let mut first_keyless = None;
    crate::cleaner::records::for_each_record(header, &records, |record, _| {
        if record.key.is_none() && first_keyless.is_none() {
            first_keyless = Some(index);
        }
        index += 1;
    })
    .map_err(|e| corrupt(position, e))?;
    match first_keyless {
        Some(batch_index) => Err(LogError::InvalidRecordAt { position, batch_index, reason: "Compacted topic cannot accept message without key".into() }),
        None => Ok(()),
    }
}

impl ValidatedRecords {
    fn empty(size: usize) -> Self {
        ValidatedRecords { batch_count: 0, record_count: 0, size, max_timestamp: NO_TIMESTAMP, first_offset: -1, last_offset: -1 }
    }

    fn add(&mut self, header: &BatchHeader) {
        if self.batch_count == 0 {
            self.first_offset = header.base_offset;
        }
        self.batch_count += 1;
        self.record_count += header.record_count as i64;
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
        self.last_offset = header.last_offset();
    }
}

/// Validates a follower append (Kafka's `appendAsFollower`: no offset assignment): every batch
/// framed, magic 2, within `max_message_bytes`, CRC-32C valid, and offsets strictly increasing
/// across batches. Control and transactional batches are legitimate here (the leader wrote them).
pub(crate) fn validate_follower_append(records: &[u8], max_message_bytes: u32) -> Result<ValidatedRecords> {
    if records.is_empty() {
        return Err(invalid(0, "no record batches in the append".into()));
    }
    let mut validated = ValidatedRecords::empty(records.len());
    let mut position = 0;
    while position < records.len() {
        let header = check_batch(records, position, max_message_bytes)?;
        let total = header.total_size();
        if header.last_offset_delta < 0 || (validated.batch_count > 0 && header.base_offset <= validated.last_offset) {
            return Err(invalid(position, format!(
                "offsets out of order: batch {}..={} after last offset {}",
                header.base_offset,
                header.last_offset(),
                validated.last_offset
            )));
        }
        validated.add(&header);
        position += total;
    }
    Ok(validated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::compute_crc;
    use crate::test_util::{batch, compressed_batch, encode_records, keyed, set_crc, stamp};
    use kafka_protocol::records::Compression;

    const MAX: u32 = 1_048_588;

    fn position_of(err: &LogError) -> usize {
        match err {
            LogError::CorruptRecord { position, .. } | LogError::InvalidRecord { position, .. } | LogError::InvalidRecordAt { position, .. } => *position,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn accepts_several_good_batches_and_sums_them() {
        let mut records = batch(3, 10, 100);
        records.extend(compressed_batch(4, 10, 500));
        let v = validate_leader_append(&records, MAX, false).expect("valid");
        assert_eq!(
            v,
            ValidatedRecords { batch_count: 2, record_count: 7, size: records.len(), max_timestamp: 503, first_offset: 0, last_offset: 3 }
        );
    }

    #[test]
    fn bad_crc_is_corrupt_record() {
        let mut records = batch(3, 10, 0);
        let last = records.len() - 1;
        records[last] ^= 0xff;
        let err = validate_leader_append(&records, MAX, false).unwrap_err();
        assert!(matches!(err, LogError::CorruptRecord { ref reason, .. } if reason.contains("crc")), "{err}");
    }

    #[test]
    fn a_bad_second_batch_rejects_the_whole_append_with_its_position() {
        let first = batch(2, 10, 0);
        let mut records = first.clone();
        let mut second = batch(2, 10, 0);
        second[30] ^= 1;
        records.extend(second);
        let err = validate_leader_append(&records, MAX, false).unwrap_err();
        assert_eq!(position_of(&err), first.len());
    }

    #[test]
    fn wrong_magic_is_invalid_record() {
        let mut records = batch(1, 10, 0);
        records[16] = 1;
        let err = validate_leader_append(&records, MAX, false).unwrap_err();
        assert!(matches!(err, LogError::InvalidRecord { ref reason, .. } if reason.contains("magic 1")), "{err}");
    }

    #[test]
    fn count_mismatch_is_invalid_record() {
        let mut records = batch(3, 10, 0);
        records[57..61].copy_from_slice(&4i32.to_be_bytes()); // RecordCount 4, LastOffsetDelta 2
        set_crc(&mut records);
        let err = validate_leader_append(&records, MAX, false).unwrap_err();
        assert!(matches!(err, LogError::InvalidRecord { ref reason, .. } if reason.contains("record count 4")), "{err}");

        let mut zero = batch(1, 10, 0);
        zero[57..61].copy_from_slice(&0i32.to_be_bytes());
        zero[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        set_crc(&mut zero);
        assert!(matches!(validate_leader_append(&zero, MAX, false), Err(LogError::InvalidRecord { .. })));
    }

    #[test]
    fn control_batches_and_negative_sequences_are_invalid_record() {
        let mut control = batch(1, 10, 0);
        control[22] |= 0x20;
        set_crc(&mut control);
        assert!(matches!(validate_leader_append(&control, MAX, false), Err(LogError::InvalidRecord { ref reason, .. }) if reason.contains("control")));

        let mut idempotent = batch(1, 10, 0);
        idempotent[43..51].copy_from_slice(&7i64.to_be_bytes()); // producer id 7, base sequence -1
        set_crc(&mut idempotent);
        assert!(matches!(validate_leader_append(&idempotent, MAX, false), Err(LogError::InvalidRecord { ref reason, .. }) if reason.contains("sequence")));
    }

    #[test]
    fn truncated_input_is_corrupt_record() {
        let records = batch(3, 10, 0);
        for cut in [1, 12, 60, 61, records.len() - 1] {
            let err = validate_leader_append(&records[..cut], MAX, false).unwrap_err();
            assert!(matches!(err, LogError::CorruptRecord { position: 0, .. }), "cut at {cut}: {err}");
        }
        // A complete batch followed by a few stray bytes.
        let mut trailing = records.clone();
        trailing.extend_from_slice(&[0, 0, 0]);
        assert_eq!(position_of(&validate_leader_append(&trailing, MAX, false).unwrap_err()), records.len());
    }

    #[test]
    fn batch_length_below_header_size_is_corrupt_record() {
        let mut records = batch(1, 10, 0);
        records[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(matches!(validate_leader_append(&records, MAX, false), Err(LogError::CorruptRecord { ref reason, .. }) if reason.contains("smaller")));
    }

    #[test]
    fn oversized_batch_is_message_too_large() {
        let records = batch(10, 100, 0);
        let err = validate_leader_append(&records, records.len() as u32 - 1, false).unwrap_err();
        assert!(matches!(err, LogError::MessageTooLarge { size, .. } if size == records.len()));
        assert!(validate_leader_append(&records, records.len() as u32, false).is_ok());
    }

    #[test]
    fn empty_append_is_invalid_record() {
        assert!(matches!(validate_leader_append(&[], MAX, false), Err(LogError::InvalidRecord { .. })));
    }

    #[test]
    fn follower_appends_keep_offsets_and_need_them_increasing() {
        let mut records = batch(3, 10, 0);
        stamp(&mut records, 10);
        let mut second = batch(2, 10, 0);
        stamp(&mut second, 13);
        records.extend_from_slice(&second);
        let v = validate_follower_append(&records, MAX).expect("valid");
        assert_eq!((v.first_offset, v.last_offset, v.record_count), (10, 14, 5));

        let mut overlapping = records.clone();
        let mut third = batch(1, 10, 0);
        stamp(&mut third, 14);
        overlapping.extend_from_slice(&third);
        assert!(matches!(validate_follower_append(&overlapping, MAX), Err(LogError::InvalidRecord { ref reason, .. }) if reason.contains("out of order")));

        let mut control = batch(1, 10, 0);
        control[22] |= 0x20;
        set_crc(&mut control);
        assert!(validate_follower_append(&control, MAX).is_ok(), "leaders write control batches");
        records[100] ^= 1;
        assert!(matches!(validate_follower_append(&records, MAX), Err(LogError::CorruptRecord { .. })));
    }

    #[test]
    fn set_crc_helper_really_recomputes() {
        let mut records = batch(1, 10, 0);
        records[40] ^= 1;
        assert!(!crc_is_valid(&records));
        set_crc(&mut records);
        assert!(crc_is_valid(&records));
        assert_eq!(u32::from_be_bytes([records[17], records[18], records[19], records[20]]), compute_crc(&records));
    }

    #[test]
    fn a_compacted_log_refuses_keyless_records_even_inside_compressed_batches() {
        let keyed_batch = encode_records(&[keyed(0, 1, Some("a"), Some("1")), keyed(1, 1, Some("b"), None)], Compression::None);
        assert!(validate_leader_append(&keyed_batch, MAX, true).is_ok(), "keys and tombstones are fine");
        for compression in [Compression::None, Compression::Gzip, Compression::Lz4] {
            let mut records = keyed_batch.clone();
            let position = records.len();
            records.extend(encode_records(&[keyed(0, 1, Some("a"), Some("1")), keyed(1, 1, None, Some("2"))], compression));
            let err = validate_leader_append(&records, MAX, true).unwrap_err();
            assert!(matches!(err, LogError::InvalidRecordAt { batch_index: 1, ref reason, .. } if reason.contains("without key")), "{compression:?}: {err:?}");
            assert_eq!(position_of(&err), position, "the second batch is the bad one");
            assert!(validate_leader_append(&records, MAX, false).is_ok(), "only compacted logs need keys");
        }
    }
}
