//! The Fetch response (v4–11) laid out for zero-copy sending, Kafka's `SendBuilder` +
//! `MultiRecordsSend` (reference §7).
//!
//! `kafka-protocol` holds a response's records in memory, so this one response has its own
//! encoder. The exact frame size is computed first; then the fields are written into byte buffers
//! up to and including each partition's records length prefix, where the buffer is cut and a
//! [`Part::Region`] names the records (a slice of a segment file, which the connection writer
//! sends with `sendfile(2)`). The encoder is generic over the region type so the same code is
//! golden-tested against `kafka-protocol` with in-memory records.
//!
//! Field order per partition (v4–11): `PartitionIndex, ErrorCode, HighWatermark,
//! LastStableOffset, LogStartOffset (v5+), AbortedTransactions, PreferredReadReplica (v11+),
//! Records`, so the records are always the last field of a partition.

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
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// `(producer_id, first_offset)`; `None` encodes as a null array.
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
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
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub session_id: i32,
    pub topics: Vec<FetchTopic<R>>,
}

/// Lowest and highest Fetch version this encoder writes.
pub const MIN_VERSION: i16 = 4;
pub const MAX_VERSION: i16 = 11;

impl<R: RegionLen> ZeroCopyFetchResponse<R> {
    /// Bytes after the size prefix: header + body, region lengths included.
    pub fn encoded_size(&self, version: i16) -> usize {
        let mut n = 4; // correlation id (response header v0)
        n += 4; // throttle_time_ms (v1+)
        if version >= 7 {
            n += 2 + 4;
        }
        n += 4;
        for t in &self.topics {
            n += 2 + t.name.len() + 4;
            for p in &t.partitions {
                n += 4 + 2 + 8 + 8;
                if version >= 5 {
                    n += 8;
                }
                n += 4 + p.aborted_transactions.as_ref().map_or(0, |a| a.len() * 16);
                if version >= 11 {
                    n += 4;
                }
                n += 4 + p.records.as_ref().map_or(0, |r| r.region_len());
            }
        }
        n
    }

    /// Lays the response out as parts, the first starting with the int32 frame size.
    /// `version` must be within [`MIN_VERSION`, `MAX_VERSION`]; topic names must fit an int16.
    pub fn into_parts(self, version: i16, correlation_id: i32) -> Vec<Part<R>> {
        assert!((MIN_VERSION..=MAX_VERSION).contains(&version), "Fetch v{version} is not served");
        let size = self.encoded_size(version);
        let mut parts = Vec::with_capacity(1 + 2 * self.topics.len());
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i32(size as i32);
        buf.put_i32(correlation_id);
        buf.put_i32(self.throttle_time_ms);
        if version >= 7 {
            buf.put_i16(self.error_code);
            buf.put_i32(self.session_id);
        }
        buf.put_i32(self.topics.len() as i32);
        for topic in self.topics {
            buf.put_i16(topic.name.len() as i16);
            buf.put_slice(topic.name.as_bytes());
            buf.put_i32(topic.partitions.len() as i32);
            for p in topic.partitions {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                buf.put_i64(p.high_watermark);
                buf.put_i64(p.last_stable_offset);
                if version >= 5 {
                    buf.put_i64(p.log_start_offset);
                }
                match &p.aborted_transactions {
                    None => buf.put_i32(-1),
                    Some(list) => {
                        buf.put_i32(list.len() as i32);
                        for &(producer_id, first_offset) in list {
                            buf.put_i64(producer_id);
                            buf.put_i64(first_offset);
                        }
                    }
                }
                if version >= 11 {
                    buf.put_i32(p.preferred_read_replica);
                }
                match p.records {
                    None => buf.put_i32(0),
                    Some(region) => {
                        buf.put_i32(region.region_len() as i32);
                        parts.push(Part::Bytes(buf.split().freeze()));
                        parts.push(Part::Region(region));
                    }
                }
            }
        }
        if !buf.is_empty() {
            parts.push(Part::Bytes(buf.freeze()));
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::{ApiKey, BrokerId, FetchResponse, ProducerId, ResponseKind, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn sample() -> ZeroCopyFetchResponse<Bytes> {
        let part = |i: i32, records: Option<&'static [u8]>, aborted: Option<Vec<(i64, i64)>>| FetchPartition {
            partition_index: i,
            error_code: if records.is_none() { 1 } else { 0 },
            high_watermark: 100 + i as i64,
            last_stable_offset: 90 + i as i64,
            log_start_offset: 3,
            aborted_transactions: aborted,
            preferred_read_replica: -1,
            diverging_epoch: None,
            records: records.map(Bytes::from_static),
        };
        ZeroCopyFetchResponse {
            throttle_time_ms: 0,
            error_code: 0,
            session_id: 0,
            topics: vec![
                FetchTopic { name: "orders".into(), partitions: vec![part(0, Some(b"abcdef"), None), part(1, None, Some(vec![(5, 6)]))] },
                FetchTopic { name: "t-2".into(), partitions: vec![part(3, Some(b""), Some(vec![])), part(4, Some(b"xyz"), None)] },
            ],
        }
    }

    fn via_kafka_protocol(r: &ZeroCopyFetchResponse<Bytes>, version: i16, correlation_id: i32) -> Bytes {
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
                        d.records = Some(p.records.clone().unwrap_or_default());
                        d
                    })
                    .collect();
                topic
            })
            .collect();
        crate::encode_response(ApiKey::Fetch, version, correlation_id, &ResponseKind::Fetch(resp)).unwrap()
    }

    #[test]
    fn matches_kafka_protocol_byte_for_byte_at_every_served_version() {
        for version in MIN_VERSION..=MAX_VERSION {
            let r = sample();
            let expected = via_kafka_protocol(&r, version, 1234);
            assert_eq!(r.encoded_size(version) + 4, expected.len(), "v{version} size");
            let parts = r.into_parts(version, 1234);
            let mut flat = Vec::new();
            for p in &parts {
                match p {
                    Part::Bytes(b) | Part::Region(b) => flat.extend_from_slice(b),
                }
            }
            assert_eq!(flat, expected.to_vec(), "v{version}");
        }
    }

    #[test]
    fn records_are_separate_parts() {
        let parts = sample().into_parts(11, 1);
        let regions: Vec<&Bytes> = parts.iter().filter_map(|p| if let Part::Region(r) = p { Some(r) } else { None }).collect();
        assert_eq!(regions, vec![&Bytes::from_static(b"abcdef"), &Bytes::new(), &Bytes::from_static(b"xyz")]);
        assert!(matches!(parts.last(), Some(Part::Region(_))), "nothing follows the last records");
    }
}
