//! JoinGroup / SyncGroup / Heartbeat / LeaveGroup against an in-memory `__consumer_offsets`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::LeaveGroupRequest;
use odradek_coordinator::{GroupConfig, GroupCoordinator};
use odradek_protocol::error_codes as ec;

#[tokio::test(start_paused = true)]
async fn two_members_share_a_generation_after_the_initial_delay() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, GroupConfig::default()).await;
    let start = tokio::time::Instant::now();
    let a = spawn_join(
        &c,
        join_request(
            GROUP,
            "",
            None,
            &[("range", "meta-a"), ("roundrobin", "rr-a")],
        ),
        3,
        "client-a",
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = spawn_join(
        &c,
        join_request(
            GROUP,
            "",
            None,
            &[("roundrobin", "rr-b"), ("range", "meta-b")],
        ),
        3,
        "client-b",
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    // 3 s initial delay, extended once by 3 s because b arrived during it.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(7),
        "{elapsed:?}"
    );
    assert_eq!((a.error_code, b.error_code), (0, 0));
    assert_eq!((a.generation_id, b.generation_id), (1, 1));
    assert_eq!(a.leader, b.leader);
    assert!(a.member_id.starts_with("client-a-") && b.member_id.starts_with("client-b-"));
    assert_ne!(a.member_id, b.member_id);
    // Tie (one vote each): the first member's preference, "range", wins.
    assert_eq!(a.protocol_name.as_deref(), Some("range"));
    let (leader, follower) = if a.leader == a.member_id {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(follower.members.is_empty());
    let mut seen: Vec<(String, String)> = leader
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                String::from_utf8(m.metadata.to_vec()).unwrap(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (a.member_id.to_string(), "meta-a".to_string()),
        (b.member_id.to_string(), "meta-b".to_string()),
    ];
    expected.sort();
    assert_eq!(
        seen, expected,
        "leader sees both members with their range metadata"
    );
    assert_eq!(
        describe(&c, GROUP).group_state.as_str(),
        "CompletingRebalance"
    );
}

#[tokio::test(start_paused = true)]
async fn member_id_required_round_on_v4() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let first = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("range", "x")]),
        4,
        "client-1",
    )
    .await
    .unwrap();
    assert_eq!(first.error_code, ec::MEMBER_ID_REQUIRED);
    assert_eq!(first.generation_id, -1);
    assert!(
        first.member_id.starts_with("client-1-"),
        "{:?}",
        first.member_id
    );
    // The minted id is pending, not a member yet.
    assert!(describe(&c, GROUP).members.is_empty());
    let second = spawn_join(
        &c,
        join_request(GROUP, &first.member_id, None, &[("range", "x")]),
        4,
        "client-1",
    )
    .await
    .unwrap();
    assert_eq!(second.error_code, ec::NONE);
    assert_eq!(second.member_id, first.member_id);
    assert_eq!(second.leader, first.member_id);
    assert_eq!(second.generation_id, 1);
    // An id the coordinator never minted is rejected.
    let bogus = spawn_join(
        &c,
        join_request(GROUP, "made-up", None, &[("range", "x")]),
        4,
        "client-2",
    )
    .await
    .unwrap();
    assert_eq!(bogus.error_code, ec::UNKNOWN_MEMBER_ID);
}

#[tokio::test(start_paused = true)]
async fn join_validation_errors() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let empty = spawn_join(&c, join_request("", "", None, &[("range", "x")]), 3, "c")
        .await
        .unwrap();
    assert_eq!(empty.error_code, ec::INVALID_GROUP_ID);
    let mut short = join_request(GROUP, "", None, &[("range", "x")]);
    short.session_timeout_ms = 1000;
    assert_eq!(
        spawn_join(&c, short, 3, "c").await.unwrap().error_code,
        ec::INVALID_SESSION_TIMEOUT
    );
    // A group on a partition this broker does not lead.
    let other = (0..)
        .map(|i| format!("g{i}"))
        .find(|g| c.partition_for(g) != c.partition_for(GROUP))
        .unwrap();
    let r = spawn_join(
        &c,
        join_request(&other, "", None, &[("range", "x")]),
        3,
        "c",
    )
    .await
    .unwrap();
    assert_eq!(r.error_code, ec::NOT_COORDINATOR);
    // Protocols nobody else supports.
    let (_generation, _leader, _follower) = stable_pair(&c).await;
    let r = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("sticky", "x")]),
        3,
        "c",
    )
    .await
    .unwrap();
    assert_eq!(r.error_code, ec::INCONSISTENT_GROUP_PROTOCOL);
}

#[tokio::test(start_paused = true)]
async fn sync_distributes_the_leaders_assignment() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let a = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("range", "a")]),
        3,
        "client-a",
    );
    let b = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("range", "b")]),
        3,
        "client-b",
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (leader, follower) = if a.leader == a.member_id {
        (a, b)
    } else {
        (b, a)
    };
    let (lid, fid) = (leader.member_id.to_string(), follower.member_id.to_string());
    // The follower's SyncGroup waits for the leader's.
    let f = spawn_sync(&c, sync_request(GROUP, 1, &fid, &[]), 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!f.is_finished(), "follower parked until the leader syncs");
    let records_before = log.records(c.partition_for(GROUP)).len();
    let l = spawn_sync(
        &c,
        sync_request(GROUP, 1, &lid, &[(&lid, "A"), (&fid, "B")]),
        3,
    )
    .await
    .unwrap();
    let f = f.await.unwrap();
    assert_eq!((l.error_code, &l.assignment[..]), (0, &b"A"[..]));
    assert_eq!((f.error_code, &f.assignment[..]), (0, &b"B"[..]));
    assert_eq!(
        log.records(c.partition_for(GROUP)).len(),
        records_before + 1,
        "group record persisted"
    );
    let d = describe(&c, GROUP);
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(d.protocol_data.as_str(), "range");
    let follower_desc = d
        .members
        .iter()
        .find(|m| m.member_id.as_str() == fid)
        .unwrap();
    assert_eq!(
        (
            &follower_desc.member_assignment[..],
            &follower_desc.member_metadata[..]
        ),
        (&b"B"[..], &b"b"[..])
    );
    assert_eq!(
        follower_desc.client_id.as_str(),
        if fid.starts_with("client-a") {
            "client-a"
        } else {
            "client-b"
        }
    );
    // A Stable group's SyncGroup returns the stored assignment; wrong generation is refused.
    assert_eq!(
        &spawn_sync(&c, sync_request(GROUP, 1, &fid, &[]), 3)
            .await
            .unwrap()
            .assignment[..],
        b"B"
    );
    assert_eq!(
        spawn_sync(&c, sync_request(GROUP, 0, &fid, &[]), 3)
            .await
            .unwrap()
            .error_code,
        ec::ILLEGAL_GENERATION
    );
    assert_eq!(heartbeat(&c, 1, &fid).await, ec::NONE);
    assert_eq!(heartbeat(&c, 1, "stranger").await, ec::UNKNOWN_MEMBER_ID);
}

#[tokio::test(start_paused = true)]
async fn failed_assignment_append_maps_the_error() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let a = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("range", "a")]),
        3,
        "client-a",
    )
    .await
    .unwrap();
    *log.fail_next.lock().unwrap() = Some(ec::NOT_LEADER_OR_FOLLOWER);
    let r = spawn_sync(
        &c,
        sync_request(GROUP, 1, &a.member_id, &[(&a.member_id, "A")]),
        3,
    )
    .await
    .unwrap();
    assert_eq!(r.error_code, ec::NOT_COORDINATOR);
    assert!(r.assignment.is_empty());
    assert_eq!(
        describe(&c, GROUP).group_state.as_str(),
        "PreparingRebalance",
        "failed store restarts the rebalance"
    );
}

#[tokio::test(start_paused = true)]
async fn sync_v5_checks_the_protocol_and_error_answers_name_none() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let a = spawn_join(&c, join_request(GROUP, "", None, &[("range", "a")]), 3, "client-a")
        .await
        .unwrap();
    let v5 = |protocol_type: Option<&str>, protocol_name: Option<&str>| {
        sync_request(GROUP, 1, &a.member_id, &[(&a.member_id, "A")])
            .with_protocol_type(protocol_type.map(s))
            .with_protocol_name(protocol_name.map(s))
    };
    for (t, n) in [(None, Some("range")), (Some("consumer"), None), (Some("connect"), Some("range")), (Some("consumer"), Some("sticky"))] {
        let r = spawn_sync(&c, v5(t, n), 5).await.unwrap();
        assert_eq!(r.error_code, ec::INCONSISTENT_GROUP_PROTOCOL, "{t:?} {n:?}");
        assert_eq!((r.protocol_type, r.protocol_name), (None, None), "{t:?} {n:?}");
    }
    *log.fail_next.lock().unwrap() = Some(ec::NOT_LEADER_OR_FOLLOWER);
    let failed = spawn_sync(&c, v5(Some("consumer"), Some("range")), 5).await.unwrap();
    assert_eq!(failed.error_code, ec::NOT_COORDINATOR);
    assert_eq!((failed.protocol_type, failed.protocol_name), (None, None), "an error answer names no protocol");
    let rejoined = spawn_join(&c, join_request(GROUP, &a.member_id, None, &[("range", "a")]), 7, "client-a")
        .await
        .unwrap();
    assert_eq!(rejoined.protocol_type.as_deref(), Some("consumer"), "JoinGroup v7 names the protocol type");
    // Below v5 the fields do not exist: a v4 request without them is fine.
    let v4 = sync_request(GROUP, rejoined.generation_id, &a.member_id, &[(&a.member_id, "A")]);
    let synced = spawn_sync(&c, v4, 4).await.unwrap();
    assert_eq!((synced.error_code, &synced.assignment[..]), (ec::NONE, &b"A"[..]));
    let again = v5(Some("consumer"), Some("range")).with_generation_id(rejoined.generation_id);
    let r = spawn_sync(&c, again, 5).await.unwrap();
    assert_eq!((r.protocol_type.as_deref(), r.protocol_name.as_deref()), (Some("consumer"), Some("range")));
}

#[tokio::test(start_paused = true)]
async fn a_full_group_refuses_a_new_member_without_giving_it_an_id() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, GroupConfig { group_max_size: 1, ..config() }).await;
    let a = spawn_join(&c, join_request(GROUP, "", None, &[("range", "a")]), 3, "client-a")
        .await
        .unwrap();
    assert_eq!(a.error_code, ec::NONE);
    let b = spawn_join(&c, join_request(GROUP, "", None, &[("range", "b")]), 7, "client-b")
        .await
        .unwrap();
    assert_eq!((b.error_code, b.member_id.as_str(), b.generation_id), (ec::GROUP_MAX_SIZE_REACHED, "", -1));
    let d = describe(&c, GROUP);
    assert_eq!((d.group_state.as_str(), d.members.len()), ("CompletingRebalance", 1), "the group is untouched");
}

#[tokio::test(start_paused = true)]
async fn silent_member_expires_and_the_other_rejoins() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let (generation, lid, fid) = stable_pair(&c).await;
    // Only the leader heartbeats (session timeout 10 s).
    let mut rebalancing = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let e = heartbeat(&c, generation, &lid).await;
        if e == ec::REBALANCE_IN_PROGRESS {
            rebalancing = true;
            break;
        }
        assert_eq!(e, ec::NONE);
    }
    assert!(rebalancing, "follower's session expiry started a rebalance");
    assert!(
        describe(&c, GROUP)
            .members
            .iter()
            .all(|m| m.member_id.as_str() != fid),
        "expired member removed"
    );
    let r = spawn_join(
        &c,
        join_request(GROUP, &lid, None, &[("range", "a")]),
        3,
        "client-a",
    )
    .await
    .unwrap();
    assert_eq!((r.error_code, r.generation_id), (ec::NONE, generation + 1));
    assert_eq!(r.leader.as_str(), lid);
    assert_eq!(r.members.len(), 1);
    assert_eq!(heartbeat(&c, generation, &fid).await, ec::UNKNOWN_MEMBER_ID);
}

#[tokio::test(start_paused = true)]
async fn leave_triggers_a_rebalance() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let (generation, lid, fid) = stable_pair(&c).await;
    let leave = LeaveGroupRequest::default()
        .with_group_id(gid(GROUP))
        .with_member_id(s(&fid));
    assert_eq!(c.leave_group(leave, 1).await.error_code, ec::NONE);
    assert_eq!(
        heartbeat(&c, generation, &lid).await,
        ec::REBALANCE_IN_PROGRESS
    );
    let r = spawn_join(
        &c,
        join_request(GROUP, &lid, None, &[("range", "a")]),
        3,
        "client-a",
    )
    .await
    .unwrap();
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
    // v3: a list, answered member by member.
    let leave = LeaveGroupRequest::default()
        .with_group_id(gid(GROUP))
        .with_members(vec![
            MemberIdentity::default().with_member_id(s(&lid)),
            MemberIdentity::default().with_member_id(s("nobody")),
        ]);
    let response = c.leave_group(leave, 3).await;
    assert_eq!(response.error_code, ec::NONE);
    let errors: Vec<i16> = response.members.iter().map(|m| m.error_code).collect();
    assert_eq!(errors, vec![ec::NONE, ec::UNKNOWN_MEMBER_ID]);
    // The last member left a CompletingRebalance group: the next join phase ends Empty.
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(describe(&c, GROUP).group_state.as_str(), "Empty");
}

#[tokio::test(start_paused = true)]
async fn static_member_rejoin_keeps_the_group_stable() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    let a = spawn_join(
        &c,
        join_request(GROUP, "", Some("instance-a"), &[("range", "a")]),
        5,
        "client-a",
    );
    let b = spawn_join(
        &c,
        join_request(GROUP, "", Some("instance-b"), &[("range", "b")]),
        5,
        "client-b",
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(
        (a.error_code, b.error_code),
        (0, 0),
        "static members skip MEMBER_ID_REQUIRED"
    );
    assert!(a.member_id.starts_with("instance-a-"));
    let (leader, follower) = if a.leader == a.member_id {
        (a, b)
    } else {
        (b, a)
    };
    let leader_meta = leader
        .members
        .iter()
        .find(|m| m.member_id == follower.member_id)
        .unwrap();
    assert!(
        leader_meta.group_instance_id.is_some(),
        "v5 shows instance ids to the leader"
    );
    let (lid, fid) = (leader.member_id.to_string(), follower.member_id.to_string());
    let f = spawn_sync(&c, sync_request(GROUP, 1, &fid, &[]), 3);
    spawn_sync(
        &c,
        sync_request(GROUP, 1, &lid, &[(&lid, "A"), (&fid, "B")]),
        3,
    )
    .await
    .unwrap();
    f.await.unwrap();
    let follower_instance = if fid.starts_with("instance-a") {
        "instance-a"
    } else {
        "instance-b"
    };

    // The follower restarts: same instance id, no member id, same protocols.
    let rejoin = spawn_join(
        &c,
        join_request(
            GROUP,
            "",
            Some(follower_instance),
            &[(
                "range",
                follower_instance.strip_prefix("instance-").unwrap(),
            )],
        ),
        5,
        "client-x",
    )
    .await
    .unwrap();
    assert_eq!(rejoin.error_code, ec::NONE);
    assert_eq!(rejoin.generation_id, 1, "no new generation");
    assert_eq!(rejoin.leader.as_str(), lid, "old leader id returned");
    assert_ne!(rejoin.member_id.as_str(), fid);
    let d = describe(&c, GROUP);
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(
        heartbeat(&c, 1, &lid).await,
        ec::NONE,
        "leader is not asked to rebalance"
    );
    let sync = spawn_sync(&c, sync_request(GROUP, 1, &rejoin.member_id, &[]), 3)
        .await
        .unwrap();
    assert_eq!(
        &sync.assignment[..],
        b"B",
        "new member id keeps the assignment"
    );
    let old = kafka_protocol::messages::HeartbeatRequest::default()
        .with_group_id(gid(GROUP))
        .with_generation_id(1)
        .with_member_id(s(&fid))
        .with_group_instance_id(Some(s(follower_instance)));
    assert_eq!(c.heartbeat(old, 3).await.error_code, ec::FENCED_INSTANCE_ID);
}

#[tokio::test(start_paused = true)]
async fn resignation_answers_parked_joins_with_not_coordinator() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, GroupConfig::default()).await;
    let parked = spawn_join(
        &c,
        join_request(GROUP, "", None, &[("range", "a")]),
        3,
        "client-a",
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!parked.is_finished(), "waiting out the initial delay");
    c.on_resigned(c.partition_for(GROUP), Some(1));
    assert_eq!(parked.await.unwrap().error_code, ec::NOT_COORDINATOR);
    assert_eq!(heartbeat(&c, 1, "x").await, ec::NOT_COORDINATOR);
    assert_eq!(describe(&c, GROUP).error_code, ec::NOT_COORDINATOR);
}

#[test]
fn request_futures_are_send_and_static() {
    fn assert_send<T: Send + 'static>(_: T) {}
    let c: Arc<GroupCoordinator> = GroupCoordinator::new(1, config(), Arc::new(FakeLog::default()));
    let (cid, host) = ("client".to_string(), "/h".to_string());
    let c1 = Arc::clone(&c);
    assert_send(async move {
        c1.join_group(join_request(GROUP, "", None, &[]), 5, &cid, &host)
            .await
    });
    let c2 = Arc::clone(&c);
    assert_send(async move { c2.sync_group(sync_request(GROUP, 1, "m", &[]), 3).await });
    let c3 = Arc::clone(&c);
    assert_send(async move {
        c3.offset_commit(commit_request(GROUP, -1, "", &[("t", 0, 1)]), 7)
            .await
    });
    let c4 = Arc::clone(&c);
    assert_send(async move { c4.delete_groups(Default::default(), 1).await });
    let c5 = Arc::clone(&c);
    assert_send(async move { c5.offset_fetch(Default::default(), 5).await });
    let c6 = Arc::clone(&c);
    assert_send(async move { c6.leave_group(Default::default(), 3).await });
    let c7 = Arc::clone(&c);
    assert_send(async move { c7.heartbeat(Default::default(), 3).await });
}
