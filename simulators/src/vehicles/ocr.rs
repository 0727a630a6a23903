//! What the camera will send for a vehicle, decided up front from a seeded generator:
//! good reads, misreads (one character swapped for an OCR confusion) and no-reads. Pure:
//! the same seed gives the same shots, whatever the lanes do at run time.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use super::spec::VehicleSpec;

/// How much of a good read's confidence a misread is sent with.
const MISREAD_CONFIDENCE: f32 = 0.8;
/// Jitter of a read's confidence, ±.
const CONFIDENCE_JITTER: f32 = 0.02;

/// What one camera event carries, as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShotKind {
    /// The true plate.
    Read,
    /// The plate with one character swapped.
    Misread,
    /// No plate (`unknown`).
    NoRead,
}

/// One planned camera event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedShot {
    /// What kind of read it is.
    pub kind: ShotKind,
    /// The plate sent; `None` = a no-read.
    pub plate: Option<String>,
    /// The confidence sent.
    pub confidence: f32,
}

/// The characters an OCR engine mistakes `c` for (0↔D/Q, 8↔B, 2↔Z, 5↔S, 1↔I).
pub fn confusions(c: char) -> &'static [char] {
    match c {
        '0' => &['D', 'Q'],
        'D' | 'Q' => &['0'],
        '8' => &['B'],
        'B' => &['8'],
        '2' => &['Z'],
        'Z' => &['2'],
        '5' => &['S'],
        'S' => &['5'],
        '1' => &['I'],
        'I' => &['1'],
        _ => &[],
    }
}

/// `plate` with one confusable character, picked at random, swapped for one it is
/// mistaken for; `None` when no character of it can be confused.
pub fn misread(plate: &str, rng: &mut impl Rng) -> Option<String> {
    let chars: Vec<char> = plate.chars().collect();
    let spots: Vec<usize> = (0..chars.len())
        .filter(|&i| !confusions(chars[i]).is_empty())
        .collect();
    let &at = spots.choose(rng)?;
    let &with = confusions(chars[at]).choose(rng)?;
    let mut out = chars;
    out[at] = with;
    Some(out.into_iter().collect())
}

/// The camera events for `spec`: `reads` of them, each a no-read with `no_read_rate`, a
/// misread with `misread_rate` (a good read when no character can be confused), else a
/// good read.
pub fn plan_shots(spec: &VehicleSpec, rng: &mut impl Rng) -> Vec<PlannedShot> {
    (0..spec.reads)
        .map(|_| {
            let roll: f64 = rng.random();
            let jitter = rng.random_range(-CONFIDENCE_JITTER..=CONFIDENCE_JITTER);
            let good = (spec.confidence + jitter).clamp(0.0, 1.0);
            if roll < spec.no_read_rate {
                return PlannedShot {
                    kind: ShotKind::NoRead,
                    plate: None,
                    confidence: 0.0,
                };
            }
            if roll < spec.no_read_rate + spec.misread_rate
                && let Some(wrong) = misread(&spec.plate, rng)
            {
                return PlannedShot {
                    kind: ShotKind::Misread,
                    plate: Some(wrong),
                    confidence: good * MISREAD_CONFIDENCE,
                };
            }
            PlannedShot {
                kind: ShotKind::Read,
                plate: Some(spec.plate.clone()),
                confidence: good,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn a_misread_swaps_exactly_one_character_for_a_confusion() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let wrong = misread("闽G80251", &mut rng).unwrap();
            let diffs: Vec<(char, char)> = "闽G80251"
                .chars()
                .zip(wrong.chars())
                .filter(|(a, b)| a != b)
                .collect();
            assert_eq!(diffs.len(), 1, "{wrong}");
            let (from, to) = diffs[0];
            assert!(confusions(from).contains(&to), "{from} -> {to}");
        }
    }

    #[test]
    fn a_plate_without_confusable_characters_cannot_be_misread() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(misread("闽GA3467", &mut rng), None);
    }

    #[test]
    fn the_same_seed_plans_the_same_shots_and_rates_are_honoured() {
        let mut spec = VehicleSpec::new("闽G80251", 30_000);
        spec.reads = 1_000;
        spec.misread_rate = 0.3;
        spec.no_read_rate = 0.2;
        let a = plan_shots(&spec, &mut StdRng::seed_from_u64(3));
        let b = plan_shots(&spec, &mut StdRng::seed_from_u64(3));
        assert_eq!(a, b);
        let count = |k: ShotKind| a.iter().filter(|s| s.kind == k).count();
        assert!((150..250).contains(&count(ShotKind::NoRead)));
        assert!((240..360).contains(&count(ShotKind::Misread)));
        assert!(a.iter().all(|s| (0.0..=1.0).contains(&s.confidence)));
    }
}
