//! The project's own producer: one record per Produce (acks=all) over `odradek-client`, to the
//! leader the last Metadata named, retried a bounded number of times. A lane per partition, each
//! with one request in flight: a partition without a leader stalls only its own lane, as in a
//! Kafka producer (per-partition batches), and a partition's writes stay in send order.
//!
//! Each send's outcome is recorded as the checker needs it. The rule for retries: once a Produce
//! request has left for a broker and no answer proves it was not appended (a timeout, a dropped
//! connection, an error Kafka also returns after appending), the send can at best end
//! *indeterminate*, whatever later attempts say; it is *failed* only if no attempt could have
//! written it; *acked* at the offset of the attempt that succeeded (an earlier attempt may have
//! written a duplicate, which is why the number of requests is recorded too).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::history::{produce_error_is_definite, Outcome, SendRecord};
use super::leaders::{connect, LeaderCache};
use crate::wire;

/// The broker's wait for acks=all (Produce `timeout_ms`).
pub const PRODUCE_TIMEOUT_MS: i32 = 5_000;
/// The client's wait for a Produce response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// How long one send may keep retrying before it gives up.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// One wire producer of a run.
#[derive(Debug, Clone)]
pub struct WireProducerSpec {
    /// `r<n>`; values are `r<n>-<seq>`.
    pub name: String,
    pub topic: String,
    pub partitions: i32,
    pub bootstrap: Vec<SocketAddr>,
    /// Sends per second, over all partitions.
    pub rate: u32,
}

/// Sends until `stop` turns true (each lane finishes the send under way first) and returns every
/// send. Sequence numbers are drawn from one counter, so a lane's sends keep their order; each
/// lane sends `rate / partitions` per second. Times are measured from `clock`.
pub async fn run_wire_producer(
    spec: WireProducerSpec,
    clock: Instant,
    stop: watch::Receiver<bool>,
) -> Vec<SendRecord> {
    let next_seq = Arc::new(AtomicU64::new(0));
    let mut lanes = JoinSet::new();
    for partition in 0..spec.partitions {
        lanes.spawn(run_lane(
            spec.clone(),
            partition,
            next_seq.clone(),
            clock,
            stop.clone(),
        ));
    }
    let mut sends = Vec::new();
    while let Some(lane) = lanes.join_next().await {
        match lane {
            Ok(lane_sends) => sends.extend(lane_sends),
            // A lost lane would leave its values unexplained: fail the run loudly instead.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a lane of producer {} was cancelled: {e}", spec.name),
        }
    }
    sends.sort_by_key(|s| s.seq);
    sends
}

async fn run_lane(
    spec: WireProducerSpec,
    partition: i32,
    next_seq: Arc<AtomicU64>,
    clock: Instant,
    mut stop: watch::Receiver<bool>,
) -> Vec<SendRecord> {
    let mut leaders = LeaderCache::new(&spec.topic, &spec.bootstrap);
    let mut conn: Option<(i32, Connection)> = None;
    let period =
        Duration::from_secs_f64(f64::from(spec.partitions.max(1)) / f64::from(spec.rate.max(1)));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sends = Vec::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        if *stop.borrow() {
            break;
        }
        let seq = next_seq.fetch_add(1, Ordering::Relaxed);
        let value = format!("{}-{seq}", spec.name);
        let (requests, outcome) =
            send_one(&spec.topic, partition, &value, &mut leaders, &mut conn).await;
        sends.push(SendRecord {
            producer: spec.name.clone(),
            seq,
            value,
            partition,
            requests: Some(requests),
            ordered: true,
            outcome,
            completed_at: clock.elapsed(),
        });
    }
    sends
}

/// One send with its retries: returns how many Produce requests left and the outcome.
async fn send_one(
    topic: &str,
    partition: i32,
    value: &str,
    leaders: &mut LeaderCache,
    conn: &mut Option<(i32, Connection)>,
) -> (u32, Outcome) {
    let deadline = Instant::now() + SEND_DEADLINE;
    let mut backoff = BACKOFF_MIN;
    let mut requests = 0;
    let mut maybe_written = false;
    let mut last_error = String::from("no attempt");
    loop {
        if Instant::now() + backoff >= deadline {
            let error = format!("gave up after {requests} requests: {last_error}");
            let outcome = if maybe_written {
                Outcome::Indeterminate { error }
            } else {
                Outcome::Failed { error }
            };
            return (requests, outcome);
        }
        match attempt(topic, partition, value, leaders, conn, &mut requests).await {
            Ok(offset) => return (requests, Outcome::Acked { offset }),
            Err(Attempt::NotSent(error)) => last_error = error,
            Err(Attempt::Refused(code)) => {
                last_error = format!("error code {code}");
                maybe_written |= !produce_error_is_definite(code);
            }
            Err(Attempt::Unknown(error)) => {
                last_error = error;
                maybe_written = true;
                *conn = None;
            }
        }
        leaders.forget(partition);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Why one attempt did not end in an ack.
enum Attempt {
    /// Nothing reached a broker (no leader known, no connection).
    NotSent(String),
    /// The leader answered with this error code.
    Refused(i16),
    /// The request left; what happened to it is unknown.
    Unknown(String),
}

async fn attempt(
    topic: &str,
    partition: i32,
    value: &str,
    leaders: &mut LeaderCache,
    conn: &mut Option<(i32, Connection)>,
    requests: &mut u32,
) -> Result<i64, Attempt> {
    if leaders.leader(partition).is_none() && !leaders.refresh(partition).await {
        return Err(Attempt::NotSent(format!(
            "no broker named a leader for partition {partition}"
        )));
    }
    let leader = leaders
        .leader(partition)
        .ok_or_else(|| Attempt::NotSent(format!("no leader for partition {partition}")))?;
    if conn.as_ref().is_none_or(|(id, _)| *id != leader.id) {
        *conn = Some((
            leader.id,
            connect(leader.addr)
                .await
                .map_err(|e| Attempt::NotSent(format!("{e:#}")))?,
        ));
    }
    let Some((_, connection)) = conn.as_mut() else {
        return Err(Attempt::NotSent("no connection".into()));
    };
    let batch = wire::encode_batch(
        &[(None, Some(Bytes::from(value.to_string())))],
        Compression::None,
    )
    .map_err(|e| Attempt::NotSent(format!("{e:#}")))?;
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(PRODUCE_TIMEOUT_MS)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch))])]);
    *requests += 1;
    let response = match tokio::time::timeout(
        REQUEST_TIMEOUT,
        connection.send(&request, wire::PRODUCE_VERSION),
    )
    .await
    {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            return Err(Attempt::Unknown(format!(
                "Produce to broker {}: {e}",
                leader.id
            )))
        }
        Err(_) => {
            return Err(Attempt::Unknown(format!(
                "Produce to broker {} timed out after {REQUEST_TIMEOUT:?}",
                leader.id
            )))
        }
    };
    let answer = response
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition);
    match answer {
        Some(p) if p.error_code == 0 => Ok(p.base_offset),
        Some(p) => Err(Attempt::Refused(p.error_code)),
        None => Err(Attempt::Unknown(format!(
            "broker {}'s Produce response has no entry for partition {partition}",
            leader.id
        ))),
    }
}
