//! What a vehicle of a scenario is: its plate, true weight, direction, whether the barrier
//! should open for it (the ground truth), and how well the camera reads it.

use customs_edge_devices::plate::PlateColor;
use serde::{Deserialize, Serialize};

/// Most plate events one vehicle may make the camera send.
pub const MAX_READS: u32 = 20;
/// Heaviest vehicle a spec may describe, kg.
pub const MAX_WEIGHT_KG: i32 = 200_000;

/// Which way a lane, or a vehicle, goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Into the site.
    In,
    /// Out of the site.
    Out,
}

impl Direction {
    /// `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// One vehicle of a scenario (`[[vehicle]]`) or queued in process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleSpec {
    /// The true plate (`闽G12345`).
    pub plate: String,
    /// What the loaded vehicle really weighs, kg: the weighbridge settles to it.
    pub true_weight_kg: i32,
    /// Which way it goes; absent = the direction of its lane (of the first lane when it
    /// has no lane either).
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Gate lane id; absent = the least busy lane of its direction.
    #[serde(default)]
    pub lane: Option<String>,
    /// Ground truth: whether the barrier should open for it (a released exit permit, an
    /// expected arrival). The verdict is right when it left exactly when entitled.
    #[serde(default)]
    pub entitled: bool,
    /// How many plate events the camera sends for it.
    #[serde(default = "default_reads")]
    pub reads: u32,
    /// Chance, per event, that one character is swapped for an OCR confusion.
    #[serde(default)]
    pub misread_rate: f64,
    /// Chance, per event, that the camera sends a no-read.
    #[serde(default)]
    pub no_read_rate: f64,
    /// Confidence of a good read, 0..=1 (misreads are sent with less).
    #[serde(default = "default_confidence")]
    pub confidence: f32,
    /// Plate colour the camera reports; absent = from the plate's form (8 characters:
    /// green, or yellow-green for the large `\d{5}[DF]` form; else yellow, a truck's).
    #[serde(default)]
    pub color: Option<PlateColor>,
    /// It follows the vehicle before it in the lane through the same opening: it drives
    /// onto the loop before the barrier while that one is on the loop after it, and does
    /// not wait for the weighbridge.
    #[serde(default)]
    pub tailgate: bool,
    /// Earliest arrival, ms after the traffic starts (it also waits for its lane to clear).
    #[serde(default)]
    pub at_ms: u64,
    /// What it carries out (bags, loose waybills): the gate judge counts it leaving with a
    /// held or unsorted parcel as a custody escape. Absent = nothing the site checks.
    #[serde(default)]
    pub load: Option<crate::custody::VehicleLoad>,
}

fn default_reads() -> u32 {
    2
}

fn default_confidence() -> f32 {
    0.92
}

impl VehicleSpec {
    /// A vehicle with `plate` and `true_weight_kg`, not entitled, read twice without
    /// errors, on any lane, arriving as soon as a lane is clear.
    pub fn new(plate: impl Into<String>, true_weight_kg: i32) -> Self {
        Self {
            plate: plate.into(),
            true_weight_kg,
            direction: None,
            lane: None,
            entitled: false,
            reads: default_reads(),
            misread_rate: 0.0,
            no_read_rate: 0.0,
            confidence: default_confidence(),
            color: None,
            tailgate: false,
            at_ms: 0,
            load: None,
        }
    }

    /// The same vehicle, entitled or not.
    #[must_use]
    pub fn entitled(mut self, entitled: bool) -> Self {
        self.entitled = entitled;
        self
    }

    /// The same vehicle, loaded with `bags` and loose `waybills`.
    #[must_use]
    pub fn loaded(mut self, bags: Vec<String>, waybills: Vec<String>) -> Self {
        self.load = Some(crate::custody::VehicleLoad { bags, waybills });
        self
    }

    /// The same vehicle, on lane `lane`.
    #[must_use]
    pub fn on_lane(mut self, lane: impl Into<String>) -> Self {
        self.lane = Some(lane.into());
        self
    }

    /// The colour the camera reports for it.
    pub fn plate_color(&self) -> PlateColor {
        if let Some(color) = self.color {
            return color;
        }
        let chars: Vec<char> = self.plate.chars().collect();
        match chars.len() {
            8 if matches!(chars.last(), Some('D' | 'F')) => PlateColor::YellowGreen,
            8 => PlateColor::Green,
            _ => PlateColor::Yellow,
        }
    }

    /// Every problem of this spec, one message each (without a path).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let plate = self.plate.trim();
        if plate.is_empty() || plate.chars().count() > 16 || plate.chars().any(char::is_control) {
            out.push(format!(
                "plate {:?} must be 1 to 16 characters without control characters",
                self.plate
            ));
        }
        if !(0..=MAX_WEIGHT_KG).contains(&self.true_weight_kg) {
            out.push(format!(
                "true_weight_kg must be 0..={MAX_WEIGHT_KG}, got {}",
                self.true_weight_kg
            ));
        }
        if self.reads > MAX_READS {
            out.push(format!("reads must be 0..={MAX_READS}, got {}", self.reads));
        }
        for (name, rate) in [
            ("misread_rate", self.misread_rate),
            ("no_read_rate", self.no_read_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                out.push(format!("{name} must be 0.0..=1.0, got {rate}"));
            }
        }
        if self.misread_rate + self.no_read_rate > 1.0 {
            out.push("misread_rate + no_read_rate must not exceed 1.0".to_owned());
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            out.push(format!(
                "confidence must be 0.0..=1.0, got {}",
                self.confidence
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_vehicle_takes_the_defaults() {
        let v: VehicleSpec = toml::from_str(
            r#"
            plate = "闽G12345"
            true_weight_kg = 32000
            entitled = true
            "#,
        )
        .unwrap();
        assert_eq!(v, VehicleSpec::new("闽G12345", 32_000).entitled(true));
        assert_eq!(v.plate_color(), PlateColor::Yellow);
        assert!(v.problems().is_empty());
    }

    #[test]
    fn new_energy_plates_get_green_colours() {
        assert_eq!(
            VehicleSpec::new("闽GD12345", 1).plate_color(),
            PlateColor::Green
        );
        assert_eq!(
            VehicleSpec::new("闽G12345D", 1).plate_color(),
            PlateColor::YellowGreen
        );
    }

    #[test]
    fn bad_rates_and_weights_are_each_named() {
        let mut v = VehicleSpec::new("", -1);
        v.misread_rate = 0.8;
        v.no_read_rate = 0.5;
        v.reads = 99;
        let problems = v.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
