//! The markdown report: medians over the rounds, every round, the targets, the profiles.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::measure::PerfRun;
use crate::{Args, EndToEndRow, ThroughputRow, BROKERS, E2E_P99_TARGET_MS, KAFKA_2014_ACKS_ALL, MIN_INSYNC_REPLICAS, REPLICATION_FACTOR, THROUGHPUT_TARGET};

pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("?".into(), |v| format!("{v:.digits$}"))
}

pub fn fmt_rate(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn pct(l: &BTreeMap<String, f64>, keys: &[&str]) -> String {
    keys.iter().map(|k| l.get(*k).map_or("?".into(), |v| format!("{v:.2}"))).collect::<Vec<_>>().join(" / ")
}

fn other_cpu(run: &PerfRun) -> String {
    let known = run.cpu.broker_total() + run.cpu.zookeeper + run.client_cpu.unwrap_or(0.0);
    format!("{:.1}", (run.cpu.machine - known).max(0.0))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// "median (min–max)" of `values`, formatted by `f`.
fn spread(values: &[f64], f: impl Fn(f64) -> String) -> String {
    let Some(m) = median(values.to_vec()) else { return "?".into() };
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.len() == 1 {
        f(m)
    } else {
        format!("{} ({}–{})", f(m), f(min), f(max))
    }
}

fn broker_cpu_per_m(r: &ThroughputRow) -> Option<f64> {
    r.records.filter(|n| *n > 0.0).map(|n| r.run.cpu.broker_total() / (n / 1e6))
}

pub fn print_header(args: &Args, broker_bin: &Path, started: Instant) {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("## replication_bench, {} round(s), {:.0} s", args.rounds, started.elapsed().as_secs_f64());
    println!();
    println!("- machine: {cores} cores ({cpu_model}), shared by the 3 brokers, 3 ZooKeeper JVMs and the client");
    println!("- broker: {}; zookeeper.session.timeout.ms={}", broker_bin.display(), args.session_timeout_ms);
    println!(
        "- a fresh topic per phase: {} partitions, replication factor {REPLICATION_FACTOR}, min.insync.replicas={MIN_INSYNC_REPLICAS}, partition p on brokers [b(p), b(p+1), b(p+2)] (each broker leads {} and follows {}); {}-byte keyless records",
        args.partitions,
        args.partitions as f64 / BROKERS.len() as f64,
        args.partitions as f64 * 2.0 / BROKERS.len() as f64,
        args.record_size
    );
    println!("- CPU seconds from /proc/<pid>/stat (brokers: total (b1 / b2 / b3)), the client's from /usr/bin/time; \"other\" = machine busy time minus all of these (someone else's load)");
}

pub fn print_throughput(args: &Args, rows: &[ThroughputRow]) {
    println!();
    println!("### Throughput ({} records per phase, {} produce requests in flight per leader connection)", args.records, args.max_in_flight);
    println!();
    println!("Median (min–max) over the rounds; latency per Produce request from the median round.");
    println!();
    println!("| acks | batch (records) | rounds | records/s | MB/s | per-request latency ms p50 / p99 / p99.9 / max | broker CPU s / M records |");
    println!("|---|---|---|---|---|---|---|");
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.acks.clone(), r.batch.clone())) {
            keys.push((r.acks.clone(), r.batch.clone()));
        }
    }
    for (acks, batch) in &keys {
        let group: Vec<&ThroughputRow> = rows.iter().filter(|r| &r.acks == acks && &r.batch == batch).collect();
        let rates: Vec<f64> = group.iter().filter_map(|r| r.rate).collect();
        let mbs: Vec<f64> = group.iter().filter_map(|r| r.mbs).collect();
        let cpu: Vec<f64> = group.iter().filter_map(|r| broker_cpu_per_m(r)).collect();
        let mid = median(rates.clone()).and_then(|m| group.iter().min_by(|a, b| (a.rate.unwrap_or(0.0) - m).abs().total_cmp(&(b.rate.unwrap_or(0.0) - m).abs())));
        println!(
            "| {acks} | {batch} ({}) | {} | {} | {} | {} | {} |",
            group[0].records_per_batch.clone().unwrap_or("?".into()),
            group.len(),
            spread(&rates, fmt_rate),
            spread(&mbs, |v| format!("{v:.0}")),
            mid.map_or("?".into(), |r| pct(&r.latency, &["50th", "99th", "99.9th", "max"])),
            spread(&cpu, |v| format!("{v:.2}")),
        );
    }
    println!();
    println!("Every round:");
    println!();
    println!("| round | acks | batch | records/s | MB/s | s | latency ms p50 / p99 / p99.9 / max | requests | broker CPU s | ZK CPU s | client CPU s | other CPU s | ISR after | replicas on disk |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |",
            r.round,
            r.acks,
            r.batch,
            r.rate.map_or("?".into(), fmt_rate),
            fmt_opt(r.mbs, 1),
            fmt_opt(r.secs, 2),
            pct(&r.latency, &["50th", "99th", "99.9th", "max"]),
            fmt_opt(r.requests, 0),
            r.run.cpu.brokers_cell(),
            r.run.cpu.zookeeper,
            fmt_opt(r.run.client_cpu, 1),
            other_cpu(&r.run),
            r.isr,
            r.disk
        );
    }
    println!();
    println!("Commands (round 1):");
    for r in rows.iter().filter(|r| r.round == 1) {
        println!("- `{}`", r.run.command);
    }
}

pub fn print_end_to_end(args: &Args, rows: &[EndToEndRow]) {
    println!();
    println!(
        "### End-to-end latency (acks=all, {} records/s offered for {} s, linger {} ms, batch.size {})",
        args.e2e_rate, args.e2e_secs, args.e2e_linger_ms, args.e2e_batch_size
    );
    println!();
    println!("| round | achieved records/s | e2e ms p50 / p95 / p99 / p99.9 / max | from batch send ms p50 / p99 / p99.9 | produce per request ms p50 / p99 / p99.9 / max | pacer lateness ms p99 / max | broker CPU s | ZK CPU s | client CPU s | other CPU s | ISR after | replicas on disk |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |",
            r.round,
            r.rate.map_or("?".into(), fmt_rate),
            pct(&r.e2e, &["50th", "95th", "99th", "99.9th", "max"]),
            pct(&r.from_send, &["50th", "99th", "99.9th"]),
            pct(&r.produce, &["50th", "99th", "99.9th", "max"]),
            pct(&r.pacer, &["99th", "max"]),
            r.run.cpu.brokers_cell(),
            r.run.cpu.zookeeper,
            fmt_opt(r.run.client_cpu, 1),
            other_cpu(&r.run),
            r.isr,
            r.disk
        );
    }
    println!();
    if let Some(r) = rows.first() {
        println!("- `{}`", r.run.command);
    }
    for r in rows {
        println!("- round {}: {} {}", r.round, r.offered_line, r.produce_line);
    }
}

pub fn print_targets(args: &Args, rows: &[ThroughputRow], e2e: &[EndToEndRow]) {
    println!();
    println!("### Against the targets");
    println!();
    if args.parts.iter().any(|p| p == "throughput") {
        let mut best: Option<(f64, String, usize, usize)> = None;
        for batch in &args.batch_sizes {
            let rates: Vec<f64> = rows.iter().filter(|r| r.acks == "all" && &r.batch == batch).filter_map(|r| r.rate).collect();
            if let Some(m) = median(rates.clone()) {
                let met = rates.iter().filter(|v| **v >= THROUGHPUT_TARGET).count();
                if best.as_ref().is_none_or(|b| m > b.0) {
                    best = Some((m, batch.clone(), met, rates.len()));
                }
            }
        }
        match best {
            Some((m, batch, met, n)) => println!(
                "- acks=all, RF 3: best median {} records/s ({batch} batches; {met} of {n} rounds ≥ target) against ≥ {} ({}); Kafka's 2014 figure on three dedicated machines: {}",
                fmt_rate(m),
                fmt_rate(THROUGHPUT_TARGET),
                if m >= THROUGHPUT_TARGET { "met" } else { "NOT met" },
                fmt_rate(KAFKA_2014_ACKS_ALL)
            ),
            None => println!("- acks=all, RF 3: no figure"),
        }
    }
    if args.parts.iter().any(|p| p == "e2e") {
        let p99s: Vec<f64> = e2e.iter().filter_map(|r| r.e2e.get("99th").copied()).collect();
        match median(p99s.clone()) {
            Some(m) => println!(
                "- end-to-end p99 at {} records/s: median {m:.2} ms over {} rounds ({}) against ≤ {E2E_P99_TARGET_MS} ms: {} of {} rounds met",
                args.e2e_rate,
                p99s.len(),
                p99s.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", "),
                p99s.iter().filter(|v| **v <= E2E_P99_TARGET_MS).count(),
                p99s.len()
            ),
            None => println!("- end-to-end: no figure"),
        }
    }
}

pub fn print_profiles(throughput: &[ThroughputRow], e2e: &[EndToEndRow]) {
    let runs = e2e.iter().map(|r| (format!("round {} end-to-end", r.round), &r.run)).chain(
        throughput.iter().map(|r| (format!("round {} produce acks={} batch={}", r.round, r.acks, r.batch), &r.run)),
    );
    for (name, run) in runs {
        if let Some(profile) = &run.profile {
            println!();
            println!("### Brokers' profile: {name} (perf record -F 999 -g of all three brokers)");
            println!();
            println!("```");
            println!("{profile}");
            println!("```");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
        assert_eq!(spread(&[3.0, 1.0, 2.0], |v| format!("{v:.0}")), "2 (1–3)");
        assert_eq!(spread(&[5.0], |v| format!("{v:.0}")), "5");
        assert_eq!(fmt_rate(3774800.1), "3,774,800");
        assert_eq!(fmt_rate(999.0), "999");
    }
}
