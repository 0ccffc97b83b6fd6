//! `odradek configs` without a cluster: flags clap cannot parse exit 2; combinations
//! kafka-configs.sh refuses (`ConfigCommandOptions.checkArgs`) are one line naming the problem,
//! exit 1, found before any connection (the bootstrap server given is a closed port, so a check
//! made too late would show as a connection error instead).

mod common;

use std::net::TcpListener;

use common::{odradek, text};

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("local addr").port()
}

#[test]
fn unknown_flags_are_clap_errors() {
    for args in [&["configs", "--describe", "--entity-type", "topics", "--topic", "t"][..], &["configs", "--alter", "--add-config"]] {
        let output = odradek(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
    }
}

#[test]
fn bad_combinations_are_one_line_before_connecting() {
    let server = format!("127.0.0.1:{}", closed_port());
    let cases: &[(&[&str], &str)] = &[
        (&["--entity-type", "topics", "--entity-name", "t"], "Command must include exactly one action: --describe, --alter"),
        (&["--describe", "--alter", "--entity-type", "topics"], "Command must include exactly one action: --describe, --alter"),
        (&["--describe", "--entity-name", "t"], "--entity-type must be specified"),
        (&["--describe", "--entity-type", "users"], "Invalid entity type users, the entity type must be one of topics, brokers"),
        (&["--describe", "--entity-type", "brokers", "--entity-name", "1", "--entity-default"], "only one of --entity-name or --entity-default may be specified"),
        (&["--describe", "--entity-type", "topics", "--entity-default"], "--entity-default is not supported for topics"),
        (&["--describe", "--entity-type", "brokers", "--entity-name", "one"], "The entity name for brokers must be a valid integer broker id, found: one"),
        (&["--alter", "--entity-type", "brokers", "--add-config", "a=1"], "an entity name must be specified with --alter of brokers (or --entity-default)"),
        (&["--alter", "--entity-type", "topics", "--add-config", "retention.ms=1"], "an entity name must be specified with --alter of topics"),
        (&["--describe", "--entity-type", "topics", "--entity-name", "t", "--add-config", "a=1"], "--add-config and --delete-config are only valid with --alter"),
        (&["--describe", "--entity-type", "topics", "--entity-name", "t", "--delete-config", "a"], "--add-config and --delete-config are only valid with --alter"),
        (&["--alter", "--entity-type", "topics", "--entity-name", "t", "--all", "--add-config", "a=1"], "--all is only valid with --describe"),
        (&["--alter", "--entity-type", "topics", "--entity-name", "t"], "At least one of --add-config or --delete-config must be specified with --alter"),
        (&["--alter", "--entity-type", "topics", "--entity-name", "t", "--delete-config", ","], "At least one of --add-config or --delete-config must be specified with --alter"),
        (
            &["--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "retention.ms=1,segment.bytes"],
            "Invalid entity config: all configs to be added must be in the format \"key=val\", found: segment.bytes",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["configs", "--bootstrap-server", server.as_str()];
        all.extend_from_slice(args);
        let output = odradek(&all);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output.stderr));
        assert_eq!(text(&output.stderr), format!("odradek: {expected}\n"), "{args:?}");
        assert_eq!(text(&output.stdout), "", "{args:?}");
    }
}

#[test]
fn a_valid_command_reaches_for_the_bootstrap_server() {
    let server = format!("127.0.0.1:{}", closed_port());
    let output = odradek(&["configs", "--bootstrap-server", &server, "--describe", "--entity-type", "brokers", "--entity-default"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), format!("odradek: cannot reach bootstrap server {server}: Connection refused (os error 111)\n"));
}
