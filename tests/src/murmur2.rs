//! Kafka's default partitioner for keyed records, so tests can predict where a real client put
//! each record. The one copy lives in the client crate (`odradek_client::partitioner`), which
//! `odradek produce` uses to place records; its Kafka test vectors are tested there.

pub use odradek_client::partitioner::{murmur2, partition_for_key, to_positive};
