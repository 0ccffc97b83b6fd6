//! Which `__consumer_offsets` partition, and so which broker, owns a group.
//!
//! Every client and broker must agree on this mapping without talking to each other, so it is
//! Kafka's exact arithmetic: Java's `String.hashCode` over UTF-16 code units with int32 wrap-around,
//! then `Utils.abs` (which maps `Integer.MIN_VALUE` to 0, unlike `Math.abs`), modulo the partition count.

/// Java's `String.hashCode`: `h = 31 * h + c` over the UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: `abs` where `i32::MIN` becomes 0 instead of overflowing.
pub fn kafka_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// Kafka's `GroupMetadataManager.partitionFor`.
pub fn partition_for(group_id: &str, num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return 0;
    }
    kafka_abs(java_string_hash(group_id)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        let cases = [
            ("my-group", -1_906_497_762, 12),
            ("test-group", 627_841_412, 12),
            ("console-consumer-12345", 158_455_506, 6),
        ];
        for (group, hash, partition) in cases {
            assert_eq!(java_string_hash(group), hash, "{group}");
            assert_eq!(partition_for(group, 50), partition, "{group}");
        }
    }

    #[test]
    fn utf16_and_edge_cases() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // U+1F600 is two UTF-16 code units (0xD83D 0xDE00): 0xD83D * 31 + 0xDE00.
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(kafka_abs(i32::MIN), 0);
        assert_eq!(kafka_abs(-5), 5);
    }
}
