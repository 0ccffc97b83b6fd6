//! `kafka-configs.sh`'s argument rules, pure: which action, which entity, and the
//! `--add-config` syntax (`k1=v1,k2=[a,b],k3=v3`: brackets hold a list value's commas).

use std::collections::BTreeMap;

use super::ConfigsArgs;

/// The entity a command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// `None`: every topic (describe only).
    Topic(Option<String>),
    /// `None`: the cluster-wide default (`--entity-default`).
    Broker(Option<i32>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Describe { entity: Entity, all: bool },
    Alter { entity: Entity, add: BTreeMap<String, String>, delete: Vec<String> },
}

/// Checks the flags the way `ConfigCommandOptions.checkArgs` does; each error is one line
/// naming the problem.
pub fn check(args: &ConfigsArgs) -> anyhow::Result<Action> {
    anyhow::ensure!(args.describe != args.alter, "Command must include exactly one action: --describe, --alter");
    let entity_type = args.entity_type.as_deref().ok_or_else(|| anyhow::anyhow!("--entity-type must be specified"))?;
    anyhow::ensure!(!(args.entity_name.is_some() && args.entity_default), "only one of --entity-name or --entity-default may be specified");
    let entity = match entity_type {
        "topics" => {
            anyhow::ensure!(!args.entity_default, "--entity-default is not supported for topics");
            anyhow::ensure!(args.describe || args.entity_name.is_some(), "an entity name must be specified with --alter of topics");
            Entity::Topic(args.entity_name.clone())
        }
        "brokers" => match &args.entity_name {
            Some(name) => Entity::Broker(Some(name.parse().map_err(|_| anyhow::anyhow!("The entity name for brokers must be a valid integer broker id, found: {name}"))?)),
            None if args.entity_default || args.describe => Entity::Broker(None),
            None => anyhow::bail!("an entity name must be specified with --alter of brokers (or --entity-default)"),
        },
        other => anyhow::bail!("Invalid entity type {other}, the entity type must be one of topics, brokers"),
    };
    if args.describe {
        anyhow::ensure!(args.add_config.is_none() && args.delete_config.is_none(), "--add-config and --delete-config are only valid with --alter");
        return Ok(Action::Describe { entity, all: args.all });
    }
    anyhow::ensure!(!args.all, "--all is only valid with --describe");
    let add = args.add_config.as_deref().map(parse_add_config).transpose()?.unwrap_or_default();
    let delete: Vec<String> = args.delete_config.as_deref().map(|d| d.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()).unwrap_or_default();
    anyhow::ensure!(!add.is_empty() || !delete.is_empty(), "At least one of --add-config or --delete-config must be specified with --alter");
    Ok(Action::Alter { entity, add, delete })
}

/// `k1=v1,k2=[a,b],k3=v3` → `{k1: v1, k2: "a,b", k3: v3}`.
pub fn parse_add_config(value: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut entries = Vec::new();
    let (mut current, mut depth) = (String::new(), 0);
    for c in value.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    entries.push(current);
    let mut configs = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
        let (k, v) = entry.split_once('=').ok_or_else(|| anyhow::anyhow!("Invalid entity config: all configs to be added must be in the format \"key=val\", found: {entry}"))?;
        let v = v.trim();
        let v = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(v);
        configs.insert(k.trim().to_string(), v.to_string());
    }
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_syntax() {
        let parsed = parse_add_config("min.insync.replicas=2,cleanup.policy=[compact,delete],retention.ms=1000").unwrap();
        assert_eq!(parsed["min.insync.replicas"], "2");
        assert_eq!(parsed["cleanup.policy"], "compact,delete");
        assert_eq!(parsed["retention.ms"], "1000");
        assert_eq!(parse_add_config("a").unwrap_err().to_string(), "Invalid entity config: all configs to be added must be in the format \"key=val\", found: a");
    }
}
