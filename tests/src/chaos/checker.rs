//! The checker: given a [`History`], what went wrong, per partition. In the spirit of Jepsen's
//! Kafka/Redpanda checker (reference §11.4), reduced to what a non-transactional, non-idempotent
//! workload with unique values can show:
//!
//! - **lost**: a write acknowledged at (partition, offset), or a record a consumer read there
//!   during the run, that the final reads (after healing, offset 0 to the high watermark) do not
//!   hold at that offset. Either was committed, so either must survive.
//! - **duplicate**: one value at more than one offset of a partition. A non-idempotent producer
//!   that retried a send may legitimately write it twice (at-least-once), so a duplicate is a
//!   violation only when the value travelled in exactly one Produce request.
//! - **inconsistent offset**: one (partition, offset) claimed by different values: an ack says
//!   one value, a read (or another read) says another.
//! - **reordered**: two acknowledged writes of one producer to one partition whose offsets run
//!   against their send order. A violation for a producer that keeps one request in flight per
//!   partition across leader changes (the wire producer), where only the log can reorder;
//!   informational for librdkafka, whose one-in-flight limit is per connection, so that without
//!   idempotence a retry sent to a new leader may land after later sends.
//! - **failed but read**: a send that failed definitely (the broker could not have appended it)
//!   whose value was read anyway (Jepsen's G1a, "aborted read").
//! - **unknown**: a value read that no producer sent to that partition.
//!
//! Indeterminate sends are informational: seen (the write happened) or unseen (it did not, or it
//! was lost, which nothing can tell apart).
//!
//! Pure: no I/O, unit-tested on histories written by hand below.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use super::history::{History, Outcome, ReadPhase, SendRecord};

/// How many examples of each kind the report prints.
const EXAMPLES_PER_KIND: usize = 10;

/// One thing the checker found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    Lost {
        partition: i32,
        offset: i64,
        value: String,
        acknowledged: bool,
        found_at: Vec<i64>,
    },
    Duplicate {
        partition: i32,
        value: String,
        offsets: Vec<i64>,
        retried: bool,
    },
    InconsistentOffset {
        partition: i32,
        offset: i64,
        claims: Vec<String>,
    },
    Reordered {
        partition: i32,
        producer: String,
        earlier: (u64, i64),
        later: (u64, i64),
        /// Whether the producer promises send order (see [`SendRecord::ordered`]).
        ordered: bool,
    },
    FailedButRead {
        partition: i32,
        offset: i64,
        value: String,
        error: String,
    },
    Unknown {
        partition: i32,
        offset: i64,
        value: String,
    },
}

impl Anomaly {
    /// Whether this breaks a guarantee (everything but a duplicate of a retried send).
    pub fn is_violation(&self) -> bool {
        !matches!(
            self,
            Anomaly::Duplicate { retried: true, .. } | Anomaly::Reordered { ordered: false, .. }
        )
    }

    fn kind(&self) -> &'static str {
        match self {
            Anomaly::Lost { .. } => "lost",
            Anomaly::Duplicate { retried: true, .. } => "duplicate (retried send)",
            Anomaly::Duplicate { retried: false, .. } => "duplicate (single request)",
            Anomaly::InconsistentOffset { .. } => "inconsistent offset",
            Anomaly::Reordered { ordered: true, .. } => "reordered (producer keeps order)",
            Anomaly::Reordered { ordered: false, .. } => "reordered (client retries may reorder)",
            Anomaly::FailedButRead { .. } => "failed but read",
            Anomaly::Unknown { .. } => "unknown value",
        }
    }

    /// Where the kind comes in the report: the worst first.
    fn rank(&self) -> u8 {
        match self {
            Anomaly::Lost { .. } => 0,
            Anomaly::InconsistentOffset { .. } => 1,
            Anomaly::Reordered { ordered: true, .. } => 2,
            Anomaly::Reordered { ordered: false, .. } => 7,
            Anomaly::FailedButRead { .. } => 3,
            Anomaly::Unknown { .. } => 4,
            Anomaly::Duplicate { retried: false, .. } => 5,
            Anomaly::Duplicate { retried: true, .. } => 6,
        }
    }

    fn partition(&self) -> i32 {
        match self {
            Anomaly::Lost { partition, .. }
            | Anomaly::Duplicate { partition, .. }
            | Anomaly::InconsistentOffset { partition, .. }
            | Anomaly::Reordered { partition, .. }
            | Anomaly::FailedButRead { partition, .. }
            | Anomaly::Unknown { partition, .. } => *partition,
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::Lost {
                partition,
                offset,
                value,
                acknowledged,
                found_at,
            } => {
                let what = if *acknowledged {
                    "acknowledged"
                } else {
                    "read during the run"
                };
                write!(
                    f,
                    "p{partition}@{offset}: {value} ({what}) is not there after healing"
                )?;
                if found_at.is_empty() {
                    write!(f, " nor anywhere else")
                } else {
                    write!(f, "; found at offsets {found_at:?}")
                }
            }
            Anomaly::Duplicate {
                partition,
                value,
                offsets,
                retried,
            } => {
                let why = if *retried {
                    "its send was retried"
                } else {
                    "sent in one request"
                };
                write!(f, "p{partition}: {value} at offsets {offsets:?} ({why})")
            }
            Anomaly::InconsistentOffset {
                partition,
                offset,
                claims,
            } => write!(f, "p{partition}@{offset}: {}", claims.join("; ")),
            Anomaly::Reordered {
                partition,
                producer,
                earlier,
                later,
                ..
            } => write!(
                f,
                "p{partition}: {producer} seq {} acked at offset {} but later seq {} at offset {}",
                earlier.0, earlier.1, later.0, later.1
            ),
            Anomaly::FailedButRead {
                partition,
                offset,
                value,
                error,
            } => write!(
                f,
                "p{partition}@{offset}: {value} failed definitely ({error}) yet was read"
            ),
            Anomaly::Unknown {
                partition,
                offset,
                value,
            } => write!(
                f,
                "p{partition}@{offset}: {value} was read but never sent to this partition"
            ),
        }
    }
}

/// One partition's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReport {
    pub partition: i32,
    /// Sends acknowledged in this partition.
    pub acked: usize,
    /// Distinct offsets the final reads returned.
    pub read: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Duplicates of values sent in exactly one request (violations).
    pub duplicated_single_request: usize,
    pub inconsistent: usize,
    pub reordered: usize,
    /// Reorderings of a producer that keeps send order (violations).
    pub reordered_in_order_producer: usize,
    pub failed: usize,
    pub failed_but_read: usize,
    pub unknown: usize,
    pub indeterminate_seen: usize,
    pub indeterminate_unseen: usize,
}

impl PartitionReport {
    fn add(&mut self, other: &PartitionReport) {
        self.acked += other.acked;
        self.read += other.read;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.duplicated_single_request += other.duplicated_single_request;
        self.inconsistent += other.inconsistent;
        self.reordered += other.reordered;
        self.reordered_in_order_producer += other.reordered_in_order_producer;
        self.failed += other.failed;
        self.failed_but_read += other.failed_but_read;
        self.unknown += other.unknown;
        self.indeterminate_seen += other.indeterminate_seen;
        self.indeterminate_unseen += other.indeterminate_unseen;
    }
}

/// The checker's verdict on a history.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub partitions: BTreeMap<i32, PartitionReport>,
    pub anomalies: Vec<Anomaly>,
}

impl CheckReport {
    /// The sum over partitions (its `partition` is −1).
    pub fn totals(&self) -> PartitionReport {
        let mut total = PartitionReport {
            partition: -1,
            ..PartitionReport::default()
        };
        for p in self.partitions.values() {
            total.add(p);
        }
        total
    }

    /// Why the history fails, one line per reason; empty when it passes. A history in which
    /// nothing was acknowledged fails too: it shows nothing.
    pub fn problems(&self) -> Vec<String> {
        let t = self.totals();
        let mut problems = Vec::new();
        if t.acked == 0 {
            problems.push("no write was acknowledged, so the run shows nothing".to_string());
        }
        for (count, what) in [
            (t.lost, "lost writes"),
            (t.inconsistent, "inconsistent offsets"),
            (
                t.reordered_in_order_producer,
                "reordered acknowledged writes of a producer that keeps order",
            ),
            (
                t.duplicated_single_request,
                "duplicates of values sent in a single request",
            ),
            (t.failed_but_read, "definitely failed sends that were read"),
            (t.unknown, "values read that no producer sent there"),
        ] {
            if count > 0 {
                problems.push(format!("{count} {what}"));
            }
        }
        problems
    }

    pub fn passed(&self) -> bool {
        self.problems().is_empty()
    }
}

impl fmt::Display for CheckReport {
    /// The summary table, then examples of each kind of anomaly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>9} {:>7} {:>7} {:>5} {:>10} {:>12} {:>12} {:>7} {:>11} {:>7} {:>14}",
            "partition",
            "acked",
            "read",
            "lost",
            "dup(1-req)",
            "inconsistent",
            "reord(order)",
            "failed",
            "failed-read",
            "unknown",
            "indet seen/not"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: String, p: &PartitionReport| {
            writeln!(
                f,
                "{name:>9} {:>7} {:>7} {:>5} {:>10} {:>12} {:>12} {:>7} {:>11} {:>7} {:>14}",
                p.acked,
                p.read,
                p.lost,
                format!("{}({})", p.duplicated, p.duplicated_single_request),
                p.inconsistent,
                format!("{}({})", p.reordered, p.reordered_in_order_producer),
                p.failed,
                p.failed_but_read,
                p.unknown,
                format!("{}/{}", p.indeterminate_seen, p.indeterminate_unseen)
            )
        };
        for p in self.partitions.values() {
            row(f, p.partition.to_string(), p)?;
        }
        row(f, "total".to_string(), &self.totals())?;
        let mut by_kind: BTreeMap<(u8, &str), Vec<&Anomaly>> = BTreeMap::new();
        for a in &self.anomalies {
            by_kind.entry((a.rank(), a.kind())).or_default().push(a);
        }
        for ((_, kind), list) in by_kind {
            writeln!(
                f,
                "{kind}: {} (first {}):",
                list.len(),
                list.len().min(EXAMPLES_PER_KIND)
            )?;
            for a in list.iter().take(EXAMPLES_PER_KIND) {
                writeln!(f, "  {a}")?;
            }
        }
        Ok(())
    }
}

/// Checks `history` of a topic with `partitions` partitions.
pub fn check(history: &History, partitions: i32) -> CheckReport {
    let reads = ReadIndex::new(history);
    let mut anomalies = inconsistent_offsets(history);
    let lost = lost_writes(history, &reads, &mut anomalies);
    lost_reads(history, &reads, &lost, &mut anomalies);
    failed_but_read(history, &reads, &mut anomalies);
    duplicates_and_unknown(history, &reads, &mut anomalies);
    reorderings(history, &mut anomalies);

    let mut reports = BTreeMap::new();
    for p in 0..partitions {
        report_of(&mut reports, p);
    }
    for &(partition, _) in reads.final_at.keys() {
        report_of(&mut reports, partition).read += 1;
    }
    for s in &history.sends {
        let r = report_of(&mut reports, s.partition);
        match &s.outcome {
            Outcome::Acked { .. } => r.acked += 1,
            Outcome::Failed { .. } => r.failed += 1,
            Outcome::Indeterminate { .. } if reads.final_where.contains_key(s.value.as_str()) => {
                r.indeterminate_seen += 1
            }
            Outcome::Indeterminate { .. } => r.indeterminate_unseen += 1,
        }
    }
    for a in &anomalies {
        let r = report_of(&mut reports, a.partition());
        match a {
            Anomaly::Lost { .. } => r.lost += 1,
            Anomaly::Duplicate { retried, .. } => {
                r.duplicated += 1;
                r.duplicated_single_request += usize::from(!retried);
            }
            Anomaly::InconsistentOffset { .. } => r.inconsistent += 1,
            Anomaly::Reordered { ordered, .. } => {
                r.reordered += 1;
                r.reordered_in_order_producer += usize::from(*ordered);
            }
            Anomaly::FailedButRead { .. } => r.failed_but_read += 1,
            Anomaly::Unknown { .. } => r.unknown += 1,
        }
    }
    CheckReport {
        partitions: reports,
        anomalies,
    }
}

/// A (partition, offset).
type Position = (i32, i64);

/// Where values were read.
struct ReadIndex<'h> {
    /// Every position each value was read at, in any phase.
    read_at: HashMap<&'h str, BTreeSet<Position>>,
    /// The values the final reads found at each position (more than one is an inconsistency).
    final_at: HashMap<Position, HashSet<&'h str>>,
    /// Every position each value was found at by the final reads.
    final_where: HashMap<&'h str, BTreeSet<Position>>,
}

impl<'h> ReadIndex<'h> {
    fn new(history: &'h History) -> ReadIndex<'h> {
        let mut index = ReadIndex {
            read_at: HashMap::new(),
            final_at: HashMap::new(),
            final_where: HashMap::new(),
        };
        for r in &history.reads {
            let at = (r.partition, r.offset);
            index.read_at.entry(&r.value).or_default().insert(at);
            if r.phase == ReadPhase::Final {
                index.final_at.entry(at).or_default().insert(&r.value);
                index.final_where.entry(&r.value).or_default().insert(at);
            }
        }
        index
    }

    fn final_holds(&self, at: Position, value: &str) -> bool {
        self.final_at
            .get(&at)
            .is_some_and(|values| values.contains(value))
    }

    /// The offsets of `partition` where the final reads found `value`.
    fn found_at(&self, value: &str, partition: i32) -> Vec<i64> {
        self.final_where
            .get(value)
            .map(|l| {
                l.iter()
                    .filter(|(p, _)| *p == partition)
                    .map(|(_, o)| *o)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Positions claimed by different values: an ack and a read, or two reads.
fn inconsistent_offsets(history: &History) -> Vec<Anomaly> {
    let mut claims: BTreeMap<Position, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
    for s in &history.sends {
        if let Outcome::Acked { offset } = s.outcome {
            claims
                .entry((s.partition, offset))
                .or_default()
                .entry(&s.value)
                .or_default()
                .insert(format!("acked to {}", s.producer));
        }
    }
    for r in &history.reads {
        let phase = match r.phase {
            ReadPhase::Live => "during the run",
            ReadPhase::Final => "after healing",
        };
        claims
            .entry((r.partition, r.offset))
            .or_default()
            .entry(&r.value)
            .or_default()
            .insert(format!("read by {} {phase}", r.reader));
    }
    claims
        .into_iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|((partition, offset), values)| {
            let claims = values
                .iter()
                .map(|(v, who)| {
                    format!(
                        "{v} ({})",
                        who.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            Anomaly::InconsistentOffset {
                partition,
                offset,
                claims,
            }
        })
        .collect()
}

/// Acknowledged writes the final reads do not hold at their offset; returns their positions
/// and values.
fn lost_writes<'h>(
    history: &'h History,
    reads: &ReadIndex<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> HashSet<(Position, &'h str)> {
    let mut lost = HashSet::new();
    for s in &history.sends {
        let Outcome::Acked { offset } = s.outcome else {
            continue;
        };
        if !reads.final_holds((s.partition, offset), &s.value) {
            lost.insert(((s.partition, offset), s.value.as_str()));
            let found_at = reads.found_at(&s.value, s.partition);
            anomalies.push(Anomaly::Lost {
                partition: s.partition,
                offset,
                value: s.value.clone(),
                acknowledged: true,
                found_at,
            });
        }
    }
    lost
}

/// Records read during the run are committed (below the high watermark): they must survive too.
fn lost_reads(
    history: &History,
    reads: &ReadIndex<'_>,
    already: &HashSet<(Position, &str)>,
    anomalies: &mut Vec<Anomaly>,
) {
    let mut lost: BTreeSet<(Position, &str)> = BTreeSet::new();
    for r in history.reads.iter().filter(|r| r.phase == ReadPhase::Live) {
        let at = (r.partition, r.offset);
        if !reads.final_holds(at, &r.value) && !already.contains(&(at, r.value.as_str())) {
            lost.insert((at, &r.value));
        }
    }
    for ((partition, offset), value) in lost {
        let found_at = reads.found_at(value, partition);
        anomalies.push(Anomaly::Lost {
            partition,
            offset,
            value: value.to_string(),
            acknowledged: false,
            found_at,
        });
    }
}

/// Sends that failed definitely but whose value was read.
fn failed_but_read(history: &History, reads: &ReadIndex<'_>, anomalies: &mut Vec<Anomaly>) {
    for s in &history.sends {
        let Outcome::Failed { error } = &s.outcome else {
            continue;
        };
        if let Some(&(partition, offset)) = reads
            .read_at
            .get(s.value.as_str())
            .and_then(|l| l.iter().next())
        {
            anomalies.push(Anomaly::FailedButRead {
                partition,
                offset,
                value: s.value.clone(),
                error: error.clone(),
            });
        }
    }
}

/// Values read at more than one offset of their partition, and values read where no producer
/// sent them.
fn duplicates_and_unknown(history: &History, reads: &ReadIndex<'_>, anomalies: &mut Vec<Anomaly>) {
    let sends: HashMap<&str, &SendRecord> = history
        .sends
        .iter()
        .map(|s| (s.value.as_str(), s))
        .collect();
    let mut unknown: BTreeSet<(Position, &str)> = BTreeSet::new();
    for (value, locations) in &reads.read_at {
        let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for &(p, o) in locations {
            by_partition.entry(p).or_default().push(o);
        }
        for (partition, offsets) in by_partition {
            match sends.get(value) {
                Some(s) if s.partition == partition => {
                    if offsets.len() > 1 {
                        anomalies.push(Anomaly::Duplicate {
                            partition,
                            value: value.to_string(),
                            offsets,
                            retried: s.requests != Some(1),
                        });
                    }
                }
                _ => unknown.extend(offsets.into_iter().map(|o| ((partition, o), *value))),
            }
        }
    }
    anomalies.extend(
        unknown
            .into_iter()
            .map(|((partition, offset), value)| Anomaly::Unknown {
                partition,
                offset,
                value: value.to_string(),
            }),
    );
}

/// A send's sequence number and the offset it was acknowledged at.
type SeqOffset = (u64, i64);

/// Per producer and partition, acknowledged offsets must grow with the sequence.
fn reorderings(history: &History, anomalies: &mut Vec<Anomaly>) {
    let mut acked: BTreeMap<(&str, i32), (bool, Vec<SeqOffset>)> = BTreeMap::new();
    for s in &history.sends {
        if let Outcome::Acked { offset } = s.outcome {
            let entry = acked
                .entry((&s.producer, s.partition))
                .or_insert((s.ordered, Vec::new()));
            entry.1.push((s.seq, offset));
        }
    }
    for ((producer, partition), (ordered, mut writes)) in acked {
        writes.sort_unstable();
        let mut highest: Option<SeqOffset> = None;
        for (seq, offset) in writes {
            match highest {
                Some(earlier) if offset < earlier.1 => {
                    anomalies.push(Anomaly::Reordered {
                        partition,
                        producer: producer.to_string(),
                        earlier,
                        later: (seq, offset),
                        ordered,
                    });
                }
                _ => highest = Some((seq, offset)),
            }
        }
    }
}

/// `partition`'s report, created empty on first use (a history may name a partition the topic
/// does not have; the checker reports it rather than hiding it).
fn report_of(reports: &mut BTreeMap<i32, PartitionReport>, partition: i32) -> &mut PartitionReport {
    reports.entry(partition).or_insert_with(|| PartitionReport {
        partition,
        ..PartitionReport::default()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::chaos::history::{ReadRecord, SendRecord};

    fn send(
        producer: &str,
        seq: u64,
        partition: i32,
        requests: Option<u32>,
        outcome: Outcome,
    ) -> SendRecord {
        SendRecord {
            producer: producer.into(),
            seq,
            value: format!("{producer}-{seq}"),
            partition,
            requests,
            ordered: requests.is_some(),
            outcome,
            completed_at: Duration::ZERO,
        }
    }

    fn acked(producer: &str, seq: u64, partition: i32, offset: i64) -> SendRecord {
        send(producer, seq, partition, Some(1), Outcome::Acked { offset })
    }

    fn read(
        reader: &str,
        phase: ReadPhase,
        partition: i32,
        offset: i64,
        value: &str,
    ) -> ReadRecord {
        ReadRecord {
            reader: reader.into(),
            phase,
            partition,
            offset,
            value: value.into(),
        }
    }

    fn final_read(partition: i32, offset: i64, value: &str) -> ReadRecord {
        read("wire", ReadPhase::Final, partition, offset, value)
    }

    /// Two producers interleaved on partition 0, one on partition 1, all read back.
    fn clean() -> History {
        History {
            sends: vec![
                acked("r1", 0, 0, 0),
                acked("c1", 0, 0, 1),
                acked("r1", 1, 0, 2),
                acked("r1", 2, 1, 0),
            ],
            reads: vec![
                final_read(0, 0, "r1-0"),
                final_read(0, 1, "c1-0"),
                final_read(0, 2, "r1-1"),
                final_read(1, 0, "r1-2"),
                read("live", ReadPhase::Live, 0, 0, "r1-0"),
            ],
        }
    }

    #[test]
    fn a_clean_history_passes() {
        let report = check(&clean(), 2);
        assert!(report.passed(), "{report}");
        assert!(report.anomalies.is_empty());
        let total = report.totals();
        assert_eq!((total.acked, total.read), (4, 4));
        assert_eq!(report.partitions[&0].acked, 3);
        assert_eq!(report.partitions[&1].read, 1);
    }

    #[test]
    fn an_empty_history_fails_for_showing_nothing() {
        let report = check(&History::default(), 3);
        assert_eq!(report.partitions.len(), 3);
        assert!(!report.passed());
        assert!(report.problems()[0].contains("no write was acknowledged"));
    }

    #[test]
    fn an_acknowledged_write_missing_after_healing_is_lost() {
        let mut h = clean();
        h.reads.retain(|r| r.value != "c1-0");
        let report = check(&h, 2);
        assert_eq!(report.partitions[&0].lost, 1);
        assert_eq!(
            report.anomalies,
            vec![Anomaly::Lost {
                partition: 0,
                offset: 1,
                value: "c1-0".into(),
                acknowledged: true,
                found_at: vec![]
            }]
        );
        assert!(
            report.problems().iter().any(|p| p == "1 lost writes"),
            "{:?}",
            report.problems()
        );
    }

    #[test]
    fn a_wiped_log_that_reuses_offsets_is_lost_and_inconsistent() {
        // Partition 0 lost everything and new writes took offsets 0.. again.
        let h = History {
            sends: vec![
                acked("r1", 0, 0, 0),
                acked("r1", 1, 0, 1),
                acked("r1", 2, 0, 0),
            ],
            reads: vec![
                read("live", ReadPhase::Live, 0, 0, "r1-0"),
                final_read(0, 0, "r1-2"),
            ],
        };
        let report = check(&h, 1);
        let p = &report.partitions[&0];
        assert_eq!((p.lost, p.inconsistent, p.reordered), (2, 1, 1), "{report}");
        assert!(report.anomalies.contains(&Anomaly::Reordered {
            partition: 0,
            producer: "r1".into(),
            earlier: (1, 1),
            later: (2, 0),
            ordered: true,
        }));
        let Some(Anomaly::InconsistentOffset { claims, .. }) = report
            .anomalies
            .iter()
            .find(|a| matches!(a, Anomaly::InconsistentOffset { .. }))
        else {
            panic!("{report}")
        };
        assert_eq!(
            claims,
            &[
                "r1-0 (acked to r1, read by live during the run)".to_string(),
                "r1-2 (acked to r1, read by wire after healing)".to_string()
            ]
        );
    }

    #[test]
    fn two_readers_disagreeing_on_an_offset_is_inconsistent() {
        let mut h = clean();
        h.reads.push(read("kcat", ReadPhase::Final, 1, 0, "c1-0"));
        let report = check(&h, 2);
        assert_eq!(report.partitions[&1].inconsistent, 1);
        // c1-0 was sent to partition 0, so reading it in partition 1 is also an unknown value.
        assert_eq!(report.partitions[&1].unknown, 1);
        assert!(!report.passed());
    }

    #[test]
    fn a_record_read_during_the_run_must_survive() {
        let mut h = clean();
        h.sends.push(send(
            "r1",
            3,
            1,
            Some(2),
            Outcome::Indeterminate {
                error: "timed out".into(),
            },
        ));
        h.reads.push(read("live", ReadPhase::Live, 1, 1, "r1-3"));
        let report = check(&h, 2);
        assert_eq!(
            report.anomalies,
            vec![Anomaly::Lost {
                partition: 1,
                offset: 1,
                value: "r1-3".into(),
                acknowledged: false,
                found_at: vec![]
            }]
        );
        assert_eq!(report.partitions[&1].indeterminate_unseen, 1);
    }

    #[test]
    fn duplicates_are_violations_only_for_single_request_sends() {
        let mut h = clean();
        h.sends
            .push(send("r1", 3, 1, Some(2), Outcome::Acked { offset: 2 }));
        h.reads
            .extend([final_read(1, 1, "r1-3"), final_read(1, 2, "r1-3")]);
        let report = check(&h, 2);
        assert_eq!(
            (
                report.partitions[&1].duplicated,
                report.partitions[&1].duplicated_single_request
            ),
            (1, 0)
        );
        assert!(report.passed(), "{report}");

        h.sends.last_mut().expect("pushed above").requests = Some(1);
        let report = check(&h, 2);
        assert_eq!(report.partitions[&1].duplicated_single_request, 1);
        assert!(!report.passed());

        // librdkafka does not say how often it sent a value: a duplicate is explained.
        h.sends.last_mut().expect("pushed above").requests = None;
        assert!(check(&h, 2).passed());
    }

    #[test]
    fn acknowledged_writes_out_of_send_order_are_reordered() {
        let h = History {
            sends: vec![
                acked("r1", 0, 0, 1),
                acked("r1", 1, 0, 0),
                acked("r2", 0, 0, 2),
            ],
            reads: vec![
                final_read(0, 0, "r1-1"),
                final_read(0, 1, "r1-0"),
                final_read(0, 2, "r2-0"),
            ],
        };
        let report = check(&h, 1);
        assert_eq!(
            report.anomalies,
            vec![Anomaly::Reordered {
                partition: 0,
                producer: "r1".into(),
                earlier: (0, 1),
                later: (1, 0),
                ordered: true,
            }]
        );
        assert_eq!(report.partitions[&0].reordered_in_order_producer, 1);
        assert!(!report.passed());
    }

    #[test]
    fn a_client_that_may_reorder_its_retries_is_not_held_to_send_order() {
        let mut h = History {
            sends: vec![
                send("c1", 0, 0, None, Outcome::Acked { offset: 1 }),
                send("c1", 1, 0, None, Outcome::Acked { offset: 0 }),
            ],
            reads: vec![final_read(0, 0, "c1-1"), final_read(0, 1, "c1-0")],
        };
        let report = check(&h, 1);
        let p = &report.partitions[&0];
        assert_eq!((p.reordered, p.reordered_in_order_producer), (1, 0));
        assert!(report.passed(), "{report}");
        assert!(report
            .to_string()
            .contains("reordered (client retries may reorder): 1"));

        for s in &mut h.sends {
            s.ordered = true;
        }
        assert!(!check(&h, 1).passed());
    }

    #[test]
    fn a_definitely_failed_send_must_not_be_read_but_an_indeterminate_one_may() {
        let mut h = clean();
        h.sends.push(send(
            "r2",
            0,
            1,
            Some(1),
            Outcome::Failed {
                error: "NOT_ENOUGH_REPLICAS".into(),
            },
        ));
        h.sends.push(send(
            "r2",
            1,
            1,
            Some(1),
            Outcome::Indeterminate {
                error: "timed out".into(),
            },
        ));
        h.reads
            .extend([final_read(1, 1, "r2-0"), final_read(1, 2, "r2-1")]);
        let report = check(&h, 2);
        assert_eq!(
            report.anomalies,
            vec![Anomaly::FailedButRead {
                partition: 1,
                offset: 1,
                value: "r2-0".into(),
                error: "NOT_ENOUGH_REPLICAS".into()
            }]
        );
        let p = &report.partitions[&1];
        assert_eq!(
            (
                p.failed,
                p.failed_but_read,
                p.indeterminate_seen,
                p.indeterminate_unseen
            ),
            (1, 1, 1, 0)
        );
    }

    #[test]
    fn a_value_nobody_sent_is_unknown() {
        let mut h = clean();
        h.reads.push(final_read(1, 1, "zz-9"));
        let report = check(&h, 2);
        assert_eq!(
            report.anomalies,
            vec![Anomaly::Unknown {
                partition: 1,
                offset: 1,
                value: "zz-9".into()
            }]
        );
    }

    #[test]
    fn the_table_has_a_row_per_partition_and_a_total() {
        let mut h = clean();
        h.reads.retain(|r| r.value != "r1-2");
        let text = check(&h, 2).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].trim_start().starts_with("partition"));
        assert!(lines[1].trim_start().starts_with('0'));
        assert!(lines[3].trim_start().starts_with("total"));
        assert!(text.contains("lost: 1 (first 1):\n  p1@0: r1-2 (acknowledged) is not there after healing nor anywhere else"), "{text}");
    }
}
