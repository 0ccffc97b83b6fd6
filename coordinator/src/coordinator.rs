//! `GroupCoordinator`: the object the broker's API layer calls, and the plumbing every handler shares.
//!
//! Each handler (one file per API under `api/`) takes the manager lock, decides synchronously, and
//! either answers at once or parks a oneshot channel on the member (a rebalance waiting for other
//! members, a SyncGroup waiting for the leader's assignment to be persisted) and awaits it with the
//! lock released. Timers (session expiry, join-phase deadlines, pending-member expiry) are tokio tasks
//! holding only a `Weak` back-reference and the ids of what they guard; when they fire they re-take
//! the lock and do nothing if the group, member or timer epoch has moved on. `shutdown` wakes them all.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use odradek_protocol::error_codes as ec;
use tokio::sync::{oneshot, watch};

use crate::config::GroupConfig;
use crate::group::GroupMetadata;
use crate::manager::{GroupMetadataManager, PartitionState};
use crate::offsets_log::{OffsetsLog, OffsetsRecord};
use crate::partitioner;

/// How long a member that joined but never completed a join phase may stay (Kafka's `NewMemberJoinTimeoutMs`).
pub(crate) const NEW_MEMBER_JOIN_TIMEOUT_MS: i32 = 300_000;

/// An answer now, or a channel the answer will arrive on.
pub(crate) enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// Kafka's group coordinator for the `__consumer_offsets` partitions this broker leads.
pub struct GroupCoordinator {
    pub(crate) broker_id: i32,
    pub(crate) config: GroupConfig,
    pub(crate) log: Arc<dyn OffsetsLog>,
    manager: Mutex<GroupMetadataManager>,
    active: AtomicBool,
    expiry_started: AtomicBool,
    timer_ids: AtomicU64,
    me: Weak<GroupCoordinator>,
    shutdown: watch::Sender<bool>,
    /// Wall clock at construction plus tokio's (pausable) monotonic clock since then.
    clock_base_ms: i64,
    clock_base: tokio::time::Instant,
}

impl GroupCoordinator {
    pub fn new(
        broker_id: i32,
        config: GroupConfig,
        log: Arc<dyn OffsetsLog>,
    ) -> Arc<GroupCoordinator> {
        let clock_base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let (shutdown, _) = watch::channel(false);
        Arc::new_cyclic(|me| GroupCoordinator {
            broker_id,
            config,
            log,
            manager: Mutex::new(GroupMetadataManager::default()),
            active: AtomicBool::new(true),
            expiry_started: AtomicBool::new(false),
            timer_ids: AtomicU64::new(0),
            me: me.clone(),
            shutdown,
            clock_base_ms,
            clock_base: tokio::time::Instant::now(),
        })
    }

    /// Kafka's partitionFor: Utils.abs(java String.hashCode(group_id)) % offsets_topic_num_partitions.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        partitioner::partition_for(group_id, self.config.offsets_topic_num_partitions)
    }

    /// The broker id this coordinator was created for.
    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// Whether `partition` of `__consumer_offsets` is loaded and served here.
    pub fn is_partition_owned(&self, partition: i32) -> bool {
        self.lock().partition_state(partition) == Some(PartitionState::Owned)
    }

    /// Whether `partition` of `__consumer_offsets` is still being loaded.
    pub fn is_partition_loading(&self, partition: i32) -> bool {
        matches!(
            self.lock().partition_state(partition),
            Some(PartitionState::Loading { .. })
        )
    }

    /// Stops timers and background tasks (broker shutdown).
    pub fn shutdown(&self) {
        self.active.store(false, Ordering::SeqCst);
        self.shutdown.send_replace(true);
        let mut mgr = self.lock();
        let now = self.now_ms();
        for (_, mut group) in mgr.groups.drain() {
            crate::loader::mark_unloaded(&mut group, now);
        }
        tracing::info!(broker = self.broker_id, "group coordinator shut down");
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, GroupMetadataManager> {
        self.manager
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Milliseconds since the epoch, advancing with tokio's clock (so paused-time tests see it move).
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock_base_ms + self.clock_base.elapsed().as_millis() as i64
    }

    pub(crate) fn next_timer_id(&self) -> u64 {
        self.timer_ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn commit_timeout(&self) -> Duration {
        Duration::from_millis(self.config.offsets_commit_timeout_ms.max(0) as u64)
    }

    pub(crate) fn arc(&self) -> Option<Arc<GroupCoordinator>> {
        self.me.upgrade()
    }

    /// Kafka's `validateGroupStatus`: the errors every group request checks before anything else.
    /// `allow_empty_id` is true for OffsetCommit, OffsetFetch, DescribeGroups and DeleteGroups.
    pub(crate) fn validate_group_status(
        &self,
        mgr: &GroupMetadataManager,
        group_id: &str,
        allow_empty_id: bool,
    ) -> Option<i16> {
        if !allow_empty_id && group_id.is_empty() {
            return Some(ec::INVALID_GROUP_ID);
        }
        if !self.is_active() {
            return Some(ec::COORDINATOR_NOT_AVAILABLE);
        }
        match mgr.partition_state(self.partition_for(group_id)) {
            Some(PartitionState::Loading { .. }) => Some(ec::COORDINATOR_LOAD_IN_PROGRESS),
            Some(PartitionState::Owned) => None,
            None => Some(ec::NOT_COORDINATOR),
        }
    }

    /// Runs `task` on the current tokio runtime (logs if there is none).
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(task);
            }
            Err(_) => tracing::error!(
                broker = self.broker_id,
                "group coordinator used outside a tokio runtime"
            ),
        }
    }

    /// Calls `fire` after `delay` unless the coordinator shuts down first.
    pub(crate) fn spawn_timer<F>(&self, delay: Duration, fire: F)
    where
        F: FnOnce(&GroupCoordinator) + Send + 'static,
    {
        let me = self.me.clone();
        let mut shutdown = self.shutdown.subscribe();
        self.spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {
                    if let Some(coordinator) = me.upgrade() {
                        fire(&coordinator);
                    }
                }
                _ = shutdown.wait_for(|stopped| *stopped) => {}
            }
        });
    }

    /// Sleeps `delay`; false if the coordinator shut down meanwhile.
    pub(crate) async fn sleep_unless_shutdown(&self, delay: Duration) -> bool {
        let mut shutdown = self.shutdown.subscribe();
        let stopped = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = shutdown.wait_for(|stopped| *stopped) => true,
        };
        !stopped && !*self.shutdown.borrow()
    }

    /// Appends with the commit timeout; returns the raw Kafka error code of a failure.
    pub(crate) async fn append(
        &self,
        partition: i32,
        records: Vec<OffsetsRecord>,
    ) -> Result<(), i16> {
        let timeout = self.commit_timeout();
        // The broker honours the timeout; the margin only guards against a fake or buggy log.
        match tokio::time::timeout(
            timeout + Duration::from_secs(1),
            self.log.append(partition, records, timeout),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(ec::REQUEST_TIMED_OUT),
        }
    }

    /// Starts the offset expiry task once (it needs a runtime, which `new` may not have).
    pub(crate) fn ensure_expiry_task(&self) {
        if self.expiry_started.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(me) = self.arc() {
            self.spawn(crate::expiry::run(Arc::downgrade(&me)));
        }
    }

    /// Arms `member_id`'s session timer for `timeout_ms` (Kafka's `completeAndScheduleNextHeartbeatExpiration`).
    pub(crate) fn schedule_heartbeat(
        &self,
        group: &mut GroupMetadata,
        member_id: &str,
        timeout_ms: i32,
    ) {
        let Some(member) = group.members.get_mut(member_id) else {
            return;
        };
        let epoch = self.next_timer_id();
        member.heartbeat_epoch = epoch;
        let (group_id, incarnation, member_id) = (
            group.group_id.clone(),
            group.incarnation,
            member_id.to_string(),
        );
        self.spawn_timer(Duration::from_millis(timeout_ms.max(0) as u64), move |c| {
            c.on_heartbeat_expired(&group_id, incarnation, &member_id, epoch)
        });
    }
}
