//! Consumer groups with real clients on a 3-broker cluster over a real ZooKeeper ensemble
//! (reference §8): confluent-kafka and kafka-python members (`tests/interop/group_member.py`,
//! driven through `odradek_tests::group_members`) and `kcat -G` split partitions, read every
//! record once, survive a member's kill -9 (session timeout) and leave (LeaveGroup), resume where
//! the commits say (before or after processing, and after the coordinator's broker dies), and
//! agree on an assignor across clients or are refused with INCONSISTENT_GROUP_PROTOCOL.
//!
//! Every member commits offset+1 of each record synchronously (`--commit after|before`), so what
//! a member reads after another stopped is exactly determined by what was printed and committed:
//! the checks are exact, with repeats allowed only where a crash fell between print and commit.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::cluster::{wait_until, Cluster};
use odradek_tests::controller_stub::block_on;
use odradek_tests::group_members::{
    describe_group, find_coordinator, offset_fetch, read_counts, wait_for_full_assignment,
    GroupClient, GroupMember, MemberSpec,
};
use odradek_tests::{kcat, partition_for_key, run_checked, unique_topic, wire};

const BROKERS: [i32; 3] = [1, 2, 3];
const PROPAGATION: Duration = Duration::from_secs(20);
/// `session.timeout.ms` of every member (the broker's `group.min.session.timeout.ms`).
const SESSION: Duration = Duration::from_millis(6000);
/// A first generation: FindCoordinator creates `__consumer_offsets` (50 partitions, RF 3), the
/// first join waits `group.initial.rebalance.delay.ms` (3 s).
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long past the session timeout the survivors of a kill -9 may take to hold everything:
/// a heartbeat interval (1 s) to hear of the rebalance, then join and sync.
const KILL_MARGIN: Duration = Duration::from_secs(8);
/// A LeaveGroup rebalance must finish well inside the session timeout, or it was the timeout.
const LEAVE_BOUND: Duration = Duration::from_millis(4500);
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// (partition, offset) -> value, for what was produced or read.
type Records = BTreeMap<(i32, i64), String>;

fn start() -> anyhow::Result<Cluster> {
    Cluster::start(&BROKERS, &[])
}

/// Runs `body` on a fresh cluster; on failure, appends the brokers' group-related log lines.
fn with_cluster(body: impl FnOnce(&mut Cluster) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut cluster = start()?;
    let result = body(&mut cluster);
    result.map_err(|e| {
        let mut logs = String::new();
        for (id, broker) in &cluster.brokers {
            let tail = broker.stderr_tail();
            let lines: Vec<&str> = tail
                .lines()
                .filter(|l| {
                    l.contains("group=")
                        || ((l.contains(" ERROR ") || l.contains(" WARN "))
                            && !l.contains("zookeeper"))
                })
                .collect();
            let start = lines.len().saturating_sub(40);
            logs.push_str(&format!(
                "\n--- broker {id} log (group lines, last {}) ---\n{}",
                lines.len() - start,
                lines[start..].join("\n")
            ));
        }
        anyhow::anyhow!("{e:#}{logs}")
    })
}

/// A topic of `partitions` partitions, RF 3, leaders spread over the brokers.
fn create_topic(cluster: &Cluster, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let assignment = (0..partitions)
        .map(|p| (p, (0..3).map(|i| BROKERS[(p as usize + i) % 3]).collect()))
        .collect();
    cluster.zk()?.create_topic(topic, &assignment)?;
    for via in BROKERS {
        cluster.wait_for_leaders(via, topic, partitions as usize, &BROKERS, PROPAGATION)?;
    }
    Ok(())
}

/// Records `key-n` / `value-n` for n in `range`, each on the partition Kafka's partitioner picks
/// for its key, one acks=all batch per partition to its leader (as broker `via` names it).
fn produce_keyed(
    cluster: &Cluster,
    via: i32,
    topic: &str,
    partitions: i32,
    range: Range<usize>,
) -> anyhow::Result<Records> {
    let mut by_partition: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for n in range {
        by_partition
            .entry(partition_for_key(format!("key-{n}").as_bytes(), partitions))
            .or_default()
            .push(format!("{n}"));
    }
    let leaders = cluster.partitions(via, topic)?;
    let mut produced = Records::new();
    for (partition, ns) in by_partition {
        let leader = leaders.get(&partition).map(|p| p.leader).ok_or_else(|| {
            anyhow::anyhow!("broker {via} knows no leader for {topic}-{partition}")
        })?;
        let records: Vec<(Option<Bytes>, Option<Bytes>)> = ns
            .iter()
            .map(|n| {
                (
                    Some(Bytes::from(format!("key-{n}"))),
                    Some(Bytes::from(format!("value-{n}"))),
                )
            })
            .collect();
        let batch = wire::encode_batch(&records, Compression::None)?;
        let addr = cluster.addr(leader);
        let topic_name = topic.to_string();
        let ack = block_on(async move {
            let mut conn = Connection::connect(addr).await?;
            wire::produce(&mut conn, &topic_name, partition, batch, -1).await
        })?;
        anyhow::ensure!(
            ack.error_code == 0,
            "acks=all produce to {topic}-{partition} at broker {leader}: error code {}",
            ack.error_code
        );
        for (i, n) in ns.iter().enumerate() {
            produced.insert(
                (partition, ack.base_offset + i as i64),
                format!("value-{n}"),
            );
        }
    }
    Ok(produced)
}

/// Checks the reads against what was produced: nothing missing, nothing unknown or altered, and
/// every record read once, except those in `twice`, read exactly twice.
fn check_reads(
    what: &str,
    produced: &Records,
    reads: &BTreeMap<(i32, i64), (usize, String)>,
    twice: &BTreeSet<(i32, i64)>,
) -> anyhow::Result<()> {
    let missing: Vec<_> = produced.keys().filter(|k| !reads.contains_key(k)).collect();
    let unknown: Vec<_> = reads
        .iter()
        .filter(|(k, (_, v))| produced.get(k) != Some(v))
        .map(|(k, (_, v))| (k, v))
        .collect();
    let wrong_count: Vec<_> = reads
        .iter()
        .filter(|(k, (n, _))| *n != if twice.contains(k) { 2 } else { 1 })
        .map(|(k, (n, _))| (k, n))
        .collect();
    anyhow::ensure!(
        missing.is_empty() && unknown.is_empty() && wrong_count.is_empty(),
        "{what}: {} produced, {} read; {} never read, e.g. {:?}; {} read but not produced as read, e.g. {:?}; {} read a wrong number of times ((partition, offset), times; allowed twice: {twice:?}), e.g. {:?}",
        produced.len(),
        reads.len(),
        missing.len(),
        &missing[..missing.len().min(10)],
        unknown.len(),
        &unknown[..unknown.len().min(10)],
        wrong_count.len(),
        &wrong_count[..wrong_count.len().min(10)]
    );
    Ok(())
}

fn wait_for_reads(members: &[&GroupMember], wanted: &Records) -> anyhow::Result<()> {
    wait_until(
        READ_TIMEOUT,
        &format!("{} records to be read", wanted.len()),
        || {
            let reads = read_counts(members.iter().copied());
            wanted.keys().all(|k| reads.contains_key(k)).then_some(())
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\n{}",
            members
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn ensure_clean_exit(member: &mut GroupMember) -> anyhow::Result<()> {
    let status = member.terminate(EXIT_TIMEOUT)?;
    anyhow::ensure!(
        status.success(),
        "member {} exited with {status} on SIGTERM\n{}",
        member.name,
        member.describe()
    );
    Ok(())
}

/// (a) Three confluent-kafka members of one group; a kafka-python member of a second group; a
/// kill -9 and a LeaveGroup.
#[test]
fn members_split_partitions_read_once_and_rebalance_after_kill_and_leave() -> anyhow::Result<()> {
    with_cluster(|cluster| {
        let topic = unique_topic("groups-six");
        create_topic(cluster, &topic, 6)?;
        let bootstrap = cluster.bootstrap();
        let group = format!("{topic}-members");
        let spec = MemberSpec::new(GroupClient::Confluent, &bootstrap, &topic, &group);
        let mut members = vec![spec.spawn("c1")?, spec.spawn("c2")?, spec.spawn("c3")?];
        let (first, took) =
            wait_for_full_assignment(&members.iter().collect::<Vec<_>>(), 6, JOIN_TIMEOUT)?;
        eprintln!("first generation after {took:?}: {first:?}");

        // Each record exactly once across the group, each from a partition its reader holds.
        let mut produced = produce_keyed(cluster, 1, &topic, 6, 0..600)?;
        wait_for_reads(&members.iter().collect::<Vec<_>>(), &produced)?;
        check_reads(
            "group of three",
            &produced,
            &read_counts(members.iter()),
            &BTreeSet::new(),
        )?;
        for m in &members {
            let foreign: Vec<_> = m
                .records()
                .into_iter()
                .filter(|r| !first[&m.name].contains(&r.partition))
                .collect();
            anyhow::ensure!(
                foreign.is_empty(),
                "member {} read partitions it was not assigned ({:?}): {:?}",
                m.name,
                first[&m.name],
                &foreign[..foreign.len().min(5)]
            );
        }

        // Another group reads everything again, independently.
        let mut other = MemberSpec::new(
            GroupClient::KafkaPython,
            &bootstrap,
            &topic,
            &format!("{topic}-other"),
        )
        .spawn("kp1")?;
        wait_for_reads(&[&other], &produced)?;
        check_reads(
            "second group (kafka-python)",
            &produced,
            &read_counts([&other]),
            &BTreeSet::new(),
        )?;
        ensure_clean_exit(&mut other)?;

        // kill -9: the survivors take over once the session timeout removes the victim.
        let mut victim = members.remove(0);
        let killed = Instant::now();
        victim.kill9()?;
        let (after_kill, _) = wait_for_full_assignment(
            &members.iter().collect::<Vec<_>>(),
            6,
            SESSION + KILL_MARGIN + Duration::from_secs(10),
        )?;
        let took = killed.elapsed();
        eprintln!(
            "after kill -9 of {}: survivors hold {after_kill:?} after {took:?}",
            victim.name
        );
        anyhow::ensure!(took <= SESSION + KILL_MARGIN, "survivors took {took:?} to cover all partitions after a kill -9 (session timeout {SESSION:?})");
        let more = produce_keyed(cluster, 1, &topic, 6, 600..900)?;
        wait_for_reads(&members.iter().collect::<Vec<_>>(), &more)?;
        produced.extend(more);
        // The victim's last record per partition may have been printed but not committed.
        let mut victim_tail = BTreeMap::new();
        for r in victim.records() {
            victim_tail.insert(r.partition, r.offset);
        }
        let allowed: BTreeSet<(i32, i64)> = victim_tail.into_iter().collect();
        let reads = read_counts(members.iter().chain([&victim]));
        let twice: BTreeSet<(i32, i64)> = allowed
            .into_iter()
            .filter(|k| reads.get(k).is_some_and(|(n, _)| *n == 2))
            .collect();
        check_reads("group across the kill", &produced, &reads, &twice)?;

        // A clean leave: the last member holds everything well inside a session timeout.
        let mut leaver = members.remove(0);
        let left = Instant::now();
        ensure_clean_exit(&mut leaver)?;
        anyhow::ensure!(
            leaver
                .events()
                .iter()
                .any(|(_, e)| *e == odradek_tests::group_members::MemberEvent::Closed),
            "member {} exited without closing\n{}",
            leaver.name,
            leaver.describe()
        );
        let (_, _) = wait_for_full_assignment(&[&members[0]], 6, SESSION + KILL_MARGIN)?;
        let took = left.elapsed();
        eprintln!(
            "after {} left: {} holds everything after {took:?}",
            leaver.name, members[0].name
        );
        anyhow::ensure!(took < LEAVE_BOUND, "the last member took {took:?} to take over after a LeaveGroup (session timeout {SESSION:?}): the leave did not trigger the rebalance");
        let last = produce_keyed(cluster, 1, &topic, 6, 900..960)?;
        wait_for_reads(&[&members[0]], &last)?;
        produced.extend(last);
        let reads = read_counts(members.iter().chain([&victim, &leaver]));
        check_reads(
            "group across the kill and the leave",
            &produced,
            &reads,
            &twice,
        )?;
        ensure_clean_exit(&mut members[0])?;
        Ok(())
    })
}

/// (b) Commit after processing re-reads the crash record; commit before loses exactly it.
/// (e) `kcat -G` commits on close: a second run of the group reads only what is new.
#[test]
fn the_commit_point_decides_what_the_next_member_reads_and_kcat_commits_on_close(
) -> anyhow::Result<()> {
    with_cluster(|cluster| {
        let topic = unique_topic("groups-commit");
        create_topic(cluster, &topic, 1)?;
        let bootstrap = cluster.bootstrap();
        let produced = produce_keyed(cluster, 1, &topic, 1, 0..100)?;

        // At-least-once: printed, crashed before the commit: the next member starts at it.
        let group = format!("{topic}-after");
        let spec =
            MemberSpec::new(GroupClient::Confluent, &bootstrap, &topic, &group).commit("after");
        let mut crashed = spec.clone().crash_after(40).spawn("after-crash")?;
        let status = crashed.wait_exit(READ_TIMEOUT)?;
        anyhow::ensure!(
            status.code() == Some(3),
            "crashing member exited with {status}\n{}",
            crashed.describe()
        );
        anyhow::ensure!(
            crashed.crash_point() == Some((0, 39)),
            "crash point {:?}, expected the 40th record (0, 39)",
            crashed.crash_point()
        );
        let mut next = spec.idle_exit(3.0).spawn("after-next")?;
        let status = next.wait_exit(READ_TIMEOUT)?;
        anyhow::ensure!(
            status.success(),
            "next member exited with {status}\n{}",
            next.describe()
        );
        let first = next.records().first().map(|r| r.offset);
        anyhow::ensure!(first == Some(39), "after a crash between print and commit of offset 39 the next member started at {first:?}\n{}", next.describe());
        check_reads(
            "commit after, crash at the 40th record",
            &produced,
            &read_counts([&crashed, &next]),
            &[(0, 39)].into_iter().collect(),
        )?;

        // At-most-once: committed, crashed before printing: nobody ever prints it.
        let group = format!("{topic}-before");
        let spec =
            MemberSpec::new(GroupClient::KafkaPython, &bootstrap, &topic, &group).commit("before");
        let mut crashed = spec.clone().crash_after(40).spawn("before-crash")?;
        let status = crashed.wait_exit(READ_TIMEOUT)?;
        anyhow::ensure!(
            status.code() == Some(3),
            "crashing member exited with {status}\n{}",
            crashed.describe()
        );
        anyhow::ensure!(
            crashed.crash_point() == Some((0, 39)),
            "crash point {:?}, expected the 40th record (0, 39)",
            crashed.crash_point()
        );
        let mut next = spec.idle_exit(3.0).spawn("before-next")?;
        let status = next.wait_exit(READ_TIMEOUT)?;
        anyhow::ensure!(
            status.success(),
            "next member exited with {status}\n{}",
            next.describe()
        );
        let mut expected = produced.clone();
        expected.remove(&(0, 39));
        check_reads(
            "commit before, crash at the 40th record",
            &expected,
            &read_counts([&crashed, &next]),
            &BTreeSet::new(),
        )?;

        // kcat -G: all N from the beginning, then exactly the M new ones from the commits.
        let topic = unique_topic("groups-kcat");
        create_topic(cluster, &topic, 3)?;
        let group = format!("{topic}-kcat");
        let first_batch = produce_keyed(cluster, 1, &topic, 3, 0..90)?;
        let read = kcat_group(&bootstrap, &group, &topic, 90, true)?;
        check_reads(
            "kcat -G -o beginning",
            &first_batch,
            &counts_of(&read),
            &BTreeSet::new(),
        )?;
        let coordinator = wait_until(PROPAGATION, "FindCoordinator to answer", || {
            find_coordinator(cluster.addr(1), &group).ok()?.ok()
        })?;
        let (code, committed) = offset_fetch(coordinator.1, &group, &topic, &[0, 1, 2])?;
        let ends: BTreeMap<i32, i64> = (0..3)
            .map(|p| {
                (
                    p,
                    first_batch
                        .keys()
                        .filter(|(q, _)| *q == p)
                        .map(|(_, o)| o + 1)
                        .max()
                        .unwrap_or(-1),
                )
            })
            .collect();
        let committed: BTreeMap<i32, i64> =
            committed.into_iter().map(|(p, (o, _))| (p, o)).collect();
        anyhow::ensure!(code == 0 && committed == ends, "after kcat closed, OffsetFetch answered error {code}, offsets {committed:?}; the log ends are {ends:?}");
        let second_batch = produce_keyed(cluster, 1, &topic, 3, 90..135)?;
        let read = kcat_group(&bootstrap, &group, &topic, 45, false)?;
        check_reads(
            "second kcat -G run of the group",
            &second_batch,
            &counts_of(&read),
            &BTreeSet::new(),
        )?;
        Ok(())
    })
}

/// `kcat -G group topic -c count`: a balanced consumer that exits (committing on close) after
/// `count` records; `from_beginning` adds `-o beginning`, otherwise it starts at the commits
/// (earliest where there are none, so a lost commit shows as a repeat).
fn kcat_group(
    bootstrap: &str,
    group: &str,
    topic: &str,
    count: usize,
    from_beginning: bool,
) -> anyhow::Result<Records> {
    let mut cmd = Command::new(kcat());
    cmd.args([
        "-b",
        bootstrap,
        "-G",
        group,
        topic,
        "-c",
        &count.to_string(),
        "-f",
        "%p:%o:%s\\n",
    ])
    .args([
        "-X",
        "session.timeout.ms=6000",
        "-X",
        "heartbeat.interval.ms=1000",
        "-X",
        "auto.offset.reset=earliest",
    ]);
    if from_beginning {
        cmd.args(["-o", "beginning"]);
    }
    let output = run_checked(&mut cmd, None, READ_TIMEOUT, &format!("kcat -G {group}"))?;
    let mut records = Records::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(p), Some(o), Some(v)) = (fields.next(), fields.next(), fields.next()) else {
            anyhow::bail!("kcat printed {line:?}, not partition:offset:value");
        };
        let key = (p.parse()?, o.parse()?);
        anyhow::ensure!(
            records.insert(key, v.to_string()).is_none(),
            "kcat -G {group} read {key:?} twice in one run"
        );
    }
    Ok(records)
}

fn counts_of(records: &Records) -> BTreeMap<(i32, i64), (usize, String)> {
    records.iter().map(|(k, v)| (*k, (1, v.clone()))).collect()
}

/// (c) The coordinator's broker dies: the new coordinator loads the group's commits from
/// `__consumer_offsets`, serves them over OffsetFetch, and a new member resumes exactly there.
#[test]
fn a_new_coordinator_serves_the_commits_and_a_new_member_resumes_from_them() -> anyhow::Result<()> {
    with_cluster(|cluster| {
        let topic = unique_topic("groups-failover");
        create_topic(cluster, &topic, 3)?;
        let bootstrap = cluster.bootstrap();
        let group = format!("{topic}-g");
        let produced = produce_keyed(cluster, 1, &topic, 3, 0..150)?;
        let spec = MemberSpec::new(GroupClient::Confluent, &bootstrap, &topic, &group);
        let mut old = spec.clone().crash_after(100).spawn("old")?;
        let status = old.wait_exit(READ_TIMEOUT)?;
        anyhow::ensure!(
            status.code() == Some(3),
            "old member exited with {status}\n{}",
            old.describe()
        );
        // What it committed: offset+1 of every record it printed, except the crash record.
        let (crash_partition, crash_offset) = old
            .crash_point()
            .ok_or_else(|| anyhow::anyhow!("no crash point\n{}", old.describe()))?;
        let mut expected: BTreeMap<i32, i64> = (0..3).map(|p| (p, -1)).collect();
        for r in old
            .records()
            .iter()
            .filter(|r| (r.partition, r.offset) != (crash_partition, crash_offset))
        {
            expected.insert(r.partition, r.offset + 1);
        }

        let (coordinator, addr) = wait_until(PROPAGATION, "FindCoordinator to answer", || {
            find_coordinator(cluster.addr(1), &group).ok()?.ok()
        })?;
        let fetched = committed_offsets(addr, &group, &topic)?;
        anyhow::ensure!(fetched == Ok(expected.clone()), "OffsetFetch from coordinator {coordinator} before the kill: {fetched:?}, expected {expected:?}");

        cluster.broker(coordinator).kill9()?;
        let live: Vec<i32> = BROKERS.into_iter().filter(|&b| b != coordinator).collect();
        let mut last = String::new();
        let new_coordinator = wait_until(
            Duration::from_secs(45),
            "a new coordinator to serve the group's commits",
            || {
                for &via in &live {
                    match find_coordinator(cluster.addr(via), &group) {
                        Ok(Ok((id, addr))) if id != coordinator => {
                            match committed_offsets(addr, &group, &topic) {
                                Ok(Ok(offsets)) if offsets == expected => return Some(id),
                                other => last = format!("coordinator {id}: OffsetFetch {other:?}"),
                            }
                        }
                        other => last = format!("FindCoordinator via {via}: {other:?}"),
                    }
                }
                None
            },
        )
        .map_err(|e| anyhow::anyhow!("{e:#}; last answer: {last}; expected {expected:?}"))?;
        eprintln!("coordinator moved from broker {coordinator} to {new_coordinator}; commits {expected:?}");
        cluster.wait_for_leaders(live[0], &topic, 3, &live, PROPAGATION)?;

        let mut new = MemberSpec::new(GroupClient::Confluent, &cluster.bootstrap(), &topic, &group)
            .idle_exit(4.0)
            .spawn("new")?;
        let status = new.wait_exit(Duration::from_secs(90))?;
        anyhow::ensure!(
            status.success(),
            "new member exited with {status}\n{}",
            new.describe()
        );
        for p in 0..3 {
            let first = new
                .records()
                .iter()
                .find(|r| r.partition == p)
                .map(|r| r.offset);
            let end = produced.keys().filter(|(q, _)| *q == p).count() as i64;
            let resume = expected[&p].max(0);
            let wanted = (resume < end).then_some(resume);
            anyhow::ensure!(first == wanted, "partition {p}: the new member started at {first:?}, the commit says {wanted:?}\n{}", new.describe());
        }
        check_reads(
            "across the coordinator failover",
            &produced,
            &read_counts([&old, &new]),
            &[(crash_partition, crash_offset)].into_iter().collect(),
        )?;
        Ok(())
    })
}

/// OffsetFetch of partitions 0..3: the offsets, or the error codes (group-level or per partition).
fn committed_offsets(
    addr: std::net::SocketAddr,
    group: &str,
    topic: &str,
) -> anyhow::Result<Result<BTreeMap<i32, i64>, String>> {
    let (code, partitions) = offset_fetch(addr, group, topic, &[0, 1, 2])?;
    if code != 0 || partitions.values().any(|(_, e)| *e != 0) {
        return Ok(Err(format!("error {code}, partitions {partitions:?}")));
    }
    Ok(Ok(partitions
        .into_iter()
        .map(|(p, (o, _))| (p, o))
        .collect()))
}

/// (d) confluent-kafka (range, roundrobin) and kafka-python (roundrobin) agree on roundrobin; with
/// no assignor in common the second is refused and the first keeps its partitions.
#[test]
fn mixed_clients_agree_on_a_common_assignor_or_are_refused() -> anyhow::Result<()> {
    with_cluster(|cluster| {
        let topic = unique_topic("groups-mixed");
        create_topic(cluster, &topic, 4)?;
        let bootstrap = cluster.bootstrap();

        let group = format!("{topic}-common");
        let mut confluent = MemberSpec::new(GroupClient::Confluent, &bootstrap, &topic, &group)
            .assignors("range,roundrobin")
            .spawn("mixed-confluent")?;
        let mut python = MemberSpec::new(GroupClient::KafkaPython, &bootstrap, &topic, &group)
            .assignors("roundrobin")
            .spawn("mixed-kafka-python")?;
        let (assignment, _) = wait_for_full_assignment(&[&confluent, &python], 4, JOIN_TIMEOUT)?;
        // Round robin over one topic deals alternate partitions; range would give halves.
        let mut shapes: Vec<Vec<i32>> = assignment.values().cloned().collect();
        shapes.sort();
        anyhow::ensure!(
            shapes == vec![vec![0, 2], vec![1, 3]],
            "assignment {assignment:?} is not round robin's"
        );
        let (_, addr) = wait_until(PROPAGATION, "FindCoordinator to answer", || {
            find_coordinator(cluster.addr(1), &group).ok()?.ok()
        })?;
        let described = describe_group(addr, &group)?;
        let mut clients: Vec<String> = described.members.iter().map(|(_, c)| c.clone()).collect();
        clients.sort();
        anyhow::ensure!(
            described.error_code == 0
                && described.state == "Stable"
                && described.protocol_type == "consumer"
                && described.protocol == "roundrobin"
                && clients == ["mixed-confluent", "mixed-kafka-python"],
            "DescribeGroups: {described:?}"
        );
        ensure_clean_exit(&mut confluent)?;
        ensure_clean_exit(&mut python)?;

        let group = format!("{topic}-disjoint");
        let mut confluent = MemberSpec::new(GroupClient::Confluent, &bootstrap, &topic, &group)
            .assignors("range")
            .spawn("range-only")?;
        wait_for_full_assignment(&[&confluent], 4, JOIN_TIMEOUT)?;
        let mut python = MemberSpec::new(GroupClient::KafkaPython, &bootstrap, &topic, &group)
            .assignors("roundrobin")
            .spawn("roundrobin-only")?;
        wait_until(
            Duration::from_secs(30),
            "kafka-python to report INCONSISTENT_GROUP_PROTOCOL",
            || {
                python
                    .errors()
                    .iter()
                    .any(|e| e.contains("InconsistentGroupProtocol"))
                    .then_some(())
            },
        )
        .map_err(|e| anyhow::anyhow!("{e:#}\n{}", python.describe()))?;
        // Another heartbeat or two of the first member: its generation must be untouched.
        std::thread::sleep(Duration::from_secs(3));
        anyhow::ensure!(
            python.assignments().is_empty(),
            "the refused member got an assignment\n{}",
            python.describe()
        );
        let confluent_assignments = confluent.assignments();
        anyhow::ensure!(
            confluent_assignments.len() == 1 && confluent.assignment() == Some(vec![0, 1, 2, 3]),
            "the first member's assignment changed when a member with no common assignor knocked\n{}",
            confluent.describe()
        );
        let described = describe_group(addr_of(cluster, &group)?, &group)?;
        anyhow::ensure!(
            described.state == "Stable"
                && described.protocol == "range"
                && described.members.len() == 1,
            "DescribeGroups after the refusal: {described:?}"
        );
        ensure_clean_exit(&mut python)?;
        ensure_clean_exit(&mut confluent)?;
        Ok(())
    })
}

fn addr_of(cluster: &Cluster, group: &str) -> anyhow::Result<std::net::SocketAddr> {
    Ok(wait_until(PROPAGATION, "FindCoordinator to answer", || {
        find_coordinator(cluster.addr(1), group).ok()?.ok()
    })?
    .1)
}
