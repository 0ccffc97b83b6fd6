//! What `cluster up` needs on the machine, installed or built when missing, so that a fresh
//! Debian machine with only Rust goes from `cargo run --release --bin odradek -- cluster up` to a
//! running cluster:
//!
//! * ZooKeeper: Debian's `zookeeper` package and a Java runtime, through
//!   `scripts/install-deps.sh zookeeper` (apt-get, as root or through sudo);
//! * the `odradek-broker` binary beside `odradek`, built with cargo in `odradek`'s own profile.
//!
//! Kafka ships both in its tarball; this is the equivalent step for a source checkout. Whatever
//! the child processes print goes to stderr: stdout stays the bootstrap servers alone.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::locate::{self, BrokerBinary};

/// The jar `scripts/zookeeper.sh` runs, from Debian's `zookeeper` package.
const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// Installs ZooKeeper and a Java runtime unless both are there.
pub fn ensure_zookeeper() -> anyhow::Result<()> {
    if Path::new(ZOOKEEPER_JAR).is_file() && on_path("java") {
        return Ok(());
    }
    let script = locate::install_deps_script()?;
    eprintln!(
        "odradek: ZooKeeper is not installed; running {} zookeeper",
        script.display()
    );
    let status = Command::new(&script)
        .arg("zookeeper")
        .stdin(Stdio::null())
        .stdout(stderr()?)
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    anyhow::ensure!(
        status.success(),
        "cannot install ZooKeeper: `{} zookeeper` failed ({status}); see its output above",
        script.display()
    );
    anyhow::ensure!(
        Path::new(ZOOKEEPER_JAR).is_file(),
        "`{} zookeeper` succeeded but {ZOOKEEPER_JAR} is still missing",
        script.display()
    );
    Ok(())
}

/// The broker binary; one missing beside `odradek` is built first, with cargo, in the profile
/// `odradek` itself was built in (the name of its directory: `debug` or `release`).
pub fn ensure_broker(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let bin = match locate::broker_binary(flag)? {
        BrokerBinary::Given(bin) => return Ok(bin),
        BrokerBinary::Beside(bin) if bin.is_file() => return Ok(bin),
        BrokerBinary::Beside(bin) => bin,
    };
    let profile_dir = bin.parent().context("the broker binary has no directory")?;
    let profile_args: &[&str] = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => &[],
        Some("release") => &["--release"],
        _ => anyhow::bail!(
            "{} is missing and odradek is not in a cargo target directory: build the broker \
             with `cargo build --release --bins` and pass --broker-bin",
            bin.display()
        ),
    };
    // `<target>/<profile>/odradek`: pointing cargo at `<target>` puts the broker beside it
    // whatever the working directory or CARGO_TARGET_DIR say.
    let target_dir = profile_dir
        .parent()
        .context("the odradek binary's directory has no parent")?;
    let repository = locate::repository()?;
    // `cargo run` sets CARGO to the cargo that runs us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["build", "-p", "odradek-broker", "--bin", "odradek-broker"])
        .args(profile_args)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(&repository)
        .stdin(Stdio::null())
        .stdout(stderr()?);
    eprintln!(
        "odradek: {} is missing; building it: cargo build -p odradek-broker {}",
        bin.display(),
        profile_args.join(" ")
    );
    let status = command.status().with_context(|| {
        format!(
            "{} is missing and cargo cannot run: build it with `cargo build --release --bins`",
            bin.display()
        )
    })?;
    anyhow::ensure!(
        status.success(),
        "building odradek-broker failed ({status}); see cargo's output above"
    );
    anyhow::ensure!(
        bin.is_file(),
        "cargo built odradek-broker but {} is still missing: pass --broker-bin",
        bin.display()
    );
    Ok(bin)
}

/// Our stderr, for a child's stdout.
fn stderr() -> anyhow::Result<Stdio> {
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate stderr")?;
    Ok(Stdio::from(fd))
}

/// Whether `program` is an executable file in a `$PATH` directory.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
