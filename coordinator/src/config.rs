//! The broker settings the group coordinator reads (`GroupConfig` and `OffsetConfig` in Kafka 2.8).

/// Group and offset settings, with Kafka 2.8's defaults.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`: a JoinGroup asking for less gets INVALID_SESSION_TIMEOUT.
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`: a JoinGroup asking for more gets INVALID_SESSION_TIMEOUT.
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an Empty group waits for more members.
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.max.size`: members beyond this get GROUP_MAX_SIZE_REACHED.
    pub group_max_size: i32,
    /// `offset.metadata.max.bytes`: longer commit metadata gets OFFSET_METADATA_TOO_LARGE.
    pub offset_metadata_max_bytes: usize,
    /// `offsets.commit.timeout.ms`: how long an append to `__consumer_offsets` may wait for the ISR.
    pub offsets_commit_timeout_ms: i32,
    /// `offsets.retention.minutes` in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`: period of the offset expiry task.
    pub offsets_retention_check_interval_ms: i64,
    /// `offsets.topic.num.partitions`: the modulus of [`crate::partition_for`].
    pub offsets_topic_num_partitions: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_max_size: i32::MAX,
            offset_metadata_max_bytes: 4096,
            offsets_commit_timeout_ms: 5_000,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offsets_topic_num_partitions: 50,
        }
    }
}
