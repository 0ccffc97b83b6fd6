//! The broker binary's command line: bad configuration stops startup with one line naming it.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_odradek-broker")).args(args).env("RUST_LOG", "off").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).trim().to_string())
}

#[test]
fn bad_configs_stop_startup_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let logs = format!("log.dirs={}", dir.path().join("logs").display());
    let cases: &[(&[&str], &str)] = &[
        (&["--override", "broker.id=0", "--override", &logs, "--override", "log.segmnet.bytes=1"], "unknown configuration key 'log.segmnet.bytes'"),
        (&["--override", "broker.id=zero", "--override", &logs], "'broker.id'"),
        (&["--override", "broker.id=0", "--override", &logs, "--override", "listeners=SASL_SSL://:9093"], "only PLAINTEXT"),
        (&["--override", "broker.id=0", "--override", "log.dirs=/proc/odradek-cannot-exist"], "/proc/odradek-cannot-exist"),
        (&["/nonexistent/server.properties"], "/nonexistent/server.properties"),
        (&["--override", "justakey"], "justakey"),
    ];
    for (args, expect) in cases {
        let (code, stderr) = run(args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line for {args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
}

#[test]
fn a_properties_file_with_stock_kafka_keys_starts_and_terminates_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("server.properties");
    std::fs::write(
        &props,
        format!("# stock keys\nbroker.id=0\nnum.network.threads=3\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n", dir.path().join("logs").display()),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_odradek-broker")).arg(&props).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("odradek-broker 0 listening on 127.0.0.1:"), "{line}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(dir.path().join("logs/.kafka_cleanshutdown").exists());
}
