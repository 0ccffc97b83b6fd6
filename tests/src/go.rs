//! The Go interop programs of `tests/interop/go/`, built against Debian's Go packages
//! (`golang-github-segmentio-kafka-go-dev` 0.2.1, `golang-github-shopify-sarama-dev` 1.22.1), which
//! `scripts/install-deps.sh` installs with `golang-go`.
//!
//! Debian installs Go libraries as GOPATH sources under `/usr/share/gocode`, so the programs are
//! built in GOPATH mode (`GO111MODULE=off`) with that GOPATH; the binary and Go's build cache go
//! under the workspace's `target/`. A missing toolchain or library panics with the command that
//! installs it: a test never skips quietly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::clients::{repo_root, run_checked};

/// Where Debian's `golang-*-dev` packages put their sources.
const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// How long a build may take (the first one compiles sarama's cgo zstd binding).
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// How long one program run may take.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(240);

const INSTALL_HINT: &str = "run scripts/test.sh (or scripts/install-deps.sh), which installs golang-go and the Go Kafka clients";

/// Builds `tests/interop/go/<name>` and returns the binary. Safe to call from several tests at
/// once: each build writes its own file and renames it into place.
pub fn go_program(name: &str) -> PathBuf {
    let go = Path::new("/usr/bin/go");
    assert!(go.is_file(), "{} is missing: {INSTALL_HINT}", go.display());
    for library in ["github.com/segmentio/kafka-go", "github.com/Shopify/sarama"] {
        let dir = Path::new(DEBIAN_GOPATH).join("src").join(library);
        assert!(dir.is_dir(), "{} is missing: {INSTALL_HINT}", dir.display());
    }
    let source = repo_root()
        .join("tests")
        .join("interop")
        .join("go")
        .join(name);
    assert!(
        source.is_dir(),
        "Go program {} is missing",
        source.display()
    );
    let out_dir = repo_root().join("target").join("interop-go");
    std::fs::create_dir_all(&out_dir).expect("cannot create target/interop-go");
    let binary = out_dir.join(name);
    let partial = out_dir.join(format!("{name}.{}", std::process::id()));
    let mut cmd = Command::new(go);
    cmd.arg("build")
        .arg("-o")
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        .env("GOPATH", DEBIAN_GOPATH)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", out_dir.join("cache"));
    run_checked(&mut cmd, None, BUILD_TIMEOUT, &format!("go build {name}"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    std::fs::rename(&partial, &binary).expect("cannot move the Go binary into place");
    binary
}

/// Runs a built Go program with `args`; fails with its output unless it exits 0.
pub fn run_go_program(name: &str, args: &[&str]) -> anyhow::Result<String> {
    let binary = go_program(name);
    let mut cmd = Command::new(&binary);
    cmd.args(args);
    let output = run_checked(&mut cmd, None, RUN_TIMEOUT, name)?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    print!("{stdout}");
    Ok(stdout)
}
