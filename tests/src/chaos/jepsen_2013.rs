//! The `jepsen-2013` scenario: the loss Kingsbury found in Kafka 0.8 beta (reference §4.5,
//! §11.1), played step by step against partition 0 while the producers write acks=all.
//!
//! 1. Both followers of partition 0's leader L are SIGSTOPped past their ZooKeeper sessions:
//!    the controller (L itself by then, the only broker left) drops them and the ISR becomes
//!    `[L]`. With `min.insync.replicas=1`, L acknowledges acks=all writes alone.
//! 2. L is killed (kill -9) and the harness waits until its registration has expired.
//! 3. The followers are continued. They register again and one becomes the controller. No live
//!    replica is in the ISR, so a leader can come only from outside it: an unclean election,
//!    which the topic allows only with `unclean.leader.election.enable=true` (`--unclean`). The
//!    new leader's log lacks what L acknowledged alone, and new writes take those offsets.
//! 4. L is restarted. With an unclean leader it becomes a follower and truncates its log to the
//!    new leader's (OffsetForLeaderEpoch): the writes it acknowledged alone are gone. Without one,
//!    the partition waited offline, and L, the last in-sync replica, leads again: nothing is lost.
//!
//! Every partition has all three brokers as replicas, so once the followers are gone L leads
//! them all, and each goes through the same steps.

use std::time::{Duration, Instant};

use super::cluster::{ChaosCluster, PartitionStateView};
use super::config::ChaosConfig;
use super::nemesis::FaultLog;
use super::scenario::{Scenario, ScenarioReport};

/// The partition whose leader is isolated.
const PARTITION: i32 = 0;
/// How long the isolated leader takes writes alone before it is killed.
const ALONE: Duration = Duration::from_secs(4);
/// How long the new leader takes writes (over the offsets the old one used) before the old one
/// comes back; and how long a partition left without a leader is watched.
const AWAY: Duration = Duration::from_secs(3);
/// How long an election or an ISR change may take once its cause is in place.
const REACTION: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// What the script did.
pub struct ScriptOutcome {
    pub report: ScenarioReport,
    /// What went otherwise than the scenario needs (fails the run).
    pub findings: Vec<String>,
    /// Faults applied: two pauses and a kill when everything went through.
    pub faults_applied: usize,
}

/// Plays the scenario on `topic` and returns with every broker running and continued.
pub fn play(
    cluster: &mut ChaosCluster,
    log: &mut FaultLog,
    topic: &str,
    config: &ChaosConfig,
) -> ScriptOutcome {
    let mut script = Script {
        cluster,
        log,
        topic: topic.to_string(),
        session_timeout: config.session_timeout,
        min_insync: config.min_insync,
        unclean: config.unclean,
        report: ScenarioReport::new(Scenario::Jepsen2013, config),
        findings: Vec::new(),
        faults_applied: 0,
        paused: Vec::new(),
        killed: None,
    };
    if let Err(e) = script.steps() {
        script.finding(format!("the scenario stopped early: {e:#}"));
    }
    script.heal();
    ScriptOutcome {
        report: script.report,
        findings: script.findings,
        faults_applied: script.faults_applied,
    }
}

struct Script<'a> {
    cluster: &'a mut ChaosCluster,
    log: &'a mut FaultLog,
    topic: String,
    session_timeout: Duration,
    min_insync: usize,
    unclean: bool,
    report: ScenarioReport,
    findings: Vec<String>,
    faults_applied: usize,
    /// Brokers stopped and not yet continued.
    paused: Vec<i32>,
    /// The broker killed and not yet restarted.
    killed: Option<i32>,
}

impl Script<'_> {
    fn steps(&mut self) -> anyhow::Result<()> {
        let start = self.state();
        let leader = start
            .as_ref()
            .map(|s| s.leader)
            .filter(|l| *l >= 0)
            .ok_or_else(|| anyhow::anyhow!("partition {PARTITION} has no leader to isolate"))?;
        let followers: Vec<i32> = self
            .cluster
            .ids()
            .into_iter()
            .filter(|id| *id != leader)
            .collect();
        self.report.leader = Some(leader);
        self.log.note(format!(
            "scenario jepsen-2013: partition {PARTITION} has {}; controller {:?}; isolating broker {leader}",
            show(&start),
            self.cluster.controller()
        ));

        // 1. The followers stop; the ISR shrinks to the leader alone.
        for &f in &followers {
            self.cluster.pause(f)?;
            self.paused.push(f);
            self.faults_applied += 1;
        }
        let alone_from = self.log.elapsed();
        self.log.note(format!(
            "SIGSTOP brokers {followers:?} (partition {PARTITION}'s followers) until their sessions expire and the ISR is [{leader}]"
        ));
        let patience = self.session_timeout * 3 + REACTION;
        let deadline = Instant::now() + patience;
        let isr_alone = self.wait_for_state(deadline, |s| s.leader == leader && s.isr == [leader]);
        match &isr_alone {
            Some(s) => {
                self.report.isr_alone_at = Some(self.log.elapsed());
                self.log.note(format!("partition {PARTITION}: {s}"));
            }
            None => self.finding(format!(
                "partition {PARTITION}'s ISR did not shrink to [{leader}] within {patience:?}: {}",
                show(&self.state())
            )),
        }
        while followers
            .iter()
            .any(|f| self.cluster.is_registered(*f) != Some(false))
            && Instant::now() < deadline
        {
            std::thread::sleep(POLL);
        }
        self.log.note(format!(
            "the followers' registrations are {}; broker {leader} is alone and the controller ({:?})",
            if followers
                .iter()
                .all(|f| self.cluster.is_registered(*f) == Some(false))
            {
                "gone"
            } else {
                "still there"
            },
            self.cluster.controller()
        ));
        self.log.note(if self.min_insync <= 1 {
            format!("broker {leader} acknowledges acks=all writes alone for {ALONE:?} (min.insync.replicas={})", self.min_insync)
        } else {
            format!("broker {leader} refuses acks=all writes for {ALONE:?} (NOT_ENOUGH_REPLICAS: min.insync.replicas={})", self.min_insync)
        });
        std::thread::sleep(ALONE);

        // 2. The leader dies.
        self.cluster.kill9(leader)?;
        self.killed = Some(leader);
        self.faults_applied += 1;
        self.report.alone = Some((alone_from, self.log.elapsed()));
        self.log.note(format!(
            "kill -9 broker {leader} (partition {PARTITION}'s leader and only in-sync replica)"
        ));
        self.wait_for_expiry(leader);
        self.log.note(format!(
            "broker {leader}'s registration expired: no broker is registered; partition {PARTITION} has {}",
            show(&self.state())
        ));

        // 3. The followers come back; only an unclean election can give the partition a leader.
        for f in std::mem::take(&mut self.paused) {
            self.cluster.resume(f)?;
        }
        self.log.note(format!(
            "SIGCONT brokers {followers:?}: they wake with expired sessions and register again"
        ));
        let deadline = Instant::now() + self.session_timeout * 3 + REACTION;
        while followers
            .iter()
            .any(|f| self.cluster.is_registered(*f) != Some(true))
            && Instant::now() < deadline
        {
            std::thread::sleep(POLL);
        }
        let watch = if self.unclean { REACTION } else { AWAY };
        let elected =
            self.wait_for_state(Instant::now() + watch, |s| followers.contains(&s.leader));
        match (elected, self.unclean) {
            (Some(s), true) => {
                self.report.elected_while_away = Some(s.leader);
                self.log.note(format!(
                    "partition {PARTITION}: {s}: broker {} was not in the ISR [{leader}]: an unclean election; it takes writes for {AWAY:?} at the offsets broker {leader} had used",
                    s.leader
                ));
                std::thread::sleep(AWAY);
            }
            (Some(s), false) => {
                self.report.elected_while_away = Some(s.leader);
                self.finding(format!(
                    "partition {PARTITION} elected broker {} from outside the ISR [{leader}] although unclean.leader.election.enable is false: {s}",
                    s.leader
                ));
            }
            (None, true) => self.finding(format!(
                "partition {PARTITION} elected no leader within {REACTION:?} although unclean.leader.election.enable=true: {}",
                show(&self.state())
            )),
            (None, false) => self.log.note(format!(
                "partition {PARTITION} stays offline while broker {leader} is away ({}): no unclean election, it waits for its last in-sync replica",
                show(&self.state())
            )),
        }

        // 4. The old leader comes back: as a follower that truncates, or as the leader.
        self.killed = None;
        self.restart(leader)?;
        let back = if self.report.elected_while_away.is_some() {
            self.wait_for_state(Instant::now() + REACTION, |s| {
                s.isr.contains(&leader) && s.leader != leader
            })
        } else {
            self.wait_for_state(Instant::now() + REACTION, |s| s.leader == leader)
        };
        match (back, self.report.elected_while_away) {
            (Some(s), Some(new)) => self.log.note(format!(
                "partition {PARTITION}: {s}: broker {leader} follows broker {new} and is back in the ISR; it truncated its log to broker {new}'s"
            )),
            (Some(s), None) => self.log.note(format!(
                "partition {PARTITION}: {s}: broker {leader}, the last in-sync replica, leads again"
            )),
            (None, _) => self.log.note(format!(
                "broker {leader} is not back in partition {PARTITION}'s ISR within {REACTION:?}: {}",
                show(&self.state())
            )),
        }
        Ok(())
    }

    /// Continues what is still stopped and restarts what is still dead.
    fn heal(&mut self) {
        for f in std::mem::take(&mut self.paused) {
            match self.cluster.resume(f) {
                Ok(()) => self.log.note(format!("SIGCONT broker {f}")),
                Err(e) => self.finding(format!("cannot resume broker {f}: {e:#}")),
            }
        }
        if let Some(id) = self.killed.take() {
            self.wait_for_expiry(id);
            if let Err(e) = self.restart(id) {
                self.finding(format!("broker {id} failed to restart: {e:#}"));
            }
        }
    }

    fn restart(&mut self, id: i32) -> anyhow::Result<()> {
        self.cluster.restart(id)?;
        let addr = self.cluster.cluster.addr(id);
        self.log.note(format!("restart broker {id} ({addr})"));
        Ok(())
    }

    /// Waits (at most three session timeouts) until broker `id` is no longer registered.
    fn wait_for_expiry(&mut self, id: i32) {
        let deadline = Instant::now() + self.session_timeout * 3;
        while self.cluster.is_registered(id) != Some(false) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
    }

    fn state(&self) -> Option<PartitionStateView> {
        self.cluster.partition_state(&self.topic, PARTITION)
    }

    /// Polls partition 0's `/state` until `done` holds (returning it) or `deadline` passes.
    fn wait_for_state(
        &self,
        deadline: Instant,
        done: impl Fn(&PartitionStateView) -> bool,
    ) -> Option<PartitionStateView> {
        loop {
            if let Some(state) = self.state().filter(|s| done(s)) {
                return Some(state);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    fn finding(&mut self, text: String) {
        self.log.note(format!("FINDING: {text}"));
        self.findings.push(text);
    }
}

fn show(state: &Option<PartitionStateView>) -> String {
    state
        .as_ref()
        .map_or("no readable /state".to_string(), |s| s.to_string())
}
