//! Random vehicles for every lane (`[traffic.generate]`): valid Chinese plates, weights in
//! a range, entitlement, misread, no-read and tailgate rates, all from the traffic's seed.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use super::spec::{Direction, MAX_READS, MAX_WEIGHT_KG, VehicleSpec};

/// Authority letters (no I, no O).
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Share of digits among the last five characters.
const DIGIT_SHARE: f64 = 0.7;
/// Most vehicles the generator makes per lane.
pub const MAX_PER_LANE: u32 = 10_000;

/// How many random vehicles to make per lane, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleGenerator {
    /// Vehicles per lane.
    pub per_lane: u32,
    /// Share of them that are entitled to pass.
    #[serde(default = "default_entitled_rate")]
    pub entitled_rate: f64,
    /// Each one's `misread_rate`.
    #[serde(default)]
    pub misread_rate: f64,
    /// Each one's `no_read_rate`.
    #[serde(default)]
    pub no_read_rate: f64,
    /// Share of them (after a lane's first) that tailgate the vehicle before.
    #[serde(default)]
    pub tailgate_rate: f64,
    /// Plate events per vehicle.
    #[serde(default = "default_reads")]
    pub reads: u32,
    /// Lightest vehicle, kg.
    #[serde(default = "default_min_weight_kg")]
    pub min_weight_kg: i32,
    /// Heaviest vehicle, kg.
    #[serde(default = "default_max_weight_kg")]
    pub max_weight_kg: i32,
    /// Vehicle k of a lane arrives no earlier than k × this many ms after the start.
    #[serde(default)]
    pub every_ms: u64,
    /// Province character of the plates.
    #[serde(default = "default_province")]
    pub province: char,
}

fn default_entitled_rate() -> f64 {
    0.5
}
fn default_reads() -> u32 {
    2
}
fn default_min_weight_kg() -> i32 {
    15_000
}
fn default_max_weight_kg() -> i32 {
    49_000
}
fn default_province() -> char {
    '闽'
}

impl VehicleGenerator {
    /// `per_lane` vehicles per lane with the defaults.
    pub fn per_lane(per_lane: u32) -> Self {
        Self {
            per_lane,
            entitled_rate: default_entitled_rate(),
            misread_rate: 0.0,
            no_read_rate: 0.0,
            tailgate_rate: 0.0,
            reads: default_reads(),
            min_weight_kg: default_min_weight_kg(),
            max_weight_kg: default_max_weight_kg(),
            every_ms: 0,
            province: default_province(),
        }
    }

    /// Every problem, one message each (without a path).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.per_lane > MAX_PER_LANE {
            out.push(format!(
                "per_lane must be 0..={MAX_PER_LANE}, got {}",
                self.per_lane
            ));
        }
        for (name, rate) in [
            ("entitled_rate", self.entitled_rate),
            ("misread_rate", self.misread_rate),
            ("no_read_rate", self.no_read_rate),
            ("tailgate_rate", self.tailgate_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                out.push(format!("{name} must be 0.0..=1.0, got {rate}"));
            }
        }
        if self.misread_rate + self.no_read_rate > 1.0 {
            out.push("misread_rate + no_read_rate must not exceed 1.0".to_owned());
        }
        if self.reads > MAX_READS {
            out.push(format!("reads must be 0..={MAX_READS}, got {}", self.reads));
        }
        if !(0 < self.min_weight_kg
            && self.min_weight_kg <= self.max_weight_kg
            && self.max_weight_kg <= MAX_WEIGHT_KG)
        {
            out.push(format!(
                "weights must satisfy 0 < min_weight_kg <= max_weight_kg <= {MAX_WEIGHT_KG}, \
                 got {}..={}",
                self.min_weight_kg, self.max_weight_kg
            ));
        }
        if !customs_edge_devices::plate::format::is_province(self.province) {
            out.push(format!(
                "province {:?} is not a province character",
                self.province
            ));
        }
        out
    }

    /// The vehicles for `lanes` (id, direction): vehicle k of every lane, lane by lane,
    /// then vehicle k + 1, so arrivals interleave. Plates are unique within the result.
    pub fn vehicles(&self, lanes: &[(String, Direction)], rng: &mut impl Rng) -> Vec<VehicleSpec> {
        let mut plates = HashSet::new();
        let mut out = Vec::new();
        for k in 0..self.per_lane {
            for (lane, direction) in lanes {
                let plate = loop {
                    let plate = random_plate(self.province, rng);
                    if plates.insert(plate.clone()) {
                        break plate;
                    }
                };
                let mut v = VehicleSpec::new(
                    plate,
                    rng.random_range(self.min_weight_kg..=self.max_weight_kg),
                )
                .entitled(rng.random_bool(self.entitled_rate))
                .on_lane(lane.clone());
                v.direction = Some(*direction);
                v.reads = self.reads;
                v.misread_rate = self.misread_rate;
                v.no_read_rate = self.no_read_rate;
                v.tailgate = k > 0 && rng.random_bool(self.tailgate_rate);
                v.at_ms = u64::from(k) * self.every_ms;
                out.push(v);
            }
        }
        out
    }
}

/// A random ordinary plate: `province`, an authority letter, five letters or digits
/// (mostly digits; never I or O).
pub fn random_plate(province: char, rng: &mut impl Rng) -> String {
    let mut plate = String::with_capacity(10);
    plate.push(province);
    plate.push(char::from(*LETTERS.choose(rng).expect("letters")));
    for _ in 0..5 {
        let c = if rng.random_bool(DIGIT_SHARE) {
            char::from(b'0' + rng.random_range(0..10u8))
        } else {
            char::from(*LETTERS.choose(rng).expect("letters"))
        };
        plate.push(c);
    }
    plate
}

#[cfg(test)]
mod tests {
    use customs_edge_devices::plate::format::is_valid;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn lanes() -> Vec<(String, Direction)> {
        vec![("G1".into(), Direction::In), ("G2".into(), Direction::Out)]
    }

    #[test]
    fn generated_plates_are_valid_and_unique_and_the_seed_repeats_them() {
        let mut g = VehicleGenerator::per_lane(200);
        g.tailgate_rate = 0.1;
        let a = g.vehicles(&lanes(), &mut StdRng::seed_from_u64(9));
        let b = g.vehicles(&lanes(), &mut StdRng::seed_from_u64(9));
        assert_eq!(a, b);
        assert_eq!(a.len(), 400);
        assert!(a.iter().all(|v| is_valid(&v.plate)), "{:?}", a[0].plate);
        let unique: HashSet<&str> = a.iter().map(|v| v.plate.as_str()).collect();
        assert_eq!(unique.len(), a.len());
        assert!(
            !a[0].tailgate && !a[1].tailgate,
            "a lane's first never tailgates"
        );
        assert_eq!(a[1].direction, Some(Direction::Out));
        assert!(
            a.iter()
                .all(|v| (15_000..=49_000).contains(&v.true_weight_kg))
        );
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let mut g = VehicleGenerator::per_lane(1);
        g.entitled_rate = 2.0;
        g.min_weight_kg = 50_000;
        g.province = 'X';
        assert_eq!(g.problems().len(), 3, "{:?}", g.problems());
    }
}
