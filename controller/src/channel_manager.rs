//! `ControllerChannelManager`: one queue and one sending task per live broker, so a slow or dead
//! broker never holds up the controller's event loop or the other brokers (reference §2.2 step 4,
//! "start one request-send thread per live broker").
//!
//! The event loop only enqueues. Each [`BrokerSender`] connects to its broker, sends the queued
//! requests in order and, when the connection fails, reconnects and resends the same request
//! until it succeeds or the broker leaves (its sender is then removed and its queue dropped).
//! A broker that answers with an error code (a stale epoch, say) has *received* the request: that
//! is logged, not retried, as in Kafka.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::{LeaderAndIsrRequest, StopReplicaRequest, UpdateMetadataRequest};
use odradek_client::Connection;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::kafka_controller::ControllerEvent;
use crate::request_batch::{LiveBroker, LEADER_AND_ISR_VERSION, STOP_REPLICA_VERSION, UPDATE_METADATA_VERSION};

/// How long to wait before reconnecting to a broker that could not be reached.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Kafka's `controller.socket.timeout.ms` default (30 s) is far longer than a loopback cluster
/// needs; a request not answered within this is resent on a new connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A control request on a broker's queue.
#[derive(Debug, Clone)]
pub enum ControlRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

/// What a broker answered: the request's error code and, for StopReplica, each partition's.
#[derive(Debug, Clone, Default)]
struct ControlResponse {
    error_code: i16,
    partition_errors: Vec<(String, i32, i16)>,
}

impl ControlRequest {
    fn name(&self) -> &'static str {
        match self {
            ControlRequest::LeaderAndIsr(_) => "LeaderAndIsr",
            ControlRequest::UpdateMetadata(_) => "UpdateMetadata",
            ControlRequest::StopReplica(_) => "StopReplica",
        }
    }

    /// Sends on `conn`; returns the response's error code.
    async fn send(&self, conn: &mut Connection) -> odradek_client::Result<ControlResponse> {
        let error_code = |error_code| ControlResponse { error_code, partition_errors: Vec::new() };
        match self {
            ControlRequest::LeaderAndIsr(r) => Ok(error_code(conn.send(r, LEADER_AND_ISR_VERSION).await?.error_code)),
            ControlRequest::UpdateMetadata(r) => Ok(error_code(conn.send(r, UPDATE_METADATA_VERSION).await?.error_code)),
            ControlRequest::StopReplica(r) => {
                let response = conn.send(r, STOP_REPLICA_VERSION).await?;
                let partition_errors = response.partition_errors.iter().map(|p| (p.topic_name.0.to_string(), p.partition_index, p.error_code)).collect();
                Ok(ControlResponse { error_code: response.error_code, partition_errors })
            }
        }
    }

    /// StopReplica with deletion: its answer goes back to the controller's event loop
    /// (`TopicDeletionStopReplicaResponseReceived`).
    fn reports_back(&self) -> bool {
        matches!(self, ControlRequest::StopReplica(r) if r.topic_states.iter().any(|t| t.partition_states.iter().any(|p| p.delete_partition)))
    }
}

/// The queue and sending task of one broker.
struct BrokerSender {
    broker: LiveBroker,
    queue: mpsc::UnboundedSender<ControlRequest>,
    task: JoinHandle<()>,
}

impl BrokerSender {
    fn start(controller_id: i32, broker: LiveBroker, addr: String, events: mpsc::UnboundedSender<ControllerEvent>) -> BrokerSender {
        let (queue, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(send_loop(controller_id, broker.id, addr, rx, events));
        BrokerSender { broker, queue, task }
    }
}

impl Drop for BrokerSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The per-broker senders of an active controller. Dropping it stops every sender.
pub struct ControllerChannelManager {
    controller_id: i32,
    /// `inter.broker.listener.name`: each broker is reached at its endpoint for this listener.
    listener: String,
    senders: BTreeMap<i32, BrokerSender>,
    /// Where answers the controller acts on go (StopReplica for topic deletion).
    events: mpsc::UnboundedSender<ControllerEvent>,
}

impl ControllerChannelManager {
    pub fn new(controller_id: i32, listener: String, events: mpsc::UnboundedSender<ControllerEvent>) -> ControllerChannelManager {
        ControllerChannelManager { controller_id, listener, senders: BTreeMap::new(), events }
    }

    /// Makes the senders match `live`: starts one per new broker, stops those of brokers that
    /// left, and restarts a broker's sender when its registration changed (a new broker epoch
    /// means a new incarnation: requests queued for the old one are dropped).
    pub fn set_live_brokers(&mut self, live: &[LiveBroker]) {
        let wanted: BTreeMap<i32, &LiveBroker> = live.iter().map(|b| (b.id, b)).collect();
        self.senders.retain(|id, sender| {
            let keep = wanted.get(id).is_some_and(|b| **b == sender.broker);
            if !keep {
                info!(broker_id = id, "removing the request sender of broker {id}");
            }
            keep
        });
        for (id, broker) in wanted {
            if self.senders.contains_key(&id) {
                continue;
            }
            // Kafka's `BrokerEndPointNotAvailableException`: a broker that does not advertise the
            // inter-broker listener cannot be sent to (its config disagrees with this one's).
            let Some(endpoint) = broker.endpoint(&self.listener) else {
                warn!(broker_id = id, "broker {id} advertises no endpoint for the inter-broker listener {}; not sending it control requests", self.listener);
                continue;
            };
            let addr = format!("{}:{}", endpoint.host, endpoint.port);
            info!(broker_id = id, broker_epoch = broker.epoch, listener = %self.listener, "starting a request sender to broker {id} at {addr}");
            self.senders.insert(id, BrokerSender::start(self.controller_id, broker.clone(), addr, self.events.clone()));
        }
    }

    /// Enqueues `request` for `broker_id`; a broker without a sender (not live) is skipped.
    pub fn send(&self, broker_id: i32, request: ControlRequest) {
        match self.senders.get(&broker_id) {
            Some(sender) => {
                // The receiver lives as long as the task, which only ends when aborted.
                let _ = sender.queue.send(request);
            }
            None => debug!(broker_id, "not sending {} to broker {broker_id}: not live", request.name()),
        }
    }

    /// The brokers with a sender.
    pub fn brokers(&self) -> Vec<i32> {
        self.senders.keys().copied().collect()
    }
}

/// One broker's sending task: requests in queue order, each retried on a new connection until it
/// gets a response.
async fn send_loop(controller_id: i32, broker_id: i32, addr: String, mut queue: mpsc::UnboundedReceiver<ControlRequest>, events: mpsc::UnboundedSender<ControllerEvent>) {
    let mut conn: Option<Connection> = None;
    while let Some(request) = queue.recv().await {
        loop {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match Connection::connect(addr.as_str()).await {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        debug!(controller_id, broker_id, error = %e, "cannot connect to broker {} at {addr}; retrying", broker_id);
                        tokio::time::sleep(RETRY_BACKOFF).await;
                        continue;
                    }
                },
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, request.send(c)).await {
                Ok(Ok(response)) => {
                    if response.error_code == 0 {
                        debug!(controller_id, broker_id, "{} delivered", request.name());
                    } else {
                        warn!(controller_id, broker_id, error_code = response.error_code, "broker {} answered {} with error code {}", broker_id, request.name(), response.error_code);
                    }
                    if request.reports_back() {
                        let _ = events.send(ControllerEvent::StopReplicaResponse { broker_id, error_code: response.error_code, partitions: response.partition_errors });
                    }
                    break;
                }
                Ok(Err(e)) => {
                    debug!(controller_id, broker_id, error = %e, "sending {} to broker {} failed; reconnecting", request.name(), broker_id);
                }
                Err(_) => {
                    debug!(controller_id, broker_id, "{} to broker {} timed out after {REQUEST_TIMEOUT:?}; reconnecting", request.name(), broker_id);
                }
            }
            conn = None;
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }
}
