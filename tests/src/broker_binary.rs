//! Finding the `odradek-broker` executable the process tests run.
//!
//! Order: `$ODRADEK_BROKER_BIN` if set (scripts/test.sh sets it after building, so no test ever runs
//! cargo); otherwise `target/<profile>/odradek-broker` beside the running test executable
//! (`<target>/<profile>/deps/<test>`), built first with `cargo build -p odradek-broker` in that
//! same profile and target dir. That build runs once per test process and is a no-op when the
//! binary is fresh; doing it even when the binary exists is what keeps a plain
//! `cargo nextest run` from testing a stale broker, since cargo does not rebuild another
//! package's binaries for a test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::Context;

/// Environment variable naming the broker executable to test.
pub const BROKER_BIN_ENV: &str = "ODRADEK_BROKER_BIN";

const BINARY_NAME: &str = "odradek-broker";

/// The broker executable, built if needed (see the module docs). Cached per process.
pub fn broker_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| locate_or_build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate_or_build() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(BROKER_BIN_ENV) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{BROKER_BIN_ENV}={} does not name a file",
            path.display()
        );
        return Ok(path);
    }
    let exe = std::env::current_exe().context("cannot find the running test executable")?;
    let profile_dir = profile_dir_of(&exe).with_context(|| {
        format!(
            "test executable {} is not under <target>/<profile>/deps/",
            exe.display()
        )
    })?;
    build(profile_dir)?;
    let binary = profile_dir.join(BINARY_NAME);
    anyhow::ensure!(
        binary.is_file(),
        "cargo build succeeded but {} does not exist",
        binary.display()
    );
    Ok(binary)
}

/// `<target>/<profile>` for an executable at `<target>/<profile>/deps/<name>`.
fn profile_dir_of(exe: &Path) -> Option<&Path> {
    let deps = exe.parent()?;
    (deps.file_name()? == "deps").then_some(())?;
    deps.parent()
}

/// Cargo's command-line profile selection for a `<target>/<profile>` directory name.
fn profile_args(profile_dir_name: &str) -> Vec<String> {
    match profile_dir_name {
        "debug" => vec![],
        "release" => vec!["--release".into()],
        other => vec!["--profile".into(), other.into()],
    }
}

fn build(profile_dir: &Path) -> anyhow::Result<()> {
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("profile directory name is not UTF-8")?;
    let target_dir = profile_dir
        .parent()
        .context("profile directory has no parent")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = crate::clients::repo_root().join("Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "odradek-broker",
        "--bin",
        BINARY_NAME,
    ])
    .args(profile_args(profile))
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(target_dir);
    eprintln!("odradek-tests: building the broker: {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    anyhow::ensure!(status.success(), "{cmd:?} failed with {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_dir_is_two_levels_above_the_test_executable() {
        let exe = Path::new("/w/target/debug/deps/interop_kcat-0123abcd");
        assert_eq!(profile_dir_of(exe), Some(Path::new("/w/target/debug")));
        assert_eq!(
            profile_dir_of(Path::new("/w/target/debug/odradek-broker")),
            None
        );
    }

    #[test]
    fn profile_names_map_to_cargo_flags() {
        assert!(profile_args("debug").is_empty());
        assert_eq!(profile_args("release"), ["--release"]);
        assert_eq!(profile_args("ci"), ["--profile", "ci"]);
    }
}
