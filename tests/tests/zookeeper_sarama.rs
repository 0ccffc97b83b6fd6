//! Debian's Shopify/sarama 1.22.1 ClusterAdmin against three broker processes on a real ZooKeeper
//! ensemble: `tests/interop/go/sarama_admin` creates a topic with a config, lists topics (Metadata
//! v0 for all topics, then one DescribeConfigs for every topic), describes the topic and its
//! config, alters the config, lists consumer groups and deletes the topic, all through one admin
//! client whose broker connections must survive every call.
//!
//! Sarama's CreatePartitions and DeleteRecords calls need APIs later work adds (CreatePartitions,
//! DeleteRecords); they join this program when those are served.

use odradek_tests::cluster::Cluster;
use odradek_tests::go::run_go_program;
use odradek_tests::unique_topic;

#[test]
fn sarama_cluster_admin_calls_are_answered() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(&[1, 2, 3], &[])?;
    let topic = unique_topic("sarama-admin");
    let bootstrap = cluster.bootstrap();
    let stdout = run_go_program(
        "sarama_admin",
        &["-bootstrap", &bootstrap, "-topic", &topic, "-brokers", "3"],
    )?;
    assert!(
        stdout.contains("OK: sarama admin calls answered"),
        "{stdout}"
    );
    Ok(())
}
