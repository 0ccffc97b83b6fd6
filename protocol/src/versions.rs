//! The API keys and version ranges Odradek serves, advertised verbatim in ApiVersions.
//!
//! The ranges follow `../shared/reference/kafka-clients.md` §4.1/§4.3: Kafka 2.3's client-facing
//! ranges (non-flexible, so no client ever needs tagged fields except the ApiVersions probe),
//! trimmed at the bottom to what is implemented, and each containing the single versions old
//! librdkafka checks for (Produce 3, Fetch 4, ListOffsets 1, ApiVersions 0). Fetch stops at 11:
//! v12 is flexible and v13+ addresses topics by id. The control-plane APIs carry the versions a
//! 2.8 controller sends (LeaderAndIsr 5, StopReplica 3, UpdateMetadata 7) and everything below
//! them, all of which the `kafka-protocol` codec handles.
//!
//! Metadata, CreateTopics and DeleteTopics are served at Kafka 2.8's full ranges (Metadata 0–11,
//! flexible from 9, topic ids from 10; CreateTopics 0–7, flexible from 5, the new topic's id in 7;
//! DeleteTopics 0–6, flexible from 4, topics by id in 6): librdkafka tells a deleted and
//! recreated topic from the old one only by the topic ids of Metadata v10+. CreateTopics 4 is the
//! one that lets a client leave partitions and replication factor to the broker (−1, KIP-464).
//! ControlledShutdown, which only brokers send, goes up to v3, the version a 2.8 broker sends, and that one *is* flexible: its request
//! header is v2 and its response header v1 (v0's request header is v0, without a client id).
//! The codec picks the header version per key and version, on both sides.
//!
//! The group APIs stop before their first flexible versions too (JoinGroup 6, SyncGroup 4,
//! Heartbeat 4, LeaveGroup 4, OffsetCommit 8, OffsetFetch 6, ListGroups 3, DescribeGroups 5,
//! DeleteGroups 2), and every range contains the single versions old librdkafka checks before it
//! allows `kcat -G` (JoinGroup/SyncGroup/Heartbeat/LeaveGroup/FindCoordinator 0, OffsetCommit 1–2,
//! OffsetFetch 1) and the ones aiokafka and samsa fix (kafka-clients.md §0).
//!
//! The config APIs are served at Kafka 2.8's full ranges, flexible versions included
//! (DescribeConfigs 0–4, flexible from 4; AlterConfigs 0–2, from 2; IncrementalAlterConfigs
//! 0–1, from 1): `kafka-configs.sh` and the Java admin client of 2.8 use the newest.
//!
//! AlterIsr (key 56, KIP-497), which leaders send to the controller, is v0 only, as in 2.8; the
//! codec calls key 56 by its later name, AlterPartition, whose v0 is AlterIsr v0 (flexible).

use kafka_protocol::messages::ApiKey;

/// `(api key, min version, max version)` for every API the broker implements.
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 7),
    (ApiKey::Fetch, 4, 11),
    (ApiKey::ListOffsets, 1, 5),
    (ApiKey::Metadata, 0, 11),
    (ApiKey::LeaderAndIsr, 0, 5),
    (ApiKey::StopReplica, 0, 3),
    (ApiKey::UpdateMetadata, 0, 7),
    (ApiKey::ControlledShutdown, 0, 3),
    (ApiKey::OffsetCommit, 0, 7),
    (ApiKey::OffsetFetch, 0, 5),
    (ApiKey::FindCoordinator, 0, 2),
    (ApiKey::JoinGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 3),
    (ApiKey::LeaveGroup, 0, 3),
    (ApiKey::SyncGroup, 0, 3),
    (ApiKey::DescribeGroups, 0, 4),
    (ApiKey::ListGroups, 0, 2),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::DeleteTopics, 0, 6),
    (ApiKey::OffsetForLeaderEpoch, 0, 3),
    (ApiKey::DeleteGroups, 0, 1),
    (ApiKey::AlterPartition, 0, 0),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
];

/// The advertised `(min, max)` for `api_key`, if served at all.
pub fn supported_range(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_APIS.iter().find(|(k, _, _)| *k == api_key).map(|&(_, min, max)| (min, max))
}

/// Whether the broker serves `api_key` at `version`.
pub fn is_supported(api_key: ApiKey, version: i16) -> bool {
    supported_range(api_key).is_some_and(|(min, max)| (min..=max).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_advertised_range_is_within_the_codec() {
        for &(key, min, max) in SUPPORTED_APIS {
            let codec = key.valid_versions();
            assert!(min <= max, "{key:?}");
            assert!(codec.min <= min && max <= codec.max, "{key:?} {min}-{max} outside codec {codec:?}");
        }
    }

    #[test]
    fn old_librdkafka_feature_versions_are_inside() {
        // kafka-clients.md §4.1: librdkafka < 2.11.1 checks these exact versions.
        for (key, v) in [(ApiKey::Produce, 3), (ApiKey::Fetch, 4), (ApiKey::ListOffsets, 1), (ApiKey::ApiVersions, 0), (ApiKey::Metadata, 1)] {
            assert!(is_supported(key, v), "{key:?} v{v}");
        }
        // librdkafka < 2.11.1 compresses gzip/snappy/lz4 only with these in range.
        assert!(is_supported(ApiKey::Produce, 0) && is_supported(ApiKey::FindCoordinator, 0));
    }

    #[test]
    fn group_versions_old_librdkafka_checks_are_inside() {
        // kafka-clients.md §0: kcat -G needs these exact versions in range.
        for (key, v) in [
            (ApiKey::FindCoordinator, 0),
            (ApiKey::JoinGroup, 0),
            (ApiKey::SyncGroup, 0),
            (ApiKey::Heartbeat, 0),
            (ApiKey::LeaveGroup, 0),
            (ApiKey::OffsetCommit, 1),
            (ApiKey::OffsetCommit, 2),
            (ApiKey::OffsetFetch, 1),
        ] {
            assert!(is_supported(key, v), "{key:?} v{v}");
        }
        // aiokafka implements only OffsetCommit 2-3 and OffsetFetch 1-3.
        assert!(is_supported(ApiKey::OffsetCommit, 3) && is_supported(ApiKey::OffsetFetch, 3));
    }

    #[test]
    fn admin_versions_every_client_uses_are_inside() {
        // kafka-clients.md §4.3: CreateTopics 3 and DeleteTopics 1 and 3 are what every client can use.
        for (key, v) in [(ApiKey::CreateTopics, 3), (ApiKey::CreateTopics, 4), (ApiKey::DeleteTopics, 1), (ApiKey::DeleteTopics, 3)] {
            assert!(is_supported(key, v), "{key:?} v{v}");
        }
        // A 2.8 broker sends ControlledShutdown v3 (IBP >= 2.4-IV1).
        assert!(is_supported(ApiKey::ControlledShutdown, 3) && is_supported(ApiKey::ControlledShutdown, 0));
    }
}
