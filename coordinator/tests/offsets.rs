//! OffsetCommit / OffsetFetch, standalone commits, expiry, and loading after a failover.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use odradek_coordinator::records::{self, RecordKey};
use odradek_coordinator::{GroupConfig, GroupCoordinator};
use odradek_protocol::error_codes as ec;

#[tokio::test(start_paused = true)]
async fn group_member_commits_and_fetches() {
    let log = Arc::new(FakeLog::default());
    log.missing_topics.lock().unwrap().insert("gone".into());
    let c = loaded_coordinator(&log, config()).await;
    let (generation, lid, fid) = stable_pair(&c).await;
    assert_eq!(
        commit(
            &c,
            GROUP,
            generation,
            &lid,
            &[("t", 0, 42), ("t", 1, 7), ("gone", 0, 1)]
        )
        .await,
        vec![0, 0, ec::UNKNOWN_TOPIC_OR_PARTITION]
    );
    let (error, rows) = fetch(&c, GROUP, Some(&[("t", 0), ("t", 1), ("t", 2)]), 5).await;
    assert_eq!(error, ec::NONE);
    assert_eq!(
        rows,
        vec![
            ("t".into(), 0, 42, 0),
            ("t".into(), 1, 7, 0),
            ("t".into(), 2, -1, 0)
        ]
    );
    // Null topics (v2+) = everything the group committed.
    let (_, all) = fetch(&c, GROUP, None, 2).await;
    assert_eq!(
        all.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![(0, 42), (1, 7)]
    );
    // A zombie from an older generation, an unknown member, and oversized metadata.
    assert_eq!(
        commit(&c, GROUP, generation - 1, &fid, &[("t", 0, 1)]).await,
        vec![ec::ILLEGAL_GENERATION]
    );
    assert_eq!(
        commit(&c, GROUP, generation, "nobody", &[("t", 0, 1)]).await,
        vec![ec::UNKNOWN_MEMBER_ID]
    );
    let mut big = commit_request(GROUP, generation, &fid, &[("t", 0, 99)]);
    big.topics[0].partitions[0].committed_metadata = Some(s(&"x".repeat(4097)));
    let response = c.offset_commit(big, 5).await;
    assert_eq!(
        response.topics[0].partitions[0].error_code,
        ec::OFFSET_METADATA_TOO_LARGE
    );
    assert_eq!(
        fetch(&c, GROUP, Some(&[("t", 0)]), 5).await.1[0].2,
        42,
        "rejected commits change nothing"
    );
    // Append failures map to Kafka's commit errors and leave the cache alone.
    *log.fail_next.lock().unwrap() = Some(ec::MESSAGE_TOO_LARGE);
    assert_eq!(
        commit(&c, GROUP, generation, &fid, &[("t", 0, 100)]).await,
        vec![ec::INVALID_COMMIT_OFFSET_SIZE]
    );
    *log.fail_next.lock().unwrap() = Some(ec::NOT_ENOUGH_REPLICAS);
    assert_eq!(
        commit(&c, GROUP, generation, &fid, &[("t", 0, 100)]).await,
        vec![ec::COORDINATOR_NOT_AVAILABLE]
    );
    assert_eq!(fetch(&c, GROUP, Some(&[("t", 0)]), 5).await.1[0].2, 42);
    // During CompletingRebalance commits are refused.
    let _rejoin = spawn_join(
        &c,
        join_request(GROUP, &lid, None, &[("range", "a")]),
        3,
        "client-a",
    );
    let _rejoin_f = spawn_join(
        &c,
        join_request(GROUP, &fid, None, &[("range", "b")]),
        3,
        "client-b",
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        describe(&c, GROUP).group_state.as_str(),
        "CompletingRebalance"
    );
    assert_eq!(
        commit(&c, GROUP, generation + 1, &fid, &[("t", 0, 1)]).await,
        vec![ec::REBALANCE_IN_PROGRESS]
    );
}

#[tokio::test(start_paused = true)]
async fn standalone_commits() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    assert_eq!(commit(&c, GROUP, -1, "", &[("t", 3, 1234)]).await, vec![0]);
    assert_eq!(
        fetch(&c, GROUP, Some(&[("t", 3)]), 1).await.1,
        vec![("t".into(), 3, 1234, 0)]
    );
    // The record is OffsetCommit key v1 / value v3.
    let stored = log.records(c.partition_for(GROUP));
    assert_eq!(
        records::decode_key(&stored[0].key).unwrap(),
        RecordKey::OffsetCommit {
            group: GROUP.into(),
            topic: "t".into(),
            partition: 3
        }
    );
    assert_eq!(stored[0].value.as_ref().unwrap()[..2], [0, 3]);
    let listed = c.list_groups(Default::default(), 2);
    assert_eq!(listed.groups.len(), 1);
    assert_eq!(
        (
            listed.groups[0].group_id.0.as_str(),
            listed.groups[0].protocol_type.as_str()
        ),
        (GROUP, "")
    );
    assert_eq!(describe(&c, GROUP).group_state.as_str(), "Empty");
    // A positive generation for a group the coordinator does not know is a stale member.
    let other = (0..)
        .map(|i| format!("standalone-{i}"))
        .find(|g| c.partition_for(g) == c.partition_for(GROUP))
        .unwrap();
    assert_eq!(
        commit(&c, &other, 3, "m", &[("t", 0, 1)]).await,
        vec![ec::ILLEGAL_GENERATION]
    );
    // Retention (v2) writes value v1 with an expire timestamp.
    let mut request = commit_request(GROUP, -1, "", &[("t", 4, 5)]);
    request.retention_time_ms = 60_000;
    assert_eq!(
        c.offset_commit(request, 2).await.topics[0].partitions[0].error_code,
        0
    );
    let last = log.records(c.partition_for(GROUP)).pop().unwrap();
    let value = records::decode_offset_commit_value(last.value.as_ref().unwrap(), GROUP).unwrap();
    assert_eq!(last.value.as_ref().unwrap()[..2], [0, 1]);
    assert_eq!(
        value.expire_timestamp,
        Some(value.commit_timestamp + 60_000)
    );
}

#[tokio::test(start_paused = true)]
async fn fetch_errors_by_version() {
    let log = Arc::new(FakeLog::default());
    let c = GroupCoordinator::new(1, config(), log.clone());
    // Not the coordinator: v2+ has a top-level error, v1 puts it on each partition.
    let (error, rows) = fetch(&c, GROUP, Some(&[("t", 0)]), 2).await;
    assert_eq!((error, rows.len()), (ec::NOT_COORDINATOR, 0));
    let (error, rows) = fetch(&c, GROUP, Some(&[("t", 0)]), 1).await;
    assert_eq!(
        (error, rows),
        (0, vec![("t".into(), 0, -1, ec::NOT_COORDINATOR)])
    );
}

#[tokio::test(start_paused = true)]
async fn failover_restores_offsets_and_the_group() {
    let log = Arc::new(FakeLog::default());
    let first = loaded_coordinator(&log, config()).await;
    let (generation, lid, fid) = stable_pair(&first).await;
    assert_eq!(
        commit(
            &first,
            GROUP,
            generation,
            &lid,
            &[("t", 0, 11), ("t", 1, 12)]
        )
        .await,
        vec![0, 0]
    );
    assert_eq!(
        commit(&first, GROUP, generation, &lid, &[("t", 0, 13)]).await,
        vec![0]
    );
    first.on_resigned(first.partition_for(GROUP), Some(1));
    first.shutdown();

    // Another broker becomes leader; its read takes a while.
    *log.read_delay.lock().unwrap() = Duration::from_secs(2);
    let second = GroupCoordinator::new(2, config(), log.clone());
    let partition = second.partition_for(GROUP);
    second.on_elected(partition, 1);
    assert_eq!(
        fetch(&second, GROUP, Some(&[("t", 0)]), 5).await.0,
        ec::COORDINATOR_LOAD_IN_PROGRESS
    );
    assert_eq!(
        heartbeat(&second, generation, &lid).await,
        ec::NONE,
        "heartbeats are answered blindly while loading"
    );
    assert_eq!(
        spawn_sync(&second, sync_request(GROUP, generation, &lid, &[]), 3)
            .await
            .unwrap()
            .error_code,
        ec::REBALANCE_IN_PROGRESS
    );
    assert_eq!(c_list_error(&second), ec::COORDINATOR_LOAD_IN_PROGRESS);
    wait_loaded(&second, partition).await;

    let (_, rows) = fetch(&second, GROUP, None, 5).await;
    assert_eq!(
        rows.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![(0, 13), (1, 12)],
        "last value per key wins"
    );
    let d = describe(&second, GROUP);
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(d.members.len(), 2);
    let follower = d
        .members
        .iter()
        .find(|m| m.member_id.as_str() == fid)
        .unwrap();
    assert_eq!(&follower.member_assignment[..], b"for-follower");
    assert_eq!(heartbeat(&second, generation, &lid).await, ec::NONE);
    assert_eq!(heartbeat(&second, generation, &fid).await, ec::NONE);
    assert_eq!(
        spawn_sync(&second, sync_request(GROUP, generation, &fid, &[]), 3)
            .await
            .unwrap()
            .assignment,
        "for-follower".as_bytes()
    );
    // Session timers restarted on load: a member that stops heartbeating is removed.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        heartbeat(&second, generation, &lid).await;
    }
    assert_eq!(describe(&second, GROUP).members.len(), 1);
}

fn c_list_error(c: &GroupCoordinator) -> i16 {
    c.list_groups(Default::default(), 2).error_code
}

#[tokio::test(start_paused = true)]
async fn expired_standalone_offsets_are_tombstoned() {
    let log = Arc::new(FakeLog::default());
    let config = GroupConfig {
        offsets_retention_ms: 60_000,
        offsets_retention_check_interval_ms: 10_000,
        ..config()
    };
    let c = loaded_coordinator(&log, config).await;
    assert_eq!(commit(&c, GROUP, -1, "", &[("t", 0, 5)]).await, vec![0]);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        fetch(&c, GROUP, Some(&[("t", 0)]), 5).await.1[0].2,
        5,
        "not yet expired"
    );
    tokio::time::sleep(Duration::from_secs(45)).await;
    assert_eq!(
        fetch(&c, GROUP, Some(&[("t", 0)]), 5).await.1[0].2,
        -1,
        "expired"
    );
    let stored = log.records(c.partition_for(GROUP));
    let tombstones: Vec<RecordKey> = stored
        .iter()
        .filter(|r| r.value.is_none())
        .map(|r| records::decode_key(&r.key).unwrap())
        .collect();
    assert_eq!(
        tombstones,
        vec![
            RecordKey::OffsetCommit {
                group: GROUP.into(),
                topic: "t".into(),
                partition: 0
            },
            RecordKey::GroupMetadata {
                group: GROUP.into()
            },
        ]
    );
    assert!(
        c.list_groups(Default::default(), 2).groups.is_empty(),
        "empty group without offsets removed"
    );
}

#[tokio::test(start_paused = true)]
async fn require_stable_waits_out_a_commit_being_appended() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    assert_eq!(commit(&c, GROUP, -1, "", &[("t", 0, 5)]).await, vec![ec::NONE]);
    let stable_fetch = |require_stable: bool, version: i16| {
        let c = Arc::clone(&c);
        async move {
            let request = kafka_protocol::messages::OffsetFetchRequest::default()
                .with_group_id(gid(GROUP))
                .with_topics(None)
                .with_require_stable(require_stable);
            let response = c.offset_fetch(request, version).await;
            let p = &response.topics[0].partitions[0];
            (p.committed_offset, p.error_code)
        }
    };
    // Nothing pending: the flag changes nothing (KIP-447 as 2.8 without open transactions).
    assert_eq!(stable_fetch(true, 7).await, (5, ec::NONE));

    *log.append_delay.lock().unwrap() = Duration::from_millis(500);
    let pending = tokio::spawn({
        let c = Arc::clone(&c);
        async move { commit(&c, GROUP, -1, "", &[("t", 0, 9)]).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stable_fetch(true, 7).await, (-1, ec::UNSTABLE_OFFSET_COMMIT), "a commit is being appended");
    assert_eq!(stable_fetch(false, 7).await, (5, ec::NONE), "without the flag: the last durable offset");
    assert_eq!(stable_fetch(true, 6).await, (5, ec::NONE), "v6 has no require_stable: ignored");
    assert_eq!(pending.await.unwrap(), vec![ec::NONE]);
    assert_eq!(stable_fetch(true, 7).await, (9, ec::NONE));
}
