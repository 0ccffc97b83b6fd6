//! Every response the coordinator builds must encode at every version the broker advertises
//! (kafka-protocol refuses to encode a field set at a version that lacks it).

mod common;

use std::sync::Arc;

use bytes::BytesMut;
use common::*;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, LeaveGroupRequest, ListGroupsRequest,
};
use kafka_protocol::protocol::Encodable;

fn encodes<T: Encodable>(response: &T, version: i16, what: &str) {
    let mut buf = BytesMut::new();
    if let Err(e) = response.encode(&mut buf, version) {
        panic!("{what} v{version} does not encode: {e}");
    }
}

#[tokio::test(start_paused = true)]
async fn responses_encode_at_every_advertised_version() {
    let log = Arc::new(FakeLog::default());
    let c = loaded_coordinator(&log, config()).await;
    for version in 0..=5 {
        let instance = (version >= 5).then_some("static");
        let r = spawn_join(
            &c,
            join_request(GROUP, "", instance, &[("range", "m")]),
            version,
            "client",
        )
        .await
        .unwrap();
        encodes(&r, version, "JoinGroup");
        let r = if r.error_code == odradek_protocol::error_codes::MEMBER_ID_REQUIRED {
            spawn_join(
                &c,
                join_request(GROUP, &r.member_id, instance, &[("range", "m")]),
                version,
                "client",
            )
            .await
            .unwrap()
        } else {
            r
        };
        assert_eq!(r.error_code, 0, "JoinGroup v{version}");
        assert!(
            !r.members.is_empty(),
            "leader gets the member list at v{version}"
        );
        encodes(&r, version, "JoinGroup (leader)");
        let member = r.member_id.to_string();
        for sync_version in 0..=3 {
            let s = spawn_sync(
                &c,
                sync_request(GROUP, r.generation_id, &member, &[(&member, "a")]),
                sync_version,
            )
            .await
            .unwrap();
            encodes(&s, sync_version, "SyncGroup");
        }
        for v in 0..=3 {
            encodes(&c.heartbeat(Default::default(), v).await, v, "Heartbeat");
        }
        for v in 0..=7 {
            encodes(
                &c.offset_commit(
                    commit_request(GROUP, r.generation_id, &member, &[("t", 0, 1)]),
                    v,
                )
                .await,
                v,
                "OffsetCommit",
            );
        }
        for v in 0..=5 {
            let (_, rows) = fetch(&c, GROUP, Some(&[("t", 0)]), v).await;
            assert_eq!(rows.len(), 1);
            let mut request =
                kafka_protocol::messages::OffsetFetchRequest::default().with_group_id(gid(GROUP));
            request.topics = if v >= 2 { None } else { Some(Vec::new()) };
            encodes(&c.offset_fetch(request, v).await, v, "OffsetFetch");
        }
        for v in 0..=2 {
            encodes(
                &c.list_groups(ListGroupsRequest::default(), v),
                v,
                "ListGroups",
            );
        }
        for v in 0..=4 {
            encodes(
                &c.describe_groups(
                    DescribeGroupsRequest::default().with_groups(vec![gid(GROUP), gid("other")]),
                    v,
                ),
                v,
                "DescribeGroups",
            );
        }
        for v in 0..=1 {
            encodes(
                &c.delete_groups(
                    DeleteGroupsRequest::default().with_groups_names(vec![gid(GROUP)]),
                    v,
                )
                .await,
                v,
                "DeleteGroups",
            );
        }
        let leave = if version >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(gid(GROUP))
                .with_members(vec![MemberIdentity::default()
                    .with_member_id(s(&member))
                    .with_group_instance_id(instance.map(s))])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(gid(GROUP))
                .with_member_id(s(&member))
        };
        let leave_version = version.min(3);
        let l = c.leave_group(leave, leave_version).await;
        assert_eq!(l.error_code, 0);
        encodes(&l, leave_version, "LeaveGroup");
    }
}
