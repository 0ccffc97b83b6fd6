//! Kafka's named listeners end to end: three broker processes on a real ZooKeeper ensemble, each
//! with an INTERNAL listener (the inter-broker one) and an EXTERNAL listener advertised under
//! another host name, the shape of a container cluster whose clients are on the host.
//!
//! A client is answered in the address space of the listener it connected to: Metadata lists
//! every broker's EXTERNAL endpoint to an EXTERNAL connection and the INTERNAL ones to an INTERNAL
//! connection, and FindCoordinator names the coordinator likewise. Control requests, follower
//! fetches and AlterIsr go through INTERNAL (the brokers' logs name the addresses they dialled),
//! and so does the new controller after kill -9 of the old one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use odradek_client::Connection;
use odradek_tests::cluster::{metadata, wait_until, Cluster, SESSION_TIMEOUT_MS};
use odradek_tests::controller_stub::block_on;
use odradek_tests::{unique_topic, wire};

const BROKERS: [i32; 3] = [1, 2, 3];
const PROPAGATION: Duration = Duration::from_secs(20);
/// Advertised host of the EXTERNAL listener ("the host's name for the broker").
const EXTERNAL_HOST: &str = "localhost";
const INTERNAL_HOST: &str = "127.0.0.1";

const OVERRIDES: [(&str, &str); 5] = [
    ("listeners", "INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0"),
    // Port 0: the port the same-named listener bound.
    ("advertised.listeners", "INTERNAL://127.0.0.1:0,EXTERNAL://localhost:0"),
    ("listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"),
    ("inter.broker.listener.name", "INTERNAL"),
    ("offsets.topic.num.partitions", "3"),
];

struct Addresses {
    internal: BTreeMap<i32, SocketAddr>,
    external: BTreeMap<i32, SocketAddr>,
}

fn addresses(cluster: &Cluster) -> anyhow::Result<Addresses> {
    let mut internal = BTreeMap::new();
    let mut external = BTreeMap::new();
    for (id, b) in &cluster.brokers {
        internal.insert(*id, b.listener_addr("INTERNAL").ok_or_else(|| anyhow::anyhow!("broker {id} reports no INTERNAL listener"))?);
        external.insert(*id, b.listener_addr("EXTERNAL").ok_or_else(|| anyhow::anyhow!("broker {id} reports no EXTERNAL listener"))?);
        anyhow::ensure!(b.addr() == internal[id], "the ready line's address is the first listener's");
    }
    Ok(Addresses { internal, external })
}

/// `(id, host, port)` of every broker a Metadata response lists.
fn listed(m: &MetadataResponse) -> Vec<(i32, String, i32)> {
    let mut out: Vec<_> = m.brokers.iter().map(|b| (b.node_id.0, b.host.to_string(), b.port)).collect();
    out.sort();
    out
}

fn expected(ids: &[i32], host: &str, addrs: &BTreeMap<i32, SocketAddr>) -> Vec<(i32, String, i32)> {
    ids.iter().map(|id| (*id, host.to_string(), i32::from(addrs[id].port()))).collect()
}

fn produce_all_acks(addr: SocketAddr, topic: &str, partition: i32, value: &str) -> anyhow::Result<i16> {
    let batch = wire::encode_batch(&[(Some(Bytes::from("k")), Some(Bytes::from(value.to_string())))], Compression::None)?;
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        Ok(wire::produce(&mut conn, topic, partition, batch, -1).await?.error_code)
    })
}

/// FindCoordinator v2 for `group` at `addr`: `(error, node, host, port)`.
fn find_coordinator(addr: SocketAddr, group: &str) -> anyhow::Result<(i16, i32, String, i32)> {
    let request = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string())).with_key_type(0);
    block_on(async move {
        let mut conn = Connection::connect(addr).await?;
        let r = conn.send(&request, 2).await?;
        Ok((r.error_code, r.node_id.0, r.host.to_string(), r.port))
    })
}

/// The addresses broker `id`'s log says it dialled for `what` ("starting a replica fetcher" logs
/// `address=`, the controller's "starting a request sender to broker N at <addr>").
fn dialled(cluster: &Cluster, id: i32, marker: &str) -> Vec<String> {
    std::fs::read_to_string(cluster.brokers[&id].stderr_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| {
            let at = l.rfind("address=").map(|i| &l[i + "address=".len()..]).or_else(|| l.rfind(" at ").map(|i| &l[i + 4..]))?;
            Some(at.split_whitespace().next().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn each_listener_answers_its_own_addresses_and_brokers_talk_over_the_inter_broker_listener() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&BROKERS, &OVERRIDES)?;
    let addrs = addresses(&cluster)?;
    let internal_addrs: Vec<String> = addrs.internal.values().map(|a| a.to_string()).collect();

    // Registration: both endpoints, the legacy host/port from the first PLAINTEXT-protocol one.
    let zk = cluster.zk()?;
    let registration: serde_json::Value = serde_json::from_str(&zk.get("/brokers/ids/2")?.unwrap_or_default())?;
    let (i2, e2) = (addrs.internal[&2].port(), addrs.external[&2].port());
    assert_eq!(registration["endpoints"], serde_json::json!([format!("INTERNAL://127.0.0.1:{i2}"), format!("EXTERNAL://localhost:{e2}")]));
    assert_eq!(registration["listener_security_protocol_map"], serde_json::json!({"INTERNAL": "PLAINTEXT", "EXTERNAL": "PLAINTEXT"}));
    assert_eq!((registration["host"].as_str(), registration["port"].as_i64()), (Some(INTERNAL_HOST), Some(i64::from(i2))));

    // Metadata: each listener's view of every broker.
    for via in BROKERS {
        let external = wait_until(PROPAGATION, "EXTERNAL metadata to list every broker", || {
            metadata(addrs.external[&via], None).ok().filter(|m| m.brokers.len() == BROKERS.len())
        })?;
        assert_eq!(listed(&external), expected(&BROKERS, EXTERNAL_HOST, &addrs.external), "Metadata via broker {via}'s EXTERNAL listener");
        let internal = metadata(addrs.internal[&via], None)?;
        assert_eq!(listed(&internal), expected(&BROKERS, INTERNAL_HOST, &addrs.internal), "Metadata via broker {via}'s INTERNAL listener");
        assert_eq!(external.controller_id, internal.controller_id);
    }

    // Replication: acks=all needs the followers, which fetch from the leaders' INTERNAL endpoints.
    let topic = unique_topic("listeners");
    let assignment: BTreeMap<i32, Vec<i32>> = (0..3).map(|p| (p, (0..3).map(|i| BROKERS[(p as usize + i) % 3]).collect())).collect();
    zk.create_topic(&topic, &assignment)?;
    let view = cluster.wait_for_leaders(1, &topic, 3, &BROKERS, PROPAGATION)?;
    for (p, partition) in &view {
        let code = produce_all_acks(addrs.external[&partition.leader], &topic, *p, "via EXTERNAL")?;
        assert_eq!(code, 0, "acks=all produce to partition {p} through the leader's EXTERNAL listener");
    }
    for id in BROKERS {
        let fetchers = dialled(&cluster, id, "starting a replica fetcher");
        assert!(!fetchers.is_empty(), "broker {id} follows some partition");
        assert!(fetchers.iter().all(|a| internal_addrs.contains(a)), "broker {id} fetches from INTERNAL endpoints only: {fetchers:?} (INTERNAL: {internal_addrs:?})");
    }
    let controller = cluster.controller_id(1)?;
    let senders = dialled(&cluster, controller, "starting a request sender");
    assert!(senders.len() >= BROKERS.len() && senders.iter().all(|a| internal_addrs.contains(a)), "controller {controller} dials INTERNAL endpoints: {senders:?}");

    // FindCoordinator: the coordinator at the request's listener.
    let group = "listeners-group";
    let (code, node, host, port) = wait_until(PROPAGATION, "a group coordinator", || find_coordinator(addrs.external[&1], group).ok().filter(|r| r.0 == 0))?;
    assert_eq!((code, host.as_str(), port), (0, EXTERNAL_HOST, i32::from(addrs.external[&node].port())), "FindCoordinator via EXTERNAL");
    for via in BROKERS {
        let (code, same, host, port) = find_coordinator(addrs.internal[&via], group)?;
        assert_eq!((code, same, host.as_str(), port), (0, node, INTERNAL_HOST, i32::from(addrs.internal[&node].port())), "FindCoordinator via broker {via}'s INTERNAL listener");
    }

    // Controller failover: the new controller reaches the survivors over INTERNAL, leadership
    // moves, and acks=all produce through EXTERNAL works again.
    cluster.broker(controller).kill9()?;
    let survivors: Vec<i32> = BROKERS.into_iter().filter(|b| *b != controller).collect();
    let failover = Duration::from_millis(SESSION_TIMEOUT_MS) + PROPAGATION;
    let new_controller = cluster.wait_for_live_brokers_via(survivors[0], &survivors, failover)?;
    assert_ne!(new_controller, controller);
    let view = cluster.wait_for_leaders(new_controller, &topic, 3, &survivors, PROPAGATION)?;
    for via in &survivors {
        let external = wait_until(PROPAGATION, "EXTERNAL metadata to drop the dead controller", || {
            metadata(addrs.external[via], None).ok().filter(|m| m.brokers.len() == survivors.len())
        })?;
        assert_eq!(listed(&external), expected(&survivors, EXTERNAL_HOST, &addrs.external), "after failover, via broker {via}'s EXTERNAL listener");
    }
    for (p, partition) in &view {
        let code = wait_until(PROPAGATION, "the new leader to take acks=all produce", || {
            produce_all_acks(addrs.external[&partition.leader], &topic, *p, "after failover").ok().filter(|c| *c == 0)
        })?;
        assert_eq!(code, 0);
    }
    let survivor_internal: Vec<String> = survivors.iter().map(|id| addrs.internal[id].to_string()).collect();
    let senders = dialled(&cluster, new_controller, "starting a request sender");
    assert!(survivor_internal.iter().all(|a| senders.contains(a)), "new controller {new_controller} dials the survivors' INTERNAL endpoints: {senders:?}");
    assert!(senders.iter().all(|a| internal_addrs.contains(a)), "and nothing else: {senders:?}");
    Ok(())
}
