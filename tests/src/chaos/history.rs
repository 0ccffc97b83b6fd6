//! What a chaos run observed, as plain data: every send a producer attempted with its outcome,
//! and every record a consumer read. The checker ([`super::checker`]) works on this alone, so
//! it is tested on histories written by hand.
//!
//! Values are unique by construction (`<producer>-<seq>`, e.g. `r1-42`, `c1-7`), so a value read
//! anywhere names exactly one send.

use std::time::Duration;

/// How one send ended, from the producer's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The leader acknowledged the write (acks=all) at this offset.
    Acked { offset: i64 },
    /// The write certainly did not happen: every attempt failed before the broker could have
    /// appended it (no leader known, connection refused, an error Kafka returns only before the
    /// append).
    Failed { error: String },
    /// The write may or may not have happened: some attempt timed out, lost its connection after
    /// the request left, or got an error Kafka also returns after appending.
    Indeterminate { error: String },
}

/// One send: a unique value to one partition, retried by its producer until an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    /// `r<n>` for the project's wire producer, `c<n>` for confluent-kafka (librdkafka).
    pub producer: String,
    /// The producer's sequence number; a producer sends its values in this order.
    pub seq: u64,
    pub value: String,
    /// The partition the producer sent to (producers choose partitions explicitly).
    pub partition: i32,
    /// How many Produce requests carried the value. `None`: the client retries internally and
    /// does not say (librdkafka), so the value may have been written more than once.
    pub requests: Option<u32>,
    /// Whether the producer keeps one request in flight per partition even across leader
    /// changes, so that its acknowledged writes to a partition must land in send order. The wire
    /// producer does; librdkafka's `max.in.flight.requests.per.connection=1` is per connection,
    /// so without idempotence a retry to a new leader may land after later sends.
    pub ordered: bool,
    pub outcome: Outcome,
    /// When the outcome was known, since the start of the run.
    pub completed_at: Duration,
}

/// When a read happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadPhase {
    /// During the faults, by a consumer polling the leaders.
    Live,
    /// After healing: every partition from offset 0 to its high watermark.
    Final,
}

/// One record as a consumer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// Which consumer: `live`, `wire` (raw Fetch), `kcat`.
    pub reader: String,
    pub phase: ReadPhase,
    pub partition: i32,
    pub offset: i64,
    pub value: String,
}

/// Everything a run observed.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub sends: Vec<SendRecord>,
    pub reads: Vec<ReadRecord>,
}

impl History {
    /// One line per event, tab-separated, for a post-mortem file: `send producer seq value
    /// partition requests outcome offset-or-error completed_ms` and `read reader phase partition
    /// offset value`.
    pub fn to_tsv(&self) -> String {
        let mut out = String::new();
        for s in &self.sends {
            let requests = s.requests.map_or("?".to_string(), |n| n.to_string());
            let (kind, detail) = match &s.outcome {
                Outcome::Acked { offset } => ("acked", offset.to_string()),
                Outcome::Failed { error } => ("failed", error.replace(['\t', '\n'], " ")),
                Outcome::Indeterminate { error } => {
                    ("indeterminate", error.replace(['\t', '\n'], " "))
                }
            };
            out.push_str(&format!(
                "send\t{}\t{}\t{}\t{}\t{requests}\t{kind}\t{detail}\t{}\n",
                s.producer,
                s.seq,
                s.value,
                s.partition,
                s.completed_at.as_millis()
            ));
        }
        for r in &self.reads {
            let phase = match r.phase {
                ReadPhase::Live => "live",
                ReadPhase::Final => "final",
            };
            out.push_str(&format!(
                "read\t{}\t{phase}\t{}\t{}\t{}\n",
                r.reader, r.partition, r.offset, r.value
            ));
        }
        out
    }
}

/// Whether a Produce error code (acks=all) proves the record was not appended. Kafka checks
/// these before the append; everything else may come after it: REQUEST_TIMED_OUT (7) and
/// NOT_ENOUGH_REPLICAS_AFTER_APPEND (20) by definition, and NOT_LEADER_OR_FOLLOWER (6) also from
/// the produce purgatory when the leader lost leadership while waiting for followers (the record
/// is in its log and may already be on the new leader).
pub fn produce_error_is_definite(code: i16) -> bool {
    matches!(
        code,
        2 // CORRUPT_MESSAGE
        | 3 // UNKNOWN_TOPIC_OR_PARTITION
        | 10 // MESSAGE_TOO_LARGE
        | 19 // NOT_ENOUGH_REPLICAS (checked before the append)
        | 21 // INVALID_REQUIRED_ACKS
        | 87 // INVALID_RECORD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pre_append_errors_are_definite() {
        assert!(produce_error_is_definite(19));
        assert!(produce_error_is_definite(3));
        for maybe_written in [6, 7, 20, 56, -1] {
            assert!(!produce_error_is_definite(maybe_written), "{maybe_written}");
        }
    }

    #[test]
    fn tsv_has_one_line_per_event() {
        let history = History {
            sends: vec![SendRecord {
                producer: "r1".into(),
                seq: 0,
                value: "r1-0".into(),
                partition: 2,
                requests: Some(1),
                ordered: true,
                outcome: Outcome::Failed {
                    error: "no\tleader".into(),
                },
                completed_at: Duration::from_millis(1500),
            }],
            reads: vec![ReadRecord {
                reader: "wire".into(),
                phase: ReadPhase::Final,
                partition: 2,
                offset: 0,
                value: "c1-0".into(),
            }],
        };
        assert_eq!(
            history.to_tsv(),
            "send\tr1\t0\tr1-0\t2\t1\tfailed\tno leader\t1500\nread\twire\tfinal\t2\t0\tc1-0\n"
        );
    }
}
