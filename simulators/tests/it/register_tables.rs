//! The register tables in the README are the maps in code: each table marked
//! `<!-- registers: NAME -->` lists, row by row, the offsets and names of the fields the
//! map defines (`STATUS_FIELDS`, `COMMAND_FIELDS`, built from the maps' own constants),
//! no more, no fewer, in order.

use std::path::Path;

use customs_edge_devices::register_block::Field;
use customs_edge_devices::{gate_io, line_plc, weighbridge};

/// Every marked table and the map it must show.
const TABLES: &[(&str, &[Field])] = &[
    ("line_plc.status", line_plc::map::STATUS_FIELDS),
    ("line_plc.command", line_plc::map::COMMAND_FIELDS),
    ("gate_io.status", gate_io::map::STATUS_FIELDS),
    ("gate_io.command", gate_io::map::COMMAND_FIELDS),
    ("weighbridge.status", weighbridge::STATUS_FIELDS),
];

/// The `(offset, name)` cells of the table after the marker `name`; `None` without one.
fn table(readme: &str, name: &str) -> Option<Vec<(String, String)>> {
    let marker = format!("<!-- registers: {name} -->");
    let after = &readme[readme.find(&marker)? + marker.len()..];
    let rows = after
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'))
        .skip(2) // the header and the |---| line
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[2].trim_matches('`').to_owned())
        })
        .collect();
    Some(rows)
}

/// The table rows `fields` should have, printed so a failure shows what to write.
fn rows(fields: &[Field]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| (f.offsets(), f.name.to_owned()))
        .collect()
}

#[test]
fn the_readme_register_tables_match_the_maps_in_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    for (name, fields) in TABLES {
        let shown = table(&readme, name)
            .unwrap_or_else(|| panic!("README.md has no table marked <!-- registers: {name} -->"));
        let want = rows(fields);
        assert_eq!(
            shown,
            want,
            "README.md's {name} table (left) differs from the map in code (right); the rows \
             should read:\n{}",
            want.iter()
                .map(|(o, n)| format!("| {o} | `{n}` | … |"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
