//! The Fetch response (v0–12) laid out for zero-copy sending, Kafka's `SendBuilder` +
//! `MultiRecordsSend` (reference §7).
//!
//! `kafka-protocol` holds a response's records in memory, so this one response has its own
//! encoder. The exact frame size is computed first; then the fields are written into byte buffers
//! up to and including each partition's records length prefix, where the buffer is cut and a
//! [`Part::Region`] names the records (a slice of a segment file, which the connection writer
//! sends with `sendfile(2)`). The encoder is generic over the region type so the same code is
//! golden-tested against `kafka-protocol` with in-memory records.
//!
//! Field order per partition, from Kafka 2.8's `FetchResponse.json`: `PartitionIndex, ErrorCode,
//! HighWatermark, LastStableOffset (v4+), LogStartOffset (v5+), AbortedTransactions (v4+),
//! PreferredReadReplica (v11+), Records`; the response has `ThrottleTimeMs` from v1 and
//! `ErrorCode, SessionId` from v7. Up to v11 the records are the last field of a partition.
//!
//! v12 is the first flexible version (KIP-482): the response header gains a tagged-field section
//! after the correlation id; strings, arrays and the records are prefixed by an unsigned varint of
//! length + 1 (0 for null); and every struct (response, topic, partition, aborted transaction)
//! ends with a tagged-field section. A partition's section comes *after* its records, so from v12
//! bytes follow every file region. The only partition tag written is 0, `DivergingEpoch`
//! (KIP-595 truncation on fetch), when the leader found the follower's log diverging; tags 1
//! (`CurrentLeader`) and 2 (`SnapshotId`) belong to the Raft controller and are never set by a
//! ZooKeeper-era broker. Varint widths depend on the values, so they are part of the size
//! computed before writing.

use bytes::{BufMut, Bytes, BytesMut};

/// One piece of an encoded response: bytes, or a region of some file sent by the writer.
#[derive(Debug, Clone)]
pub enum Part<R> {
    Bytes(Bytes),
    Region(R),
}

/// Something whose length is known without reading it.
pub trait RegionLen {
    fn region_len(&self) -> usize;
}

impl RegionLen for Bytes {
    fn region_len(&self) -> usize {
        self.len()
    }
}

/// A partition's answer.
#[derive(Debug, Clone)]
pub struct FetchPartition<R> {
    pub partition_index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    /// v4+.
    pub last_stable_offset: i64,
    /// v5+.
    pub log_start_offset: i64,
    /// v4+: `(producer_id, first_offset)`; `None` encodes as a null array.
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
    /// v11+.
    pub preferred_read_replica: i32,
    /// v12+ (tagged field 0): the leader's `(epoch, end_offset)` for a follower whose
    /// `last_fetched_epoch` diverges from the leader's log (KIP-595 truncation on fetch);
    /// `None` leaves the tag out. Ignored below v12.
    pub diverging_epoch: Option<(i32, i64)>,
    /// `None` encodes as empty records (length 0): Kafka 2.8 answers partitions without data,
    /// errors included, with `MemoryRecords.EMPTY`, never with null records.
    pub records: Option<R>,
}

#[derive(Debug, Clone)]
pub struct FetchTopic<R> {
    pub name: String,
    pub partitions: Vec<FetchPartition<R>>,
}

#[derive(Debug, Clone)]
pub struct ZeroCopyFetchResponse<R> {
    /// v1+.
    pub throttle_time_ms: i32,
    /// v7+.
    pub error_code: i16,
    /// v7+.
    pub session_id: i32,
    pub topics: Vec<FetchTopic<R>>,
}

/// Lowest and highest Fetch version this encoder writes.
pub const MIN_VERSION: i16 = 0;
pub const MAX_VERSION: i16 = 12;
/// The first flexible Fetch version (KIP-482).
pub const FIRST_FLEXIBLE_VERSION: i16 = 12;

/// The tag of a partition's `DivergingEpoch` (v12+).
const DIVERGING_EPOCH_TAG: u32 = 0;
/// `DivergingEpoch`'s encoded size: `Epoch` int32, `EndOffset` int64, an empty tagged-field section.
const EPOCH_END_OFFSET_SIZE: usize = 4 + 8 + 1;

impl<R: RegionLen> ZeroCopyFetchResponse<R> {
    /// Bytes after the size prefix: header + body, region lengths included.
    pub fn encoded_size(&self, version: i16) -> usize {
        let enc = Encoding::of(version);
        let mut n = 4 + enc.no_tags_size(); // response header: correlation id (+ tags, v1)
        if version >= 1 {
            n += 4;
        }
        if version >= 7 {
            n += 2 + 4;
        }
        n += enc.len_size(Some(self.topics.len()));
        for t in &self.topics {
            n += enc.string_size(&t.name) + enc.len_size(Some(t.partitions.len()));
            for p in &t.partitions {
                n += 4 + 2 + 8;
                if version >= 4 {
                    n += 8;
                }
                if version >= 5 {
                    n += 8;
                }
                if version >= 4 {
                    let aborted = p.aborted_transactions.as_ref();
                    n += enc.len_size(aborted.map(Vec::len));
                    n += aborted.map_or(0, |a| a.len() * (8 + 8 + enc.no_tags_size()));
                }
                if version >= 11 {
                    n += 4;
                }
                let records = p.records.as_ref().map_or(0, |r| r.region_len());
                n += enc.len_size(Some(records)) + records;
                n += enc.partition_tags_size(p.diverging_epoch);
            }
            n += enc.no_tags_size();
        }
        n + enc.no_tags_size()
    }

    /// Lays the response out as parts, the first starting with the int32 frame size.
    /// `version` must be within [`MIN_VERSION`, `MAX_VERSION`]; topic names must fit an int16.
    pub fn into_parts(self, version: i16, correlation_id: i32) -> Vec<Part<R>> {
        assert!((MIN_VERSION..=MAX_VERSION).contains(&version), "Fetch v{version} is not served");
        let enc = Encoding::of(version);
        let size = self.encoded_size(version);
        let mut parts = Vec::with_capacity(1 + 2 * self.topics.len());
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i32(size as i32);
        buf.put_i32(correlation_id);
        enc.put_no_tags(&mut buf);
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        }
        if version >= 7 {
            buf.put_i16(self.error_code);
            buf.put_i32(self.session_id);
        }
        enc.put_len(&mut buf, Some(self.topics.len()));
        for topic in self.topics {
            enc.put_string(&mut buf, &topic.name);
            enc.put_len(&mut buf, Some(topic.partitions.len()));
            for p in topic.partitions {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                buf.put_i64(p.high_watermark);
                if version >= 4 {
                    buf.put_i64(p.last_stable_offset);
                }
                if version >= 5 {
                    buf.put_i64(p.log_start_offset);
                }
                if version >= 4 {
                    enc.put_len(&mut buf, p.aborted_transactions.as_ref().map(Vec::len));
                    for &(producer_id, first_offset) in p.aborted_transactions.iter().flatten() {
                        buf.put_i64(producer_id);
                        buf.put_i64(first_offset);
                        enc.put_no_tags(&mut buf);
                    }
                }
                if version >= 11 {
                    buf.put_i32(p.preferred_read_replica);
                }
                match p.records {
                    None => enc.put_len(&mut buf, Some(0)),
                    Some(region) => {
                        enc.put_len(&mut buf, Some(region.region_len()));
                        parts.push(Part::Bytes(buf.split().freeze()));
                        parts.push(Part::Region(region));
                    }
                }
                enc.put_partition_tags(&mut buf, p.diverging_epoch);
            }
            enc.put_no_tags(&mut buf);
        }
        enc.put_no_tags(&mut buf);
        if !buf.is_empty() {
            parts.push(Part::Bytes(buf.freeze()));
        }
        parts
    }
}

/// How lengths, strings and tags are written at one version: classic (int16 string lengths,
/// int32 array and bytes lengths, −1 for null, no tags) or flexible (KIP-482: unsigned varint of
/// length + 1, 0 for null, a tagged-field section closing every struct).
#[derive(Debug, Clone, Copy)]
struct Encoding {
    flexible: bool,
}

impl Encoding {
    fn of(version: i16) -> Encoding {
        Encoding { flexible: version >= FIRST_FLEXIBLE_VERSION }
    }

    fn string_size(self, s: &str) -> usize {
        if self.flexible {
            uvarint_size(s.len() as u32 + 1) + s.len()
        } else {
            2 + s.len()
        }
    }

    fn put_string(self, buf: &mut BytesMut, s: &str) {
        if self.flexible {
            put_uvarint(buf, s.len() as u32 + 1);
        } else {
            buf.put_i16(s.len() as i16);
        }
        buf.put_slice(s.as_bytes());
    }

    /// The length prefix of an array or of records; `None` is null.
    fn len_size(self, len: Option<usize>) -> usize {
        if self.flexible {
            uvarint_size(len.map_or(0, |n| n as u32 + 1))
        } else {
            4
        }
    }

    fn put_len(self, buf: &mut BytesMut, len: Option<usize>) {
        if self.flexible {
            put_uvarint(buf, len.map_or(0, |n| n as u32 + 1));
        } else {
            buf.put_i32(len.map_or(-1, |n| n as i32));
        }
    }

    /// An empty tagged-field section: a zero count, flexible versions only.
    fn no_tags_size(self) -> usize {
        usize::from(self.flexible)
    }

    fn put_no_tags(self, buf: &mut BytesMut) {
        if self.flexible {
            put_uvarint(buf, 0);
        }
    }

    /// A partition's tagged-field section: `DivergingEpoch` when there is one.
    fn partition_tags_size(self, diverging_epoch: Option<(i32, i64)>) -> usize {
        match (self.flexible, diverging_epoch) {
            (false, _) => 0,
            (true, None) => uvarint_size(0),
            (true, Some(_)) => {
                uvarint_size(1) + uvarint_size(DIVERGING_EPOCH_TAG) + uvarint_size(EPOCH_END_OFFSET_SIZE as u32) + EPOCH_END_OFFSET_SIZE
            }
        }
    }

    fn put_partition_tags(self, buf: &mut BytesMut, diverging_epoch: Option<(i32, i64)>) {
        if !self.flexible {
            return;
        }
        match diverging_epoch {
            None => put_uvarint(buf, 0),
            Some((epoch, end_offset)) => {
                put_uvarint(buf, 1);
                put_uvarint(buf, DIVERGING_EPOCH_TAG);
                put_uvarint(buf, EPOCH_END_OFFSET_SIZE as u32);
                buf.put_i32(epoch);
                buf.put_i64(end_offset);
                put_uvarint(buf, 0);
            }
        }
    }
}

/// Bytes of `v` as an unsigned varint: 7 bits per byte, low groups first.
fn uvarint_size(v: u32) -> usize {
    (32 - v.leading_zeros() as usize).max(1).div_ceil(7)
}

fn put_uvarint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{AbortedTransaction, EpochEndOffset, FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::{ApiKey, BrokerId, FetchResponse, ProducerId, ResponseKind, TopicName};
    use kafka_protocol::protocol::{Decodable, StrBytes};

    const LONG_RECORDS: &[u8] = &[7u8; 300];

    /// Several topics; aborted transactions null, empty and non-empty; records missing, empty,
    /// short and long enough for a two-byte varint; diverging epochs on some partitions; and a
    /// topic name long enough for a two-byte varint too.
    fn sample() -> ZeroCopyFetchResponse<Bytes> {
        let part = |i: i32, records: Option<&'static [u8]>, aborted: Option<Vec<(i64, i64)>>, diverging: Option<(i32, i64)>| FetchPartition {
            partition_index: i,
            error_code: if records.is_none() { 1 } else { 0 },
            high_watermark: 100 + i as i64,
            last_stable_offset: 90 + i as i64,
            log_start_offset: 3,
            aborted_transactions: aborted,
            preferred_read_replica: -1,
            diverging_epoch: diverging,
            records: records.map(Bytes::from_static),
        };
        ZeroCopyFetchResponse {
            throttle_time_ms: 17,
            error_code: 0,
            session_id: 0,
            topics: vec![
                FetchTopic {
                    name: "orders".into(),
                    partitions: vec![part(0, Some(b"abcdef"), None, Some((4, 1234))), part(1, None, Some(vec![(5, 6), (7, 8)]), None)],
                },
                FetchTopic { name: "t-2".into(), partitions: vec![part(3, Some(b""), Some(vec![]), None), part(4, Some(b"xyz"), None, Some((0, 0)))] },
                FetchTopic { name: "x".repeat(130), partitions: vec![part(9, Some(LONG_RECORDS), None, None)] },
                FetchTopic { name: "no-partitions".into(), partitions: vec![] },
            ],
        }
    }

    fn to_kafka_protocol(r: &ZeroCopyFetchResponse<Bytes>) -> FetchResponse {
        let mut resp = FetchResponse::default();
        resp.throttle_time_ms = r.throttle_time_ms;
        resp.error_code = r.error_code;
        resp.session_id = r.session_id;
        resp.responses = r
            .topics
            .iter()
            .map(|t| {
                let mut topic = FetchableTopicResponse::default();
                topic.topic = TopicName(StrBytes::from_string(t.name.clone()));
                topic.partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut d = PartitionData::default();
                        d.partition_index = p.partition_index;
                        d.error_code = p.error_code;
                        d.high_watermark = p.high_watermark;
                        d.last_stable_offset = p.last_stable_offset;
                        d.log_start_offset = p.log_start_offset;
                        d.aborted_transactions = p.aborted_transactions.as_ref().map(|a| {
                            a.iter()
                                .map(|&(pid, first)| {
                                    let mut t = AbortedTransaction::default();
                                    t.producer_id = ProducerId(pid);
                                    t.first_offset = first;
                                    t
                                })
                                .collect()
                        });
                        d.preferred_read_replica = BrokerId(p.preferred_read_replica);
                        if let Some((epoch, end_offset)) = p.diverging_epoch {
                            d.diverging_epoch = EpochEndOffset::default().with_epoch(epoch).with_end_offset(end_offset);
                        }
                        d.records = Some(p.records.clone().unwrap_or_default());
                        d
                    })
                    .collect();
                topic
            })
            .collect();
        resp
    }

    fn flatten(parts: &[Part<Bytes>]) -> Vec<u8> {
        let mut flat = Vec::new();
        for p in parts {
            match p {
                Part::Bytes(b) | Part::Region(b) => flat.extend_from_slice(b),
            }
        }
        flat
    }

    #[test]
    fn matches_kafka_protocol_byte_for_byte_at_every_served_version() {
        for version in MIN_VERSION..=MAX_VERSION {
            let r = sample();
            let expected = crate::encode_response(ApiKey::Fetch, version, 1234, &ResponseKind::Fetch(to_kafka_protocol(&r))).unwrap();
            assert_eq!(r.encoded_size(version) + 4, expected.len(), "v{version} size");
            let flat = flatten(&r.into_parts(version, 1234));
            assert_eq!(flat, expected.to_vec(), "v{version}");
        }
    }

    #[test]
    fn kafka_protocol_decodes_every_version_with_records_and_diverging_epochs() {
        for version in MIN_VERSION..=MAX_VERSION {
            let flat = Bytes::from(flatten(&sample().into_parts(version, 1)));
            let mut body = flat.slice(8 + usize::from(version >= FIRST_FLEXIBLE_VERSION)..);
            let decoded = FetchResponse::decode(&mut body, version).unwrap();
            assert!(body.is_empty(), "v{version}: trailing bytes");
            let p0 = &decoded.responses[0].partitions[0];
            assert_eq!(p0.records.as_deref(), Some(&b"abcdef"[..]), "v{version}");
            assert_eq!(decoded.responses[0].partitions[1].records.as_deref(), Some(&b""[..]), "v{version}: missing records are empty, not null");
            assert_eq!(decoded.responses[2].partitions[0].records.as_deref(), Some(LONG_RECORDS), "v{version}");
            let diverging = if version >= 12 { (4, 1234) } else { (-1, -1) };
            assert_eq!((p0.diverging_epoch.epoch, p0.diverging_epoch.end_offset), diverging, "v{version}");
        }
    }

    #[test]
    fn records_are_separate_parts() {
        for version in [4, 11, 12] {
            let parts = sample().into_parts(version, 1);
            let regions: Vec<&Bytes> = parts.iter().filter_map(|p| if let Part::Region(r) = p { Some(r) } else { None }).collect();
            assert_eq!(regions, vec![&Bytes::from_static(b"abcdef"), &Bytes::new(), &Bytes::from_static(b"xyz"), &Bytes::from_static(LONG_RECORDS)], "v{version}");
        }
    }

    #[test]
    fn from_v12_tagged_fields_follow_the_last_records() {
        let parts = sample().into_parts(11, 1);
        assert!(matches!(parts[parts.len() - 2], Part::Region(_)), "v11: only the empty topic follows the last records");
        let parts = sample().into_parts(12, 1);
        let Part::Bytes(tail) = &parts[parts.len() - 1] else { panic!("v12 ends with bytes") };
        // partition tags (none), topic tags, then the empty topic (name, no partitions, tags) and
        // the response's tags.
        let mut expected = vec![0u8, 0, 14];
        expected.extend_from_slice(b"no-partitions");
        expected.extend_from_slice(&[1, 0, 0]);
        assert_eq!(tail.to_vec(), expected);
    }

    #[test]
    fn varint_sizes_match_the_encoding() {
        for v in [0u32, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, u32::MAX] {
            let mut buf = BytesMut::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf.len(), uvarint_size(v), "{v}");
        }
    }
}
