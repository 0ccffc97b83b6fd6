//! The records of `__consumer_offsets`, in Kafka's classic `Struct` encoding.
//!
//! The topic is the coordinator's database: one compacted record per committed offset and one per
//! group. Key and value each begin with an int16 schema version; key versions 0 and 1 are offset
//! commits and 2 is group metadata, which is how a reader tells them apart. Strings are an int16
//! length plus UTF-8 (-1 = null for nullable strings), bytes an int32 length, arrays an int32 count.
//! Kafka 2.8 writes OffsetCommit key v1, value v3 (v1 when the commit carried an explicit retention),
//! GroupMetadata key v2 and value v3, and reads every older version; so does this module.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::CoordinatorError;

/// A decoded `__consumer_offsets` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// Key v0/v1: the committed offset of one partition for one group.
    OffsetCommit {
        group: String,
        topic: String,
        partition: i32,
    },
    /// Key v2: the metadata of one group.
    GroupMetadata { group: String },
}

/// OffsetCommit value (v0–v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    /// -1 when unknown (always for v0–v2).
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Only v1 carries it: set when the commit asked for an explicit retention time.
    pub expire_timestamp: Option<i64>,
}

/// One member inside a GroupMetadata value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// GroupMetadata value (v0–v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// -1 when absent (v0/v1).
    pub current_state_timestamp: i64,
    pub members: Vec<MemberRecord>,
}

const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
const GROUP_METADATA_KEY_VERSION: i16 = 2;
const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// OffsetCommit key v1.
pub fn offset_commit_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_COMMIT_KEY_VERSION);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

/// GroupMetadata key v2.
pub fn group_metadata_key(group: &str) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_METADATA_KEY_VERSION);
    put_string(&mut buf, group);
    buf.freeze()
}

/// Decodes any key version.
pub fn decode_key(bytes: &[u8]) -> Result<RecordKey, CoordinatorError> {
    let mut r = Reader(bytes);
    match r.i16("key version")? {
        0 | 1 => Ok(RecordKey::OffsetCommit {
            group: r.string("group")?,
            topic: r.string("topic")?,
            partition: r.i32("partition")?,
        }),
        2 => Ok(RecordKey::GroupMetadata {
            group: r.string("group")?,
        }),
        v => Err(CoordinatorError::UnknownKeyVersion(v)),
    }
}

/// OffsetCommit value: v1 if it carries an expire timestamp, else v3 (Kafka 2.8 at IBP 2.8).
pub fn offset_commit_value(value: &OffsetCommitValue) -> Bytes {
    let mut buf = BytesMut::new();
    match value.expire_timestamp {
        Some(expire) => {
            buf.put_i16(1);
            buf.put_i64(value.offset);
            put_string(&mut buf, &value.metadata);
            buf.put_i64(value.commit_timestamp);
            buf.put_i64(expire);
        }
        None => {
            buf.put_i16(3);
            buf.put_i64(value.offset);
            buf.put_i32(value.leader_epoch);
            put_string(&mut buf, &value.metadata);
            buf.put_i64(value.commit_timestamp);
        }
    }
    buf.freeze()
}

/// Decodes OffsetCommit value v0–v3.
pub fn decode_offset_commit_value(
    bytes: &[u8],
    group: &str,
) -> Result<OffsetCommitValue, CoordinatorError> {
    let mut r = Reader(bytes);
    let version = r.i16("value version")?;
    if !(0..=3).contains(&version) {
        return Err(CoordinatorError::UnknownValueVersion {
            kind: "offset commit",
            version,
            group: group.to_string(),
        });
    }
    let offset = r.i64("offset")?;
    let (leader_epoch, expire_timestamp);
    let (metadata, commit_timestamp);
    match version {
        0 | 2 => {
            leader_epoch = -1;
            metadata = r.string("metadata")?;
            commit_timestamp = r.i64("commit_timestamp")?;
            expire_timestamp = None;
        }
        1 => {
            leader_epoch = -1;
            metadata = r.string("metadata")?;
            commit_timestamp = r.i64("commit_timestamp")?;
            expire_timestamp = Some(r.i64("expire_timestamp")?);
        }
        _ => {
            leader_epoch = r.i32("leader_epoch")?;
            metadata = r.string("metadata")?;
            commit_timestamp = r.i64("commit_timestamp")?;
            expire_timestamp = None;
        }
    }
    Ok(OffsetCommitValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

/// GroupMetadata value v3.
pub fn group_metadata_value(value: &GroupMetadataValue) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_METADATA_VALUE_VERSION);
    put_string(&mut buf, &value.protocol_type);
    buf.put_i32(value.generation);
    put_nullable_string(&mut buf, value.protocol.as_deref());
    put_nullable_string(&mut buf, value.leader.as_deref());
    buf.put_i64(value.current_state_timestamp);
    buf.put_i32(value.members.len() as i32);
    for m in &value.members {
        put_string(&mut buf, &m.member_id);
        put_nullable_string(&mut buf, m.group_instance_id.as_deref());
        put_string(&mut buf, &m.client_id);
        put_string(&mut buf, &m.client_host);
        buf.put_i32(m.rebalance_timeout);
        buf.put_i32(m.session_timeout);
        buf.put_i32(m.subscription.len() as i32);
        buf.put_slice(&m.subscription);
        buf.put_i32(m.assignment.len() as i32);
        buf.put_slice(&m.assignment);
    }
    buf.freeze()
}

/// Decodes GroupMetadata value v0–v3 (v0 has no rebalance timeout: it is the session timeout).
pub fn decode_group_metadata_value(
    bytes: &[u8],
    group: &str,
) -> Result<GroupMetadataValue, CoordinatorError> {
    let mut r = Reader(bytes);
    let version = r.i16("value version")?;
    if !(0..=3).contains(&version) {
        return Err(CoordinatorError::UnknownValueVersion {
            kind: "group metadata",
            version,
            group: group.to_string(),
        });
    }
    let protocol_type = r.string("protocol_type")?;
    let generation = r.i32("generation")?;
    let protocol = r.nullable_string("protocol")?;
    let leader = r.nullable_string("leader")?;
    let current_state_timestamp = if version >= 2 {
        r.i64("current_state_timestamp")?
    } else {
        -1
    };
    let count = r.i32("members count")?;
    let mut members = Vec::new();
    for _ in 0..count.max(0) {
        let member_id = r.string("member_id")?;
        let group_instance_id = if version >= 3 {
            r.nullable_string("group_instance_id")?
        } else {
            None
        };
        let client_id = r.string("client_id")?;
        let client_host = r.string("client_host")?;
        let rebalance_timeout = if version >= 1 {
            Some(r.i32("rebalance_timeout")?)
        } else {
            None
        };
        let session_timeout = r.i32("session_timeout")?;
        let subscription = r.bytes("subscription")?;
        let assignment = r.bytes("assignment")?;
        members.push(MemberRecord {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout: rebalance_timeout.unwrap_or(session_timeout),
            session_timeout,
            subscription,
            assignment,
        });
    }
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}

fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_string(buf, s),
        None => buf.put_i16(-1),
    }
}

/// A bounds-checked cursor: every read names the field so a truncated record says where.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8], CoordinatorError> {
        if self.0.len() < n {
            return Err(CoordinatorError::Truncated(field));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CoordinatorError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, CoordinatorError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, CoordinatorError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, CoordinatorError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, CoordinatorError> {
        let len = self.i16(field)?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize, field)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| CoordinatorError::InvalidUtf8(field))
    }

    fn string(&mut self, field: &'static str) -> Result<String, CoordinatorError> {
        let len = self.i16(field)?;
        if len < 0 {
            return Err(CoordinatorError::NegativeLength {
                field,
                len: i32::from(len),
            });
        }
        let raw = self.take(len as usize, field)?;
        String::from_utf8(raw.to_vec()).map_err(|_| CoordinatorError::InvalidUtf8(field))
    }

    fn bytes(&mut self, field: &'static str) -> Result<Bytes, CoordinatorError> {
        let len = self.i32(field)?;
        if len < 0 {
            return Err(CoordinatorError::NegativeLength { field, len });
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize, field)?))
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
