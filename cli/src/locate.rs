//! Finding what the CLI runs: `scripts/zookeeper.sh` and the `odradek-broker` binary.

use std::path::{Path, PathBuf};

use anyhow::Context;

const SCRIPT: &str = "scripts/zookeeper.sh";

/// `scripts/zookeeper.sh`: under `$ODRADEK_HOME` if set, else in the nearest ancestor of the
/// `odradek` binary (`<repo>/target/<profile>/odradek`) that holds it.
pub fn zookeeper_script() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("ODRADEK_HOME") {
        let script = Path::new(&home).join(SCRIPT);
        anyhow::ensure!(
            script.is_file(),
            "ODRADEK_HOME={} holds no {SCRIPT}",
            Path::new(&home).display()
        );
        return Ok(script);
    }
    let exe = std::env::current_exe().context("cannot locate the odradek binary")?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(SCRIPT))
        .find(|script| script.is_file())
        .with_context(|| {
            format!(
                "no {SCRIPT} in any directory above {}; set ODRADEK_HOME to the repository",
                exe.display()
            )
        })
}

/// The broker binary: `flag`, else `$ODRADEK_BROKER_BIN`, else `odradek-broker` beside `odradek`.
pub fn broker_binary(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let (bin, source) = match (flag, std::env::var_os("ODRADEK_BROKER_BIN")) {
        (Some(path), _) => (path.to_path_buf(), "--broker-bin"),
        (None, Some(path)) => (PathBuf::from(path), "ODRADEK_BROKER_BIN"),
        (None, None) => {
            let exe = std::env::current_exe().context("cannot locate the odradek binary")?;
            let dir = exe
                .parent()
                .context("the odradek binary has no directory")?;
            (dir.join("odradek-broker"), "the odradek binary's directory")
        }
    };
    anyhow::ensure!(
        bin.is_file(),
        "broker binary {} (from {source}) is missing: run `cargo build --bins` or pass --broker-bin",
        bin.display()
    );
    Ok(bin)
}
