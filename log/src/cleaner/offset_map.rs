//! Kafka's `OffsetMap` (`SkimpyOffsetMap`): key → offset of the latest record with that key in
//! the dirty section, built before any segment is rewritten.
//!
//! Kafka stores a 16-byte MD5 of each key in a fixed `log.cleaner.dedupe.buffer.size` buffer and
//! stops the dirty scan at a segment boundary when it is full. Here the map holds the keys
//! themselves in a `HashMap` with no size bound: no hash collisions to reason about, at the cost
//! of memory proportional to the distinct keys of one dirty section.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct OffsetMap {
    offsets: HashMap<Box<[u8]>, i64>,
    /// Kafka's `latestOffset`: the last offset the scan went through.
    latest_offset: i64,
}

impl OffsetMap {
    pub(crate) fn new() -> Self {
        OffsetMap { offsets: HashMap::new(), latest_offset: -1 }
    }

    /// Records `offset` as the latest for `key` (the scan goes forward, so later wins).
    pub(crate) fn put(&mut self, key: &[u8], offset: i64) {
        match self.offsets.get_mut(key) {
            Some(existing) => *existing = (*existing).max(offset),
            None => {
                self.offsets.insert(key.into(), offset);
            }
        }
        self.update_latest_offset(offset);
    }

    /// The latest offset for `key`, -1 if the dirty section never wrote it.
    pub(crate) fn get(&self, key: &[u8]) -> i64 {
        self.offsets.get(key).copied().unwrap_or(-1)
    }

    pub(crate) fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    pub(crate) fn latest_offset(&self) -> i64 { self.latest_offset }
    pub(crate) fn len(&self) -> usize { self.offsets.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_offset_per_key_wins() {
        let mut map = OffsetMap::new();
        map.put(b"a", 3);
        map.put(b"b", 4);
        map.put(b"a", 9);
        assert_eq!((map.get(b"a"), map.get(b"b"), map.get(b"c")), (9, 4, -1));
        assert_eq!((map.len(), map.latest_offset()), (2, 9));
        map.update_latest_offset(12);
        assert_eq!(map.latest_offset(), 12);
    }
}
