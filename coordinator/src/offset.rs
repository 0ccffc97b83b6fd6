//! Committed offsets inside a group, and when they expire.
//!
//! Offsets live in the group object (as in Kafka) so a group that only stores offsets ("simple" or
//! standalone consumers committing with generation -1) is just an Empty group with no members. The
//! cache changes only after the commit's append to `__consumer_offsets` succeeded; meanwhile the
//! partition is counted in `pending_offset_commits` so expiry leaves it alone.

use crate::group::{GroupMetadata, GroupState};

/// Kafka's `TopicPartition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Kafka's `OffsetAndMetadata` plus the order of its append (`CommitRecordMetadataAndOffset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    /// -1 when unknown.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    pub expire_timestamp: Option<i64>,
    /// Position of the commit among this coordinator's appends: a late acknowledgement of an older
    /// commit never overwrites a newer one (Kafka compares log offsets for the same purpose).
    pub append_sequence: u64,
}

impl GroupMetadata {
    pub fn has_offsets(&self) -> bool {
        !self.offsets.is_empty() || !self.pending_offset_commits.is_empty()
    }

    pub fn prepare_offset_commit(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        for tp in partitions {
            *self.pending_offset_commits.entry(tp).or_default() += 1;
        }
    }

    fn finish_pending(&mut self, tp: &TopicPartition) {
        if let Some(count) = self.pending_offset_commits.get_mut(tp) {
            *count -= 1;
            if *count == 0 {
                self.pending_offset_commits.remove(tp);
            }
        }
    }

    /// The append succeeded: the commit becomes visible (unless a newer one already is).
    pub fn on_offset_commit_append(&mut self, tp: TopicPartition, offset: OffsetAndMetadata) {
        self.finish_pending(&tp);
        let newer_present = self
            .offsets
            .get(&tp)
            .is_some_and(|o| o.append_sequence > offset.append_sequence);
        if !newer_present {
            self.offsets.insert(tp, offset);
        }
    }

    /// The append failed: forget the pending commit.
    pub fn fail_pending_offset_commit(&mut self, tp: &TopicPartition) {
        self.finish_pending(tp);
    }

    /// Kafka's `removeExpiredOffsets` (KIP-211): a group with a protocol type expires its offsets only
    /// once Empty, counting from when it became Empty; a standalone group (no protocol type) counts
    /// from each commit; an explicit expire timestamp (OffsetCommit v2–v4 retention) wins. Groups with
    /// members keep their offsets (Kafka would expire topics no member subscribes to; that needs the
    /// consumer protocol's subscription format, which this coordinator does not parse).
    pub fn remove_expired_offsets(
        &mut self,
        now_ms: i64,
        retention_ms: i64,
    ) -> Vec<TopicPartition> {
        let base_state_timestamp = match (&self.protocol_type, self.state()) {
            (Some(_), GroupState::Empty) => self.current_state_timestamp,
            (None, _) => None,
            _ => return Vec::new(),
        };
        let expired: Vec<TopicPartition> = self
            .offsets
            .iter()
            .filter(|(tp, _)| !self.pending_offset_commits.contains_key(*tp))
            .filter(|(_, o)| match o.expire_timestamp {
                Some(expire) => now_ms >= expire,
                None => now_ms - base_state_timestamp.unwrap_or(o.commit_timestamp) >= retention_ms,
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in &expired {
            self.offsets.remove(tp);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(
        commit_timestamp: i64,
        expire_timestamp: Option<i64>,
        append_sequence: u64,
    ) -> OffsetAndMetadata {
        OffsetAndMetadata {
            offset: 1,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp,
            expire_timestamp,
            append_sequence,
        }
    }

    #[test]
    fn older_append_does_not_overwrite_newer() {
        let mut g = GroupMetadata::new("g".into(), 1, 0);
        let tp = TopicPartition::new("t", 0);
        g.prepare_offset_commit([tp.clone(), tp.clone()]);
        g.on_offset_commit_append(
            tp.clone(),
            OffsetAndMetadata {
                offset: 20,
                ..offset(0, None, 2)
            },
        );
        g.on_offset_commit_append(
            tp.clone(),
            OffsetAndMetadata {
                offset: 10,
                ..offset(0, None, 1)
            },
        );
        assert_eq!(g.offsets[&tp].offset, 20);
        assert!(g.pending_offset_commits.is_empty());
    }

    #[test]
    fn expiry_rules() {
        // Standalone group: by commit timestamp; explicit expire timestamp wins.
        let mut g = GroupMetadata::new("g".into(), 1, 0);
        g.offsets
            .insert(TopicPartition::new("t", 0), offset(100, None, 1));
        g.offsets
            .insert(TopicPartition::new("t", 1), offset(900, None, 2));
        g.offsets
            .insert(TopicPartition::new("t", 2), offset(900, Some(950), 3));
        let mut expired = g.remove_expired_offsets(1000, 500);
        expired.sort();
        assert_eq!(
            expired,
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]
        );
        assert_eq!(g.offsets.len(), 1);

        // Consumer group, Empty since 800: everything counts from 800.
        let mut g = GroupMetadata::new("g".into(), 1, 800);
        g.protocol_type = Some("consumer".into());
        g.offsets
            .insert(TopicPartition::new("t", 0), offset(100, None, 1));
        assert!(g.remove_expired_offsets(1000, 500).is_empty());
        assert_eq!(g.remove_expired_offsets(1300, 500).len(), 1);

        // Pending commits are never expired.
        let mut g = GroupMetadata::new("g".into(), 1, 0);
        let tp = TopicPartition::new("t", 0);
        g.offsets.insert(tp.clone(), offset(0, None, 1));
        g.prepare_offset_commit([tp]);
        assert!(g.remove_expired_offsets(10_000, 1).is_empty());
    }
}
