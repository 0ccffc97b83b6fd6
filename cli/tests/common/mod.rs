//! What the CLI's end-to-end tests share: running the built `odradek`, free ports for a cluster,
//! and a guard that stops the cluster whatever happens.

#![allow(dead_code)] // each test binary uses part of this

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `odradek ARGS...`. `ODRADEK_BROKER_BIN` (set by scripts/test.sh) reaches the CLI through
/// the inherited environment; without it the CLI takes the broker beside itself, and builds it
/// when it is missing.
pub fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("cannot run odradek")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn all_free(ports: impl IntoIterator<Item = u16>) -> bool {
    ports
        .into_iter()
        .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
}

/// A ZooKeeper base port whose nine ports are free, at `offset` in one of the 3,000-port blocks
/// tests/src/zookeeper.rs uses: its slots take offsets 0..=992 of each thousand, so these never
/// collide with an ensemble another test starts side by side. Two CLI tests fit beside them, at
/// offsets 993 (993..=995) and 996 (996..=998); each test binary takes one.
pub fn free_zk_base(offset: u16) -> u16 {
    (0..6u16)
        .map(|block| 10_000 + 3000 * block + offset)
        .find(|&base| all_free((0..3).flat_map(|n| [base + n, base + 1000 + n, base + 2000 + n])))
        .expect("no free ZooKeeper base port")
}

/// A broker base port in 28,000..32,000: above every ZooKeeper slot and below Linux's ephemeral
/// range, where the other tests' brokers (bound to port 0) listen. `salt` spreads two test
/// binaries started at once over different bases.
pub fn free_broker_base(salt: u32) -> u16 {
    let start = ((std::process::id() + salt) % 390) as u16;
    (0..390u16)
        .map(|i| 28_000 + 10 * ((start + i) % 390))
        .find(|&base| all_free(base + 1..=base + 3))
        .expect("no free broker base port")
}

/// Stops the cluster in its directory even when an assertion fails.
pub struct Down<'a>(pub &'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let down = odradek(&["cluster", "down", "--dir", &self.0.to_string_lossy()]);
        eprintln!("cluster down: {}{}", text(&down.stdout), text(&down.stderr));
    }
}
