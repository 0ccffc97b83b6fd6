//! docs/COMPATIBILITY.md's table "APIs and versions served" must say exactly what ApiVersions
//! advertises: every key in `SUPPORTED_APIS` once, with its range, and nothing else. A row may
//! list several APIs with their keys and ranges in the same order (`8, 9` and `0–8, 0–7`).

use std::collections::BTreeMap;

use odradek_protocol::SUPPORTED_APIS;

fn documented() -> BTreeMap<i16, (i16, i16)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/COMPATIBILITY.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let section = doc
        .split("## APIs and versions served")
        .nth(1)
        .expect("section \"APIs and versions served\"");
    let mut rows = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    let header = rows.next().expect("table header");
    assert!(
        header.starts_with("| API | key | versions |"),
        "unexpected header {header:?}"
    );
    let mut table = BTreeMap::new();
    for row in rows.skip(1) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let keys: Vec<i16> = cells[2]
            .split(',')
            .map(|k| {
                k.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("key {k:?} in {row}"))
            })
            .collect();
        let ranges: Vec<(i16, i16)> = cells[3]
            .split(',')
            .map(|r| {
                let r = r.trim();
                let (min, max) = r.split_once('–').unwrap_or((r, r));
                (
                    min.parse()
                        .unwrap_or_else(|_| panic!("range {r:?} in {row}")),
                    max.parse()
                        .unwrap_or_else(|_| panic!("range {r:?} in {row}")),
                )
            })
            .collect();
        assert_eq!(keys.len(), ranges.len(), "as many ranges as keys in {row}");
        for (key, range) in keys.into_iter().zip(ranges) {
            assert!(table.insert(key, range).is_none(), "key {key} twice");
        }
    }
    table
}

#[test]
fn the_documented_api_table_is_the_api_versions_answer() {
    let advertised: BTreeMap<i16, (i16, i16)> = SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| (key as i16, (min, max)))
        .collect();
    assert_eq!(
        documented(),
        advertised,
        "docs/COMPATIBILITY.md vs SUPPORTED_APIS"
    );
}
