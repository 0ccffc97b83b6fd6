use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::codec::{self, GZIP, LZ4, NONE, SNAPPY};
use super::*;
use crate::batch::BatchHeader;

/// (key, value, timestamp) of a test message.
type Message = (Option<&'static [u8]>, Option<&'static [u8]>, i64);
/// (offset, key, value, timestamp) of a decoded record.
type Summary = (i64, Option<Vec<u8>>, Option<Vec<u8>>, i64);

fn messages() -> Vec<Message> {
    vec![
        (Some(b"k0"), Some(b"v0"), 1_000),
        (None, Some(b"v1"), 1_005),
        (Some(b"k2"), None, 990),
    ]
}

/// A legacy message set: one message each, or one `codec` wrapper around them all.
fn legacy_set(magic: i8, codec: u8) -> Vec<u8> {
    let mut inner = Vec::new();
    for (i, (key, value, ts)) in messages().into_iter().enumerate() {
        let offset = if codec != NONE && magic > 0 {
            i as i64
        } else {
            100 + i as i64
        };
        write_message(&mut inner, offset, magic, 0, ts, key, value);
    }
    if codec == NONE {
        return inner;
    }
    let mut out = Vec::new();
    let value = codec::compress_legacy(codec, magic, &inner).unwrap();
    write_message(&mut out, 102, magic, codec as i8, 1_005, None, Some(&value));
    out
}

fn decode_v2(batch: &[u8]) -> Vec<Record> {
    let sets = RecordBatchDecoder::decode_all(&mut Bytes::copy_from_slice(batch))
        .expect("a valid v2 batch");
    assert_eq!(sets.len(), 1, "exactly one batch");
    assert_eq!(sets[0].version, 2);
    sets[0].records.clone()
}

fn summary(records: &[Record]) -> Vec<Summary> {
    records
        .iter()
        .map(|r| {
            (
                r.offset,
                r.key.as_ref().map(|k| k.to_vec()),
                r.value.as_ref().map(|v| v.to_vec()),
                r.timestamp,
            )
        })
        .collect()
}

fn expected(magic: i8) -> Vec<Summary> {
    let ts = |t| if magic == 0 { -1 } else { t };
    messages()
        .into_iter()
        .enumerate()
        .map(|(i, (k, v, t))| {
            (
                i as i64,
                k.map(<[u8]>::to_vec),
                v.map(<[u8]>::to_vec),
                ts(t),
            )
        })
        .collect()
}

#[test]
fn the_crate_decodes_what_write_message_writes() {
    for magic in [0, 1] {
        let set = legacy_set(magic, NONE);
        let decoded = RecordBatchDecoder::decode_all(&mut Bytes::from(set)).expect("decodes");
        let flat: Vec<Record> = decoded.into_iter().flat_map(|s| s.records).collect();
        let want: Vec<_> = expected(magic)
            .into_iter()
            .map(|(o, k, v, t)| (o + 100, k, v, t))
            .collect();
        assert_eq!(summary(&flat), want, "magic {magic}");
    }
}

#[test]
fn uncompressed_and_compressed_sets_become_one_v2_batch_with_the_same_codec() {
    for magic in [0, 1] {
        for codec in [NONE, GZIP, SNAPPY, LZ4] {
            let batch = up_convert(&legacy_set(magic, codec))
                .unwrap_or_else(|e| panic!("magic {magic} codec {codec}: {e}"));
            let header = BatchHeader::parse(&batch).unwrap();
            assert_eq!(
                (
                    header.compression(),
                    header.record_count,
                    header.last_offset_delta
                ),
                (codec, 3, 2),
                "magic {magic} codec {codec}"
            );
            assert_eq!(
                (
                    header.producer_id,
                    header.base_sequence,
                    header.is_log_append_time()
                ),
                (-1, -1, false)
            );
            assert_eq!(header.max_timestamp, if magic == 0 { -1 } else { 1_005 });
            assert_eq!(
                summary(&decode_v2(&batch)),
                expected(magic),
                "magic {magic} codec {codec}"
            );
        }
    }
}

#[test]
fn sets_from_the_crates_legacy_encoder_convert_too() {
    let records: Vec<Record> = messages()
        .into_iter()
        .enumerate()
        .map(|(i, (k, v, t))| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: t,
            key: k.map(Bytes::from_static),
            value: v.map(Bytes::from_static),
            headers: Default::default(),
        })
        .collect();
    // Only uncompressed: the crate's legacy wrappers number every inner message 0, which Kafka
    // refuses at magic 1 (inner offsets must count up).
    for magic in [0, 1] {
        let mut set = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut set,
            &records,
            &RecordEncodeOptions {
                version: magic,
                compression: Compression::None,
            },
        )
        .unwrap();
        let batch = up_convert(&set).unwrap();
        assert_eq!(summary(&decode_v2(&batch)), expected(magic));
    }
}

#[test]
fn a_bad_crc_is_corrupt_outside_and_inside_a_wrapper() {
    let mut set = legacy_set(1, NONE);
    let last = set.len() - 1;
    set[last] ^= 1;
    assert!(matches!(up_convert(&set), Err(LegacyError::Corrupt(m)) if m.contains("crc")));

    let mut inner = Vec::new();
    write_message(&mut inner, 0, 1, 0, 5, None, Some(b"v"));
    let last = inner.len() - 1;
    inner[last] ^= 1;
    let mut wrapper = Vec::new();
    write_message(
        &mut wrapper,
        0,
        1,
        GZIP as i8,
        5,
        None,
        Some(&codec::compress_legacy(GZIP, 1, &inner).unwrap()),
    );
    assert!(matches!(up_convert(&wrapper), Err(LegacyError::Corrupt(m)) if m.contains("crc")));
}

#[test]
fn a_message_cut_short_at_the_end_is_left_out_and_a_tiny_size_is_corrupt() {
    let set = legacy_set(1, NONE);
    let batch = up_convert(&set[..set.len() - 3]).unwrap();
    assert_eq!(BatchHeader::parse(&batch).unwrap().record_count, 2);

    let mut tiny = set.clone();
    tiny[8..12].copy_from_slice(&5i32.to_be_bytes());
    assert!(matches!(up_convert(&tiny), Err(LegacyError::Corrupt(m)) if m.contains("minimum")));
    assert!(matches!(
        up_convert(&set[..10]),
        Err(LegacyError::Invalid {
            batch_index: None,
            ..
        })
    ));
}

#[test]
fn kafkas_validation_errors_with_their_record_index() {
    // Mixed magic.
    let mut mixed = legacy_set(1, NONE);
    write_message(&mut mixed, 0, 0, 0, -1, None, Some(b"v"));
    assert!(
        matches!(up_convert(&mixed), Err(LegacyError::Invalid { batch_index: None, message }) if message.contains("magic 0"))
    );

    // Two wrappers.
    let mut two = legacy_set(1, GZIP);
    two.extend(legacy_set(1, GZIP));
    assert!(
        matches!(up_convert(&two), Err(LegacyError::Invalid { message, .. }) if message.contains("more than one batch"))
    );

    // LogAppendTime from a producer.
    let mut append_time = Vec::new();
    write_message(
        &mut append_time,
        0,
        1,
        TIMESTAMP_TYPE_MASK,
        5,
        None,
        Some(b"v"),
    );
    assert!(matches!(
        up_convert(&append_time),
        Err(LegacyError::InvalidTimestamp { batch_index: 0, .. })
    ));

    // Inner offsets not 0, 1, 2 at magic 1: the second message is reported.
    let wrap = |inner: &[u8], magic: i8| {
        let mut out = Vec::new();
        write_message(
            &mut out,
            1,
            magic,
            GZIP as i8,
            5,
            None,
            Some(&codec::compress_legacy(GZIP, magic, inner).unwrap()),
        );
        out
    };
    let mut inner = Vec::new();
    write_message(&mut inner, 0, 1, 0, 5, None, Some(b"a"));
    write_message(&mut inner, 7, 1, 0, 5, None, Some(b"b"));
    assert!(
        matches!(up_convert(&wrap(&inner, 1)), Err(LegacyError::Invalid { batch_index: Some(1), message }) if message.contains("incremental"))
    );
    assert!(
        up_convert(&wrap(&inner[..inner.len() / 2 + 1], 1)).is_err(),
        "a cut inner message"
    );

    // A compressed inner message, and an inner message of another magic.
    let mut nested = Vec::new();
    write_message(&mut nested, 0, 1, GZIP as i8, 5, None, Some(b"x"));
    assert!(
        matches!(up_convert(&wrap(&nested, 1)), Err(LegacyError::Invalid { batch_index: Some(0), message }) if message.contains("compression attribute"))
    );
    let mut other_magic = Vec::new();
    write_message(&mut other_magic, 0, 0, 0, -1, None, Some(b"x"));
    assert!(matches!(
        up_convert(&wrap(&other_magic, 1)),
        Err(LegacyError::Invalid {
            batch_index: Some(0),
            ..
        })
    ));

    // A wrapper without a value or without inner messages.
    let mut no_value = Vec::new();
    write_message(&mut no_value, 0, 1, GZIP as i8, 5, None, None);
    assert!(
        matches!(up_convert(&no_value), Err(LegacyError::Invalid { message, .. }) if message.contains("null value"))
    );
    assert!(
        matches!(up_convert(&wrap(&[], 1)), Err(LegacyError::Invalid { message, .. }) if message.contains("no inner records"))
    );
}

#[test]
fn garbage_never_panics() {
    let set = legacy_set(1, SNAPPY);
    for cut in 0..set.len() {
        let _ = up_convert(&set[..cut]);
        let mut flipped = set.clone();
        flipped[cut] ^= 0x5a;
        let _ = up_convert(&flipped);
    }
}

/// A v2 batch at `base_offset` holding `messages()` with `compression`, each with a header.
fn v2_batch(base_offset: i64, compression: Compression) -> Vec<u8> {
    v2_batch_with(base_offset, compression, true)
}

fn v2_batch_with(base_offset: i64, compression: Compression, headers: bool) -> Vec<u8> {
    let records: Vec<Record> = messages()
        .into_iter()
        .enumerate()
        .map(|(i, (k, v, t))| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: base_offset + i as i64,
            sequence: i as i32 - 1,
            timestamp: t,
            key: k.map(Bytes::from_static),
            value: v.map(Bytes::from_static),
            headers: if headers {
                [("h".into(), Some(Bytes::from_static(b"dropped")))].into()
            } else {
                Default::default()
            },
        })
        .collect();
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    out.to_vec()
}

#[test]
fn down_conversion_round_trips_through_up_conversion() {
    for (compression, codec) in [
        (Compression::None, NONE),
        (Compression::Gzip, GZIP),
        (Compression::Snappy, SNAPPY),
        (Compression::Lz4, LZ4),
    ] {
        for magic in [0, 1] {
            let legacy = down_convert(&v2_batch(10, compression), magic, 10).unwrap();
            assert_eq!(legacy[MAGIC_OFFSET] as i8, magic);
            let (first, _) = read_message(&legacy, 0).unwrap().unwrap();
            assert_eq!(first.codec(), codec);
            if codec != NONE {
                assert_eq!(first.offset, 12, "the wrapper carries the last offset");
                assert_eq!(first.timestamp, if magic == 0 { -1 } else { 1_005 });
            }
            // Headers are gone; keys, values and (magic 1) timestamps survive.
            assert_eq!(
                summary(&decode_v2(&up_convert(&legacy).unwrap())),
                expected(magic),
                "{compression:?} magic {magic}"
            );
        }
    }
}

#[test]
fn uncompressed_messages_keep_absolute_offsets_from_the_fetch_offset() {
    let legacy = down_convert(&v2_batch(10, Compression::None), 1, 11).unwrap();
    let decoded = RecordBatchDecoder::decode_all(&mut Bytes::from(legacy)).unwrap();
    let offsets: Vec<i64> = decoded
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, vec![11, 12]);
}

#[test]
fn control_batches_are_dropped_and_zstd_is_unsupported() {
    let mut control = v2_batch(0, Compression::None);
    control[22] |= 0x20;
    let crc = crate::batch::compute_crc(&control);
    control[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(down_convert(&control, 1, 0).unwrap(), Vec::<u8>::new());
    assert!(matches!(
        down_convert(&v2_batch(0, Compression::Zstd), 1, 0),
        Err(LegacyError::UnsupportedCompressionType(_))
    ));
}

#[test]
fn the_converted_size_is_bounded_by_the_bytes_read_but_the_first_batch_always_fits() {
    let one = v2_batch_with(0, Compression::None, false);
    let converted_one = down_convert(&one, 1, 0).unwrap();
    assert!(
        converted_one.len() > one.len(),
        "v1 messages are larger than v2 records"
    );

    let mut two = one.clone();
    two.extend(v2_batch_with(3, Compression::None, false));
    let converted_two = down_convert(&two, 1, 0).unwrap();
    assert_eq!(converted_two.len(), two.len(), "cut at the bytes read");
    assert_eq!(
        &converted_two[..converted_one.len()],
        &converted_one[..],
        "the first batch whole"
    );

    // A batch cut short by the read is left out.
    assert_eq!(
        down_convert(&two[..one.len() + 30], 1, 0).unwrap(),
        converted_one
    );
}
