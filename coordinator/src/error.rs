//! The coordinator's internal errors. Wire-visible failures are Kafka error codes in responses
//! (see `crate::coordinator` for the one place append errors are mapped); these describe
//! `__consumer_offsets` records that cannot be decoded, which loading logs and skips.

/// Why a `__consumer_offsets` record could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoordinatorError {
    #[error("__consumer_offsets record truncated while reading {0}")]
    Truncated(&'static str),
    #[error("negative length {len} for non-nullable {field} in a __consumer_offsets record")]
    NegativeLength { field: &'static str, len: i32 },
    #[error("invalid UTF-8 in {0} of a __consumer_offsets record")]
    InvalidUtf8(&'static str),
    #[error("unknown __consumer_offsets key version {0}")]
    UnknownKeyVersion(i16),
    #[error("unknown {kind} value version {version} for group {group}")]
    UnknownValueVersion {
        kind: &'static str,
        version: i16,
        group: String,
    },
}
