//! The chaos harness: produce–consume–validate under kill -9, SIGSTOP pauses, ZooKeeper session
//! expiry and a leader cut off from ZooKeeper, with a checker for lost, duplicated, reordered and
//! inconsistent records (docs/CHAOS.md; reference §11.4). Run by the `chaos` command and by
//! `tests/tests/zookeeper_chaos_short.rs`.
//!
//! The layers, from pure to I/O:
//!
//! - [`history`]: what a run observed (every send with its outcome, every record read), as data.
//! - [`checker`]: the verdict on a history, pure and unit-tested on histories written by hand.
//! - [`schedule`]: the fault schedule, a pure function of a seed.
//! - [`scenario`]: scripted scenarios played instead of the schedule (`--scenario`), and what
//!   they report; [`jepsen_2013`] is the 2013 Jepsen loss (an ISR of one, an unclean election).
//! - [`zk_proxy`]: a blackholing TCP proxy between one broker and the ZooKeeper ensemble.
//! - [`cluster`]: the harness's [`crate::cluster::Cluster`] with a proxy per broker, topic
//!   creation with its configs (`min.insync.replicas`, `unclean.leader.election.enable`), the
//!   fault primitives, and `/state` and broker-log lookups.
//! - [`nemesis`]: plays the schedule against the cluster and logs every action;
//!   [`jepsen_2013`] plays its script with the same cluster primitives and log.
//! - [`producer`] (the wire producer), [`python_producer`] (confluent-kafka), [`consumer`] (the
//!   live and final readers), sharing [`leaders`] (Metadata with deadlines).
//! - [`run`]: one run, start to verdict, as [`config`] says.
//! - The compose backend (`--backend compose`, docs/CHAOS.md "Chaos in containers"): the same
//!   workload and checker against the docker-compose project ([`crate::compose`]), with
//!   container faults: [`container_cluster`] (the project seen from the host, and the network
//!   layout the faults need), [`container_nemesis`] (the schedule
//!   played with `docker kill`/`pause`/`network disconnect`, ZooKeeper nodes included) and
//!   [`container_run`].

pub mod checker;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod container_cluster;
pub mod container_nemesis;
pub mod container_run;
pub mod history;
pub mod jepsen_2013;
pub mod leaders;
pub mod nemesis;
pub mod producer;
pub mod python_producer;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod zk_proxy;

pub use checker::{check, Anomaly, CheckReport, PartitionReport};
pub use config::{Backend, ChaosConfig};
pub use history::{History, Outcome, ReadPhase, ReadRecord, SendRecord};
pub use run::{run, ChaosRun};
pub use scenario::{Scenario, ScenarioReport};
pub use schedule::FaultKind;
