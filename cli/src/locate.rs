//! Finding what the CLI runs: the repository's scripts (`scripts/zookeeper.sh`,
//! `scripts/install-deps.sh`) and the `odradek-broker` binary.

use std::path::{Path, PathBuf};

use anyhow::Context;

const ZOOKEEPER_SCRIPT: &str = "scripts/zookeeper.sh";
const INSTALL_DEPS_SCRIPT: &str = "scripts/install-deps.sh";

/// `scripts/zookeeper.sh`.
pub fn zookeeper_script() -> anyhow::Result<PathBuf> {
    repo_script(ZOOKEEPER_SCRIPT)
}

/// `scripts/install-deps.sh`.
pub fn install_deps_script() -> anyhow::Result<PathBuf> {
    repo_script(INSTALL_DEPS_SCRIPT)
}

/// The repository: the directory that holds `scripts/zookeeper.sh`.
pub fn repository() -> anyhow::Result<PathBuf> {
    let script = zookeeper_script()?;
    script
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .with_context(|| format!("{} has no repository around it", script.display()))
}

/// `rel` under `$ODRADEK_HOME` if set, else in the nearest ancestor of the `odradek` binary
/// (`<repo>/target/<profile>/odradek`) that holds it.
fn repo_script(rel: &str) -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("ODRADEK_HOME") {
        let script = Path::new(&home).join(rel);
        anyhow::ensure!(
            script.is_file(),
            "ODRADEK_HOME={} holds no {rel}",
            Path::new(&home).display()
        );
        return Ok(script);
    }
    let exe = std::env::current_exe().context("cannot locate the odradek binary")?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(rel))
        .find(|script| script.is_file())
        .with_context(|| {
            format!(
                "no {rel} in any directory above {}; set ODRADEK_HOME to the repository",
                exe.display()
            )
        })
}

/// Where the broker binary is to be found.
pub enum BrokerBinary {
    /// Named by `--broker-bin` or `$ODRADEK_BROKER_BIN`, and there.
    Given(PathBuf),
    /// `odradek-broker` beside `odradek`, there or not (then `cluster up` builds it).
    Beside(PathBuf),
}

/// The broker binary: `flag`, else `$ODRADEK_BROKER_BIN`, else `odradek-broker` beside `odradek`.
/// A binary named by the flag or the variable must exist.
pub fn broker_binary(flag: Option<&Path>) -> anyhow::Result<BrokerBinary> {
    let (bin, source) = match (flag, std::env::var_os("ODRADEK_BROKER_BIN")) {
        (Some(path), _) => (path.to_path_buf(), "--broker-bin"),
        (None, Some(path)) => (PathBuf::from(path), "ODRADEK_BROKER_BIN"),
        (None, None) => {
            let exe = std::env::current_exe().context("cannot locate the odradek binary")?;
            let dir = exe
                .parent()
                .context("the odradek binary has no directory")?;
            return Ok(BrokerBinary::Beside(dir.join("odradek-broker")));
        }
    };
    anyhow::ensure!(
        bin.is_file(),
        "broker binary {} (from {source}) is missing: run `cargo build --bins` or pass --broker-bin",
        bin.display()
    );
    Ok(BrokerBinary::Given(bin))
}
