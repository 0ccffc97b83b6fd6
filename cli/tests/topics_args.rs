//! `odradek topics` without a cluster: bad arguments are clap's (exit 2), bad values the CLI parses
//! itself are one line with exit 1, and an unreachable bootstrap server is one line naming it.

mod common;

use std::net::TcpListener;
use std::process::Output;

use common::{odradek, text};

/// Asserts exit 1 with exactly `expected` (plus a newline) on stderr and nothing on stdout.
fn assert_one_line(output: &Output, expected: &str) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(text(&output.stderr), format!("{expected}\n"));
    assert_eq!(text(&output.stdout), "");
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("local addr").port()
}

#[test]
fn bad_arguments_are_clap_errors() {
    for args in [
        &["topics"][..],
        &["topics", "create"],
        &["topics", "create", "--topic", "t", "--partitions", "0"],
        &[
            "topics",
            "create",
            "--topic",
            "t",
            "--replication-factor",
            "0",
        ],
        &["topics", "create", "--topic", "t", "--partitions", "x"],
        &[
            "topics",
            "create",
            "--topic",
            "t",
            "--replica-assignment",
            "1:2",
            "--partitions",
            "1",
        ],
        &[
            "topics",
            "create",
            "--topic",
            "t",
            "--replica-assignment",
            "1:2",
            "--replication-factor",
            "2",
        ],
        &["topics", "delete"],
        &["topics", "describe", "--if-exists"],
        &["topics", "list", "--bootstrap-server", "localhost"],
        &["topics", "list", "--bootstrap-server", "localhost:http"],
        &["topics", "rename", "--topic", "t"],
    ] {
        let output = odradek(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn bad_replica_assignment_is_one_line() {
    // Parsed before any connection: the bootstrap server is never tried.
    let port = closed_port().to_string();
    let server = format!("127.0.0.1:{port}");
    for (assignment, why) in [
        ("1:x", "'x' is not a broker id"),
        ("1:2,3", "partition 1 has 1 replicas, partition 0 has 2"),
        ("1:1", "partition 0 lists broker 1 twice"),
    ] {
        let output = odradek(&[
            "topics",
            "create",
            "--bootstrap-server",
            &server,
            "--topic",
            "t",
            "--replica-assignment",
            assignment,
        ]);
        assert_one_line(
            &output,
            &format!("odradek: invalid --replica-assignment '{assignment}': {why}"),
        );
    }
}

#[test]
fn bad_config_is_one_line() {
    let server = format!("127.0.0.1:{}", closed_port());
    let output = odradek(&[
        "topics",
        "create",
        "--bootstrap-server",
        &server,
        "--topic",
        "t",
        "--config",
        "retention.ms",
    ]);
    assert_one_line(
        &output,
        "odradek: invalid --config 'retention.ms': expected KEY=VALUE",
    );
}

#[test]
fn unreachable_bootstrap_server_is_named() {
    let server = format!("127.0.0.1:{}", closed_port());
    for args in [
        &["topics", "list"][..],
        &["topics", "describe", "--topic", "t"],
        &["topics", "create", "--topic", "t", "--partitions", "1"],
        &["topics", "delete", "--topic", "t"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--bootstrap-server", &server]);
        let output = odradek(&args);
        assert_one_line(
            &output,
            &format!(
                "odradek: cannot reach bootstrap server {server}: Connection refused (os error 111)"
            ),
        );
    }
}

#[test]
fn every_unreachable_bootstrap_server_is_named() {
    let (a, b) = (closed_port(), closed_port());
    let output = odradek(&[
        "topics",
        "list",
        "--bootstrap-server",
        &format!("127.0.0.1:{a},127.0.0.1:{b}"),
    ]);
    assert_one_line(
        &output,
        &format!(
            "odradek: cannot reach any bootstrap server: 127.0.0.1:{a}: Connection refused (os \
             error 111); 127.0.0.1:{b}: Connection refused (os error 111)"
        ),
    );
}

#[test]
fn the_cluster_directory_is_the_default_bootstrap() {
    // A cluster directory whose broker's server.properties names a port nobody listens on: the
    // error names that broker and where the address came from.
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let broker = tmp.path().join("broker-1");
    std::fs::create_dir_all(&broker).expect("mkdir");
    std::fs::write(
        broker.join("server.properties"),
        format!("broker.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"),
    )
    .expect("write server.properties");
    let output = odradek(&["topics", "list", "--dir", &tmp.path().to_string_lossy()]);
    assert_one_line(
        &output,
        &format!(
            "odradek: cannot reach bootstrap server 127.0.0.1:{port} (the brokers of the cluster \
             in {}; is it up? see `odradek cluster status`): Connection refused (os error 111)",
            tmp.path().display()
        ),
    );
}
