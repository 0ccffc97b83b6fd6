//! IncrementalAlterConfigs' operations over an entity's current overrides
//! (`ZkAdminManager.prepareIncrementalConfigs`): SET, DELETE, APPEND and SUBTRACT, applied in
//! request order. APPEND and SUBTRACT work on LIST configs only; their base list is the current
//! override, else the config's default.

use std::collections::BTreeMap;

use crate::errors::ConfigAdminError;

/// `AlterConfigOp.OpType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpType {
    Set,
    Delete,
    Append,
    Subtract,
}

impl OpType {
    pub fn from_id(id: i8) -> Option<OpType> {
        match id {
            0 => Some(OpType::Set),
            1 => Some(OpType::Delete),
            2 => Some(OpType::Append),
            3 => Some(OpType::Subtract),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            OpType::Set => "SET",
            OpType::Delete => "DELETE",
            OpType::Append => "APPEND",
            OpType::Subtract => "SUBTRACT",
        }
    }
}

/// One `(name, op, value)` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigOp {
    pub name: String,
    pub op: OpType,
    pub value: Option<String>,
}

/// What the operations need to know about a config: whether it is a LIST (`None` = the name is
/// unknown) and its default as a list.
pub trait ConfigKeys {
    fn is_list(&self, name: &str) -> Option<bool>;
    fn default_list(&self, name: &str) -> Option<String>;
}

/// The request-level checks Kafka makes before anything else: a name twice, a null value for
/// anything but DELETE.
pub fn check_ops(ops: &[AlterConfigOp]) -> Result<(), ConfigAdminError> {
    let mut names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
    names.sort();
    let mut duplicates: Vec<&str> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    duplicates.dedup();
    if !duplicates.is_empty() {
        return Err(ConfigAdminError::InvalidRequest(format!("Error due to duplicate config keys : {}", duplicates.join(","))));
    }
    let nulls: Vec<String> = ops.iter().filter(|o| o.value.is_none() && o.op != OpType::Delete).map(|o| format!("{}:{}", o.op.name(), o.name)).collect();
    if !nulls.is_empty() {
        return Err(ConfigAdminError::InvalidRequest(format!("Null value not supported for : {}", nulls.join(","))));
    }
    Ok(())
}

/// Applies `ops` in order to `configs`.
pub fn apply_ops(configs: &mut BTreeMap<String, String>, ops: &[AlterConfigOp], keys: &dyn ConfigKeys) -> Result<(), ConfigAdminError> {
    for op in ops {
        let value = op.value.clone().unwrap_or_default();
        match op.op {
            OpType::Set => {
                configs.insert(op.name.clone(), value);
            }
            OpType::Delete => {
                configs.remove(&op.name);
            }
            OpType::Append | OpType::Subtract => {
                match keys.is_list(&op.name) {
                    // A Scala map lookup of an unknown key throws NoSuchElementException.
                    None => return Err(ConfigAdminError::UnknownServerError(format!("key not found: {}", op.name))),
                    Some(false) => {
                        let verb = if op.op == OpType::Append { "append" } else { "subtract" };
                        return Err(ConfigAdminError::InvalidRequest(format!("Config value {verb} is not allowed for config key: {}", op.name)));
                    }
                    Some(true) => {}
                }
                let base = configs.get(&op.name).cloned().or_else(|| keys.default_list(&op.name)).unwrap_or_default();
                let old: Vec<&str> = base.split(',').collect();
                let given: Vec<&str> = value.split(',').collect();
                let new: Vec<&str> = if op.op == OpType::Append { old.iter().chain(&given).copied().collect() } else { diff(&old, &given) };
                configs.insert(op.name.clone(), new.join(","));
            }
        }
    }
    Ok(())
}

/// Scala's `List.diff`: removes one occurrence per element of `remove`.
fn diff<'a>(list: &[&'a str], remove: &[&str]) -> Vec<&'a str> {
    let mut remaining: Vec<&str> = remove.to_vec();
    let mut out = Vec::new();
    for item in list {
        match remaining.iter().position(|r| r == item) {
            Some(i) => {
                remaining.remove(i);
            }
            None => out.push(*item),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TopicKeys;

    impl ConfigKeys for TopicKeys {
        fn is_list(&self, name: &str) -> Option<bool> {
            crate::topic_config::is_list_config(name)
        }
        fn default_list(&self, name: &str) -> Option<String> {
            (name == "cleanup.policy").then(|| "delete".to_string())
        }
    }

    fn op(name: &str, op: OpType, value: Option<&str>) -> AlterConfigOp {
        AlterConfigOp { name: name.into(), op, value: value.map(str::to_string) }
    }

    #[test]
    fn set_delete_append_subtract_in_order() {
        let mut configs = BTreeMap::from([("retention.ms".to_string(), "1".to_string())]);
        let ops = [
            op("min.insync.replicas", OpType::Set, Some("2")),
            op("retention.ms", OpType::Delete, None),
            op("cleanup.policy", OpType::Append, Some("compact")),
            op("leader.replication.throttled.replicas", OpType::Append, Some("0:1,1:2")),
        ];
        apply_ops(&mut configs, &ops, &TopicKeys).unwrap();
        assert_eq!(configs.get("retention.ms"), None);
        assert_eq!(configs["min.insync.replicas"], "2");
        assert_eq!(configs["cleanup.policy"], "delete,compact", "the default is the base list");
        apply_ops(&mut configs, &[op("cleanup.policy", OpType::Subtract, Some("delete"))], &TopicKeys).unwrap();
        assert_eq!(configs["cleanup.policy"], "compact");
        apply_ops(&mut configs, &[op("leader.replication.throttled.replicas", OpType::Subtract, Some("1:2"))], &TopicKeys).unwrap();
        assert_eq!(configs["leader.replication.throttled.replicas"], ",0:1", "the empty default stays an empty first element, as in Kafka");
    }

    #[test]
    fn list_ops_need_list_configs() {
        let mut configs = BTreeMap::new();
        let err = apply_ops(&mut configs, &[op("retention.ms", OpType::Append, Some("1"))], &TopicKeys).unwrap_err();
        assert_eq!(err, ConfigAdminError::InvalidRequest("Config value append is not allowed for config key: retention.ms".into()));
        let err = apply_ops(&mut configs, &[op("nope", OpType::Subtract, Some("1"))], &TopicKeys).unwrap_err();
        assert!(matches!(err, ConfigAdminError::UnknownServerError(_)));
    }

    #[test]
    fn duplicates_and_nulls_are_invalid_requests() {
        let err = check_ops(&[op("a", OpType::Set, Some("1")), op("a", OpType::Delete, None)]).unwrap_err();
        assert_eq!(err, ConfigAdminError::InvalidRequest("Error due to duplicate config keys : a".into()));
        let err = check_ops(&[op("a", OpType::Set, None), op("b", OpType::Delete, None)]).unwrap_err();
        assert_eq!(err, ConfigAdminError::InvalidRequest("Null value not supported for : SET:a".into()));
        assert_eq!(check_ops(&[op("a", OpType::Delete, None)]), Ok(()));
    }
}
