//! The scenario format's documentation is complete: `scenarios/example.toml` shows every
//! key of every table (the key lists come from the types themselves, serialized), and the
//! README's "Scenario files" section names each of them.

use std::collections::BTreeSet;
use std::path::Path;

use customs_edge_simulators::LineConfig;
use customs_edge_simulators::Scenario;
use customs_edge_simulators::custody::VehicleLoad;
use customs_edge_simulators::plate_camera::CameraForm;
use customs_edge_simulators::scenario::{ScenarioFault, ScenarioHold, ScenarioParcel};
use customs_edge_simulators::vehicles::{
    CameraSetup, Direction, GateLaneSetup, LaneTiming, TrafficOptions, VehicleGenerator,
    VehicleSpec,
};
use serde::Serialize;

fn crate_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `prefix.key` for every field of `value` (its serde form: the TOML keys).
fn fields(prefix: &str, value: &impl Serialize) -> BTreeSet<String> {
    let serde_json::Value::Object(map) = serde_json::to_value(value).unwrap() else {
        panic!("{prefix} is not a table");
    };
    map.keys().map(|k| join(prefix, k)).collect()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Every key path in a TOML document (arrays of tables share their table's path).
fn toml_keys(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let path = join(prefix, key);
                out.insert(path.clone());
                toml_keys(&path, v, out);
            }
        }
        toml::Value::Array(items) => {
            for item in items.iter().filter(|i| i.is_table()) {
                toml_keys(prefix, item, out);
            }
        }
        _ => {}
    }
}

/// Every key a scenario may have, from the types.
fn every_key() -> BTreeSet<String> {
    let parcel: ScenarioParcel = toml::from_str("at_ms = 0").unwrap();
    let fault: ScenarioFault =
        toml::from_str("at_ms = 0\nkind = \"estop\"\nduration_ms = 1").unwrap();
    let mut keys = fields("", &Scenario::default());
    keys.extend(fields("line", &LineConfig::default()));
    keys.extend(fields("parcels", &parcel));
    keys.extend(fields("faults", &fault));
    let hold: ScenarioHold = toml::from_str("at_ms = 0\ncode = \"SF1\"").unwrap();
    keys.extend(fields("holds", &hold));
    keys.extend(fields("vehicle.load", &VehicleLoad::default()));
    keys.extend(fields("gate", &GateLaneSetup::new("G1", Direction::Out)));
    keys.extend(fields(
        "gate.camera",
        &CameraSetup::new("http://x/", CameraForm::Hikvision),
    ));
    keys.extend(fields("gate.timing", &LaneTiming::default()));
    keys.extend(fields("vehicle", &VehicleSpec::new("闽G12345", 1)));
    keys.extend(fields("traffic", &TrafficOptions::default()));
    keys.extend(fields("traffic.generate", &VehicleGenerator::per_lane(1)));
    keys
}

#[test]
fn the_example_scenario_shows_every_key_of_every_table() {
    let text = crate_file("scenarios/example.toml");
    Scenario::from_toml(&text).expect("the example parses (unknown keys are errors)");
    let mut shown = BTreeSet::new();
    toml_keys("", &toml::from_str(&text).unwrap(), &mut shown);
    let missing: Vec<_> = every_key().difference(&shown).cloned().collect();
    assert!(
        missing.is_empty(),
        "scenarios/example.toml lacks {missing:?}"
    );
}

#[test]
fn the_readme_names_every_scenario_key() {
    let readme = crate_file("README.md");
    let start = readme
        .find("## Scenario files")
        .expect("a Scenario files section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let missing: Vec<_> = every_key()
        .into_iter()
        .filter(|path| {
            let key = path.rsplit('.').next().unwrap();
            let table = format!("[{path}]");
            let tables = format!("[[{path}]]");
            !section.contains(&format!("`{key}`"))
                && !section.contains(&format!("`{table}`"))
                && !section.contains(&format!("`{tables}`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's Scenario files section does not name {missing:?}"
    );
}
