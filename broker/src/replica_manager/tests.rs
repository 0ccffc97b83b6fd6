//! `ReplicaManager`'s own rules: the control-request epoch check under concurrency, and the topic id
//! recorded in `partition.metadata`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use odradek_log::{LogConfig, LogManager};

use super::*;

fn manager(dir: &std::path::Path) -> ReplicaManager {
    ReplicaManager::new(1, Arc::new(LogManager::startup(vec![dir.to_path_buf()], LogConfig::default(), 1, 0).expect("log manager")))
}

/// Review finding 5: the remembered controller epoch never goes down, however control requests
/// from two controllers interleave (UpdateMetadata is checked outside `state_change_lock`).
/// Before the fix the check was a load then a store: an older epoch that passed the load could
/// be stored after a newer one, and the old controller's requests were accepted again.
#[test]
fn concurrent_control_requests_never_lower_the_controller_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rm = Arc::new(manager(dir.path()));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (rm, done) = (Arc::clone(&rm), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut highest = 0;
            while !done.load(Ordering::Acquire) {
                let seen = rm.controller_epoch();
                assert!(seen >= highest, "the controller epoch went from {highest} back to {seen}");
                highest = seen;
            }
        })
    };
    const LAST: i32 = 2_000_000;
    let racers: Vec<_> = (0..2)
        .map(|parity| {
            let rm = Arc::clone(&rm);
            std::thread::spawn(move || {
                for epoch in (parity..LAST).step_by(2) {
                    if rm.check_control_epochs(epoch, -1).is_ok() {
                        assert!(rm.controller_epoch() >= epoch, "accepted {epoch} but remember less");
                    }
                }
            })
        })
        .collect();
    for r in racers {
        r.join().expect("racer");
    }
    done.store(true, Ordering::Release);
    watcher.join().expect("the epoch never went backwards");
    assert_eq!(rm.controller_epoch(), LAST - 1);
    assert_eq!(rm.check_control_epochs(LAST - 2, -1), Err(ControlRequestError::StaleControllerEpoch { request: LAST - 2, current: LAST - 1 }));
}

fn leader_and_isr(topic_id: Uuid, leader_epoch: i32) -> LeaderAndIsrPartition {
    let state = LeaderAndIsrState { topic_id, controller_epoch: 1, leader: 1, leader_epoch, isr: vec![1], zk_version: leader_epoch, replicas: vec![1], is_new: leader_epoch == 0 };
    LeaderAndIsrPartition { topic: "t".into(), partition: 0, state }
}

/// KIP-516: the first LeaderAndIsr with a topic id records it in `partition.metadata`; after a
/// restart (no partition in memory) a LeaderAndIsr with another id is refused, the same id is not.
#[tokio::test]
async fn partition_metadata_records_the_topic_id_and_refuses_another_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorded, other) = (Uuid::new_v4(), Uuid::new_v4());
    let codes_of = |rm: &ReplicaManager, p| rm.become_leader_or_follower(1, -1, vec![p], &HashMap::new()).expect("accepted").into_iter().map(|r| r.error_code).collect::<Vec<_>>();
    {
        let rm = manager(dir.path());
        assert_eq!(codes_of(&rm, leader_and_isr(recorded, 0)), vec![codes::NONE]);
        let log = rm.log_manager.get_log(&TopicPartition::new("t", 0)).expect("log created");
        assert_eq!(partition_metadata::read(log.dir()).expect("readable"), Some(recorded));
        assert_eq!(codes_of(&rm, leader_and_isr(other, 1)), vec![codes::INCONSISTENT_TOPIC_ID]);
        rm.log_manager.shutdown().expect("clean shutdown");
    }
    let rm = manager(dir.path());
    assert_eq!(codes_of(&rm, leader_and_isr(other, 1)), vec![codes::INCONSISTENT_TOPIC_ID]);
    assert_eq!(codes_of(&rm, leader_and_isr(recorded, 1)), vec![codes::NONE]);
}
