use super::*;
use crate::meta_properties::meta_properties_path;
use crate::test_util::{batch, temp_dir};

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn start(dirs: &[PathBuf], broker_id: i32) -> Result<LogManager> {
    LogManager::startup(dirs.to_vec(), LogConfig::default(), broker_id, 0)
}

#[test]
fn parses_partition_dir_names_at_the_last_dash() {
    assert_eq!(parse_topic_partition_name("orders-3"), Some(tp("orders", 3)));
    assert_eq!(parse_topic_partition_name("my-topic-with-dashes-12"), Some(tp("my-topic-with-dashes", 12)));
    assert_eq!(parse_topic_partition_name("__consumer_offsets-49"), Some(tp("__consumer_offsets", 49)));
    assert_eq!(parse_topic_partition_name("trailing-dash--1"), Some(tp("trailing-dash-", 1)), "`-` is legal at a topic's end");
    for bad in ["orders", "-3", "orders-", "orders-x", "orders-+1", "orders-01", "lost+found"] {
        assert_eq!(parse_topic_partition_name(bad), None, "{bad}");
    }
}

#[test]
fn startup_creates_dirs_and_writes_meta_properties() {
    let root = temp_dir();
    let dirs = vec![root.path().join("a"), root.path().join("b/nested")];
    let manager = start(&dirs, 7).expect("startup");
    assert_eq!(manager.meta_properties(), MetaProperties { broker_id: 7, cluster_id: None });
    for dir in &dirs {
        let text = std::fs::read_to_string(meta_properties_path(dir)).expect("meta.properties");
        assert!(text.contains("version=0\n") && text.contains("broker.id=7\n") && !text.contains("cluster.id"), "{text}");
    }
    manager.set_cluster_id("Yk9mZ0NvUzS2Fh8WbAz1Hw").expect("cluster id");
    assert!(std::fs::read_to_string(meta_properties_path(&dirs[1])).expect("read").contains("cluster.id=Yk9mZ0NvUzS2Fh8WbAz1Hw\n"));
    manager.set_cluster_id("Yk9mZ0NvUzS2Fh8WbAz1Hw").expect("same id again");
    assert!(matches!(manager.set_cluster_id("other"), Err(LogError::BadLogDir { .. })));
    drop(manager);

    let again = start(&dirs, 7).expect("restart");
    assert_eq!(again.meta_properties().cluster_id.as_deref(), Some("Yk9mZ0NvUzS2Fh8WbAz1Hw"));
}

#[test]
fn a_dir_of_another_broker_is_refused_naming_both_ids() {
    let root = temp_dir();
    let dirs = vec![root.path().join("d")];
    start(&dirs, 1).expect("startup");
    match start(&dirs, 2) {
        Err(e @ LogError::BadLogDir { .. }) => {
            let message = e.to_string();
            assert!(message.contains("broker.id 1") && message.contains("broker.id 2"), "{message}");
        }
        other => panic!("expected BadLogDir, got {:?}", other.err()),
    }
}

#[test]
fn dirs_that_disagree_on_the_cluster_id_are_refused() {
    let root = temp_dir();
    let dirs = vec![root.path().join("x"), root.path().join("y")];
    for (dir, cluster) in dirs.iter().zip(["c1", "c2"]) {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(meta_properties_path(dir), format!("version=0\nbroker.id=1\ncluster.id={cluster}\n")).expect("write");
    }
    assert!(matches!(start(&dirs, 1), Err(LogError::BadLogDir { reason, .. }) if reason.contains("c1") && reason.contains("c2")));
}

#[test]
fn a_file_where_a_dir_should_be_is_bad_log_dir() {
    let root = temp_dir();
    let file = root.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    match start(std::slice::from_ref(&file), 1) {
        Err(LogError::BadLogDir { path, reason }) => {
            assert_eq!(path, file);
            assert!(reason.contains("not a directory"), "{reason}");
        }
        other => panic!("expected BadLogDir, got {:?}", other.err()),
    }
}

#[test]
fn new_logs_go_to_the_dir_with_the_fewest_partitions() {
    let root = temp_dir();
    let dirs = vec![root.path().join("a"), root.path().join("b")];
    let manager = start(&dirs, 1).expect("startup");
    for p in 0..4 {
        manager.get_or_create_log(&tp("orders", p), None).expect("create");
    }
    let in_dir = |d: &Path| std::fs::read_dir(d).expect("dir").filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir())).count();
    assert_eq!((in_dir(&dirs[0]), in_dir(&dirs[1])), (2, 2));
    let log = manager.get_or_create_log(&tp("orders", 0), None).expect("existing");
    assert!(Arc::ptr_eq(&log, &manager.get_log(&tp("orders", 0)).expect("present")));
    assert_eq!(manager.all_logs().len(), 4);

    manager.delete_log(&tp("orders", 0)).expect("delete");
    assert!(manager.get_log(&tp("orders", 0)).is_none());
    assert!(!log.dir().exists());
    manager.delete_log(&tp("orders", 0)).expect("deleting twice is fine");
}

#[test]
fn clean_shutdown_marks_dirs_and_the_next_startup_trusts_and_unmarks_them() {
    let root = temp_dir();
    let dirs = vec![root.path().join("logs")];
    let manager = start(&dirs, 1).expect("startup");
    let log = manager.get_or_create_log(&tp("my-topic", 0), None).expect("create");
    log.append_as_leader(&batch(5, 10, 0), 0, 0).expect("append");
    manager.shutdown().expect("shutdown");
    assert!(dirs[0].join(CLEAN_SHUTDOWN_FILE).exists());
    assert_eq!(std::fs::read_to_string(dirs[0].join(RECOVERY_POINT_CHECKPOINT_FILE)).expect("checkpoint"), "0\n1\nmy-topic 0 5\n");
    drop(manager);

    let manager = start(&dirs, 1).expect("restart");
    assert!(!dirs[0].join(CLEAN_SHUTDOWN_FILE).exists());
    let log = manager.get_log(&tp("my-topic", 0)).expect("reloaded");
    assert_eq!((log.log_end_offset(), log.recovery_point()), (5, 5));
}

#[test]
fn after_a_crash_logs_are_recovered_from_the_checkpointed_recovery_point() {
    let root = temp_dir();
    let dirs = vec![root.path().join("logs")];
    let manager = start(&dirs, 1).expect("startup");
    let log = manager.get_or_create_log(&tp("orders", 2), None).expect("create");
    let b = batch(5, 100, 0);
    log.append_as_leader(&b, 0, 0).expect("append");
    log.flush().expect("flush");
    manager.checkpoint_recovery_points().expect("checkpoint");
    log.append_as_leader(&b, 0, 0).expect("append");
    drop((log, manager)); // crash: no shutdown, no marker

    // The second batch was torn.
    let segment = dirs[0].join("orders-2").join("00000000000000000000.log");
    std::fs::OpenOptions::new().write(true).open(&segment).and_then(|f| f.set_len(b.len() as u64 + 40)).expect("tear");
    let manager = start(&dirs, 1).expect("restart");
    let log = manager.get_log(&tp("orders", 2)).expect("reloaded");
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(std::fs::metadata(&segment).expect("meta").len(), b.len() as u64);
}

#[test]
fn startup_removes_delete_dirs_and_ignores_other_dirs() {
    let root = temp_dir();
    let dir = root.path().join("logs");
    std::fs::create_dir_all(dir.join("orders-0.0123456789abcdef0123456789abcdef-delete")).expect("mkdir");
    std::fs::create_dir_all(dir.join("lost+found")).expect("mkdir");
    std::fs::create_dir_all(dir.join("orders-1")).expect("mkdir");
    let manager = start(std::slice::from_ref(&dir), 1).expect("startup");
    assert!(!dir.join("orders-0.0123456789abcdef0123456789abcdef-delete").exists());
    assert!(dir.join("lost+found").exists());
    let logs: Vec<TopicPartition> = manager.all_logs().iter().map(|l| l.topic_partition().clone()).collect();
    assert_eq!(logs, vec![tp("orders", 1)]);
}

#[test]
fn maintenance_runs_flush_roll_and_retention_on_every_log() {
    let root = temp_dir();
    let config = LogConfig { flush_interval_ms: 1_000, segment_ms: 1_000, retention_ms: 1_000, ..LogConfig::default() };
    let manager = LogManager::startup(vec![root.path().join("l")], config, 1, 0).expect("startup");
    // Logs created on demand start their clocks at the wall clock, like the broker's.
    let wall = now_ms();
    let log = manager.get_or_create_log(&tp("t", 0), None).expect("create");
    log.append_as_leader(&batch(3, 10, wall), 0, wall).expect("append"); // MaxTimestamp wall + 2
    manager.flush_dirty_logs(wall + 1_002).expect("flush and roll");
    assert_eq!((log.recovery_point(), log.num_segments()), (3, 1), "flushed, not yet rolled");
    manager.flush_dirty_logs(wall + 1_003).expect("flush and roll");
    assert_eq!(log.num_segments(), 2);
    assert_eq!(manager.cleanup_logs(wall + 10_000, &|_| 3).expect("retention"), 1);
    assert_eq!(log.log_start_offset(), 3);
}

#[test]
fn high_watermarks_are_checkpointed_per_dir_in_kafkas_format() {
    let root = temp_dir();
    let dirs = vec![root.path().join("a"), root.path().join("b")];
    let manager = start(&dirs, 1).expect("startup");
    // The dir with the fewest partitions: orders-0 in a, orders-1 in b, my-topic-0 in a.
    for (t, p) in [("orders", 0), ("orders", 1), ("my-topic", 0)] {
        let log = manager.get_or_create_log(&tp(t, p), None).expect("create");
        log.append_as_leader(&batch(10, 10, 0), 0, 0).expect("append");
    }
    let hws: HashMap<TopicPartition, i64> = [(tp("orders", 0), 4), (tp("orders", 1), 10), (tp("my-topic", 0), 0), (tp("not-hosted", 0), 3)].into();
    manager.checkpoint_high_watermarks(&hws).expect("checkpoint");
    let read = |dir: &Path| std::fs::read_to_string(dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE)).expect("checkpoint");
    assert_eq!(read(&dirs[0]), "0\n2\nmy-topic 0 0\norders 0 4\n");
    assert_eq!(read(&dirs[1]), "0\n1\norders 1 10\n");
    let expected: HashMap<TopicPartition, i64> = [(tp("orders", 0), 4), (tp("orders", 1), 10), (tp("my-topic", 0), 0)].into();
    assert_eq!(manager.read_high_watermarks(), expected);

    // The map is the whole truth: a partition left out disappears from its dir's file.
    manager.checkpoint_high_watermarks(&[(tp("orders", 0), 5)].into()).expect("checkpoint");
    assert_eq!(read(&dirs[0]), "0\n1\norders 0 5\n");
    assert_eq!(read(&dirs[1]), "0\n0\n");
    manager.shutdown().expect("shutdown");
    drop(manager);

    let manager = start(&dirs, 1).expect("restart");
    assert_eq!(manager.read_high_watermarks(), [(tp("orders", 0), 5)].into());
}

#[test]
fn checkpointed_high_watermarks_are_clamped_to_the_log_and_its_dir() {
    let root = temp_dir();
    let dirs = vec![root.path().join("a"), root.path().join("b")];
    let manager = start(&dirs, 1).expect("startup");
    let log = manager.get_or_create_log(&tp("orders", 0), None).expect("create"); // in a
    for _ in 0..3 {
        log.append_as_leader(&batch(10, 10, 0), 0, 0).expect("append");
    }
    log.truncate_fully_and_start_at(20, 0).expect("restart the log at 20");
    log.append_as_leader(&batch(10, 10, 0), 0, 0).expect("append"); // [20, 30)
    let other = manager.get_or_create_log(&tp("orders", 1), None).expect("create"); // in b
    other.append_as_leader(&batch(10, 10, 0), 0, 0).expect("append");
    // Written by hand, as an older broker or another layout might have left them.
    std::fs::write(dirs[0].join(REPLICATION_OFFSET_CHECKPOINT_FILE), "0\n2\norders 0 7\norders 1 3\n").expect("write a");
    std::fs::write(dirs[1].join(REPLICATION_OFFSET_CHECKPOINT_FILE), "0\n1\norders 1 99\n").expect("write b");
    assert_eq!(
        manager.read_high_watermarks(),
        [(tp("orders", 0), 20), (tp("orders", 1), 10)].into(),
        "below the log start, above the log end, and orders-1's entry in the wrong dir ignored"
    );
    std::fs::write(dirs[1].join(REPLICATION_OFFSET_CHECKPOINT_FILE), "garbage\n").expect("corrupt b");
    assert_eq!(manager.read_high_watermarks(), [(tp("orders", 0), 20)].into(), "a corrupt file counts as empty");
}
