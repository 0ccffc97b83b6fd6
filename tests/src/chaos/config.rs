//! A chaos run's settings and the `chaos` command line that sets them (docs/CHAOS.md lists the
//! flags with their defaults).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::scenario::Scenario;
use super::schedule::FaultKind;

pub const USAGE: &str = "\
usage: chaos [--duration SECS] [--faults N] [--min-gap SECS] [--kinds kill,pause,long-pause,zk-cut]
             [--isolate-leader] [--concurrent-faults N] [--seed N]
             [--scenario jepsen-2013] [--unclean]
             [--partitions N] [--replication-factor N] [--min-insync N]
             [--rust-producers N] [--python-producers N] [--rate N]
             [--no-live-consumer] [--no-kcat] [--delete-log-dir-on-kill]
             [--session-timeout-ms MS] [--replica-lag-time-max-ms MS]
             [--warmup SECS] [--settle SECS] [--history FILE] [--broker-bin PATH]
             [--backend process|compose] [--compose-file PATH]
`--backend compose` runs the cluster as the docker-compose project (docker-compose.yml) and
adds the ZooKeeper kinds zk-node-kill, zk-node-cut and zk-majority-loss (docs/CHAOS.md,
section Chaos in containers).
`--scenario` plays a scripted scenario instead of the seeded schedule, starting from that
scenario's settings (the other flags, wherever they stand, change them).";

/// Where the cluster runs and what a fault is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Broker and ZooKeeper processes of this machine; faults are signals and a proxy.
    #[default]
    Process,
    /// The docker-compose project; faults are `docker kill`/`start`, `pause`/`unpause` and
    /// `network disconnect`/`connect` (super::container_cluster).
    Compose,
}

impl Backend {
    pub fn parse(name: &str) -> anyhow::Result<Backend> {
        match name {
            "process" => Ok(Backend::Process),
            "compose" | "docker" => Ok(Backend::Compose),
            other => anyhow::bail!("unknown backend {other:?}: expected process or compose"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Process => "process",
            Backend::Compose => "compose",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChaosConfig {
    /// Where the cluster runs (`--backend`).
    pub backend: Backend,
    /// The compose file of the compose backend (else the workspace's docker-compose.yml).
    pub compose_file: Option<PathBuf>,
    /// Seeds the fault schedule (and the stand-in choices); printed so a run can be replayed.
    pub seed: u64,
    /// A scripted scenario played instead of the seeded schedule (`--duration`, `--faults`,
    /// `--min-gap`, `--kinds` and `--concurrent-faults` then do nothing).
    pub scenario: Option<Scenario>,
    /// Writes `unclean.leader.election.enable=true` into the topic's config: a partition whose
    /// ISR members are all gone may elect an out-of-sync replica (and lose acknowledged writes).
    pub unclean: bool,
    /// The fault phase.
    pub duration: Duration,
    pub faults: usize,
    /// The least time between two faults' planned starts.
    pub min_gap: Duration,
    pub kinds: Vec<FaultKind>,
    /// At most this many brokers faulted at once.
    pub concurrent_faults: usize,
    pub brokers: Vec<i32>,
    pub partitions: i32,
    pub replication_factor: usize,
    pub min_insync: usize,
    pub rust_producers: usize,
    pub python_producers: usize,
    /// Sends per second, per producer.
    pub rate: u32,
    pub live_consumer: bool,
    pub kcat_read: bool,
    pub wipe_on_kill: bool,
    pub session_timeout: Duration,
    /// The brokers' `replica.lag.time.max.ms`, if not the broker's default (30 s).
    pub replica_lag_time_max: Option<Duration>,
    /// Producing without faults before the first one.
    pub warmup: Duration,
    /// Producing on the healed cluster before the producers stop.
    pub settle: Duration,
    /// Where to write the history (TSV), if anywhere.
    pub history: Option<PathBuf>,
    /// The broker executable (else `$ODRADEK_BROKER_BIN`, else beside the `chaos` binary).
    pub broker_bin: Option<PathBuf>,
}

impl Default for ChaosConfig {
    fn default() -> ChaosConfig {
        ChaosConfig {
            backend: Backend::Process,
            compose_file: None,
            seed: 1,
            scenario: None,
            unclean: false,
            duration: Duration::from_secs(60),
            faults: 10,
            min_gap: Duration::from_secs(5),
            kinds: vec![FaultKind::Kill, FaultKind::Pause, FaultKind::LongPause],
            concurrent_faults: 1,
            brokers: vec![1, 2, 3],
            partitions: 6,
            // The durable setting (reference §4.4).
            replication_factor: 3,
            min_insync: 2,
            rust_producers: 2,
            python_producers: 1,
            rate: 50,
            live_consumer: true,
            kcat_read: true,
            wipe_on_kill: false,
            session_timeout: Duration::from_millis(crate::cluster::SESSION_TIMEOUT_MS),
            replica_lag_time_max: None,
            warmup: Duration::from_secs(3),
            settle: Duration::from_secs(5),
            history: None,
            broker_bin: None,
        }
    }
}

impl ChaosConfig {
    /// The settings `scenario` starts from (the defaults for `None`).
    pub fn for_scenario(scenario: Option<Scenario>) -> ChaosConfig {
        match scenario {
            None => ChaosConfig::default(),
            Some(scenario) => scenario.config(),
        }
    }

    /// Parses the command line (without the program name); `Ok(None)` for `--help`. An absent
    /// `--seed` is drawn from the clock. With `--scenario`, the scenario's settings are the
    /// starting point and the other flags change them.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
    ) -> anyhow::Result<Option<ChaosConfig>> {
        let args: Vec<String> = args.into_iter().collect();
        let scenario = match args.iter().position(|a| a == "--scenario") {
            Some(i) => Some(Scenario::parse(
                args.get(i + 1).context("--scenario needs a value")?,
            )?),
            None => None,
        };
        let mut config = ChaosConfig {
            seed: clock_seed(),
            ..ChaosConfig::for_scenario(scenario)
        };
        let mut isolate_leader = false;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--duration" => config.duration = seconds(&value()?, &flag)?,
                "--faults" => config.faults = number(&value()?, &flag)?,
                "--min-gap" => config.min_gap = seconds(&value()?, &flag)?,
                "--kinds" => {
                    config.kinds = value()?
                        .split(',')
                        .map(FaultKind::parse)
                        .collect::<anyhow::Result<_>>()?
                }
                "--isolate-leader" => isolate_leader = true,
                "--concurrent-faults" => config.concurrent_faults = number(&value()?, &flag)?,
                "--seed" => config.seed = number(&value()?, &flag)?,
                "--scenario" => config.scenario = Some(Scenario::parse(&value()?)?),
                "--unclean" => config.unclean = true,
                "--partitions" => config.partitions = number(&value()?, &flag)?,
                "--replication-factor" | "--rf" => {
                    config.replication_factor = number(&value()?, &flag)?
                }
                "--min-insync" => config.min_insync = number(&value()?, &flag)?,
                "--rust-producers" => config.rust_producers = number(&value()?, &flag)?,
                "--python-producers" => config.python_producers = number(&value()?, &flag)?,
                "--rate" => config.rate = number(&value()?, &flag)?,
                "--no-live-consumer" => config.live_consumer = false,
                "--no-kcat" => config.kcat_read = false,
                "--delete-log-dir-on-kill" => config.wipe_on_kill = true,
                "--session-timeout-ms" => {
                    config.session_timeout = Duration::from_millis(number(&value()?, &flag)?)
                }
                "--replica-lag-time-max-ms" => {
                    config.replica_lag_time_max =
                        Some(Duration::from_millis(number(&value()?, &flag)?))
                }
                "--warmup" => config.warmup = seconds(&value()?, &flag)?,
                "--settle" => config.settle = seconds(&value()?, &flag)?,
                "--history" => config.history = Some(value()?.into()),
                "--broker-bin" => config.broker_bin = Some(value()?.into()),
                "--backend" => config.backend = Backend::parse(&value()?)?,
                "--compose-file" => config.compose_file = Some(value()?.into()),
                "-h" | "--help" => return Ok(None),
                other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        if isolate_leader && !config.kinds.contains(&FaultKind::ZkCut) {
            config.kinds.push(FaultKind::ZkCut);
        }
        config.validate()?;
        Ok(Some(config))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.partitions > 0, "--partitions must be positive");
        anyhow::ensure!(
            (1..=self.brokers.len()).contains(&self.replication_factor),
            "--replication-factor must be 1..={}",
            self.brokers.len()
        );
        anyhow::ensure!(self.min_insync >= 1, "--min-insync must be at least 1");
        anyhow::ensure!(
            self.rust_producers + self.python_producers > 0,
            "no producers"
        );
        anyhow::ensure!(self.rate > 0, "--rate must be positive");
        anyhow::ensure!(
            (1..self.brokers.len()).contains(&self.concurrent_faults),
            "--concurrent-faults must be 1..{}",
            self.brokers.len()
        );
        anyhow::ensure!(!self.kinds.is_empty(), "--kinds is empty");
        if let Some(kind) = self.kinds.iter().find(|k| k.is_zookeeper()) {
            anyhow::ensure!(
                self.backend == Backend::Compose,
                "--kinds {kind} needs --backend compose: the process backend cannot fault ZooKeeper nodes"
            );
        }
        anyhow::ensure!(
            self.backend == Backend::Process || self.scenario.is_none(),
            "--scenario runs on the process backend only"
        );
        if let Some(scenario) = self.scenario {
            scenario.validate(self)?;
        }
        Ok(())
    }

    /// The brokers' `--override`s beyond ZooKeeper's (which the cluster sets).
    pub fn broker_overrides(&self) -> Vec<(String, String)> {
        self.replica_lag_time_max
            .map(|lag| {
                (
                    "replica.lag.time.max.ms".to_string(),
                    lag.as_millis().to_string(),
                )
            })
            .into_iter()
            .collect()
    }

    /// The topic's configs in `/config/topics/<topic>`.
    pub fn topic_configs(&self) -> Vec<(String, String)> {
        let mut configs = vec![(
            "min.insync.replicas".to_string(),
            self.min_insync.to_string(),
        )];
        if self.unclean {
            configs.push((
                "unclean.leader.election.enable".to_string(),
                "true".to_string(),
            ));
        }
        configs
    }

    /// The flags that replay this run (the seed and everything that shapes the schedule and the
    /// workload; for a scenario, which has no schedule, the workload).
    pub fn replay_command(&self) -> String {
        let mut command = "cargo run --release -p odradek-tests --bin chaos --".to_string();
        if self.backend != Backend::Process {
            command.push_str(&format!(" --backend {}", self.backend.name()));
        }
        match self.scenario {
            Some(scenario) => command.push_str(&format!(" --scenario {scenario}")),
            None => {
                let kinds: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
                command.push_str(&format!(
                    " --seed {} --duration {} --faults {} --min-gap {} --kinds {} --concurrent-faults {}",
                    self.seed,
                    self.duration.as_secs_f64(),
                    self.faults,
                    self.min_gap.as_secs_f64(),
                    kinds.join(","),
                    self.concurrent_faults,
                ));
            }
        }
        command.push_str(&format!(
            " --partitions {} --replication-factor {} --min-insync {} --rust-producers {} --python-producers {} --rate {} --session-timeout-ms {}",
            self.partitions,
            self.replication_factor,
            self.min_insync,
            self.rust_producers,
            self.python_producers,
            self.rate,
            self.session_timeout.as_millis()
        ));
        if let Some(lag) = self.replica_lag_time_max {
            command.push_str(&format!(" --replica-lag-time-max-ms {}", lag.as_millis()));
        }
        command.push_str(&format!(
            " --warmup {} --settle {}",
            self.warmup.as_secs_f64(),
            self.settle.as_secs_f64()
        ));
        for (set, flag) in [
            (!self.live_consumer, "--no-live-consumer"),
            (!self.kcat_read, "--no-kcat"),
            (self.wipe_on_kill, "--delete-log-dir-on-kill"),
            (self.unclean, "--unclean"),
        ] {
            if set {
                command.push(' ');
                command.push_str(flag);
            }
        }
        command
    }
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> anyhow::Result<T> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: {text:?} is not a valid number"))
}

fn seconds(text: &str, flag: &str) -> anyhow::Result<Duration> {
    let secs: f64 = number(text, flag)?;
    anyhow::ensure!(
        secs.is_finite() && secs >= 0.0,
        "{flag}: {text:?} is not a duration in seconds"
    );
    Ok(Duration::from_secs_f64(secs))
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64 % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Option<ChaosConfig>> {
        ChaosConfig::from_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_set_the_config() {
        let config = parse(&[
            "--duration",
            "120",
            "--faults",
            "20",
            "--min-insync",
            "2",
            "--rf",
            "3",
            "--seed",
            "7",
            "--isolate-leader",
            "--delete-log-dir-on-kill",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.duration, Duration::from_secs(120));
        assert_eq!(
            (
                config.faults,
                config.min_insync,
                config.replication_factor,
                config.seed
            ),
            (20, 2, 3, 7)
        );
        assert_eq!(
            config.kinds,
            vec![
                FaultKind::Kill,
                FaultKind::Pause,
                FaultKind::LongPause,
                FaultKind::ZkCut
            ]
        );
        assert!(config.wipe_on_kill);
        assert!(
            config
                .replay_command()
                .contains("--seed 7 --duration 120 --faults 20"),
            "{}",
            config.replay_command()
        );
    }

    #[test]
    fn help_and_bad_flags() {
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert!(parse(&["--faults"])
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
        assert!(parse(&["--faults", "many"]).is_err());
        assert!(parse(&["--kinds", "kill,flood"]).is_err());
        assert!(parse(&["--rf", "4"]).is_err());
        assert!(parse(&["--concurrent-faults", "3"]).is_err());
        assert!(parse(&["--frobnicate"])
            .unwrap_err()
            .to_string()
            .contains("usage: chaos"));
    }

    #[test]
    fn the_compose_backend_is_chosen_by_flag_and_alone_takes_zookeeper_kinds() {
        let config = parse(&[
            "--backend",
            "compose",
            "--kinds",
            "kill,zk-node-kill,zk-majority-loss",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.backend, Backend::Compose);
        assert!(config.replay_command().contains("--backend compose"));
        let error = parse(&["--kinds", "zk-node-cut"]).unwrap_err().to_string();
        assert!(error.contains("needs --backend compose"), "{error}");
        assert!(parse(&["--backend", "kubernetes"]).is_err());
    }

    #[test]
    fn the_defaults_are_valid_and_replayable() {
        let config = ChaosConfig::default();
        config.validate().unwrap();
        let other = ChaosConfig {
            kcat_read: false,
            wipe_on_kill: true,
            settle: Duration::from_millis(1500),
            ..ChaosConfig::default()
        };
        let replay: Vec<String> = other
            .replay_command()
            .split_whitespace()
            .skip_while(|w| *w != "--")
            .skip(1)
            .map(str::to_string)
            .collect();
        assert_eq!(
            parse(&replay.iter().map(String::as_str).collect::<Vec<_>>())
                .unwrap()
                .unwrap(),
            other
        );
        let replay: Vec<String> = config
            .replay_command()
            .split_whitespace()
            .skip_while(|w| *w != "--")
            .skip(1)
            .map(str::to_string)
            .collect();
        assert_eq!(
            parse(&replay.iter().map(String::as_str).collect::<Vec<_>>())
                .unwrap()
                .unwrap(),
            config
        );
    }

    #[test]
    fn a_scenario_starts_from_its_settings_and_replays() {
        let config = parse(&["--unclean", "--scenario", "jepsen-2013", "--rate", "40"])
            .unwrap()
            .unwrap();
        assert_eq!(config.scenario, Some(Scenario::Jepsen2013));
        assert!(config.unclean);
        assert_eq!((config.min_insync, config.rate), (1, 40));
        assert_eq!(config.replica_lag_time_max, Some(Duration::from_secs(2)));
        assert_eq!(
            config.topic_configs(),
            vec![
                ("min.insync.replicas".to_string(), "1".to_string()),
                (
                    "unclean.leader.election.enable".to_string(),
                    "true".to_string()
                )
            ]
        );
        assert_eq!(
            config.broker_overrides(),
            vec![("replica.lag.time.max.ms".to_string(), "2000".to_string())]
        );
        let replay = config.replay_command();
        assert!(!replay.contains("--faults"), "{replay}");
        let args: Vec<&str> = replay
            .split_whitespace()
            .skip_while(|w| *w != "--")
            .skip(1)
            .collect();
        let replayed = parse(&args).unwrap().unwrap();
        assert_eq!(
            ChaosConfig {
                seed: config.seed,
                ..replayed
            },
            config
        );
        assert!(parse(&["--scenario"]).is_err());
        assert!(parse(&["--scenario", "jepsen-2013", "--rf", "2"]).is_err());
        let plain = ChaosConfig::default();
        assert_eq!(plain.topic_configs().len(), 1);
        assert!(plain.broker_overrides().is_empty());
    }
}
