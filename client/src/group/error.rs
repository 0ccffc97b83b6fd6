//! What can go wrong for a group member, each message naming the group or broker involved.

use std::time::Duration;

use crate::error_name::error_name;
use crate::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("{addr}: {source}")]
    Client { addr: String, source: ClientError },
    #[error("{api} to {addr}: no answer within {timeout:?}")]
    Timeout {
        api: &'static str,
        addr: String,
        timeout: Duration,
    },
    /// The coordinator answered with a Kafka error code.
    #[error("{api} for group '{group}': {}", error_name(*code))]
    Refused {
        api: &'static str,
        group: String,
        code: i16,
    },
    #[error("cannot find the coordinator of group '{group}': {reason}")]
    NoCoordinator { group: String, reason: String },
    #[error("the broker at {addr} serves no version of {api} that odradek speaks")]
    Version { api: &'static str, addr: String },
    #[error("bad consumer protocol {what}: {reason}")]
    ConsumerProtocol { what: &'static str, reason: String },
    #[error("group '{group}' chose assignor '{protocol}', which odradek does not implement")]
    UnknownProtocol { group: String, protocol: String },
    #[error("group '{group}': no stable generation after {attempts} join attempts (last: {last})")]
    JoinGaveUp {
        group: String,
        attempts: u32,
        last: String,
    },
}

impl GroupError {
    /// The Kafka error code, when the coordinator refused.
    pub fn code(&self) -> Option<i16> {
        match self {
            GroupError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}
