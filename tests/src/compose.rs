//! The docker-compose cluster (`docker-compose.yml` at the workspace root: zk1..zk3 and
//! broker1..broker3) driven from a test: images ensured, the project brought up under a unique
//! name with free host ports, each service's container addressed by its compose name, the
//! container faults (`docker kill`/`start`, `pause`/`unpause`, `network disconnect`/`connect`),
//! and `down -v` when the [`ComposeProject`] is dropped, so a failing or panicking test leaves no
//! containers, networks or volumes behind.
//!
//! The layout it assumes (docs/DOCKER.md): two networks, [`INTERNAL_NETWORK`] (ZooKeeper and
//! inter-broker traffic; the ZooKeeper nodes are on it only) and [`EXTERNAL_NETWORK`] (the
//! brokers' EXTERNAL listeners, published on the host as `localhost:<port>`). Broker `id`'s host
//! port comes from the environment variable [`broker_port_env`]`(id)`, and the container listens
//! on that same port, so the advertised `localhost:<port>` is right from the host.
//!
//! Every command has a deadline: a wedged Docker daemon fails the test instead of hanging it.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::clients::repo_root;

/// The broker services of docker-compose.yml, with their broker ids 1..=3.
pub const BROKER_SERVICES: [&str; 3] = ["broker1", "broker2", "broker3"];
/// The ZooKeeper services of docker-compose.yml (`myid` 1..=3).
pub const ZK_SERVICES: [&str; 3] = ["zk1", "zk2", "zk3"];
/// The compose network of ZooKeeper and the brokers' INTERNAL listeners (short name; the Docker
/// network is [`ComposeProject::network`]).
pub const INTERNAL_NETWORK: &str = "internal";
/// The compose network of the brokers' EXTERNAL listeners, the one their host ports go through.
pub const EXTERNAL_NETWORK: &str = "external";
/// The brokers' INTERNAL listener port inside the compose network.
pub const INTERNAL_PORT: u16 = 19092;

/// How long a `docker` command other than `up`/`down` may take.
pub const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `docker-compose up` and `down` may take (the images exist by then).
pub const COMPOSE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `scripts/docker-images.sh ensure` may take: the first run builds a Debian root
/// filesystem with debootstrap (a few minutes) and both images.
pub const IMAGES_TIMEOUT: Duration = Duration::from_secs(1200);

/// The environment variable that sets broker `id`'s published (and EXTERNAL) port.
pub fn broker_port_env(id: i32) -> String {
    format!("ODRADEK_BROKER{id}_PORT")
}

/// The compose service of broker `id`.
pub fn broker_service(id: i32) -> String {
    format!("broker{id}")
}

/// The workspace's docker-compose.yml.
pub fn compose_file() -> PathBuf {
    repo_root().join("docker-compose.yml")
}

/// Whether `docker` and `docker-compose` are installed and the daemon answers.
pub fn docker_available() -> anyhow::Result<()> {
    docker(&["info", "--format", "{{.ServerVersion}}"])
        .context("the Docker daemon does not answer (is Docker installed and running?)")?;
    run(compose_command(&["version"]), DOCKER_TIMEOUT)
        .context("docker-compose is not installed")?;
    Ok(())
}

/// `scripts/docker-images.sh ensure`: builds `odradek/debian-base`, `odradek/zookeeper` and
/// `odradek/broker` where missing, the broker from the suite's binary ([`crate::broker_binary`]).
/// The script serialises concurrent callers with flock; this also does within the process.
pub fn ensure_images() -> anyhow::Result<()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let broker = crate::broker_binary()?;
    let mut command = Command::new(repo_root().join("scripts").join("docker-images.sh"));
    command.args(["ensure", "--broker-bin"]).arg(&broker);
    run(command, IMAGES_TIMEOUT).context("scripts/docker-images.sh ensure")?;
    Ok(())
}

/// `count` distinct ports that were free on 127.0.0.1 a moment ago (the listeners are closed
/// before Docker binds them; a clash makes `up` fail loudly rather than test the wrong thing).
pub fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot bind a free port on 127.0.0.1")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// A compose project name no other run uses: `<prefix>-<pid>-<millis>`, lower case, as compose
/// v1 and v2 both accept.
pub fn unique_project_name(prefix: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 100_000_000);
    format!("{prefix}-{}-{millis}", std::process::id()).to_lowercase()
}

/// A compose project that is up; `down -v` when dropped.
pub struct ComposeProject {
    name: String,
    file: PathBuf,
    env: Vec<(String, String)>,
    /// Broker id -> host port (its EXTERNAL listener).
    broker_ports: BTreeMap<i32, u16>,
    /// Service -> container id, looked up once (`docker kill`/`start` keep the container).
    containers: BTreeMap<String, String>,
    down: bool,
}

impl ComposeProject {
    /// The workspace's docker-compose.yml up as project `name` with brokers 1..=3 published on
    /// `broker_ports` (`[port of broker1, broker2, broker3]`): `up -d --no-build`, so the images
    /// must exist ([`ensure_images`]). Does not wait for health: see [`Self::wait_healthy`].
    pub fn up(name: &str, broker_ports: [u16; 3]) -> anyhow::Result<ComposeProject> {
        let ports: BTreeMap<i32, u16> = (1..=3).zip(broker_ports).collect();
        let env = ports
            .iter()
            .map(|(id, port)| (broker_port_env(*id), port.to_string()))
            .collect::<Vec<_>>();
        Self::up_file(&compose_file(), name, &env, ports)
    }

    /// Like [`Self::up`] with another compose file and extra environment (e.g. a test's own
    /// variant of the file); `broker_ports` is what [`Self::bootstrap`] reports.
    pub fn up_file(
        file: &Path,
        name: &str,
        env: &[(String, String)],
        broker_ports: BTreeMap<i32, u16>,
    ) -> anyhow::Result<ComposeProject> {
        docker_available()?;
        anyhow::ensure!(file.is_file(), "no compose file at {}", file.display());
        let project = ComposeProject {
            name: name.to_string(),
            file: file.to_path_buf(),
            env: env.to_vec(),
            broker_ports,
            containers: BTreeMap::new(),
            down: false,
        };
        // From here on a failure still takes the project down (Drop).
        project.compose(&["up", "-d", "--no-build"], COMPOSE_TIMEOUT)?;
        Ok(project)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Docker network of compose network `short` (`internal`, `external`): compose names
    /// it `<project>_<short>` (v1 and v2 alike).
    pub fn network(&self, short: &str) -> String {
        format!("{}_{short}", self.name)
    }

    /// Broker `id`'s address from the host (its EXTERNAL listener).
    pub fn broker_addr(&self, id: i32) -> anyhow::Result<SocketAddr> {
        let port = self
            .broker_ports
            .get(&id)
            .with_context(|| format!("project {} has no broker {id}", self.name))?;
        Ok(SocketAddr::from(([127, 0, 0, 1], *port)))
    }

    /// The bootstrap servers from the host: `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn bootstrap(&self) -> String {
        self.broker_ports
            .values()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The container id of `service`.
    pub fn container(&mut self, service: &str) -> anyhow::Result<String> {
        if let Some(id) = self.containers.get(service) {
            return Ok(id.clone());
        }
        let out = self.compose(&["ps", "-q", service], DOCKER_TIMEOUT)?;
        let id = out
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .with_context(|| format!("project {} has no container for {service}", self.name))?
            .to_string();
        self.containers.insert(service.to_string(), id.clone());
        Ok(id)
    }

    /// `docker kill` (SIGKILL to the container's processes, as kill -9). The container stays
    /// dead (`restart: "no"`) until [`Self::start`].
    pub fn kill(&mut self, service: &str) -> anyhow::Result<()> {
        self.docker_on(service, &["kill"])
    }

    /// `docker start`: a killed or stopped container again, with its volumes.
    pub fn start(&mut self, service: &str) -> anyhow::Result<()> {
        self.docker_on(service, &["start"])
    }

    /// `docker stop` (SIGTERM, SIGKILL after `grace`): a clean shutdown.
    pub fn stop(&mut self, service: &str, grace: Duration) -> anyhow::Result<()> {
        let secs = grace.as_secs().to_string();
        self.docker_on(service, &["stop", "--time", &secs])
    }

    /// `docker restart`.
    pub fn restart(&mut self, service: &str) -> anyhow::Result<()> {
        self.docker_on(service, &["restart", "--time", "10"])
    }

    /// `docker pause`: the cgroup freezer stops every process of the container (SIGSTOP-like;
    /// its TCP connections stay open and unanswered).
    pub fn pause(&mut self, service: &str) -> anyhow::Result<()> {
        self.docker_on(service, &["pause"])
    }

    pub fn unpause(&mut self, service: &str) -> anyhow::Result<()> {
        self.docker_on(service, &["unpause"])
    }

    /// Takes `service` off compose network `short` (`internal`: a broker loses ZooKeeper and
    /// the other brokers while the host still reaches it).
    pub fn disconnect(&mut self, service: &str, short: &str) -> anyhow::Result<()> {
        let network = self.network(short);
        self.docker_network(service, &["disconnect", "--force", &network])
    }

    /// Puts `service` back on compose network `short` under its service name, which the other
    /// containers resolve.
    pub fn connect(&mut self, service: &str, short: &str) -> anyhow::Result<()> {
        let network = self.network(short);
        self.docker_network(service, &["connect", "--alias", service, &network])
    }

    /// The Docker networks `service` is on now.
    pub fn networks(&mut self, service: &str) -> anyhow::Result<Vec<String>> {
        let id = self.container(service)?;
        let out = docker(&[
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}",
            &id,
        ])?;
        Ok(out
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// The container's state as Docker reports it: `running`, `paused`, `exited`, ...
    pub fn state(&mut self, service: &str) -> anyhow::Result<String> {
        let id = self.container(service)?;
        Ok(docker(&["inspect", "-f", "{{.State.Status}}", &id])?
            .trim()
            .to_string())
    }

    /// The health check's verdict: `healthy`, `unhealthy`, `starting` (or `none`).
    pub fn health(&mut self, service: &str) -> anyhow::Result<String> {
        let id = self.container(service)?;
        let out = docker(&[
            "inspect",
            "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
            &id,
        ])?;
        Ok(out.trim().to_string())
    }

    /// Waits until every one of `services` is `healthy`; fails at once if one exits, and with
    /// each one's state and log tail after `timeout`.
    pub fn wait_healthy(&mut self, services: &[&str], timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            for service in services {
                let health = self.health(service)?;
                if health == "healthy" {
                    continue;
                }
                let state = self.state(service)?;
                if state == "exited" || state == "dead" {
                    let logs = self.logs(service, 40);
                    anyhow::bail!(
                        "{service} of project {} exited while starting:\n{logs}",
                        self.name
                    );
                }
                pending.push(format!("{service}: {state}/{health}"));
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let logs: Vec<String> = services
                    .iter()
                    .map(|s| format!("--- {s} ---\n{}", self.logs(s, 20)))
                    .collect();
                anyhow::bail!(
                    "project {} not healthy within {timeout:?} ({}):\n{}",
                    self.name,
                    pending.join(", "),
                    logs.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits until broker `id`'s published port accepts TCP connections from the host.
    pub fn wait_broker_port(&self, id: i32, timeout: Duration) -> anyhow::Result<()> {
        let addr = self.broker_addr(id)?;
        let deadline = Instant::now() + timeout;
        while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "broker {id} at {addr} does not accept connections within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// The last `lines` lines of `service`'s output (stdout and stderr), for error messages.
    pub fn logs(&mut self, service: &str, lines: usize) -> String {
        let id = match self.container(service) {
            Ok(id) => id,
            Err(e) => return format!("(no container: {e:#})"),
        };
        let mut command = Command::new("docker");
        command.args(["logs", "--tail", &lines.to_string(), &id]);
        run_merged(command, DOCKER_TIMEOUT).unwrap_or_else(|e| format!("(no logs: {e:#})"))
    }

    /// `docker-compose down -v`: containers, networks and volumes gone. Drop does the same;
    /// this reports the error.
    pub fn down(mut self) -> anyhow::Result<()> {
        self.down_inner()
    }

    fn down_inner(&mut self) -> anyhow::Result<()> {
        if self.down {
            return Ok(());
        }
        self.down = true;
        // A paused container would hold up `down`.
        for id in self.containers.values() {
            let _ = docker(&["unpause", id]);
        }
        self.compose(
            &["down", "-v", "--timeout", "2", "--remove-orphans"],
            COMPOSE_TIMEOUT,
        )?;
        Ok(())
    }

    fn docker_on(&mut self, service: &str, args: &[&str]) -> anyhow::Result<()> {
        let id = self.container(service)?;
        let mut all = args.to_vec();
        all.push(&id);
        docker(&all).with_context(|| format!("docker {} {service}", args.join(" ")))?;
        Ok(())
    }

    fn docker_network(&mut self, service: &str, args: &[&str]) -> anyhow::Result<()> {
        let id = self.container(service)?;
        let mut all = vec!["network"];
        all.extend_from_slice(args);
        all.push(&id);
        docker(&all).with_context(|| format!("docker network {} {service}", args.join(" ")))?;
        Ok(())
    }

    /// Runs `docker-compose -p <name> -f <file> ARGS` with the project's environment.
    pub fn compose(&self, args: &[&str], timeout: Duration) -> anyhow::Result<String> {
        let mut all = vec!["-p", self.name.as_str()];
        let file = self.file.to_string_lossy();
        all.extend(["-f", &file]);
        all.extend_from_slice(args);
        let mut command = compose_command(&all);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = self.file.parent() {
            command.current_dir(dir);
        }
        run(command, timeout)
            .with_context(|| format!("docker-compose -p {} {}", self.name, args.join(" ")))
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if let Err(e) = self.down_inner() {
            eprintln!("compose: cannot take project {} down: {e:#}", self.name);
        }
    }
}

fn compose_command(args: &[&str]) -> Command {
    let mut command = Command::new("docker-compose");
    command.args(args);
    command
}

/// `docker ARGS` within [`DOCKER_TIMEOUT`]; its stdout.
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new("docker");
    command.args(args);
    run(command, DOCKER_TIMEOUT).with_context(|| format!("docker {}", args.join(" ")))
}

/// Runs `command` within `timeout` (killed after it); its stdout, or an error with the exit
/// status and the tail of stderr.
fn run(command: Command, timeout: Duration) -> anyhow::Result<String> {
    let (status, stdout, stderr) = run_raw(command, timeout)?;
    anyhow::ensure!(
        status.success(),
        "exited with {status}: {}",
        crate::clients::tail(stderr.as_bytes(), 6000)
    );
    Ok(stdout)
}

/// Like [`run`], stdout and stderr together, whatever the exit status.
fn run_merged(command: Command, timeout: Duration) -> anyhow::Result<String> {
    let (_, stdout, stderr) = run_raw(command, timeout)?;
    Ok(format!("{stdout}{stderr}"))
}

fn run_raw(
    mut command: Command,
    timeout: Duration,
) -> anyhow::Result<(std::process::ExitStatus, String, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {command:?}"))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut s);
            }
            s
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{command:?} did not finish within {timeout:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}
