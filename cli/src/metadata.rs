//! What a broker knows of the cluster, through Metadata v8 (the version that carries the
//! controller id and that brokers fill from the controller's UpdateMetadata).

use std::time::Duration;

use kafka_protocol::messages::MetadataRequest;
use odradek_client::Connection;

/// The live broker ids and the controller id one broker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    pub brokers: Vec<i32>,
    pub controller_id: i32,
}

/// Asks the broker at `127.0.0.1:port`; `None` when it does not answer within `timeout`.
pub async fn view(port: u16, timeout: Duration) -> Option<ClusterView> {
    let ask = async {
        let mut conn = Connection::connect(("127.0.0.1", port)).await.ok()?;
        let response = conn
            .send(&MetadataRequest::default().with_topics(None), 8)
            .await
            .ok()?;
        let mut brokers: Vec<i32> = response.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        Some(ClusterView {
            brokers,
            controller_id: response.controller_id.0,
        })
    };
    tokio::time::timeout(timeout, ask).await.ok().flatten()
}

/// Runs `future` on a small current-thread runtime (the CLI is synchronous elsewhere).
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}
