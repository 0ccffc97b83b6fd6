//! The fault schedule: which fault, when, against whom, for how long; a pure function of a seed,
//! so a run can be replayed. What the schedule cannot fix in advance is which broker is the
//! controller or leads a partition at that moment: a fault aimed at "the controller" or "the
//! leader of partition 3" is resolved when it fires (by the nemesis, [`super::nemesis`]).

use std::fmt;
use std::time::Duration;

use crate::workload::SplitMix64;

/// A kind of fault, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL, then a restart on the same log dir when the hold ends (page cache kept).
    Kill,
    /// SIGSTOP for well under a session timeout, then SIGCONT: a GC pause.
    Pause,
    /// SIGSTOP for longer than the ZooKeeper session timeout: the broker's session expires while
    /// it is frozen and it wakes up as a zombie leader (reference §4.5).
    LongPause,
    /// The broker's connections to ZooKeeper (through its proxy) carry nothing for longer than
    /// the session timeout, while clients still reach the broker: a leader cut off from ZooKeeper.
    ZkCut,
    /// Compose backend only: `docker kill` one ZooKeeper node, `docker start` it when the hold
    /// ends. The ensemble keeps its majority: produce and consume must not notice.
    ZkNodeKill,
    /// Compose backend only: one ZooKeeper node disconnected from the internal network (cut from
    /// the other two and from the brokers) for longer than a session timeout.
    ZkNodeCut,
    /// Compose backend only: `docker kill` two of the three ZooKeeper nodes (all but the target),
    /// restart both when the hold ends. No leadership change can happen meanwhile; the leaders
    /// keep serving, and the cluster recovers when the majority returns.
    ZkMajorityLoss,
}

impl FaultKind {
    pub const ALL: [FaultKind; 4] = [
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::LongPause,
        FaultKind::ZkCut,
    ];

    /// The kinds only the compose backend can play: faults of the ZooKeeper ensemble itself.
    pub const ZOOKEEPER: [FaultKind; 3] = [
        FaultKind::ZkNodeKill,
        FaultKind::ZkNodeCut,
        FaultKind::ZkMajorityLoss,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::LongPause => "long-pause",
            FaultKind::ZkCut => "zk-cut",
            FaultKind::ZkNodeKill => "zk-node-kill",
            FaultKind::ZkNodeCut => "zk-node-cut",
            FaultKind::ZkMajorityLoss => "zk-majority-loss",
        }
    }

    /// Whether the fault hits the ZooKeeper ensemble rather than a broker.
    pub fn is_zookeeper(self) -> bool {
        FaultKind::ZOOKEEPER.contains(&self)
    }

    pub fn parse(name: &str) -> anyhow::Result<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .chain(FaultKind::ZOOKEEPER)
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown fault kind {name:?}: expected one of kill, pause, long-pause, zk-cut, zk-node-kill, zk-node-cut, zk-majority-loss"
                )
            })
    }

    /// How long the fault lasts, drawn from this kind's range.
    fn hold(self, rng: &mut SplitMix64, session_timeout: Duration) -> Duration {
        let (from, to) = match self {
            FaultKind::Kill => (Duration::from_secs(1), Duration::from_secs(5)),
            FaultKind::Pause => (Duration::from_millis(500), Duration::from_secs(3)),
            FaultKind::LongPause => (
                session_timeout + Duration::from_secs(2),
                session_timeout + Duration::from_secs(4),
            ),
            FaultKind::ZkCut => (
                session_timeout + Duration::from_secs(3),
                session_timeout + Duration::from_secs(8),
            ),
            FaultKind::ZkNodeKill => (Duration::from_secs(3), Duration::from_secs(8)),
            FaultKind::ZkNodeCut => (
                session_timeout + Duration::from_secs(2),
                session_timeout + Duration::from_secs(6),
            ),
            // Longer than a session timeout: the brokers' sessions must survive an ensemble
            // that cannot serve (no quorum, so nobody expires them either).
            FaultKind::ZkMajorityLoss => (
                session_timeout + Duration::from_secs(2),
                session_timeout + Duration::from_secs(6),
            ),
        };
        between(rng, from, to)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whom a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Whichever broker is the controller when the fault fires.
    Controller,
    /// Whichever broker leads this partition when the fault fires.
    LeaderOf(i32),
    Broker(i32),
    /// ZooKeeper node `n` (1-based): the node killed or cut, or for a majority loss the one
    /// node left running.
    ZkNode(usize),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Controller => f.write_str("the controller"),
            Target::LeaderOf(p) => write!(f, "the leader of partition {p}"),
            Target::Broker(b) => write!(f, "broker {b}"),
            Target::ZkNode(n) => write!(f, "ZooKeeper node {n}"),
        }
    }
}

/// One fault of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFault {
    /// When it fires, from the start of the fault phase (later if earlier faults still hold
    /// every broker the nemesis may fault).
    pub at: Duration,
    pub kind: FaultKind,
    pub target: Target,
    /// How long until it is healed.
    pub hold: Duration,
}

/// What the schedule is drawn from.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub seed: u64,
    pub faults: usize,
    /// The fault phase: fault `i` fires in the `i`-th of `faults` equal slots of it.
    pub duration: Duration,
    /// The least time between two faults' planned starts.
    pub min_gap: Duration,
    pub kinds: Vec<FaultKind>,
    pub brokers: Vec<i32>,
    pub partitions: i32,
    pub session_timeout: Duration,
}

/// Draws the schedule: fault `i` at `i·slot + jitter`, with `slot = duration / faults` at least
/// `min_gap` and the jitter at most `slot - min_gap` (and half a slot), so planned starts stay
/// `min_gap` apart; kind uniform over `kinds`; target the controller,
/// a partition's leader or a broker with equal odds, except that a ZooKeeper cut always aims at a
/// partition leader (the interesting zombie) and a ZooKeeper fault at a ZooKeeper node.
pub fn plan(spec: &ScheduleSpec) -> anyhow::Result<Vec<PlannedFault>> {
    anyhow::ensure!(!spec.kinds.is_empty(), "no fault kinds to draw from");
    anyhow::ensure!(
        !spec.brokers.is_empty() && spec.partitions > 0,
        "no brokers or partitions to aim at"
    );
    if spec.faults == 0 {
        return Ok(Vec::new());
    }
    let slot = spec.duration / spec.faults as u32;
    anyhow::ensure!(
        slot >= spec.min_gap,
        "{} faults in {:?} leave {:?} per fault, under the minimum gap of {:?}: lengthen --duration or lower --faults",
        spec.faults,
        spec.duration,
        slot,
        spec.min_gap
    );
    // Starts differ by at least `slot - jitter`, so the jitter never eats into the minimum gap.
    let jitter = (slot - spec.min_gap).min(slot / 2);
    let mut rng = SplitMix64::new(spec.seed);
    let mut faults = Vec::with_capacity(spec.faults);
    for i in 0..spec.faults {
        let at = slot * i as u32 + between(&mut rng, Duration::ZERO, jitter);
        let kind = spec.kinds[rng.below(spec.kinds.len() as u64) as usize];
        let partition = rng.below(spec.partitions as u64) as i32;
        let broker = spec.brokers[rng.below(spec.brokers.len() as u64) as usize];
        let mut target = match (kind, rng.below(3)) {
            (FaultKind::ZkCut, _) | (_, 1) => Target::LeaderOf(partition),
            (_, 0) => Target::Controller,
            _ => Target::Broker(broker),
        };
        // An extra draw, only for the ZooKeeper kinds: the broker kinds' schedules (every
        // process-backend schedule) replay as before.
        if kind.is_zookeeper() {
            target = Target::ZkNode(1 + rng.below(crate::zookeeper::NODES as u64) as usize);
        }
        let hold = kind.hold(&mut rng, spec.session_timeout);
        faults.push(PlannedFault {
            at,
            kind,
            target,
            hold,
        });
    }
    Ok(faults)
}

/// Uniform in `[from, to]` at millisecond resolution.
fn between(rng: &mut SplitMix64, from: Duration, to: Duration) -> Duration {
    let span = to.saturating_sub(from).as_millis() as u64;
    from + Duration::from_millis(rng.below(span + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> ScheduleSpec {
        ScheduleSpec {
            seed,
            faults: 12,
            duration: Duration::from_secs(90),
            min_gap: Duration::from_secs(5),
            kinds: FaultKind::ALL.to_vec(),
            brokers: vec![1, 2, 3],
            partitions: 6,
            session_timeout: Duration::from_secs(6),
        }
    }

    #[test]
    fn a_seed_replays_the_same_schedule() {
        assert_eq!(plan(&spec(7)).unwrap(), plan(&spec(7)).unwrap());
        assert_ne!(plan(&spec(7)).unwrap(), plan(&spec(8)).unwrap());
    }

    #[test]
    fn faults_are_spread_over_the_duration_at_least_the_gap_apart() {
        let faults = plan(&spec(3)).unwrap();
        assert_eq!(faults.len(), 12);
        for pair in faults.windows(2) {
            assert!(
                pair[1].at >= pair[0].at + Duration::from_secs(5),
                "{pair:?}"
            );
        }
        assert!(faults.last().unwrap().at < Duration::from_secs(90));
    }

    #[test]
    fn holds_fit_their_kind_and_zookeeper_cuts_aim_at_leaders() {
        let mut spec = spec(11);
        spec.faults = 18;
        spec.duration = Duration::from_secs(140);
        let faults = plan(&spec).unwrap();
        for f in &faults {
            match f.kind {
                FaultKind::Pause => assert!(f.hold < Duration::from_secs(6), "{f:?}"),
                FaultKind::LongPause | FaultKind::ZkCut => {
                    assert!(f.hold > Duration::from_secs(6), "a session expires: {f:?}")
                }
                FaultKind::Kill => assert!(f.hold <= Duration::from_secs(5)),
                _ => unreachable!("only broker kinds were asked for: {f:?}"),
            }
            if f.kind == FaultKind::ZkCut {
                assert!(
                    matches!(f.target, Target::LeaderOf(p) if (0..6).contains(&p)),
                    "{f:?}"
                );
            }
        }
        for kind in FaultKind::ALL {
            assert!(
                faults.iter().any(|f| f.kind == kind),
                "18 draws include {kind}"
            );
        }
    }

    #[test]
    fn only_the_chosen_kinds_are_drawn() {
        let mut spec = spec(5);
        spec.kinds = vec![FaultKind::Kill];
        assert!(plan(&spec)
            .unwrap()
            .iter()
            .all(|f| f.kind == FaultKind::Kill));
    }

    #[test]
    fn too_many_faults_for_the_duration_is_refused() {
        let mut spec = spec(1);
        spec.faults = 50;
        spec.duration = Duration::from_secs(120);
        let error = plan(&spec).unwrap_err().to_string();
        assert!(
            error.contains("lengthen --duration or lower --faults"),
            "{error}"
        );
    }

    #[test]
    fn zookeeper_faults_aim_at_zookeeper_nodes_and_outlast_a_session_when_cut() {
        let mut spec = spec(13);
        spec.kinds = FaultKind::ZOOKEEPER.to_vec();
        let faults = plan(&spec).unwrap();
        for f in &faults {
            assert!(matches!(f.target, Target::ZkNode(1..=3)), "{f:?}");
            if matches!(f.kind, FaultKind::ZkNodeCut | FaultKind::ZkMajorityLoss) {
                assert!(f.hold > Duration::from_secs(6), "{f:?}");
            }
        }
        for kind in FaultKind::ZOOKEEPER {
            assert!(
                faults.iter().any(|f| f.kind == kind),
                "12 draws include {kind}"
            );
        }
    }

    #[test]
    fn adding_zookeeper_kinds_leaves_broker_schedules_alone() {
        // Pinned: the process backend's schedules must replay as they did before the ZooKeeper
        // kinds existed.
        let faults = plan(&spec(7)).unwrap();
        let first = |at, kind, target, hold| PlannedFault {
            at: Duration::from_millis(at),
            kind,
            target,
            hold: Duration::from_millis(hold),
        };
        assert_eq!(
            faults[..3],
            [
                first(464, FaultKind::Kill, Target::LeaderOf(0), 1112),
                first(8838, FaultKind::LongPause, Target::LeaderOf(5), 9024),
                first(15817, FaultKind::Kill, Target::LeaderOf(0), 2934),
            ]
        );
        assert!(faults
            .iter()
            .all(|f| !matches!(f.target, Target::ZkNode(_))));
    }

    #[test]
    fn kinds_parse_by_name() {
        for kind in FaultKind::ALL.into_iter().chain(FaultKind::ZOOKEEPER) {
            assert_eq!(FaultKind::parse(kind.name()).unwrap(), kind);
        }
        assert!(FaultKind::parse("partition").is_err());
    }
}
