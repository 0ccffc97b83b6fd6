//! `odradek groups|produce|consume` without a cluster: bad arguments are clap's one-line errors
//! (exit 2); bad properties are the CLI's own one line (exit 1); an unreachable bootstrap server
//! is one line naming it.

mod common;

use std::net::TcpListener;

use common::{odradek, text};

fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("local addr").port()
}

#[test]
fn bad_arguments_are_clap_errors() {
    for args in [
        &["groups"][..],
        &["groups", "describe"],
        &["groups", "delete"],
        &["groups", "describe", "--group", "g", "--members", "--state"],
        &["groups", "list", "--bootstrap-server", "nohost"],
        &["produce"],
        &["produce", "--topic", "t", "--acks", "2"],
        &["produce", "--topic", "t", "--property", "novalue"],
        &["produce", "--topic", "t", "--header", "=v"],
        &["consume"],
        &["consume", "--topic", "t", "--max-messages", "0"],
        &["consume", "--topic", "t", "--timeout-ms", "x"],
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
fn bad_properties_are_one_line() {
    let server = format!("127.0.0.1:{}", closed_port());
    for (args, expected) in [
        (
            vec!["produce", "--bootstrap-server", &server, "--topic", "t", "--property", "parse.keys=true"],
            "odradek: unknown property 'parse.keys' (the producer reads parse.key and key.separator)\n",
        ),
        (
            vec!["consume", "--bootstrap-server", &server, "--topic", "t", "--property", "print.key=yes"],
            "odradek: property print.key must be true or false, not 'yes'\n",
        ),
    ] {
        let output = odradek(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&output.stderr), expected);
    }
}

#[test]
fn unreachable_bootstrap_server_is_named() {
    let server = format!("127.0.0.1:{}", closed_port());
    for args in [
        vec!["groups", "list", "--bootstrap-server", &server],
        vec!["produce", "--bootstrap-server", &server, "--topic", "t"],
        vec!["consume", "--bootstrap-server", &server, "--topic", "t"],
    ] {
        let output = odradek(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("odradek: ") && stderr.contains(&server),
            "{stderr}"
        );
    }
}
