//! Kafka's default partitioner for keyed records (Java client 2.4–3.2 `DefaultPartitioner`;
//! librdkafka's `murmur2_random`; kafka-python's default): `toPositive(murmur2(key)) %
//! numPartitions`, counting **all** partitions of the topic, available or not. `odradek produce`
//! uses it to place records where a Java producer would, and the tests use it to predict where
//! a real client put each record.
//!
//! This is MurmurHash2, 32-bit, in Kafka's variant (`Utils.murmur2`): seed `0x9747b28c`, blocks
//! read little-endian, all arithmetic wrapping on 32 bits, `>>>` a logical shift. Note
//! `toPositive` masks the sign bit; it is not `abs`.

/// Kafka's `Utils.murmur2`, returned as Java's signed `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    // Java's switch falls through 3 -> 2 -> 1.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for a non-null `key` among `num_partitions`.
///
/// Panics when `num_partitions` is not positive: every topic has at least one partition, and
/// callers take the count from Metadata, where they must reject an empty topic first.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    assert!(num_partitions > 0, "a topic has at least one partition");
    to_positive(murmur2(key)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2`, plus the two partition examples of
    /// kafka-classic.md §9 computed with an independent port.
    #[test]
    fn kafka_test_vectors() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for &(input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn partitions_of_the_reference_examples() {
        assert_eq!(murmur2(b"key-0"), 29210041);
        assert_eq!(partition_for_key(b"key-0", 6), 1);
        assert_eq!(murmur2(b"hello"), 2132663229);
        assert_eq!(partition_for_key(b"hello", 6), 3);
    }

    #[test]
    fn to_positive_masks_rather_than_negates() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn empty_key_is_hashed_not_rejected() {
        // Java hashes a zero-length key like any other (only a null key goes to the sticky path).
        let p = partition_for_key(b"", 7);
        assert!((0..7).contains(&p));
    }
}
