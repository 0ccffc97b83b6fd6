//! The API keys and version ranges Odradek serves, advertised verbatim in ApiVersions.
//!
//! Every API Odradek serves is served at Kafka 2.8.2's full range ([`KAFKA_2_8_APIS`], held to it
//! by a test), flexible versions included: clients read a broker's generation from these ranges
//! (kafka-python infers "2.8" from Produce v9) and turn features on by them. The `kafka-protocol`
//! codec picks the request header (v1, or v2 with tagged fields for flexible versions) and the
//! response header (v0, or v1) per key and version, ApiVersions' response header always v0; it
//! skips tagged fields it does not know. An API no work has built yet (transactions, SASL, ACLs,
//! quotas, delegation tokens, partitions and reassignment, log dirs, record deletion) stays out
//! of this table until it is served, and its requests close the connection as Kafka's do for an
//! unknown version.
//!
//! Fetch goes up to 12: v12 is flexible (tagged fields, the partition's `DivergingEpoch` among
//! them), and the zero-copy encoder ([`crate::fetch`]) writes it with the records still sent by
//! `sendfile(2)`; v13+ address topics by id and came after 2.8. Fetch v0–3 answers carry records
//! down-converted in memory to message format 0 or 1 (copied, not sent with `sendfile`), as
//! Kafka 2.8 does for them.
//!
//! Produce and ListOffsets are served at 2.8's full ranges too: Produce 0–9 (v0–2 may carry
//! legacy magic-0/1 message sets, up-converted to magic 2; v8 adds KIP-467's record errors; v9
//! is flexible) and ListOffsets 0–6 (v0 answers `old_style_offsets` from segment boundaries;
//! v6 is flexible). The control-plane APIs carry the versions a 2.8 controller sends
//! (LeaderAndIsr 5, StopReplica 3, UpdateMetadata 7, all with topic ids) and everything below.
//!
//! Metadata, CreateTopics and DeleteTopics are served at Kafka 2.8's full ranges (Metadata 0–11,
//! flexible from 9, topic ids from 10; CreateTopics 0–7, flexible from 5, the new topic's id in 7;
//! DeleteTopics 0–6, flexible from 4, topics by id in 6): librdkafka tells a deleted and
//! recreated topic from the old one only by the topic ids of Metadata v10+. CreateTopics 4 is the
//! one that lets a client leave partitions and replication factor to the broker (−1, KIP-464).
//! ControlledShutdown, which only brokers send, goes up to v3, the version a 2.8 broker sends
//! (flexible; v0's request header is v0, without a client id).
//!
//! The group APIs are served at Kafka 2.8's full ranges, flexible versions included (OffsetCommit
//! 0–8, flexible from 8; OffsetFetch 0–7, from 6; FindCoordinator 0–3, from 3; JoinGroup 0–7, from
//! 6; Heartbeat 0–4, LeaveGroup 0–4 and SyncGroup 0–5, from 4; DescribeGroups 0–5, from 5;
//! ListGroups 0–4, from 3; DeleteGroups 0–2, from 2): the 2.8 Java consumer and admin client use
//! the newest. Each range contains the single versions old librdkafka checks before it allows
//! `kcat -G` (JoinGroup/SyncGroup/Heartbeat/LeaveGroup/FindCoordinator 0, OffsetCommit 1–2,
//! OffsetFetch 1) and the ones aiokafka and samsa fix (kafka-clients.md §0). OffsetForLeaderEpoch
//! goes to 4 (flexible), which 2.8 followers and KIP-320 consumers send.
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
    (ApiKey::Produce, 0, 9),
    (ApiKey::Fetch, 0, 12),
    (ApiKey::ListOffsets, 0, 6),
    (ApiKey::Metadata, 0, 11),
    (ApiKey::LeaderAndIsr, 0, 5),
    (ApiKey::StopReplica, 0, 3),
    (ApiKey::UpdateMetadata, 0, 7),
    (ApiKey::ControlledShutdown, 0, 3),
    (ApiKey::OffsetCommit, 0, 8),
    (ApiKey::OffsetFetch, 0, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::DeleteTopics, 0, 6),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::AlterPartition, 0, 0),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
];

/// Kafka 2.8.2's ApiVersions answer, `(api key, min, max)` for every API it serves (the
/// reference's appendices; `clients/src/main/resources/common/message/*.json`). Odradek serves a
/// subset of these keys, each at exactly this range; the rest arrive with the work that builds
/// them (a test holds `SUPPORTED_APIS` to this table).
pub const KAFKA_2_8_APIS: &[(i16, i16, i16)] = &[
    (0, 0, 9), (1, 0, 12), (2, 0, 6), (3, 0, 11), (4, 0, 5), (5, 0, 3), (6, 0, 7), (7, 0, 3),
    (8, 0, 8), (9, 0, 7), (10, 0, 3), (11, 0, 7), (12, 0, 4), (13, 0, 4), (14, 0, 5), (15, 0, 5),
    (16, 0, 4), (17, 0, 1), (18, 0, 3), (19, 0, 7), (20, 0, 6), (21, 0, 2), (22, 0, 4), (23, 0, 4),
    (24, 0, 3), (25, 0, 3), (26, 0, 3), (27, 0, 1), (28, 0, 3), (29, 0, 2), (30, 0, 2), (31, 0, 2),
    (32, 0, 4), (33, 0, 2), (34, 0, 2), (35, 0, 2), (36, 0, 2), (37, 0, 3), (38, 0, 2), (39, 0, 2),
    (40, 0, 2), (41, 0, 2), (42, 0, 2), (43, 0, 2), (44, 0, 1), (45, 0, 0), (46, 0, 0), (47, 0, 0),
    (48, 0, 1), (49, 0, 1), (50, 0, 0), (51, 0, 0), (56, 0, 0), (57, 0, 0), (60, 0, 0), (61, 0, 0),
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
    fn every_served_api_is_at_kafka_2_8s_full_range() {
        for &(key, min, max) in SUPPORTED_APIS {
            let kafka = KAFKA_2_8_APIS.iter().find(|(k, _, _)| *k == key as i16).map(|&(_, min, max)| (min, max));
            assert_eq!(Some((min, max)), kafka, "{key:?}: served {min}-{max}, Kafka 2.8 serves {kafka:?}");
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
