//! `/admin`: requests an administrator leaves for the controller. Only topic deletion is used by
//! Odradek: `/admin/delete_topics/<topic>` (no data) asks for `<topic>` to be deleted; the
//! controller removes the znode when the deletion has finished.

/// `/admin`.
pub struct AdminZNode;

impl AdminZNode {
    pub const PATH: &'static str = "/admin";
}

/// `/admin/delete_topics`, whose children are the topics queued for deletion.
pub struct DeleteTopicsZNode;

impl DeleteTopicsZNode {
    pub const PATH: &'static str = "/admin/delete_topics";
}

/// `/admin/delete_topics/<topic>`.
pub struct DeleteTopicsTopicZNode;

impl DeleteTopicsTopicZNode {
    pub fn path(topic: &str) -> String {
        format!("{}/{topic}", DeleteTopicsZNode::PATH)
    }
}
