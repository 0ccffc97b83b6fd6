//! DeleteGroups (API key 42): remove Empty groups and their committed offsets.
//!
//! Only a group with no members can be deleted (NON_EMPTY_GROUP otherwise). The group and every
//! offset are tombstoned in `__consumer_offsets` so that a later coordinator does not resurrect them.

use std::collections::HashMap;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use odradek_protocol::error_codes as ec;

use crate::coordinator::GroupCoordinator;
use crate::group::GroupState;
use crate::manager::{self, PartitionState};
use crate::offsets_log::OffsetsRecord;

impl GroupCoordinator {
    pub async fn delete_groups(
        &self,
        request: DeleteGroupsRequest,
        _version: i16,
    ) -> DeleteGroupsResponse {
        let mut errors = Vec::with_capacity(request.groups_names.len());
        let mut tombstones: HashMap<i32, Vec<OffsetsRecord>> = HashMap::new();
        {
            let now = self.now_ms();
            let mut mgr = self.lock();
            for group_id in &request.groups_names {
                let id = group_id.0.as_str();
                let error = if !self.is_active() {
                    ec::COORDINATOR_NOT_AVAILABLE
                } else if let Some(error) = self.validate_group_status(&mgr, id, true) {
                    error
                } else {
                    let owned =
                        mgr.partition_state(self.partition_for(id)) == Some(PartitionState::Owned);
                    let not_found = if owned {
                        ec::GROUP_ID_NOT_FOUND
                    } else {
                        ec::NOT_COORDINATOR
                    };
                    match mgr.groups.get(id).map(|g| g.state()) {
                        None | Some(GroupState::Dead) => not_found,
                        Some(
                            GroupState::Stable
                            | GroupState::PreparingRebalance
                            | GroupState::CompletingRebalance,
                        ) => ec::NON_EMPTY_GROUP,
                        Some(GroupState::Empty) => {
                            if let Some(mut group) = mgr.groups.remove(id) {
                                group.transition_to(GroupState::Dead, now);
                                let batch = tombstones.entry(self.partition_for(id)).or_default();
                                batch.extend(
                                    group
                                        .offsets
                                        .keys()
                                        .map(|tp| manager::offset_tombstone(id, tp)),
                                );
                                batch.push(manager::group_tombstone(id));
                                tracing::info!(group = %id, offsets = group.offsets.len(), "deleted group");
                            }
                            ec::NONE
                        }
                    }
                };
                errors.push(
                    DeletableGroupResult::default()
                        .with_group_id(group_id.clone())
                        .with_error_code(error),
                );
            }
        }
        // Kafka writes these without waiting for the ISR and answers NONE regardless; waiting here
        // means a client that sees NONE can rely on the deletion surviving a failover.
        for (partition, records) in tombstones {
            if let Err(code) = self.append(partition, records).await {
                tracing::warn!(
                    broker = self.broker_id,
                    partition,
                    error = code,
                    "failed to write group deletion tombstones"
                );
            }
        }
        DeleteGroupsResponse::default().with_results(errors)
    }
}
