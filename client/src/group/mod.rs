//! A consumer group member, as Kafka's Java consumer is one (`ConsumerCoordinator`,
//! `AbstractCoordinator`): the pieces `odradek consume --group` and the group tests reuse.
//!
//! * [`consumer_protocol`]: the Subscription and Assignment bytes members exchange through the
//!   coordinator, which the coordinator never reads.
//! * [`assignor`]: the range and roundrobin assignors the leader runs, as pure functions.
//! * [`coordinator`]: FindCoordinator and a connection that knows the broker's API versions.
//! * [`member`]: join (JoinGroup + SyncGroup, MEMBER_ID_REQUIRED handled), commit, fetch
//!   committed offsets, leave.
//! * [`heartbeat`]: the background task that keeps a generation alive and notices rebalances.

pub mod assignor;
pub mod consumer_protocol;
pub mod coordinator;
mod error;
pub mod heartbeat;
pub mod member;

use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::StrBytes;

pub use consumer_protocol::{Assignment, Subscription, TopicPartitions};
pub use coordinator::{find_coordinator, BrokerConnection, Coordinator};
pub use error::GroupError;
pub use heartbeat::Generation;
pub use member::{fetch_committed, GroupMember, MemberConfig, Offsets};

/// A group id as the codec carries it.
pub fn group_id(group: &str) -> GroupId {
    GroupId(StrBytes::from_string(group.to_string()))
}
