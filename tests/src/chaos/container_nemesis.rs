//! The nemesis of the compose backend: plays the same [`PlannedFault`] schedule as
//! [`super::nemesis`], with container faults. A broker fault resolves "the controller" and "the
//! leader of partition p" when it fires; a ZooKeeper fault hits the node it names (or a stand-in
//! when that one is already down). Every action goes to the [`FaultLog`]; every ZooKeeper fault's
//! window is kept, so the run can say how the producers fared while the ensemble was degraded.
//!
//! | kind | fault | heal |
//! |---|---|---|
//! | `kill` | `docker kill brokerN` (SIGKILL) | `docker start` once its registration is gone |
//! | `pause`, `long-pause` | `docker pause brokerN` (cgroup freezer) | `docker unpause` |
//! | `zk-cut` | `docker network disconnect` brokerN from the internal network | `connect` |
//! | `zk-node-kill` | `docker kill zkN` | `docker start` |
//! | `zk-node-cut` | `docker network disconnect` zkN from the internal network | `connect` |
//! | `zk-majority-loss` | `docker kill` the two nodes other than zkN | `docker start` both |

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::container_cluster::{broker_service, zk_service, ContainerCluster};
use super::nemesis::{FaultLog, NemesisOptions};
use super::schedule::{FaultKind, PlannedFault, Target};
use crate::workload::SplitMix64;
use crate::zookeeper::NODES;

const TICK: Duration = Duration::from_millis(50);
const EXPIRY_POLL: Duration = Duration::from_millis(500);

/// What a fault hit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Victim {
    Broker(i32),
    ZooKeeper(Vec<usize>),
}

struct Active {
    kind: FaultKind,
    victim: Victim,
    heal_at: Instant,
    expiry_wait: Option<Instant>,
    /// When it fired, on the log's clock.
    from: Duration,
    /// For a majority loss: every partition's (leader, leader epoch) when it fired.
    leaders: BTreeMap<i32, (i32, i32)>,
}

/// A ZooKeeper fault from when it fired to when it was healed, on the run's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultWindow {
    pub kind: FaultKind,
    pub what: String,
    pub from: Duration,
    pub to: Duration,
}

pub struct ContainerNemesis<'a> {
    cluster: &'a mut ContainerCluster,
    log: &'a mut FaultLog,
    options: NemesisOptions,
    partitions: i32,
    active: Vec<Active>,
    rng: SplitMix64,
    /// Brokers killed and not yet started again.
    down: BTreeSet<i32>,
    pub findings: Vec<String>,
    pub faults_applied: usize,
    pub windows: Vec<FaultWindow>,
}

impl<'a> ContainerNemesis<'a> {
    pub fn new(
        cluster: &'a mut ContainerCluster,
        log: &'a mut FaultLog,
        options: NemesisOptions,
        partitions: i32,
    ) -> ContainerNemesis<'a> {
        let rng = SplitMix64::new(options.seed ^ 0x0063_6f6e_7461_696e);
        ContainerNemesis {
            cluster,
            log,
            options,
            partitions,
            active: Vec::new(),
            rng,
            down: BTreeSet::new(),
            findings: Vec::new(),
            faults_applied: 0,
            windows: Vec::new(),
        }
    }

    /// Plays `plan` from `phase_start` (same pacing as the process nemesis) and returns once
    /// every fault has fired and been healed.
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
        // The last faults hold their full time too.
        while !self.active.is_empty() {
            self.heal_due();
            std::thread::sleep(TICK);
        }
        self.heal_everything();
    }

    /// Heals every fault now and starts anything not running.
    pub fn heal_everything(&mut self) {
        let now = Instant::now();
        for active in &mut self.active {
            active.heal_at = active.heal_at.min(now);
        }
        while !self.active.is_empty() {
            self.heal_due();
            std::thread::sleep(TICK);
        }
        for service in self.cluster.cut_services() {
            if let Err(e) = self.cluster.heal_cut(&service) {
                self.finding(format!("cannot connect {service} again: {e:#}"));
            }
        }
        for id in std::mem::take(&mut self.down) {
            self.wait_for_expiry(id);
            self.start_broker(id);
        }
        self.check_for_exits();
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
        match (&active.victim, active.kind) {
            (&Victim::Broker(id), FaultKind::Kill) => {
                let waiting_since = active.expiry_wait.unwrap_or_else(Instant::now);
                if self.cluster.is_registered(id) != Some(false)
                    && waiting_since.elapsed() < self.options.session_timeout * 3
                {
                    if active.expiry_wait.is_none() {
                        self.log.note(format!("broker {id} is still registered (its session has not expired); starting it once it is gone"));
                    }
                    self.active.push(Active {
                        heal_at: Instant::now() + EXPIRY_POLL,
                        expiry_wait: Some(waiting_since),
                        ..active
                    });
                    return;
                }
                self.down.remove(&id);
                self.start_broker(id);
            }
            (&Victim::Broker(id), FaultKind::Pause | FaultKind::LongPause) => {
                match self.cluster.project.unpause(&broker_service(id)) {
                    Ok(()) => self.log.note(format!("docker unpause broker{id}")),
                    Err(e) => self.finding(format!("cannot unpause broker {id}: {e:#}")),
                }
            }
            (&Victim::Broker(id), _) => match self.cluster.heal_cut(&broker_service(id)) {
                Ok(()) => self.log.note(format!(
                    "docker network connect broker{id}: back on the internal network"
                )),
                Err(e) => self.finding(format!("cannot connect broker {id} again: {e:#}")),
            },
            (Victim::ZooKeeper(nodes), kind) => {
                let nodes = nodes.clone();
                if kind == FaultKind::ZkMajorityLoss {
                    self.check_leaders_unchanged(&active.leaders);
                }
                for &node in &nodes {
                    let service = zk_service(node);
                    let done = if kind == FaultKind::ZkNodeCut {
                        self.cluster.heal_cut(&service)
                    } else {
                        self.cluster.project.start(&service)
                    };
                    match done {
                        Ok(()) if kind == FaultKind::ZkNodeCut => self.log.note(format!(
                            "docker network connect {service}: back in the ensemble"
                        )),
                        Ok(()) => self.log.note(format!("docker start {service}")),
                        Err(e) => self.finding(format!("cannot heal {service}: {e:#}")),
                    }
                }
                self.windows.push(FaultWindow {
                    kind,
                    what: zk_names(&nodes),
                    from: active.from,
                    to: self.log.elapsed(),
                });
            }
        }
    }

    /// Without a ZooKeeper majority no leader can be elected and no ISR written: every
    /// partition must still have the leader and leader epoch it had when the majority went.
    fn check_leaders_unchanged(&mut self, before: &BTreeMap<i32, (i32, i32)>) {
        let now = self.cluster.leaders(&self.options.topic, self.partitions);
        let changed: Vec<String> = before
            .iter()
            .filter(|(p, was)| now.get(p).is_some_and(|is| is != *was))
            .map(|(p, was)| format!("partition {p}: {was:?} -> {:?}", now[p]))
            .collect();
        if changed.is_empty() {
            self.log.note(format!(
                "no leadership changed without the majority: (leader, epoch) per partition {now:?}"
            ));
        } else {
            self.finding(format!(
                "leadership changed while ZooKeeper had no majority: {}",
                changed.join(", ")
            ));
        }
    }

    fn wait_for_expiry(&mut self, id: i32) {
        let deadline = Instant::now() + self.options.session_timeout * 3;
        while self.cluster.is_registered(id) != Some(false) && Instant::now() < deadline {
            std::thread::sleep(EXPIRY_POLL);
        }
    }

    fn start_broker(&mut self, id: i32) {
        match self.cluster.project.start(&broker_service(id)) {
            Ok(()) => self.log.note(format!(
                "docker start broker{id} ({})",
                self.cluster.addr(id)
            )),
            Err(e) => {
                self.down.insert(id);
                self.finding(format!("broker {id} failed to start again: {e:#}"));
            }
        }
    }

    fn apply(&mut self, fault: &PlannedFault) {
        let hold = fault.hold;
        let victim = if fault.kind.is_zookeeper() {
            self.resolve_zookeeper(fault)
        } else {
            self.resolve_broker(fault.target)
                .map(|(id, why)| (Victim::Broker(id), why))
        };
        let Some((victim, why)) = victim else {
            self.log.note(format!(
                "skip {} of {}: too much is faulted already",
                fault.kind, fault.target
            ));
            return;
        };
        let done: anyhow::Result<String> = match (&victim, fault.kind) {
            (&Victim::Broker(id), FaultKind::Kill) => {
                self.cluster.project.kill(&broker_service(id)).map(|()| {
                    self.down.insert(id);
                    format!("docker kill broker{id} ({why}), start again in {hold:.1?}")
                })
            }
            (&Victim::Broker(id), FaultKind::Pause | FaultKind::LongPause) => self
                .cluster
                .project
                .pause(&broker_service(id))
                .map(|()| format!("docker pause broker{id} ({why}) for {hold:.1?} ({})", fault.kind)),
            (&Victim::Broker(id), _) => self.cluster.cut(&broker_service(id)).map(|network| {
                format!("docker network disconnect {network} broker{id} ({why}) for {hold:.1?}: cut off from ZooKeeper and the other brokers; clients still reach it")
            }),
            (Victim::ZooKeeper(nodes), kind) => {
                let nodes = nodes.clone();
                let mut result = Ok(());
                for &node in &nodes {
                    let service = zk_service(node);
                    let step = if kind == FaultKind::ZkNodeCut {
                        self.cluster.cut(&service).map(|_| ())
                    } else {
                        self.cluster.project.kill(&service)
                    };
                    if let Err(e) = step {
                        result = Err(e);
                        break;
                    }
                }
                let verb = match kind {
                    FaultKind::ZkNodeCut => "docker network disconnect",
                    _ => "docker kill",
                };
                let effect = match kind {
                    FaultKind::ZkMajorityLoss => "the ensemble has lost its majority: no leader can change, leaders keep serving",
                    FaultKind::ZkNodeCut => "cut from the other two; the majority remains",
                    _ => "the majority remains",
                };
                result.map(|()| {
                    format!("{verb} {} ({why}) for {hold:.1?} ({kind}): {effect}", zk_names(&nodes))
                })
            }
        };
        match done {
            Ok(text) => {
                self.log.note(text);
                self.faults_applied += 1;
                let leaders = if fault.kind == FaultKind::ZkMajorityLoss {
                    self.cluster.leaders(&self.options.topic, self.partitions)
                } else {
                    BTreeMap::new()
                };
                self.active.push(Active {
                    kind: fault.kind,
                    victim,
                    heal_at: Instant::now() + hold,
                    expiry_wait: None,
                    from: self.log.elapsed(),
                    leaders,
                });
            }
            Err(e) => {
                // A half-applied ZooKeeper fault is healed now rather than left behind.
                if let Victim::ZooKeeper(nodes) = &victim {
                    for &node in nodes {
                        let _ = self.cluster.heal_cut(&zk_service(node));
                        let _ = self.cluster.project.start(&zk_service(node));
                    }
                }
                self.finding(format!("cannot apply {} ({why}): {e:#}", fault.kind))
            }
        }
    }

    /// The ZooKeeper node(s) `fault` hits: its node, or a stand-in if that one is already down;
    /// for a majority loss, the two nodes other than the named one. `None` while another
    /// ZooKeeper fault holds (two at once could take the majority by accident).
    fn resolve_zookeeper(&mut self, fault: &PlannedFault) -> Option<(Victim, String)> {
        let busy = self
            .active
            .iter()
            .any(|a| matches!(a.victim, Victim::ZooKeeper(_)));
        if busy {
            return None;
        }
        let Target::ZkNode(named) = fault.target else {
            let node = 1 + self.rng.below(NODES as u64) as usize;
            return self.zookeeper_victim(fault.kind, node, "stand-in".to_string());
        };
        self.zookeeper_victim(fault.kind, named, "chosen by the schedule".to_string())
    }

    fn zookeeper_victim(
        &self,
        kind: FaultKind,
        node: usize,
        why: String,
    ) -> Option<(Victim, String)> {
        let nodes = match kind {
            FaultKind::ZkMajorityLoss => (1..=NODES).filter(|&n| n != node).collect(),
            _ => vec![node],
        };
        let why = match kind {
            FaultKind::ZkMajorityLoss => format!("{why}; zk{node} stays up alone"),
            _ => why,
        };
        Some((Victim::ZooKeeper(nodes), why))
    }

    /// The broker `target` names now (from the brokers' Metadata), or a stand-in.
    fn resolve_broker(&mut self, target: Target) -> Option<(i32, String)> {
        let faulted: BTreeSet<i32> = self
            .active
            .iter()
            .filter_map(|a| match a.victim {
                Victim::Broker(id) => Some(id),
                Victim::ZooKeeper(_) => None,
            })
            .chain(self.down.iter().copied())
            .collect();
        let named = match target {
            Target::Controller => self.cluster.controller(),
            Target::LeaderOf(p) => self.cluster.leader_of(&self.options.topic, p),
            Target::Broker(b) => Some(b),
            Target::ZkNode(_) => None,
        };
        if let Some(id) = named.filter(|id| !faulted.contains(id)) {
            let role = match target {
                Target::Controller => "the controller".to_string(),
                Target::LeaderOf(p) => format!("leader of partition {p}"),
                _ => "chosen at random".to_string(),
            };
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
        let why = match named {
            Some(n) => format!("stand-in: {target} is broker {n}, already faulted"),
            None => format!("stand-in: {target} is unknown"),
        };
        Some((id, why))
    }

    /// Logs, counts and starts again brokers whose container stopped although nobody killed
    /// it (a broker that exited on its own).
    fn check_for_exits(&mut self) {
        for id in self.cluster.ids() {
            if self.down.contains(&id) || self.cluster.broker_running(id) {
                continue;
            }
            let tail = self.cluster.project.logs(&broker_service(id), 15);
            self.finding(format!(
                "broker {id} exited on its own; last lines of its output:\n{tail}"
            ));
            self.active.retain(|a| a.victim != Victim::Broker(id));
            let _ = self.cluster.heal_cut(&broker_service(id));
            self.wait_for_expiry(id);
            self.start_broker(id);
        }
    }

    fn finding(&mut self, text: String) {
        self.log.note(format!("FINDING: {text}"));
        self.findings.push(text);
    }
}

fn zk_names(nodes: &[usize]) -> String {
    nodes
        .iter()
        .map(|&n| zk_service(n))
        .collect::<Vec<_>>()
        .join("+")
}
