//! ListGroups (API key 16): the groups this broker coordinates (clients ask every broker).
//!
//! From v4 (KIP-518) each group carries its state, and a non-empty `states_filter` keeps only the
//! groups in one of the named states. Kafka 2.8 compares the names exactly ("Stable", not
//! "stable"); its admin tools send the names as Kafka prints them.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;

impl GroupCoordinator {
    pub fn list_groups(&self, request: ListGroupsRequest, version: i16) -> ListGroupsResponse {
        if !self.is_active() {
            return ListGroupsResponse::default().with_error_code(ec::COORDINATOR_NOT_AVAILABLE);
        }
        let mgr = self.lock();
        // Kafka answers what it has, flagged COORDINATOR_LOAD_IN_PROGRESS while any partition loads.
        let error = if mgr.any_loading() {
            ec::COORDINATOR_LOAD_IN_PROGRESS
        } else {
            ec::NONE
        };
        let states: Vec<&str> = if version >= 4 {
            request.states_filter.iter().map(|s| s.as_str()).collect()
        } else {
            Vec::new()
        };
        let mut groups: Vec<ListedGroup> = mgr
            .groups
            .values()
            .filter(|g| states.is_empty() || states.contains(&g.state().name()))
            .map(|g| {
                let mut listed = ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(g.group_id.clone())))
                    .with_protocol_type(StrBytes::from_string(
                        g.protocol_type.clone().unwrap_or_default(),
                    ));
                if version >= 4 {
                    listed.group_state = StrBytes::from_static_str(g.state().name());
                }
                listed
            })
            .collect();
        groups.sort_by(|a, b| a.group_id.0.as_str().cmp(b.group_id.0.as_str()));
        ListGroupsResponse::default()
            .with_error_code(error)
            .with_groups(groups)
    }
}
