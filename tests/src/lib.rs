//! The black-box test harness: real `odradek-broker` processes over real TCP, driven by real
//! Kafka clients (kcat, confluent-kafka, kafka-python) and by `odradek-client` where a test needs
//! to see exact offsets.
//!
//! The tests in `tests/tests/` follow Kafka's produce–consume–validate pattern: start a broker
//! ([`BrokerProcess`]), create a topic by playing the controller ([`create_topic`]), let a client
//! produce, read everything back, and compare byte for byte, including where a keyed record
//! landed ([`murmur2`]) and what the segment files hold ([`segment_files`]). Failure modes (kill -9,
//! restart) are methods of the process, so a test reads as the scenario it checks.
//!
//! Nothing here skips: a missing kcat or venv panics with the command that installs it
//! (`scripts/test.sh`).

pub mod broker_binary;
pub mod broker_process;
pub mod chaos;
pub mod clients;
pub mod cluster;
pub mod go;
pub mod compose;
pub mod controller_stub;
pub mod group_members;
pub mod kcat;
pub mod murmur2;
pub mod python;
pub mod segment_files;
pub mod wire;
pub mod workload;
pub mod zookeeper;

pub use broker_binary::broker_binary;
pub use broker_process::BrokerProcess;
pub use clients::{interop_script, kcat, repo_root, run_checked, venv_python};
pub use controller_stub::{announce_leader, create_topic, create_topic_blocking, TopicInfo};
pub use murmur2::{murmur2, partition_for_key};
pub use python::RoundTrip;
pub use segment_files::{Codec, PartitionOnDisk};
pub use workload::unique_topic;
