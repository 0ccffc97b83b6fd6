//! DescribeGroups / ListGroups / DeleteGroups.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::{DeleteGroupsRequest, LeaveGroupRequest};
use odradek_coordinator::GroupCoordinator;
use odradek_protocol::error_codes as ec;

#[tokio::test(start_paused = true)]
async fn describe_list_and_delete() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    // Unknown group: Dead, no error (Kafka's DeadGroup summary).
    let d = describe(&c, GROUP);
    assert_eq!((d.error_code, d.group_state.as_str()), (0, "Dead"));
    assert_eq!(d.authorized_operations, i32::MIN);

    let (generation, lid, fid) = stable_pair(&c).await;
    assert_eq!(
        commit(&c, GROUP, generation, &lid, &[("t", 0, 9)]).await,
        vec![0]
    );
    let listed = c.list_groups(Default::default(), 2);
    assert_eq!(listed.error_code, 0);
    assert_eq!(
        listed
            .groups
            .iter()
            .map(|g| (g.group_id.0.to_string(), g.protocol_type.to_string()))
            .collect::<Vec<_>>(),
        vec![(GROUP.to_string(), "consumer".to_string())]
    );
    let d = describe(&c, GROUP);
    assert_eq!(
        (
            d.group_state.as_str(),
            d.protocol_type.as_str(),
            d.protocol_data.as_str()
        ),
        ("Stable", "consumer", "range")
    );
    let leader = d
        .members
        .iter()
        .find(|m| m.member_id.as_str() == lid)
        .unwrap();
    assert_eq!(
        (
            leader.client_host.as_str(),
            &leader.member_assignment[..],
            &leader.member_metadata[..]
        ),
        ("/127.0.0.1", &b"for-leader"[..], &b"a"[..])
    );

    let delete = |names: &[&str]| {
        DeleteGroupsRequest::default().with_groups_names(names.iter().map(|n| gid(n)).collect())
    };
    let unknown = (0..)
        .map(|i| format!("u{i}"))
        .find(|g| c.partition_for(g) == c.partition_for(GROUP))
        .unwrap();
    let r = c.delete_groups(delete(&[GROUP, &unknown]), 1).await;
    assert_eq!(
        r.results.iter().map(|g| g.error_code).collect::<Vec<_>>(),
        vec![ec::NON_EMPTY_GROUP, ec::GROUP_ID_NOT_FOUND]
    );

    for member in [&lid, &fid] {
        let leave = LeaveGroupRequest::default()
            .with_group_id(gid(GROUP))
            .with_member_id(s(member));
        assert_eq!(c.leave_group(leave, 0).await.error_code, 0);
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(describe(&c, GROUP).group_state.as_str(), "Empty");
    let r = c.delete_groups(delete(&[GROUP]), 1).await;
    assert_eq!(r.results[0].error_code, ec::NONE);
    assert_eq!(fetch(&c, GROUP, Some(&[("t", 0)]), 5).await.1[0].2, -1);
    assert_eq!(describe(&c, GROUP).group_state.as_str(), "Dead");
    assert!(c.list_groups(Default::default(), 2).groups.is_empty());

    // Tombstones make the deletion survive a failover.
    let fresh = GroupCoordinator::new(2, config(), log.clone());
    fresh.on_elected(fresh.partition_for(GROUP), 1);
    wait_loaded(&fresh, fresh.partition_for(GROUP)).await;
    assert!(fresh.list_groups(Default::default(), 2).groups.is_empty());
    assert_eq!(fetch(&fresh, GROUP, Some(&[("t", 0)]), 5).await.1[0].2, -1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_makes_the_coordinator_unavailable() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    c.shutdown();
    assert_eq!(heartbeat(&c, 1, "m").await, ec::COORDINATOR_NOT_AVAILABLE);
    assert_eq!(
        c.list_groups(Default::default(), 2).error_code,
        ec::COORDINATOR_NOT_AVAILABLE
    );
}
