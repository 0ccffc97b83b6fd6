//! `odradek-perf`: producer and consumer benchmarks in the spirit of Kafka's
//! `kafka-producer-perf-test` and `kafka-consumer-perf-test`, built on `odradek-client` and the
//! `kafka-protocol` codec so that the client costs as little as possible and the figures measure
//! the broker. Nothing relies on Odradek-only behaviour: point `--bootstrap` at any Kafka-compatible
//! broker to compare.
//!
//! Code map:
//! - [`batch`]: v2 record batches — built once for the producer, counted by header for the consumer.
//! - [`cluster`]: ApiVersions negotiation and Metadata leader discovery.
//! - [`produce`], [`consume`]: the two throughput benchmarks.
//! - [`end_to_end`]: produce-to-consume latency at a fixed offered rate.
//! - [`create_topic`]: plays the controller (LeaderAndIsr + UpdateMetadata) for a lone broker.
//! - [`stats`]: percentiles, throughput, size parsing.
//!
//! Invariant: every loop that talks to a broker ends by record count or by `--timeout-secs`.

pub mod batch;
pub mod cluster;
pub mod consume;
pub mod create_topic;
pub mod end_to_end;
pub mod produce;
pub mod stats;
