//! Consumer-group members as processes: `tests/interop/group_member.py` (confluent-kafka or
//! kafka-python) started with piped stdout, a reader thread timestamping each event line, and the
//! questions a group test asks of them: what is each member assigned right now, which records did
//! it read, and what happens when it is killed (-9) or asked to leave (SIGTERM ⇒ LeaveGroup).
//!
//! Also the three group requests a test sends itself, to see the coordinator's side:
//! FindCoordinator, OffsetFetch and DescribeGroups over `odradek-client`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    DescribeGroupsRequest, FindCoordinatorRequest, GroupId, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use odradek_client::Connection;

use crate::clients::{interop_script, tail, venv_python};
use crate::cluster::wait_until;
use crate::controller_stub::block_on;

/// Which Python client a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupClient {
    Confluent,
    KafkaPython,
}

impl GroupClient {
    fn flag(self) -> &'static str {
        match self {
            GroupClient::Confluent => "confluent",
            GroupClient::KafkaPython => "kafka-python",
        }
    }
}

/// The flags of one `group_member.py` run (see the script's docstring).
#[derive(Debug, Clone)]
pub struct MemberSpec {
    pub client: GroupClient,
    pub bootstrap: String,
    pub topic: String,
    pub group: String,
    /// `range,roundrobin`, `roundrobin`, ... in preference order.
    pub assignors: String,
    /// `after`, `before` or `none`.
    pub commit: &'static str,
    pub crash_after: Option<usize>,
    pub idle_exit_secs: Option<f64>,
    pub session_timeout_ms: u32,
    /// COUNT lines instead of RECORD lines (benchmarks).
    pub quiet: bool,
    pub extra: Vec<String>,
}

impl MemberSpec {
    pub fn new(client: GroupClient, bootstrap: &str, topic: &str, group: &str) -> MemberSpec {
        MemberSpec {
            client,
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            group: group.to_string(),
            assignors: "range,roundrobin".to_string(),
            commit: "after",
            crash_after: None,
            idle_exit_secs: None,
            session_timeout_ms: 6000,
            quiet: false,
            extra: Vec::new(),
        }
    }

    pub fn assignors(mut self, assignors: &str) -> Self {
        self.assignors = assignors.to_string();
        self
    }

    pub fn commit(mut self, commit: &'static str) -> Self {
        self.commit = commit;
        self
    }

    pub fn crash_after(mut self, k: usize) -> Self {
        self.crash_after = Some(k);
        self
    }

    pub fn idle_exit(mut self, secs: f64) -> Self {
        self.idle_exit_secs = Some(secs);
        self
    }

    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    pub fn spawn(&self, name: &str) -> anyhow::Result<GroupMember> {
        GroupMember::spawn(name, self)
    }
}

/// One event line of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEvent {
    Assigned(Vec<i32>),
    Revoked,
    Record {
        partition: i32,
        offset: i64,
        value: String,
    },
    Error(String),
    Crashing {
        partition: i32,
        offset: i64,
    },
    Count {
        records: u64,
        bytes: u64,
    },
    Closed,
    Other(String),
}

impl MemberEvent {
    pub fn parse(line: &str) -> MemberEvent {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let parsed = match word {
            "ASSIGNED" => Some(MemberEvent::Assigned(
                rest.split(',')
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| p.trim().parse().ok())
                    .collect(),
            )),
            "REVOKED" => Some(MemberEvent::Revoked),
            "CLOSED" => Some(MemberEvent::Closed),
            "ERROR" => Some(MemberEvent::Error(rest.to_string())),
            "RECORD" => {
                let mut fields = rest.splitn(3, ' ');
                match (
                    fields.next().and_then(|p| p.parse().ok()),
                    fields.next().and_then(|o| o.parse().ok()),
                ) {
                    (Some(partition), Some(offset)) => Some(MemberEvent::Record {
                        partition,
                        offset,
                        value: fields.next().unwrap_or("").to_string(),
                    }),
                    _ => None,
                }
            }
            "CRASHING" => {
                let mut fields = rest.split(' ');
                match (
                    fields.next().and_then(|p| p.parse().ok()),
                    fields.next().and_then(|o| o.parse().ok()),
                ) {
                    (Some(partition), Some(offset)) => {
                        Some(MemberEvent::Crashing { partition, offset })
                    }
                    _ => None,
                }
            }
            "COUNT" => {
                let mut fields = rest.split(' ');
                match (
                    fields.next().and_then(|r| r.parse().ok()),
                    fields.next().and_then(|b| b.parse().ok()),
                ) {
                    (Some(records), Some(bytes)) => Some(MemberEvent::Count { records, bytes }),
                    _ => None,
                }
            }
            _ => None,
        };
        parsed.unwrap_or_else(|| MemberEvent::Other(line.to_string()))
    }
}

/// A record as a member printed it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub value: String,
}

type Events = Arc<Mutex<Vec<(Instant, MemberEvent)>>>;

/// A running `group_member.py`. Dropping it SIGKILLs the process if it is still running.
pub struct GroupMember {
    pub name: String,
    child: Option<Child>,
    exit: Option<ExitStatus>,
    events: Events,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    pub started: Instant,
}

impl GroupMember {
    pub fn spawn(name: &str, spec: &MemberSpec) -> anyhow::Result<GroupMember> {
        let mut cmd = Command::new(venv_python());
        cmd.arg(interop_script("group_member.py"))
            .args([
                "--client",
                spec.client.flag(),
                "--bootstrap",
                &spec.bootstrap,
                "--topic",
                &spec.topic,
                "--group",
                &spec.group,
            ])
            .args([
                "--assignors",
                &spec.assignors,
                "--commit",
                spec.commit,
                "--session-timeout-ms",
                &spec.session_timeout_ms.to_string(),
            ])
            .args(["--client-id", name]);
        if let Some(k) = spec.crash_after {
            cmd.args(["--crash-after", &k.to_string()]);
        }
        if let Some(secs) = spec.idle_exit_secs {
            cmd.args(["--idle-exit", &secs.to_string()]);
        }
        if spec.quiet {
            cmd.arg("--quiet");
        }
        cmd.args(&spec.extra)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start group member {name} ({cmd:?})"))?;
        let events: Events = Arc::default();
        let stderr: Arc<Mutex<Vec<u8>>> = Arc::default();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let events = events.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let event = MemberEvent::parse(line.trim_end());
                    events
                        .lock()
                        .expect("events lock")
                        .push((Instant::now(), event));
                }
            }));
        }
        if let Some(mut err) = child.stderr.take() {
            let stderr = stderr.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .expect("stderr lock")
                        .extend_from_slice(&buf[..n]);
                }
            }));
        }
        Ok(GroupMember {
            name: name.to_string(),
            child: Some(child),
            exit: None,
            events,
            stderr,
            readers,
            started: Instant::now(),
        })
    }

    /// Every event so far, with the instant the reader saw it.
    pub fn events(&self) -> Vec<(Instant, MemberEvent)> {
        self.events.lock().expect("events lock").clone()
    }

    /// The partitions the member holds now: its latest assignment, unless revoked since (None).
    pub fn assignment(&self) -> Option<Vec<i32>> {
        let events = self.events.lock().expect("events lock");
        for (_, event) in events.iter().rev() {
            match event {
                MemberEvent::Assigned(partitions) => return Some(partitions.clone()),
                MemberEvent::Revoked | MemberEvent::Closed => return None,
                _ => {}
            }
        }
        None
    }

    /// Every ASSIGNED the member printed, in order.
    pub fn assignments(&self) -> Vec<(Instant, Vec<i32>)> {
        self.events()
            .into_iter()
            .filter_map(|(at, e)| {
                if let MemberEvent::Assigned(p) = e {
                    Some((at, p))
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn records(&self) -> Vec<ReadRecord> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| {
                if let MemberEvent::Record {
                    partition,
                    offset,
                    value,
                } = e
                {
                    Some(ReadRecord {
                        partition,
                        offset,
                        value,
                    })
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| {
                if let MemberEvent::Error(text) = e {
                    Some(text)
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn crash_point(&self) -> Option<(i32, i64)> {
        self.events().into_iter().find_map(|(_, e)| {
            if let MemberEvent::Crashing { partition, offset } = e {
                Some((partition, offset))
            } else {
                None
            }
        })
    }

    /// The latest COUNT line: records and value bytes read so far.
    pub fn count(&self) -> Option<(Instant, u64, u64)> {
        self.events().into_iter().rev().find_map(|(at, e)| {
            if let MemberEvent::Count { records, bytes } = e {
                Some((at, records, bytes))
            } else {
                None
            }
        })
    }

    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr.lock().expect("stderr lock"), 6000)
    }

    /// The member's last events and stderr, for failure messages.
    pub fn describe(&self) -> String {
        let events = self.events();
        let start = events.len().saturating_sub(30);
        let lines: Vec<String> = events[start..]
            .iter()
            .map(|(at, e)| {
                format!(
                    "  +{:.2}s {e:?}",
                    at.duration_since(self.started).as_secs_f64()
                )
            })
            .collect();
        format!(
            "--- member {} (last {} of {} events) ---\n{}\n--- member {} stderr (tail) ---\n{}",
            self.name,
            lines.len(),
            events.len(),
            lines.join("\n"),
            self.name,
            self.stderr_tail()
        )
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status once the process has exited (reaps it).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.exit = Some(status);
                    self.child = None;
                    self.join_readers();
                }
            }
        }
        self.exit
    }

    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none() && self.child.is_some()
    }

    /// Waits for the process to exit by itself (a crash point, --idle-exit).
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Ok(status);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "member {} still running after {timeout:?}\n{}",
                self.name,
                self.describe()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no LeaveGroup, no commit; the coordinator learns of it by the session timeout.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child
                .kill()
                .with_context(|| format!("cannot SIGKILL member {}", self.name))?;
            self.exit = Some(
                child
                    .wait()
                    .with_context(|| format!("cannot reap member {}", self.name))?,
            );
            self.join_readers();
        }
        Ok(())
    }

    /// SIGTERM, which the member answers by closing its consumer (LeaveGroup), and waits for the
    /// exit; a member still running after `timeout` is killed and reported.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.try_exit() {
            return Ok(status);
        }
        let pid = self.pid().context("member has no process")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .with_context(|| format!("cannot SIGTERM member {}", self.name))?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let description = self.describe();
                self.kill9()?;
                anyhow::bail!("member {} did not exit within {timeout:?} of SIGTERM; killed it\n{description}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// When the members' current assignments are disjoint and together cover partitions
/// `0..partitions`, with every member holding one (a member of a complete generation).
pub fn full_assignment(
    members: &[&GroupMember],
    partitions: i32,
) -> Option<BTreeMap<String, Vec<i32>>> {
    let mut seen = BTreeSet::new();
    let mut by_member = BTreeMap::new();
    for member in members {
        let assigned = member.assignment()?;
        for &p in &assigned {
            if !seen.insert(p) {
                return None;
            }
        }
        by_member.insert(member.name.clone(), assigned);
    }
    (seen == (0..partitions).collect::<BTreeSet<i32>>()).then_some(by_member)
}

/// Waits for [`full_assignment`]; returns it and how long it took.
pub fn wait_for_full_assignment(
    members: &[&GroupMember],
    partitions: i32,
    timeout: Duration,
) -> anyhow::Result<(BTreeMap<String, Vec<i32>>, Duration)> {
    let start = Instant::now();
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    wait_until(
        timeout,
        &format!("members {names:?} to hold disjoint assignments covering {partitions} partitions"),
        || full_assignment(members, partitions),
    )
    .map(|a| (a, start.elapsed()))
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

/// How many times the members read each `(partition, offset)`, and one value seen there.
pub fn read_counts<'a>(
    members: impl IntoIterator<Item = &'a GroupMember>,
) -> BTreeMap<(i32, i64), (usize, String)> {
    let mut counts: BTreeMap<(i32, i64), (usize, String)> = BTreeMap::new();
    for member in members {
        for r in member.records() {
            counts
                .entry((r.partition, r.offset))
                .or_insert((0, r.value))
                .0 += 1;
        }
    }
    counts
}

// --- The coordinator's side, over the wire -----------------------------------------------------

pub const FIND_COORDINATOR_VERSION: i16 = 2;
pub const OFFSET_FETCH_VERSION: i16 = 5;
pub const DESCRIBE_GROUPS_VERSION: i16 = 4;

/// FindCoordinator (group key) sent to `via`: the coordinator's node id and address, or the
/// error code the broker answered.
pub fn find_coordinator(
    via: SocketAddr,
    group: &str,
) -> anyhow::Result<Result<(i32, SocketAddr), i16>> {
    let request = FindCoordinatorRequest::default()
        .with_key(StrBytes::from_string(group.to_string()))
        .with_key_type(0);
    let response = block_on(async {
        let mut conn = Connection::connect(via).await?;
        Ok::<_, anyhow::Error>(conn.send(&request, FIND_COORDINATOR_VERSION).await?)
    })?;
    if response.error_code != 0 {
        return Ok(Err(response.error_code));
    }
    let addr: SocketAddr = format!("{}:{}", response.host.as_str(), response.port)
        .parse()
        .with_context(|| {
            format!(
                "FindCoordinator named {}:{}",
                response.host.as_str(),
                response.port
            )
        })?;
    Ok(Ok((response.node_id.0, addr)))
}

/// What OffsetFetch answered: the group-level error code, and per partition (committed offset,
/// error code).
pub type FetchedOffsets = (i16, BTreeMap<i32, (i64, i16)>);

/// OffsetFetch of `topic`'s `partitions` for `group` from `coordinator`.
pub fn offset_fetch(
    coordinator: SocketAddr,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> anyhow::Result<FetchedOffsets> {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_indexes(partitions.to_vec())]));
    let response = block_on(async {
        let mut conn = Connection::connect(coordinator).await?;
        Ok::<_, anyhow::Error>(conn.send(&request, OFFSET_FETCH_VERSION).await?)
    })?;
    let offsets = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.partition_index, (p.committed_offset, p.error_code)))
        .collect();
    Ok((response.error_code, offsets))
}

/// What DescribeGroups says about one group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub error_code: i16,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, client id) per member.
    pub members: Vec<(String, String)>,
}

pub fn describe_group(coordinator: SocketAddr, group: &str) -> anyhow::Result<GroupDescription> {
    let request = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    let response = block_on(async {
        let mut conn = Connection::connect(coordinator).await?;
        Ok::<_, anyhow::Error>(conn.send(&request, DESCRIBE_GROUPS_VERSION).await?)
    })?;
    let g = response
        .groups
        .iter()
        .find(|g| g.group_id.0.as_str() == group)
        .with_context(|| format!("DescribeGroups has no entry for group {group}"))?;
    Ok(GroupDescription {
        error_code: g.error_code,
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members: g
            .members
            .iter()
            .map(|m| (m.member_id.to_string(), m.client_id.to_string()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_parse() {
        assert_eq!(
            MemberEvent::parse("ASSIGNED 0,3,5"),
            MemberEvent::Assigned(vec![0, 3, 5])
        );
        assert_eq!(
            MemberEvent::parse("ASSIGNED "),
            MemberEvent::Assigned(vec![])
        );
        assert_eq!(
            MemberEvent::parse("ASSIGNED"),
            MemberEvent::Assigned(vec![])
        );
        assert_eq!(MemberEvent::parse("REVOKED"), MemberEvent::Revoked);
        assert_eq!(
            MemberEvent::parse("RECORD 2 17 value 17 with spaces"),
            MemberEvent::Record {
                partition: 2,
                offset: 17,
                value: "value 17 with spaces".into()
            }
        );
        assert_eq!(
            MemberEvent::parse("CRASHING 0 39"),
            MemberEvent::Crashing {
                partition: 0,
                offset: 39
            }
        );
        assert_eq!(
            MemberEvent::parse("COUNT 10 1000"),
            MemberEvent::Count {
                records: 10,
                bytes: 1000
            }
        );
        assert_eq!(
            MemberEvent::parse("ERROR INCONSISTENT_GROUP_PROTOCOL x"),
            MemberEvent::Error("INCONSISTENT_GROUP_PROTOCOL x".into())
        );
        assert_eq!(
            MemberEvent::parse("RECORD x"),
            MemberEvent::Other("RECORD x".into())
        );
    }
}
