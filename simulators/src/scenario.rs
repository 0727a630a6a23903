//! Scenario files: parcels with their labels, weights and expected lanes, and faults, on a
//! timeline; played by [`run`](run::run). The format is documented in the crate README
//! and shown whole in `scenarios/example.toml`.
//!
//! ```toml
//! duration_ms = 30000          # optional hard end; else: all dropped + grace_ms
//! [line]                       # optional geometry for every line
//! belt_speed_mm_s = 1000
//! [[parcels]]
//! at_ms = 0                    # arrival at the feeder, from the start
//! code = "SF1000000001"        # absent = unreadable label
//! weight_kg = 1.2
//! expect = "release"           # release | inspection | exception
//! [[faults]]
//! at_ms = 5000
//! kind = "plc_link_drop"       # plc_link_drop | estop | scale_fault | xray_fault
//! duration_ms = 5000
//! [[holds]]                    # customs holds a parcel (e.g. after its release): ground
//! at_ms = 9000                 # truth for the gate judge's custody escapes
//! code = "SF1000000001"
//! [[gate]]                     # truck gate lanes and their vehicles: see crate::vehicles
//!                              # and the README's tables of every gate, vehicle and
//!                              # traffic key
//! id = "G1"
//! direction = "out"
//! [[vehicle]]
//! plate = "闽G12345"
//! true_weight_kg = 32000
//! entitled = true
//! ```

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::conveyor::LineConfig;
use crate::faults::{FaultKind, FaultRequest};
use crate::parcel::{LaneKind, NewParcel};
use crate::vehicles::{GateLaneSetup, TrafficOptions, VehicleSpec};

pub mod run;

/// Most lines a scenario may ask for.
pub const MAX_LINES: usize = 64;

/// A scenario: what arrives when, what fails when, and what the controller should do.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for logs and the summary.
    #[serde(default)]
    pub name: Option<String>,
    /// How many lines `edge-sim` starts for it when `--lines` is not given (default 1).
    #[serde(default)]
    pub lines: Option<usize>,
    /// Hard end, in ms from the start; without it the scenario ends `grace_ms` after
    /// every parcel dropped and every fault ended.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Time after the last drop before the end, so late commands are still recorded.
    #[serde(default = "default_grace_ms")]
    pub grace_ms: u64,
    /// Start the clock only once every line has a PLC client and a scanner client (and
    /// half a second more, for the controller's first poll); each gate lane's vehicles
    /// start once a controller writes its heartbeat (`traffic.wait_for_controller`).
    #[serde(default)]
    pub wait_for_clients: bool,
    /// Geometry for every line; absent keys take the defaults.
    #[serde(default)]
    pub line: Option<LineConfig>,
    /// Parcels fed to the line, each at its time (`[[parcels]]`).
    #[serde(default)]
    pub parcels: Vec<ScenarioParcel>,
    /// Faults injected, each at its time and for its duration (`[[faults]]`).
    #[serde(default)]
    pub faults: Vec<ScenarioFault>,
    /// Holds customs puts on parcels, on the timeline (`[[holds]]`): from then on a truck
    /// that leaves carrying one is a custody escape.
    #[serde(default)]
    pub holds: Vec<ScenarioHold>,
    /// Truck gate lanes (`[[gate]]`); the run also waits for their vehicles.
    #[serde(default)]
    pub gate: Vec<GateLaneSetup>,
    /// Vehicles for the gate lanes (`[[vehicle]]`).
    #[serde(default)]
    pub vehicle: Vec<VehicleSpec>,
    /// The gate traffic's seed and generated vehicles (`[traffic]`).
    #[serde(default)]
    pub traffic: Option<TrafficOptions>,
}

fn default_grace_ms() -> u64 {
    1000
}

fn default_length_mm() -> u16 {
    400
}

fn default_weight_kg() -> f64 {
    1.0
}

/// A parcel of a scenario (`[[parcels]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioParcel {
    /// Arrival at the feeder, in ms from the start.
    pub at_ms: u64,
    /// Line id; absent = the first line.
    #[serde(default)]
    pub line: Option<String>,
    /// The label's code; absent = unreadable label.
    #[serde(default)]
    pub code: Option<String>,
    /// True weight in kg (default 1.0).
    #[serde(default = "default_weight_kg")]
    pub weight_kg: f64,
    /// Length in mm (default 400).
    #[serde(default = "default_length_mm")]
    pub length_mm: u16,
    /// A dense object inside (dark blob in the X-ray views).
    #[serde(default)]
    pub dense_object: bool,
    /// Damaged label: both scanners send the no-read string.
    #[serde(default)]
    pub no_read: bool,
    /// Only the top scanner reads.
    #[serde(default)]
    pub side_no_read: bool,
    /// The top scanner sends the code twice.
    #[serde(default)]
    pub double_read: bool,
    /// The side scanner reads this code instead.
    #[serde(default)]
    pub conflict: Option<String>,
    /// The lane kind the controller should choose.
    #[serde(default)]
    pub expect: Option<LaneKind>,
}

impl ScenarioParcel {
    /// The parcel to inject.
    pub fn to_parcel(&self) -> NewParcel {
        NewParcel {
            line: self.line.clone(),
            code: self.code.clone(),
            length_mm: self.length_mm,
            weight_kg: self.weight_kg,
            dense_object: self.dense_object,
            no_read: self.no_read,
            side_no_read: self.side_no_read,
            double_read: self.double_read,
            conflict: self.conflict.clone(),
            expect: self.expect,
        }
    }
}

/// A fault of a scenario (`[[faults]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFault {
    /// Start, in ms from the start of the scenario.
    pub at_ms: u64,
    /// What fails.
    pub kind: FaultKind,
    /// For how long, in ms.
    pub duration_ms: u64,
    /// Line id; absent = every line.
    #[serde(default)]
    pub line: Option<String>,
}

/// A hold of a scenario (`[[holds]]`): from `at_ms` customs holds the parcel labelled
/// `code` (as a status change away from 800 or an inspect instruction would, after its
/// release too). The platform's side of it is the platform scenario's `list_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioHold {
    /// When, in ms from the start of the scenario.
    pub at_ms: u64,
    /// The parcel's label (its waybill).
    pub code: String,
}

impl ScenarioFault {
    /// The fault to inject.
    pub fn to_request(&self) -> FaultRequest {
        FaultRequest {
            kind: self.kind,
            duration_ms: self.duration_ms,
            line: self.line.clone(),
        }
    }
}

impl Scenario {
    /// Parse a scenario from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Read and parse a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario {}", path.display()))?;
        Self::from_toml(&text)
            .with_context(|| format!("the scenario {} is not valid", path.display()))
    }

    /// When the last parcel arrives or the last fault ends, in ms from the start.
    pub fn last_event_ms(&self) -> u64 {
        let parcels = self.parcels.iter().map(|p| p.at_ms);
        let faults = self.faults.iter().map(|f| f.at_ms + f.duration_ms);
        let holds = self.holds.iter().map(|h| h.at_ms);
        parcels.chain(faults).chain(holds).max().unwrap_or(0)
    }

    /// Every problem, with its path, given the ids of the site's lines.
    pub fn problems(&self, line_ids: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = self.lines
            && !(1..=MAX_LINES).contains(&n)
        {
            out.push(format!("scenario.lines must be 1..={MAX_LINES}, got {n}"));
        }
        if self.duration_ms == Some(0) {
            out.push("scenario.duration_ms must be greater than 0".to_owned());
        }
        if let Some(line) = &self.line {
            out.extend(
                line.problems()
                    .into_iter()
                    .map(|p| format!("scenario.line: {p}")),
            );
        }
        let known = |line: &Option<String>| {
            line.as_deref()
                .is_none_or(|id| line_ids.contains(&id))
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "line {:?} is not one of {}",
                        line.as_deref().unwrap_or_default(),
                        line_ids.join(", ")
                    )
                })
        };
        for (i, p) in self.parcels.iter().enumerate() {
            let at = format!("scenario.parcels[{i}]");
            if let Err(err) = p.to_parcel().check() {
                out.push(format!("{at}: {err}"));
            }
            if let Err(err) = known(&p.line) {
                out.push(format!("{at}: {err}"));
            }
        }
        for (i, h) in self.holds.iter().enumerate() {
            if h.code.trim().is_empty() {
                out.push(format!("scenario.holds[{i}]: code must not be empty"));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let at = format!("scenario.faults[{i}]");
            if let Some(problem) = f.to_request().problem() {
                out.push(format!("{at}: {problem}"));
            }
            if let Err(err) = known(&f.line) {
                out.push(format!("{at}: {err}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_scenario_parses_and_is_valid() {
        let text = include_str!("../scenarios/example.toml");
        let scenario = Scenario::from_toml(text).unwrap();
        assert!(!scenario.parcels.is_empty() && !scenario.faults.is_empty());
        let ids = ["L1", "L2"];
        assert_eq!(scenario.problems(&ids), Vec::<String>::new());
        let traffic = scenario.traffic.clone().unwrap_or_default();
        let gates = crate::vehicles::traffic::problems(&scenario.gate, &scenario.vehicle, &traffic);
        assert_eq!(gates, Vec::<String>::new());
        assert!(!scenario.gate.is_empty() && !scenario.vehicle.is_empty());
    }

    #[test]
    fn absent_code_is_an_unreadable_label_and_defaults_fill_the_rest() {
        let s = Scenario::from_toml("[[parcels]]\nat_ms = 5\n").unwrap();
        let p = s.parcels[0].to_parcel();
        assert_eq!((p.code, p.length_mm, p.weight_kg), (None, 400, 1.0));
        assert_eq!(s.grace_ms, 1000);
    }

    #[test]
    fn mistakes_are_named_with_their_path() {
        let err = Scenario::from_toml("[[parcels]]\nat_ms = 1\ncolour = \"red\"\n").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let s = Scenario::from_toml(
            r#"
            [line]
            lanes = 2
            [[parcels]]
            at_ms = 0
            line = "L9"
            length_mm = 0
            [[faults]]
            at_ms = 0
            kind = "estop"
            duration_ms = 0
            "#,
        )
        .unwrap();
        let problems = s.problems(&["L1"]);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("scenario.line: exception_lane"));
        assert!(problems[2].contains("\"L9\" is not one of L1"));
        assert!(problems[3].starts_with("scenario.faults[0]: duration_ms"));
    }
}
