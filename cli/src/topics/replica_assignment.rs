//! `--replica-assignment`, Kafka's syntax (`TopicCommand.parseReplicaAssignment`): partitions
//! separated by `,`, each partition's replicas by `:`, the preferred leader first. `1:2,2:3,3:1` is
//! three partitions of two replicas each.

/// One replica list per partition, partition 0 first. The same checks as Kafka's parser: broker
/// ids are integers (here also non-negative), no partition lists a broker twice, and every
/// partition has as many replicas as partition 0.
pub fn parse(value: &str) -> anyhow::Result<Vec<Vec<i32>>> {
    let invalid = |why: String| anyhow::anyhow!("invalid --replica-assignment '{value}': {why}");
    let mut partitions: Vec<Vec<i32>> = Vec::new();
    for (partition, replicas) in value.split(',').enumerate() {
        let mut brokers = Vec::new();
        for broker in replicas.split(':').map(str::trim) {
            let id: i32 = broker
                .parse()
                .ok()
                .filter(|id| *id >= 0)
                .ok_or_else(|| invalid(format!("'{broker}' is not a broker id")))?;
            if brokers.contains(&id) {
                return Err(invalid(format!(
                    "partition {partition} lists broker {id} twice"
                )));
            }
            brokers.push(id);
        }
        if let Some(first) = partitions.first() {
            if first.len() != brokers.len() {
                return Err(invalid(format!(
                    "partition {partition} has {} replicas, partition 0 has {}",
                    brokers.len(),
                    first.len()
                )));
            }
        }
        partitions.push(brokers);
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn kafkas_syntax() {
        assert_eq!(parse("1:2,2:3,3:1").unwrap(), [[1, 2], [2, 3], [3, 1]]);
        assert_eq!(parse("0").unwrap(), [[0]]);
        assert_eq!(parse(" 1 : 2 , 3:4").unwrap(), [[1, 2], [3, 4]]);
    }

    #[test]
    fn errors_name_the_problem() {
        for (value, why) in [
            ("1:x", "'x' is not a broker id"),
            ("1:2,,3:4", "'' is not a broker id"),
            ("", "'' is not a broker id"),
            ("1:-2", "'-2' is not a broker id"),
            ("1:2:1", "partition 0 lists broker 1 twice"),
            ("1:2,3", "partition 1 has 1 replicas, partition 0 has 2"),
        ] {
            assert_eq!(
                parse(value).unwrap_err().to_string(),
                format!("invalid --replica-assignment '{value}': {why}")
            );
        }
    }
}
