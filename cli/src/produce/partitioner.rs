//! Which partition each record goes to: Kafka's `DefaultPartitioner` (kafka-classic.md §9). A
//! keyed record goes to `toPositive(murmur2(key)) % partitions` over all partitions, so that one
//! key always lands on one partition; keyless records are "sticky" (KIP-480): every keyless
//! record of one batch goes to one partition, and the next batch moves to the next partition
//! (Kafka picks the next one at random; round-robin spreads as evenly and is reproducible).

use odradek_client::partitioner::partition_for_key;

/// The sticky choice for keyless records.
#[derive(Debug, Default)]
pub struct Partitioner {
    sticky: i32,
}

impl Partitioner {
    /// The partition of a record with `key` among `partitions` (positive).
    pub fn partition(&self, key: Option<&[u8]>, partitions: i32) -> i32 {
        match key {
            Some(key) => partition_for_key(key, partitions),
            None => self.sticky % partitions,
        }
    }

    /// A new batch starts: keyless records move to the next partition.
    pub fn on_new_batch(&mut self) {
        self.sticky = self.sticky.wrapping_add(1) & i32::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_murmur2() {
        let partitioner = Partitioner::default();
        // kafka-classic.md §9: "key-0" -> 1 of 6, "hello" -> 3 of 6.
        assert_eq!(partitioner.partition(Some(b"key-0"), 6), 1);
        assert_eq!(partitioner.partition(Some(b"hello"), 6), 3);
        assert_eq!(partitioner.partition(Some(b"hello"), 1), 0);
    }

    #[test]
    fn keyless_records_stick_per_batch() {
        let mut partitioner = Partitioner::default();
        assert_eq!(
            partitioner.partition(None, 3),
            partitioner.partition(None, 3)
        );
        let first = partitioner.partition(None, 3);
        partitioner.on_new_batch();
        assert_ne!(partitioner.partition(None, 3), first);
        let seen: std::collections::BTreeSet<i32> = (0..3)
            .map(|_| {
                partitioner.on_new_batch();
                partitioner.partition(None, 3)
            })
            .collect();
        assert_eq!(seen.len(), 3);
    }
}
