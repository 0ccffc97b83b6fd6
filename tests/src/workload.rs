//! Deterministic test data: keyed records whose bytes a test can regenerate and compare, and
//! unique topic names.

use std::sync::atomic::{AtomicU64, Ordering};

/// A small, fast, seedable generator (SplitMix64); tests need reproducible data, not crypto.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `n` keyed records for line-oriented tools (kcat `-K:`): key `key-<i>`; value of 0..=200
/// bytes drawn from every byte except `\n` (the record separator) and `\r`, so that a tool
/// mangling bytes, encodings or NULs shows up as a mismatch.
pub fn line_safe_records(n: usize, seed: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let len = rng.below(201) as usize;
            let value = (0..len)
                .map(|_| loop {
                    let b = rng.below(256) as u8;
                    if b != b'\n' && b != b'\r' {
                        break b;
                    }
                })
                .collect();
            (format!("key-{i}").into_bytes(), value)
        })
        .collect()
}

/// `n` records whose values compress well (repeated words with a counter), so that a codec
/// cannot be skipped by a producer for not paying off.
pub fn compressible_records(n: usize, codec: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let value = format!(
                "{codec} record {i:06}: {}",
                "the quick brown fox jumps over the lazy dog ".repeat(6)
            );
            (format!("{codec}-key-{i}").into_bytes(), value.into_bytes())
        })
        .collect()
}

/// A topic name unique within this process and across concurrent test processes.
pub fn unique_topic(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_reproducible_and_line_safe() {
        let a = line_safe_records(500, 7);
        assert_eq!(a, line_safe_records(500, 7));
        assert_ne!(a, line_safe_records(500, 8));
        assert!(a
            .iter()
            .all(|(_, v)| !v.contains(&b'\n') && !v.contains(&b'\r')));
        assert!(
            a.iter().any(|(_, v)| v.contains(&0)),
            "NUL bytes are exercised"
        );
        assert!(
            a.iter().any(|(_, v)| v.is_empty()),
            "empty values are exercised"
        );
    }

    #[test]
    fn topics_are_unique() {
        assert_ne!(unique_topic("t"), unique_topic("t"));
    }
}
