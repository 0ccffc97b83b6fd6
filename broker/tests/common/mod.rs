//! A broker started inside the test process (same code as the binary, via `odradek_broker::start`),
//! for tests that read its counters or need many quick restarts. Listens on 127.0.0.1:0 with a
//! temporary log dir.

use std::path::PathBuf;

use odradek_broker::{BrokerHandle, KafkaConfig};

pub struct InProcessBroker {
    pub handle: BrokerHandle,
    pub dir: tempfile::TempDir,
}

// Each test binary uses a different subset of these helpers.
#[allow(dead_code)]
impl InProcessBroker {
    /// Starts broker `broker_id` with `overrides` (`key=value`) on top of a loopback listener and
    /// a fresh log dir.
    pub async fn start(broker_id: i32, overrides: &[&str]) -> anyhow::Result<InProcessBroker> {
        let dir = tempfile::tempdir()?;
        let handle = Self::start_in(broker_id, dir.path().join("logs"), overrides).await?;
        Ok(InProcessBroker { handle, dir })
    }

    /// Starts a broker on an existing log dir (a restart).
    pub async fn start_in(
        broker_id: i32,
        log_dir: PathBuf,
        overrides: &[&str],
    ) -> anyhow::Result<BrokerHandle> {
        let mut all = vec![
            format!("broker.id={broker_id}"),
            "listeners=PLAINTEXT://127.0.0.1:0".to_string(),
            format!("log.dirs={}", log_dir.display()),
        ];
        all.extend(overrides.iter().map(|s| s.to_string()));
        let config = KafkaConfig::load(None, &all)?;
        Ok(odradek_broker::start(config).await?)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.handle.local_addr()
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most `timeout`; panics naming
/// `what` after that.
#[allow(dead_code)]
pub async fn eventually<T, F, Fut>(what: &str, timeout: std::time::Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
