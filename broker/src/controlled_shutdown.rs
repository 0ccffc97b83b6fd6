//! The broker's side of controlled shutdown, Kafka's `KafkaServer.controlledShutdown`
//! (reference §2.7): before it stops serving, a broker asks the controller to move the leadership
//! of its partitions elsewhere, so clients switch leaders without waiting for the broker's
//! ZooKeeper session to end.
//!
//! One attempt: read `/controller` and that broker's registration, send ControlledShutdown v3
//! (what a 2.8 broker sends) with this broker's id and current broker epoch. It succeeds when the
//! answer is NONE with no partitions remaining. Otherwise (an error, partitions it could not move
//! yet, no controller, no answer within `controller.socket.timeout.ms`) the broker waits
//! `controlled.shutdown.retry.backoff.ms` and tries again, `controlled.shutdown.max.retries`
//! attempts in all, and then shuts down regardless. Unlike Kafka it does not sleep after the last
//! failed attempt, since nothing follows it.

use std::future::Future;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{BrokerId as WireBrokerId, ControlledShutdownRequest};
use odradek_client::Connection;
use odradek_protocol::error_codes as codes;
use odradek_zk::KafkaZkClient;
use tracing::{info, warn};

use crate::config::KafkaConfig;

/// The version a 2.8 broker sends (inter-broker protocol ≥ 2.4-IV1).
pub const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;

/// `controlled.shutdown.*`, `controller.socket.timeout.ms` and `inter.broker.listener.name`.
#[derive(Debug, Clone)]
pub struct ControlledShutdownSettings {
    pub max_retries: u32,
    pub backoff: Duration,
    pub request_timeout: Duration,
    /// The controller is reached at its endpoint for this listener.
    pub inter_broker_listener_name: String,
}

impl ControlledShutdownSettings {
    pub fn from_config(config: &KafkaConfig) -> ControlledShutdownSettings {
        ControlledShutdownSettings {
            max_retries: config.controlled_shutdown_max_retries,
            backoff: Duration::from_millis(config.controlled_shutdown_retry_backoff_ms),
            request_timeout: Duration::from_millis(config.controller_socket_timeout_ms),
            inter_broker_listener_name: config.inter_broker_listener_name.clone(),
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// NONE, and no partition left to move: done.
    Succeeded,
    /// The controller refused (STALE_CONTROLLER_EPOCH, STALE_BROKER_EPOCH, ...).
    Refused(i16),
    /// The controller still names partitions this broker leads.
    PartitionsRemaining(Vec<(String, i32)>),
    /// No controller to ask, or it did not answer.
    Unreachable(String),
}

/// Asks the controller until it succeeds or the attempts run out; true on success.
/// `broker_epoch` is read before every attempt (a re-registration changes it).
pub async fn controlled_shutdown(zk: &KafkaZkClient, broker_id: i32, broker_epoch: impl Fn() -> i64, settings: ControlledShutdownSettings) -> bool {
    info!(broker_id, "starting controlled shutdown");
    let (timeout, listener) = (settings.request_timeout, settings.inter_broker_listener_name.as_str());
    let succeeded = retry(settings.max_retries, settings.backoff, |n| {
        let epoch = broker_epoch();
        async move {
            let started = Instant::now();
            let outcome = attempt(zk, broker_id, epoch, listener, timeout).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &outcome {
                Attempt::Succeeded => info!(attempt = n, elapsed_ms, "controlled shutdown request returned successfully"),
                Attempt::Refused(code) => info!(attempt = n, elapsed_ms, error_code = code, "controlled shutdown request returned with an error"),
                Attempt::PartitionsRemaining(left) => {
                    info!(attempt = n, elapsed_ms, "controlled shutdown request returned with partitions remaining to move: {left:?}")
                }
                Attempt::Unreachable(why) => warn!(attempt = n, elapsed_ms, "error during controlled shutdown: {why}"),
            }
            outcome
        }
    })
    .await;
    if !succeeded {
        warn!(broker_id, "proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    }
    succeeded
}

/// Runs `attempt(1..=max)` until one succeeds, pausing `backoff` between failures.
async fn retry<F, Fut>(max: u32, backoff: Duration, mut attempt: F) -> bool
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt>,
{
    for n in 1..=max {
        if attempt(n).await == Attempt::Succeeded {
            return true;
        }
        if n < max {
            tokio::time::sleep(backoff).await;
            warn!(attempt = n + 1, "retrying controlled shutdown after the previous attempt failed");
        }
    }
    false
}

/// One attempt, ZooKeeper reads included, bounded by `timeout` (a ZooKeeper client waiting out a
/// lost connection must not hold the shutdown forever).
async fn attempt(zk: &KafkaZkClient, broker_id: i32, broker_epoch: i64, listener: &str, timeout: Duration) -> Attempt {
    match tokio::time::timeout(timeout, ask_controller(zk, broker_id, broker_epoch, listener)).await {
        Ok(outcome) => outcome,
        Err(_) => Attempt::Unreachable(format!("no answer within {timeout:?} (controller.socket.timeout.ms)")),
    }
}

/// One ControlledShutdown round trip to whoever `/controller` names, at its inter-broker endpoint.
async fn ask_controller(zk: &KafkaZkClient, broker_id: i32, broker_epoch: i64, listener: &str) -> Attempt {
    let controller = match zk.get_controller_id().await {
        Ok(Some(id)) => id,
        Ok(None) => return Attempt::Unreachable("no controller present in ZooKeeper".to_string()),
        Err(e) => return Attempt::Unreachable(format!("cannot read /controller: {e}")),
    };
    let info = match zk.get_broker_and_epoch(controller).await {
        Ok(Some((info, _))) => info,
        Ok(None) => return Attempt::Unreachable(format!("broker registration for controller {controller} is not available in ZooKeeper")),
        Err(e) => return Attempt::Unreachable(format!("cannot read the registration of controller {controller}: {e}")),
    };
    let Some(endpoint) = info.endpoint(listener) else {
        return Attempt::Unreachable(format!("controller {controller} advertises no endpoint for listener {listener}"));
    };
    let host = if endpoint.host.is_empty() { "localhost" } else { endpoint.host.as_str() };
    let addr = format!("{host}:{}", endpoint.port);
    let request = ControlledShutdownRequest::default().with_broker_id(WireBrokerId(broker_id)).with_broker_epoch(broker_epoch);
    let exchange = async {
        let mut conn = Connection::connect(addr.as_str()).await?;
        conn.send(&request, CONTROLLED_SHUTDOWN_VERSION).await
    };
    match exchange.await {
        Err(e) => Attempt::Unreachable(format!("controller {controller} at {addr}: {e}")),
        Ok(response) => classify(
            response.error_code,
            response.remaining_partitions.iter().map(|p| (p.topic_name.0.to_string(), p.partition_index)).collect(),
        ),
    }
}

/// `doControlledShutdown`'s reading of a response.
fn classify(error_code: i16, remaining: Vec<(String, i32)>) -> Attempt {
    if error_code != codes::NONE {
        Attempt::Refused(error_code)
    } else if !remaining.is_empty() {
        Attempt::PartitionsRemaining(remaining)
    } else {
        Attempt::Succeeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn success_needs_no_error_and_nothing_left() {
        assert_eq!(classify(0, vec![]), Attempt::Succeeded);
        assert_eq!(classify(11, vec![]), Attempt::Refused(11));
        assert_eq!(classify(0, vec![("t".into(), 0)]), Attempt::PartitionsRemaining(vec![("t".into(), 0)]));
    }

    #[tokio::test]
    async fn retries_up_to_the_limit_with_the_backoff_between() {
        let calls = Cell::new(0);
        let started = tokio::time::Instant::now();
        let ok = retry(3, Duration::from_millis(40), |_| {
            calls.set(calls.get() + 1);
            async { Attempt::Refused(codes::STALE_CONTROLLER_EPOCH) }
        })
        .await;
        assert!(!ok);
        assert_eq!(calls.get(), 3, "max.retries attempts in all");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(80) && waited < Duration::from_millis(120 + 500), "two pauses, none after the last: {waited:?}");

        let calls = Cell::new(0);
        let ok = retry(3, Duration::from_millis(1), |n| {
            calls.set(calls.get() + 1);
            async move { if n == 2 { Attempt::Succeeded } else { Attempt::PartitionsRemaining(vec![("t".into(), 1)]) } }
        })
        .await;
        assert!(ok);
        assert_eq!(calls.get(), 2, "stops at the first success");
        assert!(!retry(0, Duration::ZERO, |_| async { Attempt::Succeeded }).await, "zero retries: no attempt");
    }
}
