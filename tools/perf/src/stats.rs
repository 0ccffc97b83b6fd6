//! Latency and throughput arithmetic, kept apart from I/O so it can be unit-tested.
//!
//! Figures follow kafka-producer-perf-test's conventions: MB means MiB (2^20 bytes) of record
//! payload, and percentiles are nearest-rank over every sample (here one sample per produce
//! request, since latency is measured per batch: request written → response read).

use std::time::Duration;

/// Nearest-rank percentile `p` (0..=100) of `sorted` (ascending); 0 for no samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // The epsilon keeps 0.999 * 1000 (= 999.0000000000001 in binary) at rank 999.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latency samples in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples_ms: Vec<f64>,
}

/// The summary line's latency fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub count: usize,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.samples_ms.push(latency.as_secs_f64() * 1e3);
    }

    pub fn len(&self) -> usize {
        self.samples_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples_ms.is_empty()
    }

    /// Average and maximum only (cheap; used for progress windows).
    pub fn avg_max(&self) -> (f64, f64) {
        if self.samples_ms.is_empty() {
            return (0.0, 0.0);
        }
        let sum: f64 = self.samples_ms.iter().sum();
        let max = self.samples_ms.iter().cloned().fold(0.0, f64::max);
        (sum / self.samples_ms.len() as f64, max)
    }

    pub fn summary(&self) -> LatencySummary {
        let mut sorted = self.samples_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let (avg_ms, max_ms) = self.avg_max();
        LatencySummary {
            count: sorted.len(),
            avg_ms,
            max_ms,
            p50_ms: percentile(&sorted, 50.0),
            p95_ms: percentile(&sorted, 95.0),
            p99_ms: percentile(&sorted, 99.0),
            p999_ms: percentile(&sorted, 99.9),
        }
    }

    pub fn clear(&mut self) {
        self.samples_ms.clear();
    }
}

/// Records and payload bytes over an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub records_per_sec: f64,
    pub mib_per_sec: f64,
}

pub fn throughput(records: u64, bytes: u64, elapsed: Duration) -> Throughput {
    let secs = elapsed.as_secs_f64().max(1e-9);
    Throughput { records_per_sec: records as f64 / secs, mib_per_sec: bytes as f64 / (1024.0 * 1024.0) / secs }
}

/// Parses a byte size: a plain integer or one with a K/KB/KiB, M/MB/MiB, G/GB/GiB suffix
/// (all binary, as Kafka's own "1 MiB" defaults are).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 99.9), 100.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.9), 999.0);
        assert_eq!(percentile(&[7.0], 99.9), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        // 4 samples: p50 is the 2nd, p95 the 4th
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 95.0), 4.0);
    }

    #[test]
    fn summary_sorts_unsorted_samples() {
        let mut l = Latencies::default();
        for ms in [5u64, 1, 4, 2, 3] {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 5);
        assert!((s.avg_ms - 3.0).abs() < 1e-9);
        assert_eq!((s.max_ms, s.p50_ms, s.p95_ms), (5.0, 3.0, 5.0));
    }

    #[test]
    fn throughput_in_mib() {
        let t = throughput(1_000_000, 100 * 1_000_000, Duration::from_secs(2));
        assert_eq!(t.records_per_sec, 500_000.0);
        assert!((t.mib_per_sec - 47.68).abs() < 0.01);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("50m"), Ok(50 << 20));
        assert_eq!(parse_size("16 KiB"), Ok(16 << 10));
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }
}
