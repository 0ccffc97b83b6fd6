//! One file per Kafka API the coordinator serves; each adds its handler to `GroupCoordinator`.

mod delete_groups;
mod describe_groups;
mod heartbeat;
mod join_group;
mod leave_group;
mod list_groups;
mod offset_commit;
mod offset_fetch;
mod sync_group;
