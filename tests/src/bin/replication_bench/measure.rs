//! Measuring a phase from outside: the CPU time of the brokers, the ZooKeeper JVMs and the
//! machine around one run of `odradek-perf` (its own CPU time from `/usr/bin/time`), optionally a
//! `perf record` of the brokers, and reading the figures back out of the tool's summary lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use odradek_tests::cluster::Cluster;

use crate::Bench;

/// CPU clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `utime + stime` of a process, in ticks (all its threads; 0 if it is gone).
fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(0, |stat| stat_ticks(&stat))
}

/// `utime + stime` from the text of a `/proc/<pid>/stat`.
fn stat_ticks(stat: &str) -> u64 {
    // The command name, in parentheses, may hold spaces and parentheses; the fields after the
    // last ')' are space-separated.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12) // fields 14 and 15 of the whole line
}

/// Busy ticks of the whole machine: user + nice + system + irq + softirq + steal.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0 };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum()
}

/// CPU ticks of the brokers, the ZooKeeper JVMs and the machine at one moment.
#[derive(Clone)]
struct CpuSample {
    brokers: BTreeMap<i32, u64>,
    zookeeper: u64,
    machine: u64,
}

impl CpuSample {
    fn take(cluster: &Cluster) -> CpuSample {
        let brokers = cluster.brokers.iter().map(|(id, b)| (*id, b.pid().map_or(0, process_ticks))).collect();
        let zookeeper = cluster.ensemble.processes().into_iter().map(process_ticks).sum();
        CpuSample { brokers, zookeeper, machine: machine_busy_ticks() }
    }
}

/// CPU seconds spent between two samples.
pub struct CpuUse {
    pub brokers: BTreeMap<i32, f64>,
    pub zookeeper: f64,
    pub machine: f64,
}

impl CpuUse {
    fn between(a: &CpuSample, b: &CpuSample, tick: f64) -> CpuUse {
        let secs = |x: u64, y: u64| y.saturating_sub(x) as f64 / tick;
        CpuUse {
            brokers: b.brokers.iter().map(|(id, t)| (*id, secs(a.brokers.get(id).copied().unwrap_or(0), *t))).collect(),
            zookeeper: secs(a.zookeeper, b.zookeeper),
            machine: secs(a.machine, b.machine),
        }
    }

    pub fn broker_total(&self) -> f64 {
        self.brokers.values().sum()
    }

    pub fn brokers_cell(&self) -> String {
        let each: Vec<String> = self.brokers.values().map(|s| format!("{s:.1}")).collect();
        format!("{:.1} ({})", self.broker_total(), each.join(" / "))
    }
}

/// One run of `odradek-perf`: its output and its own CPU time.
pub struct PerfRun {
    pub command: String,
    pub output: String,
    pub ok: bool,
    pub client_cpu: Option<f64>,
    pub cpu: CpuUse,
    /// The brokers' hottest symbols, with `--profile`.
    pub profile: Option<String>,
}

/// `perf record -g` of the three brokers for the length of a phase (`--profile`).
struct Profiler {
    child: std::process::Child,
    data: PathBuf,
}

impl Profiler {
    fn start(cluster: &Cluster, data: PathBuf) -> anyhow::Result<Profiler> {
        let pids: Vec<String> = cluster.brokers.values().filter_map(|b| b.pid()).map(|p| p.to_string()).collect();
        let child = Command::new("perf")
            .args(["record", "-q", "-F", "999", "-g", "-p", &pids.join(","), "-o"])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start `perf record` (install linux-perf, or drop --profile)")?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Profiler { child, data })
    }

    /// Stops the recording and summarises it: the share of samples under each of a few kernel
    /// and broker functions that say where replication's time goes (inclusive, so a sample may
    /// count in two), then the hottest functions by self time.
    fn finish(mut self) -> anyhow::Result<String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        self.child.wait().context("cannot wait for perf record")?;
        let report = |extra: &[&str]| -> anyhow::Result<Vec<String>> {
            let out = Command::new("perf")
                .args(["report", "--stdio", "-g", "none", "-i"])
                .arg(&self.data)
                .args(extra)
                .stderr(Stdio::null())
                .output()
                .context("cannot run perf report")?;
            Ok(String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())).map(str::to_string).collect())
        };
        let inclusive = report(&["--children", "--sort", "sym"])?;
        let mut text = String::from("inclusive share of the brokers' samples:\n");
        for (what, symbol) in PROFILE_CATEGORIES {
            // "    28.35%     0.00%  [k] ext4_buffered_write_iter": children %, self %, symbol.
            let share = inclusive.iter().find(|l| l.split("] ").nth(1).is_some_and(|s| s.trim().starts_with(symbol))).and_then(|l| l.split_whitespace().next().map(str::to_string));
            text.push_str(&format!("  {:>7}  {what} ({symbol})\n", share.unwrap_or_else(|| "<0.5%".into())));
        }
        text.push_str("hottest functions, self time:\n");
        for line in report(&["--no-children", "--sort", "dso,sym", "--percent-limit", "1.5"])?.iter().take(15) {
            text.push_str(line);
            text.push('\n');
        }
        Ok(text.trim_end().to_string())
    }
}

/// What the profile summary looks for: (what it is, the function whose inclusive share measures it).
const PROFILE_CATEGORIES: [(&str, &str); 7] = [
    ("socket reads: Produce requests in, followers' fetched batches in", "tcp_recvmsg"),
    ("log appends: write() into the page cache", "ext4_buffered_write_iter"),
    ("sendfile: Fetch responses to followers and consumers", "do_sendfile"),
    ("CRC-32C of each batch (leader and followers)", "crc32c::"),
    ("response and request sends other than sendfile", "__x64_sys_sendto"),
    ("page faults", "exc_page_fault"),
    ("context switches", "finish_task_switch"),
];

/// Runs `odradek-perf ARGS` under `/usr/bin/time` (for its CPU time) with a hard deadline, then
/// `settle` (waiting for the followers to catch up), and samples the cluster's CPU before the
/// tool starts and after `settle`: replication work done after the last acknowledgement (all of
/// the followers' catching up under acks=1) is counted too.
pub fn run_perf<T>(bench: &Bench, name: &str, perf_args: &[String], settle: impl FnOnce() -> T) -> anyhow::Result<(PerfRun, T)> {
    let command = format!("odradek-perf {}", perf_args.join(" "));
    eprintln!("replication_bench: {name}: $ {command}");
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let out_path = scratch.path().join("stdout");
    let time_path = scratch.path().join("time");
    let timed = Path::new("/usr/bin/time").is_file();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%U %S").arg("-o").arg(&time_path).arg(&bench.perf_bin);
        c
    } else {
        Command::new(&bench.perf_bin)
    };
    cmd.args(perf_args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).context("cannot create the output file")?)
        .stderr(Stdio::inherit());
    let file_name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let profiler = match bench.args.profile {
        true => {
            let dir = bench.args.out.clone().unwrap_or_else(|| scratch.path().to_path_buf());
            Some(Profiler::start(&bench.cluster, dir.join(format!("{file_name}.perf.data")))?)
        }
        false => None,
    };
    let before = CpuSample::take(&bench.cluster);
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("cannot start {}", bench.perf_bin.display()))?;
    // odradek-perf bounds itself (--timeout-secs / --drain-secs); this is the backstop.
    let deadline = started + Duration::from_secs(bench.args.phase_timeout_secs + 60);
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for odradek-perf")? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let wall = started.elapsed();
    let settled = settle();
    let after = CpuSample::take(&bench.cluster);
    let profile = match profiler {
        Some(p) => Some(p.finish()?),
        None => None,
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    for line in output.lines() {
        eprintln!("replication_bench:   | {line}");
    }
    if let Some(dir) = &bench.args.out {
        let file = dir.join(format!("{file_name}.txt"));
        std::fs::write(&file, format!("$ {command}\n{output}")).with_context(|| format!("cannot write {}", file.display()))?;
    }
    let client_cpu = std::fs::read_to_string(&time_path).ok().and_then(|t| {
        let last = t.lines().last()?.to_string();
        let v: Vec<f64> = last.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        (v.len() == 2).then(|| v[0] + v[1])
    });
    let ok = status.is_some_and(|s| s.success());
    if status.is_none() {
        eprintln!("replication_bench: {name}: odradek-perf killed after {wall:?}");
    }
    Ok((PerfRun { command, output, ok, client_cpu, cpu: CpuUse::between(&before, &after, bench.ticks_per_sec), profile }, settled))
}

/// The number before each `ms <label>` in `line`: "1.23 ms 99th" → {"99th": 1.23}.
pub fn latencies_in(line: &str) -> BTreeMap<String, f64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut found = BTreeMap::new();
    for w in words.windows(3) {
        if w[1] == "ms" {
            if let Ok(v) = w[0].parse::<f64>() {
                found.insert(w[2].trim_end_matches(['.', ',', ';']).to_string(), v);
            }
        }
    }
    found
}

/// The number before `unit` in `line` ("412345.6 records/sec" → 412345.6).
pub fn number_before(line: &str, unit: &str) -> Option<f64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find(|w| w[1].trim_start_matches('(') == unit || w[1] == unit).and_then(|w| w[0].trim_start_matches('(').parse().ok())
}

/// The last output line containing `needle`.
pub fn line_with<'a>(output: &'a str, needle: &str) -> Option<&'a str> {
    output.lines().rev().find(|l| l.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_come_out_of_odradek_perf_summary_lines() {
        let produce = "5000000 records sent, 3774800.1 records/sec (360.00 MB/sec), 2.30 ms avg latency, 16.48 ms max latency, 2.06 ms 50th, 4.01 ms 95th, 6.63 ms 99th, 12.09 ms 99.9th.";
        assert_eq!(number_before(produce, "records/sec"), Some(3774800.1));
        assert_eq!(number_before(produce, "MB/sec),"), Some(360.0));
        let l = latencies_in(produce);
        assert_eq!((l["50th"], l["99th"], l["99.9th"], l["max"], l["avg"]), (2.06, 6.63, 12.09, 16.48, 2.30));
        let requests = "8606 produce requests in 1.322 s, 8606 latency samples (per request), partition errors: none";
        assert_eq!(number_before(requests, "s,"), Some(1.322));
        let pacer = "pacer: 16298 ticks, lateness 1.35 ms 50th, 2.07 ms 99th, 3.08 ms 99.9th, 12.93 ms max; consumer: 16378 fetches";
        assert_eq!(latencies_in(pacer)["max"], 12.93);
        let output = format!("first line\n{produce}\n{requests}\n");
        assert_eq!(line_with(&output, "records sent,"), Some(produce));
        assert_eq!(line_with(&output, "not there"), None);
    }

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 1000 0 0 0 731 269 0 0 20 0 9 0 100 0 0";
        assert_eq!(stat_ticks(stat), 731 + 269);
        assert_eq!(stat_ticks("garbage"), 0);
        assert_eq!(process_ticks(u32::MAX), 0, "a process that does not exist has used nothing");
    }
}
