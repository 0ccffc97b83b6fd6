//! Byte-exact and round-trip tests of the `__consumer_offsets` schemas.

use super::*;

#[test]
fn offset_commit_key_v1_bytes() {
    let key = offset_commit_key("g", "t", 3);
    assert_eq!(&key[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
    assert_eq!(
        decode_key(&key).unwrap(),
        RecordKey::OffsetCommit {
            group: "g".into(),
            topic: "t".into(),
            partition: 3
        }
    );
    // v0 has the same layout.
    let v0 = [0, 0, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3];
    assert_eq!(decode_key(&v0).unwrap(), decode_key(&key).unwrap());
}

#[test]
fn group_metadata_key_v2_bytes() {
    let key = group_metadata_key("g");
    assert_eq!(&key[..], &[0, 2, 0, 1, b'g']);
    assert_eq!(
        decode_key(&key).unwrap(),
        RecordKey::GroupMetadata { group: "g".into() }
    );
    assert_eq!(
        decode_key(&[0, 9, 0, 0]),
        Err(CoordinatorError::UnknownKeyVersion(9))
    );
}

#[test]
fn offset_commit_value_v3_bytes() {
    let v = OffsetCommitValue {
        offset: 5,
        leader_epoch: 2,
        metadata: "m".into(),
        commit_timestamp: 7,
        expire_timestamp: None,
    };
    let bytes = offset_commit_value(&v);
    let expected: Vec<u8> = [
        &[0u8, 3][..],
        &5i64.to_be_bytes(),
        &2i32.to_be_bytes(),
        &[0, 1, b'm'],
        &7i64.to_be_bytes(),
    ]
    .concat();
    assert_eq!(&bytes[..], &expected[..]);
    assert_eq!(decode_offset_commit_value(&bytes, "g").unwrap(), v);
}

#[test]
fn offset_commit_value_v1_when_expiring() {
    let v = OffsetCommitValue {
        offset: 5,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp: 7,
        expire_timestamp: Some(9),
    };
    let bytes = offset_commit_value(&v);
    let expected: Vec<u8> = [
        &[0u8, 1][..],
        &5i64.to_be_bytes(),
        &[0, 0],
        &7i64.to_be_bytes(),
        &9i64.to_be_bytes(),
    ]
    .concat();
    assert_eq!(&bytes[..], &expected[..]);
    assert_eq!(decode_offset_commit_value(&bytes, "g").unwrap(), v);
}

#[test]
fn offset_commit_value_v0_and_v2_read() {
    for version in [0u8, 2] {
        let bytes: Vec<u8> = [
            &[0u8, version][..],
            &42i64.to_be_bytes(),
            &[0, 2, b'h', b'i'],
            &11i64.to_be_bytes(),
        ]
        .concat();
        let v = decode_offset_commit_value(&bytes, "g").unwrap();
        assert_eq!(
            v,
            OffsetCommitValue {
                offset: 42,
                leader_epoch: -1,
                metadata: "hi".into(),
                commit_timestamp: 11,
                expire_timestamp: None
            }
        );
    }
    assert!(matches!(
        decode_offset_commit_value(&[0, 4], "g"),
        Err(CoordinatorError::UnknownValueVersion { version: 4, .. })
    ));
    assert_eq!(
        decode_offset_commit_value(&[0, 3, 0, 0], "g"),
        Err(CoordinatorError::Truncated("offset"))
    );
}

fn sample_group() -> GroupMetadataValue {
    GroupMetadataValue {
        protocol_type: "c".into(),
        generation: 1,
        protocol: Some("r".into()),
        leader: None,
        current_state_timestamp: 4,
        members: vec![MemberRecord {
            member_id: "m".into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "h".into(),
            rebalance_timeout: 10,
            session_timeout: 6,
            subscription: Bytes::from_static(&[0xAA]),
            assignment: Bytes::new(),
        }],
    }
}

#[test]
fn group_metadata_value_v3_bytes() {
    let bytes = group_metadata_value(&sample_group());
    let expected: Vec<u8> = [
        &[0u8, 3][..],
        &[0, 1, b'c'],
        &1i32.to_be_bytes(),
        &[0, 1, b'r'],
        &[0xff, 0xff],
        &4i64.to_be_bytes(),
        &1i32.to_be_bytes(),
        &[0, 1, b'm'],
        &[0xff, 0xff],
        &[0, 1, b'c'],
        &[0, 1, b'h'],
        &10i32.to_be_bytes(),
        &6i32.to_be_bytes(),
        &[0, 0, 0, 1, 0xAA],
        &[0, 0, 0, 0],
    ]
    .concat();
    assert_eq!(&bytes[..], &expected[..]);
    assert_eq!(
        decode_group_metadata_value(&bytes, "g").unwrap(),
        sample_group()
    );
}

#[test]
fn group_metadata_value_round_trip_with_static_member() {
    let mut g = sample_group();
    g.leader = Some("m".into());
    g.members[0].group_instance_id = Some("instance-1".into());
    g.members[0].assignment = Bytes::from_static(b"assignment");
    g.members.push(MemberRecord {
        member_id: "n".into(),
        ..g.members[0].clone()
    });
    let bytes = group_metadata_value(&g);
    assert_eq!(decode_group_metadata_value(&bytes, "g").unwrap(), g);
}

#[test]
fn group_metadata_value_v0_reads_session_timeout_as_rebalance_timeout() {
    let bytes: Vec<u8> = [
        &[0u8, 0][..],
        &[0, 1, b'c'],
        &3i32.to_be_bytes(),
        &[0xff, 0xff],
        &[0xff, 0xff],
        &1i32.to_be_bytes(),
        &[0, 1, b'm'],
        &[0, 1, b'c'],
        &[0, 1, b'h'],
        &6000i32.to_be_bytes(),
        &[0, 0, 0, 0],
        &[0, 0, 0, 0],
    ]
    .concat();
    let g = decode_group_metadata_value(&bytes, "g").unwrap();
    assert_eq!(g.generation, 3);
    assert_eq!(g.protocol, None);
    assert_eq!(g.current_state_timestamp, -1);
    assert_eq!(g.members[0].rebalance_timeout, 6000);
    assert_eq!(g.members[0].session_timeout, 6000);
    assert_eq!(g.members[0].group_instance_id, None);
}
