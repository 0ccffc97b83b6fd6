//! The pure parts of `ZkNodeChangeNotificationListener` over `/config/changes`: which
//! notifications are new, what entity one names, and which are old enough to purge.

use odradek_zk::zk_data::ConfigEntityChangeNotificationSequenceZNode;

/// Notifications older than this are deleted by every broker (not configurable in Kafka).
pub const NOTIFICATION_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The children of `/config/changes` with a sequence number above `last_processed`, in
/// sequence order: `(sequence number, child name)`.
pub fn new_notifications(children: &[String], last_processed: i64) -> Vec<(i64, String)> {
    let mut new: Vec<(i64, String)> = children
        .iter()
        .filter_map(|c| ConfigEntityChangeNotificationSequenceZNode::sequence_number(c).map(|seq| (seq, c.clone())))
        .filter(|(seq, _)| *seq > last_processed)
        .collect();
    new.sort();
    new
}

/// An entity path (`topics/orders`, `brokers/<default>`, `users/alice/clients/app1`) split into
/// its type (the first segment) and name (the rest).
pub fn parse_entity_path(entity_path: &str) -> Option<(&str, &str)> {
    entity_path.split_once('/').filter(|(t, n)| !t.is_empty() && !n.is_empty())
}

/// Whether a notification created at `ctime_ms` is obsolete at `now_ms`.
pub fn is_obsolete(ctime_ms: i64, now_ms: i64) -> bool {
    now_ms - ctime_ms > NOTIFICATION_RETENTION_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_newer_notifications_in_sequence_order() {
        let children: Vec<String> = ["config_change_0000000010", "config_change_0000000002", "junk", "config_change_0000000007"].iter().map(|s| s.to_string()).collect();
        let all = new_notifications(&children, -1);
        assert_eq!(all.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![2, 7, 10]);
        assert_eq!(new_notifications(&children, 7), vec![(10, "config_change_0000000010".to_string())]);
        assert!(new_notifications(&children, 10).is_empty());
    }

    #[test]
    fn entity_paths() {
        assert_eq!(parse_entity_path("topics/orders"), Some(("topics", "orders")));
        assert_eq!(parse_entity_path("brokers/<default>"), Some(("brokers", "<default>")));
        assert_eq!(parse_entity_path("users/alice/clients/app1"), Some(("users", "alice/clients/app1")));
        assert_eq!(parse_entity_path("topics/"), None);
        assert_eq!(parse_entity_path("topics"), None);
    }

    #[test]
    fn fifteen_minutes_then_purged() {
        assert!(!is_obsolete(1_000, 1_000 + NOTIFICATION_RETENTION_MS));
        assert!(is_obsolete(1_000, 1_001 + NOTIFICATION_RETENTION_MS));
    }
}
