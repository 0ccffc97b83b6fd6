//! The tables `kafka-consumer-groups --describe` prints (Kafka 2.8 `ConsumerGroupCommand`), as
//! pure functions of what the coordinator and the leaders said, so their layout is tested
//! without a cluster. Kafka pads each column to the longest value (at least 15 wide), prints
//! "-" for what is unknown, and starts each table with an empty line.

use std::fmt::Write as _;

/// What Kafka prints for a missing value (`MISSING_COLUMN_VALUE`).
pub const MISSING: &str = "-";

/// One row of the offsets table: a partition the group has an offset for or a member owns, or a
/// member that owns nothing (topic and partition unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRow {
    pub group: String,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub current_offset: Option<i64>,
    pub log_end_offset: Option<i64>,
    pub consumer_id: Option<String>,
    pub host: Option<String>,
    pub client_id: Option<String>,
}

impl OffsetRow {
    /// LOG-END-OFFSET − CURRENT-OFFSET, when both are known.
    pub fn lag(&self) -> Option<i64> {
        Some(self.log_end_offset? - self.current_offset?)
    }
}

/// One member for `--members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub group: String,
    pub consumer_id: String,
    pub host: String,
    pub client_id: String,
    pub partitions: usize,
}

/// The group's summary for `--state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub group: String,
    /// `HOST:PORT (ID)`.
    pub coordinator: String,
    pub assignment_strategy: String,
    pub state: String,
    pub members: usize,
}

fn or_missing<T: ToString>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| MISSING.to_string(), T::to_string)
}

fn width<'a>(header: &str, values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(str::len)
        .chain([15, header.len()])
        .max()
        .unwrap_or(15)
}

/// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID.
pub fn offsets_table(rows: &[OffsetRow]) -> String {
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.group.clone(),
                or_missing(&r.topic),
                or_missing(&r.partition),
                or_missing(&r.current_offset),
                or_missing(&r.log_end_offset),
                or_missing(&r.lag()),
                or_missing(&r.consumer_id),
                or_missing(&r.host),
                or_missing(&r.client_id),
            ]
        })
        .collect();
    let headers = [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ];
    let widths = [
        width(headers[0], cells.iter().map(|c| c[0].as_str())),
        width(headers[1], cells.iter().map(|c| c[1].as_str())),
        10,
        15,
        15,
        15,
        width(headers[6], cells.iter().map(|c| c[6].as_str())),
        width(headers[7], cells.iter().map(|c| c[7].as_str())),
        0,
    ];
    render(&headers.map(String::from), &cells, &widths)
}

/// GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS.
pub fn members_table(rows: &[MemberRow]) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.group.clone(),
                r.consumer_id.clone(),
                r.host.clone(),
                r.client_id.clone(),
                r.partitions.to_string(),
            ]
        })
        .collect();
    let headers = ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"];
    let widths = [
        width(headers[0], cells.iter().map(|c| c[0].as_str())),
        width(headers[1], cells.iter().map(|c| c[1].as_str())),
        width(headers[2], cells.iter().map(|c| c[2].as_str())),
        width(headers[3], cells.iter().map(|c| c[3].as_str())),
        0,
    ];
    render(&headers.map(String::from), &cells, &widths)
}

/// GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS.
pub fn state_table(row: &StateRow) -> String {
    let headers = [
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "#MEMBERS",
    ]
    .map(String::from);
    let cells = [[
        row.group.clone(),
        row.coordinator.clone(),
        row.assignment_strategy.clone(),
        row.state.clone(),
        row.members.to_string(),
    ]];
    let widths = [
        row.group.len().max(15),
        row.coordinator.len().max(25),
        20,
        15,
        0,
    ];
    render(&headers, &cells, &widths)
}

/// An empty line, the header, then the rows; columns left-aligned to `widths` and separated by
/// one space (the last column unpadded).
fn render<const N: usize>(
    headers: &[String; N],
    cells: &[[String; N]],
    widths: &[usize; N],
) -> String {
    let mut out = String::from("\n");
    for row in std::iter::once(headers).chain(cells) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$} ", w = widths[i]);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(partition: i32, current: Option<i64>, member: Option<(&str, &str, &str)>) -> OffsetRow {
        OffsetRow {
            group: "g".into(),
            topic: Some("orders".into()),
            partition: Some(partition),
            current_offset: current,
            log_end_offset: Some(50),
            consumer_id: member.map(|m| m.0.to_string()),
            host: member.map(|m| m.1.to_string()),
            client_id: member.map(|m| m.2.to_string()),
        }
    }

    #[test]
    fn offsets_table_pads_like_kafka() {
        let member = ("consumer-g-1-3f1c", "/127.0.0.1", "consumer-g-1");
        let table = offsets_table(&[
            row(0, Some(50), Some(member)),
            row(1, Some(42), Some(member)),
            row(2, None, None),
        ]);
        let expected = "\n\
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID       HOST            CLIENT-ID\n\
g               orders          0          50              50              0               consumer-g-1-3f1c /127.0.0.1      consumer-g-1\n\
g               orders          1          42              50              8               consumer-g-1-3f1c /127.0.0.1      consumer-g-1\n\
g               orders          2          -               50              -               -                 -               -\n";
        assert_eq!(table, expected);
    }

    #[test]
    fn member_without_partitions_is_all_dashes() {
        let table = offsets_table(&[OffsetRow {
            group: "a-rather-long-group-name".into(),
            topic: None,
            partition: None,
            current_offset: None,
            log_end_offset: None,
            consumer_id: Some("m".into()),
            host: Some("/10.0.0.1".into()),
            client_id: Some("c".into()),
        }]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "");
        assert!(
            lines[1].starts_with("GROUP                    TOPIC "),
            "{:?}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "a-rather-long-group-name -               -          -               -               -               m               /10.0.0.1       c"
        );
    }

    #[test]
    fn members_and_state_tables() {
        let members = members_table(&[MemberRow {
            group: "g".into(),
            consumer_id: "m-1".into(),
            host: "/127.0.0.1".into(),
            client_id: "c".into(),
            partitions: 3,
        }]);
        assert_eq!(
            members,
            "\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS\n\
g               m-1             /127.0.0.1      c               3\n"
        );
        let state = state_table(&StateRow {
            group: "g".into(),
            coordinator: "127.0.0.1:9093 (1)".into(),
            assignment_strategy: "range".into(),
            state: "Stable".into(),
            members: 2,
        });
        assert_eq!(
            state,
            "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\n\
g               127.0.0.1:9093 (1)        range                Stable          2\n"
        );
    }
}
