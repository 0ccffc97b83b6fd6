//! Scripted scenarios: a fixed sequence of faults aimed at one known failure, played instead of
//! the seeded schedule (`--scenario NAME`). Each names the settings it starts from, checks the
//! ones it cannot do without, and reports what it observed next to the checker's verdict.
//!
//! - `jepsen-2013` ([`super::jepsen_2013`]): the loss Kingsbury found in Kafka 0.8 beta
//!   (reference §4.5, §11.1). An ISR shrunk to the leader alone, that leader acknowledging
//!   acks=all writes by itself (`min.insync.replicas=1`), then lost; with
//!   `unclean.leader.election.enable=true` (`--unclean`) a replica outside the ISR is elected and
//!   the writes are truncated away when the old leader comes back; without it (Kafka's default
//!   since 0.11) the partition waits offline for its last in-sync replica and nothing is lost.

use std::fmt;
use std::time::Duration;

use super::config::ChaosConfig;
use super::history::{History, Outcome, ReadPhase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Followers stopped until the ISR is the leader alone, the leader killed, the followers
    /// back (an unclean election if allowed), the leader back (reference §11.1).
    Jepsen2013,
}

impl Scenario {
    pub const ALL: [Scenario; 1] = [Scenario::Jepsen2013];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Jepsen2013 => "jepsen-2013",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| anyhow::anyhow!("unknown scenario {name:?}: expected jepsen-2013"))
    }

    /// The settings the scenario starts from.
    pub fn config(self) -> ChaosConfig {
        match self {
            // One partition, so every write goes through the leader the scenario isolates (with
            // more, the others start led by the followers it stops, and their producers' lanes
            // spend the window waiting on them). min.insync.replicas=1 lets the leader
            // acknowledge acks=all writes by itself, as 0.8 beta did; the stopped followers
            // leave the ISR within 2 s.
            Scenario::Jepsen2013 => ChaosConfig {
                scenario: Some(Scenario::Jepsen2013),
                partitions: 1,
                replication_factor: 3,
                min_insync: 1,
                replica_lag_time_max: Some(Duration::from_secs(2)),
                settle: Duration::from_secs(3),
                ..ChaosConfig::default()
            },
        }
    }

    /// What the scenario cannot do without.
    pub fn validate(self, config: &ChaosConfig) -> anyhow::Result<()> {
        match self {
            Scenario::Jepsen2013 => {
                anyhow::ensure!(
                    config.brokers.len() == 3 && config.replication_factor == 3,
                    "--scenario jepsen-2013 needs a leader and two followers: 3 brokers, --replication-factor 3"
                );
                Ok(())
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario observed, for the summary.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub min_insync: usize,
    pub unclean: bool,
    /// The broker isolated: partition 0's leader when the scenario began.
    pub leader: Option<i32>,
    /// From when its followers stopped (so nothing it appended reached them) until it was
    /// killed, on the run's clock.
    pub alone: Option<(Duration, Duration)>,
    /// When partition 0's ISR was seen to be the leader alone.
    pub isr_alone_at: Option<Duration>,
    /// Who led partition 0 while the old leader was away (none, unless elected uncleanly).
    pub elected_while_away: Option<i32>,
    /// The controller's `state_change` lines about unclean elections of the topic.
    pub unclean_elections: Vec<String>,
    /// The old leader's lines about truncating the topic's partitions after it came back.
    pub truncations: Vec<String>,
    /// Acknowledged writes completed in `alone`, and how many of them the final reads lack.
    pub alone_writes: WindowOutcome,
}

impl ScenarioReport {
    pub fn new(scenario: Scenario, config: &ChaosConfig) -> ScenarioReport {
        ScenarioReport {
            scenario,
            min_insync: config.min_insync,
            unclean: config.unclean,
            leader: None,
            alone: None,
            isr_alone_at: None,
            elected_while_away: None,
            unclean_elections: Vec::new(),
            truncations: Vec::new(),
            alone_writes: WindowOutcome::default(),
        }
    }
}

impl fmt::Display for ScenarioReport {
    /// What happened, in the scenario's terms, and the broker log lines that show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(leader), Some((from, to))) = (self.leader, self.alone) else {
            return writeln!(
                f,
                "scenario {}: did not get as far as isolating a leader (see the log above)",
                self.scenario
            );
        };
        let w = &self.alone_writes;
        let isr = self.isr_alone_at.map_or("never seen".to_string(), |at| {
            format!("at {:.1}s", at.as_secs_f64())
        });
        writeln!(
            f,
            "scenario {}: broker {leader} led partition 0 with both followers stopped from {:.1}s to {:.1}s (ISR [{leader}] {isr}, min.insync.replicas={}) and acknowledged {} acks=all writes meanwhile",
            self.scenario,
            from.as_secs_f64(),
            to.as_secs_f64(),
            self.min_insync,
            w.acked
        )?;
        match self.elected_while_away {
            Some(new) => writeln!(
                f,
                "  while broker {leader} was away, broker {new}, not in the ISR, was elected leader of partition 0: an unclean election (unclean.leader.election.enable={})",
                self.unclean
            )?,
            None => writeln!(
                f,
                "  while broker {leader} was away, partition 0 had no leader: with unclean.leader.election.enable={} it waited for its last in-sync replica",
                self.unclean
            )?,
        }
        if w.missing > 0 {
            writeln!(
                f,
                "  {} of those {} writes are not in the final reads: broker {leader} truncated its log to the new leader's when it came back, the loss Jepsen found in Kafka 0.8 beta (reference §11.1)",
                w.missing, w.acked
            )?;
        } else {
            writeln!(
                f,
                "  all {} of those writes are in the final reads",
                w.acked
            )?;
        }
        writeln!(
            f,
            "  expected: lost writes and FAIL with --unclean (0.8 beta's fallback to any live replica); none lost without it (Kafka 2.8's defaults)"
        )?;
        for (what, lines) in [
            ("the controller's state_change log", &self.unclean_elections),
            ("the old leader's log after its restart", &self.truncations),
        ] {
            if !lines.is_empty() {
                writeln!(f, "  {what} ({} lines, first 5):", lines.len())?;
                for line in lines.iter().take(5) {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Acknowledged writes whose acknowledgement came within a time window, and how many of them
/// the final reads do not hold at their offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowOutcome {
    pub acked: usize,
    pub missing: usize,
}

/// Counts the acknowledged sends of `history` completed within `from..=to` and those of them no
/// final read returned at their partition and offset.
pub fn window_outcome(history: &History, from: Duration, to: Duration) -> WindowOutcome {
    let held: std::collections::HashSet<(i32, i64, &str)> = history
        .reads
        .iter()
        .filter(|r| r.phase == ReadPhase::Final)
        .map(|r| (r.partition, r.offset, r.value.as_str()))
        .collect();
    let mut outcome = WindowOutcome::default();
    for s in &history.sends {
        let Outcome::Acked { offset } = s.outcome else {
            continue;
        };
        if s.completed_at < from || s.completed_at > to {
            continue;
        }
        outcome.acked += 1;
        if !held.contains(&(s.partition, offset, s.value.as_str())) {
            outcome.missing += 1;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::{ReadRecord, SendRecord};

    fn acked(value: &str, offset: i64, at_ms: u64) -> SendRecord {
        SendRecord {
            producer: "r1".into(),
            seq: 0,
            value: value.into(),
            partition: 0,
            requests: Some(1),
            ordered: true,
            outcome: Outcome::Acked { offset },
            completed_at: Duration::from_millis(at_ms),
        }
    }

    fn read(phase: ReadPhase, offset: i64, value: &str) -> ReadRecord {
        ReadRecord {
            reader: "wire".into(),
            phase,
            partition: 0,
            offset,
            value: value.into(),
        }
    }

    #[test]
    fn a_window_counts_its_acks_and_the_ones_the_final_reads_lack() {
        let history = History {
            sends: vec![
                acked("r1-0", 0, 500),  // before the window
                acked("r1-1", 1, 1000), // in it, kept
                acked("r1-2", 2, 1500), // in it, overwritten by r1-4
                acked("r1-3", 3, 2000), // in it, read only by the live consumer
                acked("r1-4", 2, 3000), // after it
            ],
            reads: vec![
                read(ReadPhase::Final, 0, "r1-0"),
                read(ReadPhase::Final, 1, "r1-1"),
                read(ReadPhase::Final, 2, "r1-4"),
                read(ReadPhase::Live, 3, "r1-3"),
            ],
        };
        assert_eq!(
            window_outcome(
                &history,
                Duration::from_millis(1000),
                Duration::from_millis(2000)
            ),
            WindowOutcome {
                acked: 3,
                missing: 2
            }
        );
    }

    #[test]
    fn the_scenario_parses_and_starts_from_its_settings() {
        assert_eq!(
            Scenario::parse("jepsen-2013").unwrap(),
            Scenario::Jepsen2013
        );
        assert!(Scenario::parse("jepsen-2022").is_err());
        let config = Scenario::Jepsen2013.config();
        assert_eq!((config.replication_factor, config.min_insync), (3, 1));
        Scenario::Jepsen2013.validate(&config).unwrap();
        let rf2 = ChaosConfig {
            replication_factor: 2,
            ..config
        };
        assert!(Scenario::Jepsen2013.validate(&rf2).is_err());
    }
}
