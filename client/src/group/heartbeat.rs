//! The heartbeat task: Kafka's `AbstractCoordinator.HeartbeatThread`. A member proves it is alive
//! by sending Heartbeat every `heartbeat.interval.ms` (3 s); the coordinator expires it after
//! `session.timeout.ms` (10 s in 2.8) without one. Heartbeats also carry news back: a rebalance
//! has started (REBALANCE_IN_PROGRESS), or the member's generation is gone (ILLEGAL_GENERATION,
//! UNKNOWN_MEMBER_ID). The task cannot rejoin by itself, because rejoining means giving up the
//! partitions the consumer is processing; it raises a flag the consume loop reads between fetches.
//!
//! It runs on its own connection so that a long Fetch or a parked JoinGroup on the member's
//! connection never delays it. Heartbeats pause while the member has no generation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::HeartbeatRequest;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::coordinator::{is_coordinator_error, BrokerConnection, REQUEST_TIMEOUT};

/// A member's generation: what heartbeats and commits must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub generation_id: i32,
    pub member_id: String,
}

/// What the member and its heartbeat task share.
#[derive(Debug, Default)]
pub struct HeartbeatState {
    /// `None` while joining: no heartbeats then.
    pub generation: Mutex<Option<Generation>>,
    /// Set by the task when the member must rejoin; cleared by the member when it does.
    pub rejoin_needed: AtomicBool,
    /// Set with `rejoin_needed` when the coordinator moved or failed.
    pub coordinator_lost: AtomicBool,
}

impl HeartbeatState {
    pub fn generation(&self) -> Option<Generation> {
        self.generation.lock().map(|g| g.clone()).unwrap_or(None)
    }

    pub fn set_generation(&self, generation: Option<Generation>) {
        if let Ok(mut current) = self.generation.lock() {
            *current = generation;
        }
    }
}

/// A running heartbeat task; stopped when dropped.
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Heartbeat {
    /// Starts heartbeating `group` at `coordinator` every `interval`.
    pub fn start(
        coordinator: String,
        client_id: String,
        group: String,
        interval: Duration,
        state: Arc<HeartbeatState>,
    ) -> Heartbeat {
        let task = tokio::spawn(run(coordinator, client_id, group, interval, state));
        Heartbeat { task }
    }
}

async fn run(
    coordinator: String,
    client_id: String,
    group: String,
    interval: Duration,
    state: Arc<HeartbeatState>,
) {
    let mut conn: Option<BrokerConnection> = None;
    loop {
        tokio::time::sleep(interval).await;
        let Some(generation) = state.generation() else {
            continue;
        };
        if conn.is_none() {
            conn = BrokerConnection::connect(&coordinator, &client_id)
                .await
                .ok();
        }
        let Some(broker) = conn.as_mut() else {
            // Unreachable coordinator: find it again.
            flag(&state, true);
            continue;
        };
        match send(broker, &group, &generation).await {
            Ok(0) => {}
            Ok(code) if code == ResponseError::RebalanceInProgress.code() => flag(&state, false),
            Ok(code) if is_coordinator_error(code) => flag(&state, true),
            Ok(_) => {
                // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID...: the generation
                // is gone, so commits under it would be refused too.
                state.set_generation(None);
                flag(&state, false);
            }
            Err(_) => {
                conn = None;
                flag(&state, true);
            }
        }
    }
}

fn flag(state: &HeartbeatState, coordinator_lost: bool) {
    if coordinator_lost {
        state.coordinator_lost.store(true, Ordering::SeqCst);
    }
    state.rejoin_needed.store(true, Ordering::SeqCst);
}

async fn send(
    broker: &mut BrokerConnection,
    group: &str,
    generation: &Generation,
) -> Result<i16, super::GroupError> {
    let version = broker.version::<HeartbeatRequest>(0..=4, "Heartbeat")?;
    let request = HeartbeatRequest::default()
        .with_group_id(super::group_id(group))
        .with_generation_id(generation.generation_id)
        .with_member_id(StrBytes::from_string(generation.member_id.clone()));
    Ok(broker
        .send(&request, version, "Heartbeat", REQUEST_TIMEOUT)
        .await?
        .error_code)
}
