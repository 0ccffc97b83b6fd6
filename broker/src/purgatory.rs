//! Kafka's `DelayedOperationPurgatory`: where requests that cannot be answered yet wait.
//!
//! A [`DelayedOperation`] (an acks=all produce waiting for the high watermark, a fetch waiting
//! for `min_bytes`) is first tried at once (`tryCompleteElseWatch`); if it cannot complete it
//! watches its keys (topic partitions) and is tried again whenever something changes one of
//! them ([`DelayedOperationPurgatory::check_and_complete`]: an append, a high-watermark move, a
//! leader or ISR change), until it completes or its deadline passes (`onExpiration`).
//!
//! The parked operation is a future owned by the request's connection, not a task: its waker is
//! a `Notify` registered on every key it watches. `Notify` stores a permit when woken before it
//! waits, and the operation registers *before* trying, so a change between "try" and "wait" is
//! never lost. Entries are weak: an operation that completed or whose connection went away just
//! drops its `Notify`, and dead entries are purged when a key's list grows (Kafka purges
//! completed operations the same way).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use odradek_log::TopicPartition;
use tokio::sync::Notify;
use tokio::time::Instant;

/// An operation that may have to wait (Kafka's `DelayedOperation`).
pub trait DelayedOperation: Send + 'static {
    type Result: Send + 'static;
    /// The keys whose changes may let it complete.
    fn keys(&self) -> Vec<TopicPartition>;
    /// Checks whether the operation can complete now (`tryComplete`); `true` when it can.
    fn try_complete(&mut self) -> bool;
    /// The answer once complete (`onComplete`).
    fn on_complete(self) -> Self::Result;
    /// The answer when the deadline passed first (`onExpiration`); called after a last
    /// `try_complete`, so whatever is ready by then is answered as such.
    fn on_expiration(self) -> Self::Result;
}

/// An answer now, or one that comes later (the caller awaits it or hands it to the connection).
pub enum Delayed<T> {
    Ready(T),
    Later(Pin<Box<dyn Future<Output = T> + Send>>),
}

impl<T: Send + 'static> Delayed<T> {
    pub async fn wait(self) -> T {
        match self {
            Delayed::Ready(t) => t,
            Delayed::Later(f) => f.await,
        }
    }

    pub fn map<U: Send + 'static>(self, f: impl FnOnce(T) -> U + Send + 'static) -> Delayed<U> {
        match self {
            Delayed::Ready(t) => Delayed::Ready(f(t)),
            Delayed::Later(fut) => Delayed::Later(Box::pin(async move { f(fut.await) })),
        }
    }
}

/// Purge dead entries of a key once its list is this long.
const PURGE_THRESHOLD: usize = 64;

/// One purgatory (Kafka has one per kind of operation: `Produce`, `Fetch`, ...).
pub struct DelayedOperationPurgatory {
    name: &'static str,
    watchers: Mutex<HashMap<TopicPartition, Vec<Weak<Notify>>>>,
}

impl DelayedOperationPurgatory {
    pub fn new(name: &'static str) -> DelayedOperationPurgatory {
        DelayedOperationPurgatory { name, watchers: Mutex::new(HashMap::new()) }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Vec<Weak<Notify>>>> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn watch(&self, keys: &[TopicPartition], waiter: &Arc<Notify>) {
        let mut watchers = self.lock();
        for key in keys {
            let list = watchers.entry(key.clone()).or_default();
            if list.len() >= PURGE_THRESHOLD {
                list.retain(|w| w.strong_count() > 0);
            }
            list.push(Arc::downgrade(waiter));
        }
    }

    /// `tryCompleteElseWatch`: completes `op` now if it can; otherwise the answer comes once a
    /// change to one of its keys lets it complete, or at `deadline`.
    pub fn try_complete_else_watch<Op: DelayedOperation>(self: &Arc<Self>, mut op: Op, deadline: Instant) -> Delayed<Op::Result> {
        if op.try_complete() {
            return Delayed::Ready(op.on_complete());
        }
        let purgatory = Arc::clone(self);
        Delayed::Later(Box::pin(async move {
            let keys = op.keys();
            loop {
                // Register before trying, so a change in between still wakes us.
                let waiter = Arc::new(Notify::new());
                purgatory.watch(&keys, &waiter);
                if op.try_complete() {
                    return op.on_complete();
                }
                tokio::select! {
                    _ = waiter.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => {
                        return if op.try_complete() { op.on_complete() } else { op.on_expiration() };
                    }
                }
            }
        }))
    }

    /// `checkAndComplete`: something changed `key`; every operation watching it tries again.
    pub fn check_and_complete(&self, key: &TopicPartition) {
        let Some(woken) = self.lock().remove(key) else { return };
        for w in woken {
            if let Some(n) = w.upgrade() {
                n.notify_one();
            }
        }
    }

    /// How many operations are parked (live watch entries, counted once per key), Kafka's
    /// `PurgatorySize`-style gauge.
    pub fn watched(&self) -> usize {
        self.lock().values().map(|l| l.iter().filter(|w| w.strong_count() > 0).count()).sum()
    }
}

/// The purgatories a partition's changes complete (Kafka's `DelayedOperations` in `Partition`).
#[derive(Clone)]
pub struct DelayedOperations {
    pub produce: Arc<DelayedOperationPurgatory>,
    pub fetch: Arc<DelayedOperationPurgatory>,
}

impl Default for DelayedOperations {
    fn default() -> DelayedOperations {
        DelayedOperations { produce: Arc::new(DelayedOperationPurgatory::new("Produce")), fetch: Arc::new(DelayedOperationPurgatory::new("Fetch")) }
    }
}

impl DelayedOperations {
    pub fn check_and_complete_all(&self, tp: &TopicPartition) {
        self.produce.check_and_complete(tp);
        self.fetch.check_and_complete(tp);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use super::*;

    /// Completes once the shared value reaches `target`.
    struct ReachOffset {
        tp: TopicPartition,
        value: Arc<AtomicI64>,
        target: i64,
    }

    impl DelayedOperation for ReachOffset {
        type Result = &'static str;
        fn keys(&self) -> Vec<TopicPartition> {
            vec![self.tp.clone()]
        }
        fn try_complete(&mut self) -> bool {
            self.value.load(Ordering::Acquire) >= self.target
        }
        fn on_complete(self) -> &'static str {
            "completed"
        }
        fn on_expiration(self) -> &'static str {
            "expired"
        }
    }

    fn op(value: &Arc<AtomicI64>, target: i64) -> ReachOffset {
        ReachOffset { tp: TopicPartition::new("t", 0), value: Arc::clone(value), target }
    }

    #[tokio::test]
    async fn completes_at_once_when_it_can() {
        let purgatory = Arc::new(DelayedOperationPurgatory::new("test"));
        let value = Arc::new(AtomicI64::new(5));
        assert!(matches!(purgatory.try_complete_else_watch(op(&value, 5), Instant::now()), Delayed::Ready("completed")));
        assert_eq!(purgatory.watched(), 0);
    }

    #[tokio::test]
    async fn a_change_to_a_watched_key_completes_it() {
        let purgatory = Arc::new(DelayedOperationPurgatory::new("test"));
        let value = Arc::new(AtomicI64::new(0));
        let pending = purgatory.try_complete_else_watch(op(&value, 5), Instant::now() + Duration::from_secs(600));
        let task = tokio::spawn(pending.wait());
        while purgatory.watched() == 0 {
            tokio::task::yield_now().await;
        }
        // A change to another key does nothing; a change that is not enough re-parks it.
        purgatory.check_and_complete(&TopicPartition::new("t", 1));
        value.store(3, Ordering::Release);
        purgatory.check_and_complete(&TopicPartition::new("t", 0));
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        value.store(5, Ordering::Release);
        purgatory.check_and_complete(&TopicPartition::new("t", 0));
        assert_eq!(tokio::time::timeout(Duration::from_secs(60), task).await.expect("completes").expect("task"), "completed");
    }

    #[tokio::test]
    async fn the_deadline_expires_it_after_a_last_try() {
        let purgatory = Arc::new(DelayedOperationPurgatory::new("test"));
        let value = Arc::new(AtomicI64::new(0));
        let deadline = Instant::now() + Duration::from_millis(50);
        assert_eq!(purgatory.try_complete_else_watch(op(&value, 5), deadline).wait().await, "expired");
        // Reached without anyone calling check_and_complete: the last try still sees it.
        let late = purgatory.try_complete_else_watch(op(&value, 1), Instant::now() + Duration::from_millis(50));
        value.store(1, Ordering::Release);
        assert_eq!(late.wait().await, "completed");
    }
}
