//! An in-memory `__consumer_offsets` and request builders shared by the coordinator tests.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use odradek_coordinator::{GroupConfig, GroupCoordinator, OffsetsLog, OffsetsRecord};

/// The fake log: appends succeed unless `fail_next` says otherwise; appends and reads can be
/// delayed.
#[derive(Default)]
pub struct FakeLog {
    pub partitions: Mutex<HashMap<i32, Vec<OffsetsRecord>>>,
    pub fail_next: Mutex<Option<i16>>,
    pub append_delay: Mutex<Duration>,
    pub read_delay: Mutex<Duration>,
    pub missing_topics: Mutex<HashSet<String>>,
}

impl FakeLog {
    pub fn records(&self, partition: i32) -> Vec<OffsetsRecord> {
        self.partitions
            .lock()
            .unwrap()
            .get(&partition)
            .cloned()
            .unwrap_or_default()
    }
}

impl OffsetsLog for FakeLog {
    fn append(
        &self,
        partition: i32,
        records: Vec<OffsetsRecord>,
        _timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), i16>> + Send>> {
        let result = match self.fail_next.lock().unwrap().take() {
            Some(code) => Err(code),
            None => {
                self.partitions
                    .lock()
                    .unwrap()
                    .entry(partition)
                    .or_default()
                    .extend(records);
                Ok(())
            }
        };
        let delay = *self.append_delay.lock().unwrap();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            result
        })
    }

    fn read(
        &self,
        partition: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<OffsetsRecord>, String>> + Send>> {
        let records = self.records(partition);
        let delay = *self.read_delay.lock().unwrap();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(records)
        })
    }

    fn topic_partition_exists(&self, topic: &str, _partition: i32) -> bool {
        !self.missing_topics.lock().unwrap().contains(topic)
    }
}

pub const GROUP: &str = "my-group";

pub fn config() -> GroupConfig {
    GroupConfig {
        group_initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

/// A coordinator that owns `GROUP`'s partition, loaded.
pub async fn loaded_coordinator(log: &Arc<FakeLog>, config: GroupConfig) -> Arc<GroupCoordinator> {
    let c = GroupCoordinator::new(1, config, log.clone());
    let partition = c.partition_for(GROUP);
    c.on_elected(partition, 0);
    wait_loaded(&c, partition).await;
    c
}

pub async fn wait_loaded(c: &GroupCoordinator, partition: i32) {
    for _ in 0..10_000 {
        if c.is_partition_owned(partition) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("partition {partition} never loaded");
}

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

pub fn join_request(
    group: &str,
    member_id: &str,
    instance: Option<&str>,
    protocols: &[(&str, &str)],
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(s(member_id))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(
            protocols
                .iter()
                .map(|(name, meta)| {
                    JoinGroupRequestProtocol::default()
                        .with_name(s(name))
                        .with_metadata(Bytes::from(meta.to_string()))
                })
                .collect(),
        )
}

/// Spawns a JoinGroup so several can be in flight at once.
pub fn spawn_join(
    c: &Arc<GroupCoordinator>,
    request: JoinGroupRequest,
    version: i16,
    client_id: &str,
) -> tokio::task::JoinHandle<JoinGroupResponse> {
    let c = Arc::clone(c);
    let cid = client_id.to_string();
    tokio::spawn(async move { c.join_group(request, version, &cid, "/127.0.0.1").await })
}

pub fn spawn_sync(
    c: &Arc<GroupCoordinator>,
    request: SyncGroupRequest,
    version: i16,
) -> tokio::task::JoinHandle<SyncGroupResponse> {
    let c = Arc::clone(c);
    tokio::spawn(async move { c.sync_group(request, version).await })
}

pub fn sync_request(
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: &[(&str, &str)],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member_id))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::from(a.to_string()))
                })
                .collect(),
        )
}

pub async fn heartbeat(c: &GroupCoordinator, generation: i32, member_id: &str) -> i16 {
    let request = HeartbeatRequest::default()
        .with_group_id(gid(GROUP))
        .with_generation_id(generation)
        .with_member_id(s(member_id));
    c.heartbeat(request, 3).await.error_code
}

pub fn commit_request(
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &[(&str, i32, i64)],
) -> OffsetCommitRequest {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (topic, partition, offset) in offsets {
        let p = OffsetCommitRequestPartition::default()
            .with_partition_index(*partition)
            .with_committed_offset(*offset)
            .with_committed_metadata(Some(s("meta")));
        match topics.iter_mut().find(|t| t.name.0.as_str() == *topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(topic)))
                    .with_partitions(vec![p]),
            ),
        }
    }
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member_id))
        .with_topics(topics)
}

/// Commits and returns the per-partition errors in request order.
pub async fn commit(
    c: &GroupCoordinator,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &[(&str, i32, i64)],
) -> Vec<i16> {
    let response = c
        .offset_commit(commit_request(group, generation, member_id, offsets), 5)
        .await;
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

/// Fetches (topic, partition) → (offset, error); `None` = all partitions.
pub async fn fetch(
    c: &GroupCoordinator,
    group: &str,
    partitions: Option<&[(&str, i32)]>,
    version: i16,
) -> (i16, Vec<(String, i32, i64, i16)>) {
    let topics = partitions.map(|ps| {
        ps.iter()
            .map(|(t, p)| {
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partition_indexes(vec![*p])
            })
            .collect()
    });
    let response = c
        .offset_fetch(
            OffsetFetchRequest::default()
                .with_group_id(gid(group))
                .with_topics(topics),
            version,
        )
        .await;
    let rows = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.name.0.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.error_code,
                )
            })
        })
        .collect();
    (response.error_code, rows)
}

pub fn describe(
    c: &GroupCoordinator,
    group: &str,
) -> kafka_protocol::messages::describe_groups_response::DescribedGroup {
    let response = c.describe_groups(
        DescribeGroupsRequest::default().with_groups(vec![gid(group)]),
        4,
    );
    response
        .groups
        .into_iter()
        .next()
        .expect("one group described")
}

/// Two dynamic members (v3 JoinGroup, no MEMBER_ID_REQUIRED round) joined and synced; returns
/// (generation, leader id, follower id).
pub async fn stable_pair(c: &Arc<GroupCoordinator>) -> (i32, String, String) {
    let a = spawn_join(
        c,
        join_request(GROUP, "", None, &[("range", "a")]),
        3,
        "client-a",
    );
    let b = spawn_join(
        c,
        join_request(GROUP, "", None, &[("range", "b")]),
        3,
        "client-b",
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!((a.error_code, b.error_code), (0, 0));
    assert_eq!(a.generation_id, b.generation_id);
    let (leader, follower) = if a.leader == a.member_id {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(leader.leader, leader.member_id);
    let generation = leader.generation_id;
    let (lid, fid) = (leader.member_id.to_string(), follower.member_id.to_string());
    let f = spawn_sync(c, sync_request(GROUP, generation, &fid, &[]), 3);
    let l = spawn_sync(
        c,
        sync_request(
            GROUP,
            generation,
            &lid,
            &[(&lid, "for-leader"), (&fid, "for-follower")],
        ),
        3,
    );
    assert_eq!(l.await.unwrap().error_code, 0);
    assert_eq!(f.await.unwrap().error_code, 0);
    (generation, lid, fid)
}
