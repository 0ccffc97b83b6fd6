//! `AlterIsrManager` (KIP-497, reference §4.3): sends the ISR changes partition leaders propose to
//! the controller as AlterIsr requests and hands each answer back to its partition.
//!
//! Changes queue on a channel; the sender batches whatever is queued into one request to the
//! controller named by the metadata cache, at its `inter.broker.listener.name` endpoint, with
//! this broker's epoch. A change whose partition
//! has since moved to another leader epoch is dropped (the new LeaderAndIsr carries the truth).
//! Unanswered changes (no controller, a lost connection, NOT_CONTROLLER, STALE_BROKER_EPOCH while
//! a new registration propagates) are retried after a short backoff.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::alter_partition_request::{PartitionData, TopicData};
use kafka_protocol::messages::{AlterPartitionRequest, BrokerId};
use odradek_client::Connection;
use odradek_log::TopicPartition;
use odradek_protocol::error_codes as codes;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use odradek_log::now_ms;
use odradek_protocol::topic_name;
use crate::metadata_cache::MetadataCache;
use crate::partition::{IsrChange, IsrChangeOutcome};
use crate::replica_manager::ReplicaManager;

const ALTER_ISR_VERSION: i16 = 0;
const RETRY_BACKOFF: Duration = Duration::from_millis(200);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the sender; `ReplicaManager::submit_isr_change` feeds it.
pub fn start(replica_manager: Arc<ReplicaManager>, metadata_cache: Arc<MetadataCache>, inter_broker_listener: String, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<IsrChange>();
    replica_manager.set_isr_change_sender(tx);
    tokio::spawn(async move {
        let mut pending: BTreeMap<TopicPartition, IsrChange> = BTreeMap::new();
        let mut conn: Option<(i32, Connection)> = None;
        loop {
            if pending.is_empty() {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    change = rx.recv() => match change {
                        Some(c) => { pending.insert(c.tp.clone(), c); }
                        None => return,
                    },
                }
            }
            while let Ok(c) = rx.try_recv() {
                pending.insert(c.tp.clone(), c);
            }
            // Drop what no longer matches its partition's leadership.
            pending.retain(|tp, c| replica_manager.get_partition(tp).is_some_and(|p| p.is_leader() && p.leader_epoch() == c.leader_epoch));
            if pending.is_empty() {
                continue;
            }
            match send(&replica_manager, &metadata_cache, &inter_broker_listener, &mut conn, &pending).await {
                Ok(answers) => {
                    for (tp, leader_epoch, outcome) in answers {
                        if matches!(outcome, IsrChangeOutcome::Retry) {
                            continue;
                        }
                        pending.remove(&tp);
                        if let Some(p) = replica_manager.get_partition(&tp) {
                            p.isr_change_completed(leader_epoch, outcome, now_ms());
                        }
                    }
                }
                Err(reason) => {
                    debug!(%reason, changes = pending.len(), "AlterIsr not answered; retrying");
                    conn = None;
                }
            }
            if !pending.is_empty() {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(RETRY_BACKOFF) => {}
                }
            }
        }
    })
}

/// One AlterIsr request with every pending change; the per-partition answers.
async fn send(
    replica_manager: &ReplicaManager,
    metadata_cache: &MetadataCache,
    listener: &str,
    conn: &mut Option<(i32, Connection)>,
    pending: &BTreeMap<TopicPartition, IsrChange>,
) -> Result<Vec<(TopicPartition, i32, IsrChangeOutcome)>, String> {
    let snapshot = metadata_cache.snapshot();
    let controller = snapshot.controller_id;
    let Some(endpoint) = snapshot.alive_node(controller, listener) else {
        return Err(format!("no live controller with listener {listener} known (controller id {controller})"));
    };
    if conn.as_ref().is_none_or(|(id, _)| *id != controller) {
        let addr = format!("{}:{}", endpoint.host, endpoint.port);
        let c = tokio::time::timeout(REQUEST_TIMEOUT, Connection::connect(addr.as_str())).await.map_err(|_| format!("connecting to {addr} timed out"))?.map_err(|e| e.to_string())?;
        *conn = Some((controller, c));
    }
    let Some((_, c)) = conn.as_mut() else { return Err("no connection".to_string()) };
    let mut topics: BTreeMap<&str, Vec<PartitionData>> = BTreeMap::new();
    for change in pending.values() {
        topics.entry(change.tp.topic.as_str()).or_default().push(
            PartitionData::default()
                .with_partition_index(change.tp.partition)
                .with_leader_epoch(change.leader_epoch)
                .with_new_isr(change.new_isr.iter().copied().map(BrokerId).collect())
                .with_partition_epoch(change.zk_version),
        );
    }
    let request = AlterPartitionRequest::default()
        .with_broker_id(BrokerId(replica_manager.broker_id()))
        .with_broker_epoch(replica_manager.broker_epoch())
        .with_topics(topics.into_iter().map(|(t, ps)| TopicData::default().with_topic_name(topic_name(t)).with_partitions(ps)).collect());
    let response = tokio::time::timeout(REQUEST_TIMEOUT, c.send(&request, ALTER_ISR_VERSION)).await.map_err(|_| "AlterIsr timed out".to_string())?.map_err(|e| e.to_string())?;
    if response.error_code != codes::NONE {
        return Err(format!("controller {controller} answered AlterIsr with error code {}", response.error_code));
    }
    let mut answers = Vec::new();
    for topic in &response.topics {
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.topic_name.0.as_str(), p.partition_index);
            let Some(change) = pending.get(&tp) else { continue };
            let outcome = match p.error_code {
                codes::NONE => IsrChangeOutcome::Committed { leader_epoch: p.leader_epoch, isr: p.isr.iter().map(|b| b.0).collect(), zk_version: p.partition_epoch },
                codes::FENCED_LEADER_EPOCH | codes::INVALID_UPDATE_VERSION | codes::UNKNOWN_TOPIC_OR_PARTITION | codes::INVALID_REQUEST => {
                    warn!(partition = %tp, error_code = p.error_code, "the controller refused an ISR change");
                    IsrChangeOutcome::Refused(p.error_code)
                }
                _ => IsrChangeOutcome::Retry,
            };
            answers.push((tp, change.leader_epoch, outcome));
        }
    }
    Ok(answers)
}
