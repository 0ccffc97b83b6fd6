//! `ZkClientConfig`: Kafka's `zookeeper.*` broker settings and the connect string's chroot.

use std::time::Duration;

use crate::error::{Result, ZkError};

/// How to reach ZooKeeper: Kafka's `zookeeper.*` broker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkClientConfig {
    /// `zookeeper.connect`: `host:port[,host:port...][/chroot]`.
    pub connect: String,
    /// `zookeeper.session.timeout.ms` (18 s by default since Kafka 2.5, KIP-537). The ensemble
    /// clamps it to `[2, 20] × tickTime`.
    pub session_timeout: Duration,
    /// `zookeeper.connection.timeout.ms`: how long the first connection may take (Kafka
    /// defaults it to the session timeout).
    pub connection_timeout: Duration,
}

impl ZkClientConfig {
    pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_millis(18_000);

    /// Kafka's defaults for everything but the connect string.
    pub fn new(connect: impl Into<String>) -> ZkClientConfig {
        ZkClientConfig {
            connect: connect.into(),
            session_timeout: Self::DEFAULT_SESSION_TIMEOUT,
            connection_timeout: Self::DEFAULT_SESSION_TIMEOUT,
        }
    }

    /// `(hosts, chroot)`: the connect string split at its chroot, `None` when there is none.
    pub(crate) fn split_chroot(&self) -> Result<(&str, Option<&str>)> {
        let invalid = |reason: &str| ZkError::InvalidConnectString {
            connect: self.connect.clone(),
            reason: reason.into(),
        };
        let (hosts, chroot) = match self.connect.find('/') {
            Some(i) => (&self.connect[..i], Some(&self.connect[i..])),
            None => (self.connect.as_str(), None),
        };
        if hosts.is_empty() || hosts.split(',').any(|h| h.trim().is_empty()) {
            return Err(invalid("no host:port list"));
        }
        match chroot {
            None | Some("/") => Ok((hosts, None)),
            Some(c) if c.ends_with('/') || c.contains("//") => Err(invalid(
                "the chroot path must not end with '/' or contain \"//\"",
            )),
            Some(c) => Ok((hosts, Some(c))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(connect: &str) -> Result<(String, Option<String>)> {
        let config = ZkClientConfig::new(connect);
        config
            .split_chroot()
            .map(|(h, c)| (h.to_string(), c.map(str::to_string)))
    }

    #[test]
    fn connect_strings_and_chroots() {
        assert_eq!(split("h1:2181").unwrap(), ("h1:2181".into(), None));
        assert_eq!(
            split("h1:2181,h2:2182/odradek").unwrap(),
            ("h1:2181,h2:2182".into(), Some("/odradek".into()))
        );
        assert_eq!(
            split("h1:2181/a/b").unwrap(),
            ("h1:2181".into(), Some("/a/b".into()))
        );
        assert_eq!(split("h1:2181/").unwrap(), ("h1:2181".into(), None));
        for bad in [
            "",
            "/odradek",
            "h1:2181,,h2:2182",
            "h1:2181/odradek/",
            "h1:2181/a//b",
        ] {
            let err = split(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid zookeeper.connect {bad:?}")),
                "{err}"
            );
        }
    }

    #[test]
    fn kafkas_default_timeouts() {
        let config = ZkClientConfig::new("h:2181");
        assert_eq!(config.session_timeout, Duration::from_secs(18));
        assert_eq!(config.connection_timeout, config.session_timeout);
    }
}
