//! Table tests of the group state machine and the pure membership decisions.

use super::*;
use crate::member::{JoinGroupResult, MemberMetadata};
use tokio::sync::oneshot;
use GroupState::*;

fn member(id: &str, protocols: &[&str]) -> MemberMetadata {
    MemberMetadata::new(
        id.into(),
        None,
        "client".into(),
        "/127.0.0.1".into(),
        1000,
        6000,
        "consumer".into(),
        protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("{id}:{p}"))))
            .collect(),
    )
}

fn group_in(state: GroupState) -> GroupMetadata {
    let mut g = GroupMetadata::new("g".into(), 1, 0);
    g.set_loaded_state(state, Some(0));
    g
}

#[test]
fn transition_table() {
    let all = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead];
    let allowed = [
        (Empty, PreparingRebalance),
        (PreparingRebalance, Empty),
        (PreparingRebalance, CompletingRebalance),
        (CompletingRebalance, PreparingRebalance),
        (CompletingRebalance, Stable),
        (Stable, PreparingRebalance),
    ];
    for from in all {
        for to in all {
            let expected = to == Dead || allowed.contains(&(from, to));
            let mut g = group_in(from);
            assert_eq!(g.transition_to(to, 5), expected, "{from:?} -> {to:?}");
            assert_eq!(g.state(), if expected { to } else { from });
            if expected {
                assert_eq!(g.current_state_timestamp, Some(5));
            }
        }
    }
}

#[test]
fn state_names_are_kafkas() {
    let names: Vec<&str> = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead]
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(
        names,
        [
            "Empty",
            "PreparingRebalance",
            "CompletingRebalance",
            "Stable",
            "Dead"
        ]
    );
}

#[test]
fn protocol_selection_by_vote() {
    // (members' protocol lists in preference order, expected choice)
    let table: &[(&[&[&str]], Option<&str>)] = &[
        (
            &[&["range", "roundrobin"], &["range", "roundrobin"]],
            Some("range"),
        ),
        (
            &[
                &["range", "roundrobin"],
                &["roundrobin", "range"],
                &["roundrobin"],
            ],
            Some("roundrobin"),
        ),
        (
            &[&["sticky", "range"], &["range"], &["sticky", "range"]],
            Some("range"),
        ),
        (&[&["a", "b"], &["b", "a"], &["b", "a"]], Some("b")),
        (&[&["a"], &["b"]], None),
    ];
    for (members, expected) in table {
        let mut g = group_in(PreparingRebalance);
        for (i, protocols) in members.iter().enumerate() {
            g.add(member(&format!("m{i}"), protocols));
        }
        assert_eq!(g.select_protocol().as_deref(), *expected, "{members:?}");
    }
}

#[test]
fn supports_protocols_rules() {
    let protos = |names: &[&str]| -> Vec<(String, Bytes)> {
        names
            .iter()
            .map(|n| (n.to_string(), Bytes::new()))
            .collect()
    };
    let empty = group_in(Empty);
    assert!(empty.supports_protocols("consumer", &protos(&["range"])));
    assert!(!empty.supports_protocols("", &protos(&["range"])));
    assert!(!empty.supports_protocols("consumer", &[]));

    let mut g = group_in(Empty);
    g.add(member("a", &["range", "roundrobin"]));
    g.add(member("b", &["roundrobin"]));
    g.set_loaded_state(Stable, None);
    assert!(g.supports_protocols("consumer", &protos(&["roundrobin"])));
    assert!(
        !g.supports_protocols("consumer", &protos(&["range"])),
        "b does not support range"
    );
    assert!(
        !g.supports_protocols("connect", &protos(&["roundrobin"])),
        "protocol type must match"
    );
}

#[test]
fn leader_is_first_member_and_moves_on_removal() {
    let mut g = group_in(Empty);
    g.add(member("b", &["range"]));
    g.add(member("a", &["range"]));
    assert_eq!(g.leader_id(), Some("b"));
    assert_eq!(g.protocol_type.as_deref(), Some("consumer"));
    g.remove("b");
    assert_eq!(g.leader_id(), Some("a"));
    g.remove("a");
    assert_eq!(g.leader_id(), None);
}

#[test]
fn joined_leader_election_and_all_joined() {
    let mut g = group_in(PreparingRebalance);
    g.add(member("a", &["range"]));
    g.add(member("b", &["range"]));
    assert!(!g.maybe_elect_new_joined_leader(), "nobody rejoined");
    assert!(!g.has_all_members_joined());
    let (tx, _rx) = oneshot::channel::<JoinGroupResult>();
    g.members.get_mut("b").unwrap().awaiting_join = Some(tx);
    assert!(g.maybe_elect_new_joined_leader());
    assert_eq!(g.leader_id(), Some("b"), "leader a did not rejoin, b did");
    assert_eq!(g.not_yet_rejoined_members(), vec!["a".to_string()]);
    g.remove("a");
    assert!(g.has_all_members_joined());
    g.pending_members.insert("c".into());
    assert!(!g.has_all_members_joined(), "a minted id still outstanding");
}

#[test]
fn next_generation_bumps_and_picks_protocol_or_goes_empty() {
    let mut g = group_in(PreparingRebalance);
    g.add(member("a", &["range"]));
    g.init_next_generation(7);
    assert_eq!(
        (g.generation_id, g.state(), g.protocol_name.as_deref()),
        (1, CompletingRebalance, Some("range"))
    );
    assert_eq!(
        g.current_member_metadata()[0].metadata,
        Bytes::from("a:range")
    );
    g.set_loaded_state(PreparingRebalance, None);
    g.remove("a");
    g.init_next_generation(8);
    assert_eq!(
        (g.generation_id, g.state(), g.protocol_name.as_deref()),
        (2, Empty, None)
    );
}

#[test]
fn static_member_replacement_fences_old_id() {
    let mut g = group_in(Stable);
    let mut m = member("old", &["range"]);
    m.group_instance_id = Some("i1".into());
    m.assignment = Bytes::from_static(b"asg");
    let (tx, mut rx) = oneshot::channel();
    m.awaiting_join = Some(tx);
    g.add(m);
    assert!(g.is_static_member_fenced("other", Some("i1")));
    assert!(!g.is_static_member_fenced("old", Some("i1")));
    assert!(g.replace_static_member("old", "new", 82));
    assert_eq!(rx.try_recv().unwrap().error, 82);
    assert_eq!(g.static_member_id("i1"), Some("new"));
    assert_eq!(g.leader_id(), Some("new"));
    assert_eq!(g.members["new"].assignment, Bytes::from_static(b"asg"));
    assert!(!g.has("old"));
}
