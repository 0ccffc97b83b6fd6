//! Waking parked requests, the essence of Kafka's `DelayedOperationPurgatory` watch lists.
//!
//! A long-polling Fetch (`DelayedFetch`) registers one `Notify` with every partition it reads;
//! an append to any of them wakes it and it re-checks whether it has `min_bytes` yet. `Notify`
//! stores a permit when woken before it waits, so a wake between "check" and "wait" is not lost.
//! Entries are weak: a fetch that completes or times out simply drops its `Notify`, and the dead
//! entries are purged when the list grows (Kafka purges completed operations the same way).

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// Waiters on one partition.
#[derive(Default)]
pub struct Watchers {
    list: Mutex<Vec<Weak<Notify>>>,
}

/// Purge dead entries once the list is this long.
const PURGE_THRESHOLD: usize = 64;

impl Watchers {
    /// Registers `waiter` to be woken by the next [`Watchers::wake_all`].
    pub fn watch(&self, waiter: &Arc<Notify>) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() >= PURGE_THRESHOLD {
            list.retain(|w| w.strong_count() > 0);
        }
        list.push(Arc::downgrade(waiter));
    }

    /// Wakes every registered waiter and forgets them (each re-registers if it keeps waiting).
    pub fn wake_all(&self) {
        let woken = {
            let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
            if list.is_empty() {
                return;
            }
            std::mem::take(&mut *list)
        };
        for w in woken {
            if let Some(n) = w.upgrade() {
                n.notify_one();
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.list.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_wait_is_not_lost() {
        let w = Watchers::default();
        let n = Arc::new(Notify::new());
        w.watch(&n);
        w.wake_all();
        tokio::time::timeout(std::time::Duration::from_secs(1), n.notified()).await.expect("permit stored");
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn dead_waiters_are_purged() {
        let w = Watchers::default();
        for _ in 0..PURGE_THRESHOLD * 3 {
            let n = Arc::new(Notify::new());
            w.watch(&n);
        }
        assert!(w.len() <= PURGE_THRESHOLD + 1, "{}", w.len());
    }
}
