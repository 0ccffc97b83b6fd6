//! A TCP proxy between one broker and the ZooKeeper ensemble, so the harness can cut that broker
//! off from ZooKeeper while clients still reach it (reference §11.4: "leader cut off from ZK but
//! reachable by clients").
//!
//! One listener per ensemble node; the broker's `zookeeper.connect` lists the three listeners
//! (plus the chroot), so its ZooKeeper client picks and fails over between hosts as it would
//! against the real ensemble. A cut is a blackhole, like a dropped-packet partition: open
//! connections stop carrying bytes in both directions but stay open, and new ones are accepted and
//! then ignored. The broker's client notices only by its own timeouts, and the ensemble expires
//! the session once the session timeout passes without a heartbeat. Healing closes every
//! connection held during the cut (their sessions are gone) and forwards new ones again.

use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The proxy of one broker. Dropping it stops the listeners (connections end with the runtime).
pub struct ZkProxy {
    listen: Vec<SocketAddr>,
    cut: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
}

impl ZkProxy {
    /// Listens on a fresh loopback port for each of `upstream` (the ensemble's client
    /// addresses). Must be called inside a tokio runtime.
    pub async fn start(upstream: &[SocketAddr]) -> std::io::Result<ZkProxy> {
        let (cut, _) = watch::channel(false);
        let mut listen = Vec::new();
        let mut listeners = Vec::new();
        for &target in upstream {
            let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
            listen.push(listener.local_addr()?);
            let cut = cut.subscribe();
            listeners.push(tokio::spawn(accept_loop(listener, target, cut)));
        }
        Ok(ZkProxy {
            listen,
            cut,
            listeners,
        })
    }

    /// `host:port,...` of the listeners followed by `chroot`, for `zookeeper.connect`.
    pub fn connect_string(&self, chroot: &str) -> String {
        let hosts: Vec<String> = self.listen.iter().map(SocketAddr::to_string).collect();
        format!("{}{chroot}", hosts.join(","))
    }

    /// Starts blackholing this broker's ZooKeeper traffic.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Ends the cut: held connections are closed, new ones are forwarded.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }

    pub fn is_cut(&self) -> bool {
        *self.cut.borrow()
    }
}

impl Drop for ZkProxy {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, cut: watch::Receiver<bool>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(forward(client, target, cut.clone()));
    }
}

/// Forwards one connection until either side closes it or a cut starts; a connection caught by
/// a cut (or opened during one) is held silent until the cut heals, then closed.
async fn forward(mut client: TcpStream, target: SocketAddr, mut cut: watch::Receiver<bool>) {
    if *cut.borrow_and_update() {
        let _ = cut.wait_for(|cut| !*cut).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut held = false;
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => held = true,
    }
    if held {
        let _ = cut.wait_for(|cut| !*cut).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server standing in for a ZooKeeper node.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream) -> Option<Vec<u8>> {
        stream.write_all(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(Duration::from_millis(300), stream.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Some(buf.to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn forwards_then_blackholes_then_closes_held_connections_on_heal() {
        let upstream = echo_server().await;
        let proxy = ZkProxy::start(&[upstream, upstream]).await.unwrap();
        let connect = proxy.connect_string("/chroot");
        assert!(
            connect.ends_with("/chroot") && connect.matches(',').count() == 1,
            "{connect}"
        );

        let mut before = TcpStream::connect(proxy.listen[0]).await.unwrap();
        assert_eq!(round_trip(&mut before).await.as_deref(), Some(&b"ping"[..]));

        proxy.cut();
        assert!(proxy.is_cut());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            round_trip(&mut before).await,
            None,
            "an open connection carries nothing"
        );
        let mut during = TcpStream::connect(proxy.listen[1]).await.unwrap();
        assert_eq!(
            round_trip(&mut during).await,
            None,
            "a new connection is accepted but ignored"
        );

        proxy.heal();
        let mut buf = [0u8; 8];
        let closed = tokio::time::timeout(Duration::from_secs(2), before.read(&mut buf))
            .await
            .unwrap();
        assert!(
            matches!(closed, Ok(0) | Err(_)),
            "a held connection is closed on heal: {closed:?}"
        );
        let mut after = TcpStream::connect(proxy.listen[0]).await.unwrap();
        assert_eq!(round_trip(&mut after).await.as_deref(), Some(&b"ping"[..]));
    }
}
