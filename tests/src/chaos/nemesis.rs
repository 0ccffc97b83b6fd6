//! The nemesis (Jepsen's name for the fault injector): plays a [`PlannedFault`] schedule against a
//! [`ChaosCluster`], resolving "the controller" and "the leader of partition p" when each fault
//! fires, healing each fault when its hold ends, and writing every action to the [`FaultLog`]
//! with its time. A broker that exits without being killed is a finding: it is logged, counted
//! and started again.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::cluster::ChaosCluster;
use super::schedule::{FaultKind, PlannedFault, Target};
use crate::workload::SplitMix64;

/// How often the nemesis looks for faults to heal and to start.
const TICK: Duration = Duration::from_millis(50);
/// How often a restart waiting for a dead broker's session to expire looks again.
const EXPIRY_POLL: Duration = Duration::from_millis(250);

/// Timestamped actions, printed as they happen.
pub struct FaultLog {
    start: Instant,
    pub entries: Vec<(Duration, String)>,
}

impl FaultLog {
    pub fn new(start: Instant) -> FaultLog {
        FaultLog {
            start,
            entries: Vec::new(),
        }
    }

    /// Time since the run's clock started (the clock of the log's entries and of the history).
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let at = self.start.elapsed();
        let text = text.into();
        println!("[{:>8.3}s] {text}", at.as_secs_f64());
        self.entries.push((at, text));
    }
}

/// How the nemesis behaves beyond the schedule.
#[derive(Debug, Clone)]
pub struct NemesisOptions {
    pub topic: String,
    /// At most this many brokers are faulted at once; a fault due while that many are waits.
    pub max_faulty: usize,
    /// Delete the topic's partition directories of a killed broker before restarting it (a
    /// disk lost with the process). Loses data by design; only for proving the checker sees it.
    pub wipe_on_kill: bool,
    /// Seeds the choice of a stand-in when a fault's target is already faulted or unknown.
    pub seed: u64,
    /// `zookeeper.session.timeout.ms` of the brokers: a killed broker's registration lasts this
    /// long, and a broker restarted before it is gone refuses to start (as Kafka's does).
    pub session_timeout: Duration,
    /// The least time between two faults' actual starts: a fault delayed by earlier ones still
    /// waits this long after the previous start.
    pub min_gap: Duration,
}

/// A fault in force.
struct Active {
    broker: i32,
    kind: FaultKind,
    heal_at: Instant,
    /// For a kill whose hold ended while the dead broker was still registered: since when the
    /// restart has been waiting for the registration to expire.
    expiry_wait: Option<Instant>,
}

pub struct Nemesis<'a> {
    cluster: &'a mut ChaosCluster,
    log: &'a mut FaultLog,
    options: NemesisOptions,
    active: Vec<Active>,
    rng: SplitMix64,
    /// Brokers the nemesis killed and has not yet restarted.
    down: BTreeSet<i32>,
    /// Brokers that exited on their own, or failed to restart, with what happened.
    pub findings: Vec<String>,
    pub faults_applied: usize,
}

impl<'a> Nemesis<'a> {
    pub fn new(
        cluster: &'a mut ChaosCluster,
        log: &'a mut FaultLog,
        options: NemesisOptions,
    ) -> Nemesis<'a> {
        let rng = SplitMix64::new(options.seed ^ 0x006e_656d_6573_6973);
        Nemesis {
            cluster,
            log,
            options,
            active: Vec::new(),
            rng,
            down: BTreeSet::new(),
            findings: Vec::new(),
            faults_applied: 0,
        }
    }

    /// Plays `plan` from `phase_start` and returns once every fault has fired and been healed.
    /// A fault fires at its planned time, or later while `max_faulty` brokers are faulted or
    /// less than `min_gap` has passed since the previous fault fired.
    pub fn run(&mut self, plan: &[PlannedFault], phase_start: Instant) {
        let mut previous: Option<Instant> = None;
        for fault in plan {
            let due = phase_start + fault.at;
            loop {
                self.heal_due();
                let now = Instant::now();
                let spaced = previous.is_none_or(|p| now >= p + self.options.min_gap);
                if now >= due && spaced && self.active.len() < self.options.max_faulty {
                    break;
                }
                std::thread::sleep(TICK);
            }
            self.check_for_exits();
            previous = Some(Instant::now());
            self.apply(fault);
        }
        while !self.active.is_empty() {
            self.heal_due();
            std::thread::sleep(TICK);
        }
        self.check_for_exits();
    }

    /// Heals every fault now (a killed broker as soon as its old registration has expired) and
    /// starts any broker that is not running.
    pub fn heal_everything(&mut self) {
        let now = Instant::now();
        for active in &mut self.active {
            active.heal_at = active.heal_at.min(now);
        }
        while !self.active.is_empty() {
            self.heal_due();
            std::thread::sleep(TICK);
        }
        self.check_for_exits();
        for id in std::mem::take(&mut self.down) {
            self.wait_for_expiry(id);
            self.start_again(id);
        }
    }

    fn heal_due(&mut self) {
        let now = Instant::now();
        let (due, waiting): (Vec<Active>, Vec<Active>) = std::mem::take(&mut self.active)
            .into_iter()
            .partition(|a| a.heal_at <= now);
        self.active = waiting;
        for active in due {
            self.heal(active);
        }
    }

    fn heal(&mut self, active: Active) {
        let id = active.broker;
        match active.kind {
            FaultKind::Kill => {
                let waiting_since = active.expiry_wait.unwrap_or_else(Instant::now);
                let patience = self.options.session_timeout * 3;
                if self.cluster.is_registered(id) != Some(false)
                    && waiting_since.elapsed() < patience
                {
                    if active.expiry_wait.is_none() {
                        self.log.note(format!("broker {id} is still registered (its session has not expired); restarting it once it is gone"));
                    }
                    self.active.push(Active {
                        heal_at: Instant::now() + EXPIRY_POLL,
                        expiry_wait: Some(waiting_since),
                        ..active
                    });
                    return;
                }
                self.down.remove(&id);
                self.start_again(id);
            }
            FaultKind::Pause | FaultKind::LongPause => match self.cluster.resume(id) {
                Ok(()) => self.log.note(format!("SIGCONT broker {id}")),
                Err(e) => self.finding(format!("cannot resume broker {id}: {e:#}")),
            },
            FaultKind::ZkCut => {
                self.cluster.heal_zookeeper(id);
                self.log.note(format!("reconnect broker {id} to ZooKeeper"));
            }
            // Never applied by this backend (ChaosConfig::validate refuses them).
            FaultKind::ZkNodeKill | FaultKind::ZkNodeCut | FaultKind::ZkMajorityLoss => {}
        }
    }

    /// Waits (at most three session timeouts) until broker `id` is no longer registered.
    fn wait_for_expiry(&mut self, id: i32) {
        let deadline = Instant::now() + self.options.session_timeout * 3;
        while self.cluster.is_registered(id) != Some(false) && Instant::now() < deadline {
            std::thread::sleep(EXPIRY_POLL);
        }
    }

    fn start_again(&mut self, id: i32) {
        match self.cluster.restart(id) {
            Ok(()) => {
                let addr = self.cluster.cluster.addr(id);
                self.log.note(format!("restart broker {id} ({addr})"));
            }
            Err(e) => {
                self.down.insert(id);
                self.finding(format!("broker {id} failed to restart: {e:#}"));
            }
        }
    }

    fn apply(&mut self, fault: &PlannedFault) {
        let Some((id, why)) = self.resolve(fault.target) else {
            self.log.note(format!(
                "skip {} of {}: every broker is faulted",
                fault.kind, fault.target
            ));
            return;
        };
        let hold = fault.hold;
        let done = match fault.kind {
            FaultKind::Kill => self.cluster.kill9(id).map(|()| {
                self.down.insert(id);
                let mut text = format!("kill -9 broker {id} ({why}), restart in {hold:.1?}");
                if self.options.wipe_on_kill {
                    match self.cluster.wipe_partitions(id, &self.options.topic) {
                        Ok(n) => text.push_str(&format!("; wiped {n} partition directories")),
                        Err(e) => text.push_str(&format!("; cannot wipe its partitions: {e:#}")),
                    }
                }
                text
            }),
            FaultKind::Pause | FaultKind::LongPause => self.cluster.pause(id).map(|()| {
                format!(
                    "SIGSTOP broker {id} ({why}) for {hold:.1?} ({})",
                    fault.kind
                )
            }),
            FaultKind::ZkCut => {
                self.cluster.cut_zookeeper(id);
                Ok(format!("cut broker {id} ({why}) off from ZooKeeper for {hold:.1?}; clients still reach it"))
            }
            FaultKind::ZkNodeKill | FaultKind::ZkNodeCut | FaultKind::ZkMajorityLoss => {
                Err(anyhow::anyhow!(
                    "{} needs the compose backend (--backend compose)",
                    fault.kind
                ))
            }
        };
        match done {
            Ok(text) => {
                self.log.note(text);
                self.faults_applied += 1;
                self.active.push(Active {
                    broker: id,
                    kind: fault.kind,
                    heal_at: Instant::now() + hold,
                    expiry_wait: None,
                });
            }
            Err(e) => self.finding(format!("cannot apply {} to broker {id}: {e:#}", fault.kind)),
        }
    }

    /// The broker `target` names now, with a description; a stand-in chosen at random when it
    /// names none or one already faulted.
    fn resolve(&mut self, target: Target) -> Option<(i32, String)> {
        let faulted: BTreeSet<i32> = self
            .active
            .iter()
            .map(|a| a.broker)
            .chain(self.down.iter().copied())
            .collect();
        let named = match target {
            Target::Controller => self.cluster.controller(),
            Target::LeaderOf(p) => self.cluster.leader_of(&self.options.topic, p),
            Target::Broker(b) => Some(b),
            Target::ZkNode(_) => None,
        };
        let role = match target {
            Target::Controller => "the controller".to_string(),
            Target::LeaderOf(p) => format!("leader of partition {p}"),
            Target::Broker(_) | Target::ZkNode(_) => "chosen at random".to_string(),
        };
        if let Some(id) = named.filter(|id| !faulted.contains(id)) {
            return Some((id, role));
        }
        let healthy: Vec<i32> = self
            .cluster
            .ids()
            .into_iter()
            .filter(|id| !faulted.contains(id))
            .collect();
        if healthy.is_empty() {
            return None;
        }
        let id = healthy[self.rng.below(healthy.len() as u64) as usize];
        let why = match (target, named) {
            (Target::Broker(b), _) => format!("stand-in: broker {b} is already faulted"),
            (_, Some(n)) => format!("stand-in: {target} is broker {n}, already faulted"),
            (_, None) => format!("stand-in: {target} is unknown"),
        };
        Some((id, why))
    }

    /// Logs, counts and restarts brokers that exited although nobody killed them.
    fn check_for_exits(&mut self) {
        for id in self.cluster.ids() {
            if self.down.contains(&id) {
                continue;
            }
            let broker = self.cluster.cluster.broker(id);
            if !broker.is_running() {
                let tail = broker.stderr_tail();
                let last: Vec<&str> = tail.lines().rev().take(15).collect();
                let last: Vec<&str> = last.into_iter().rev().collect();
                self.finding(format!(
                    "broker {id} exited on its own; last lines of its stderr:\n{}",
                    last.join("\n")
                ));
                self.wait_for_expiry(id);
                // Its faults end with it; a ZooKeeper cut is lifted so the new process can start.
                let (ended, others): (Vec<Active>, Vec<Active>) = std::mem::take(&mut self.active)
                    .into_iter()
                    .partition(|a| a.broker == id);
                self.active = others;
                if ended.iter().any(|a| a.kind == FaultKind::ZkCut) {
                    self.cluster.heal_zookeeper(id);
                }
                self.start_again(id);
            }
        }
    }

    fn finding(&mut self, text: String) {
        self.log.note(format!("FINDING: {text}"));
        self.findings.push(text);
    }
}
