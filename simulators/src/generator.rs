//! The parcel generator: keeps every line busy by injecting parcels on a timer — a demo
//! line at one parcel a second, or a load run of R parcels/s per line for T seconds.
//!
//! Codes come from a list (each optionally with the lane kind the controller should
//! choose and the true weight, so a load run can be judged) or are made up; weights and
//! lengths are random within ranges.

use std::ops::RangeInclusive;
use std::time::Duration;

use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::line::SharedLine;
use crate::parcel::{LaneKind, MAX_WEIGHT_KG, NewParcel};
use crate::site::Site;

mod codes;

pub use codes::{CodeSpec, parse_codes};

/// Time a bounded run waits after its last drop before it reports itself finished, so
/// late commands are still recorded.
pub const GRACE: Duration = Duration::from_secs(1);

/// Pause between the controller attaching and the first parcel, with `wait_for_clients`.
pub const CLIENT_SETTLE: Duration = Duration::from_secs(1);

/// What the generator injects, and how often (the same for every line).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Time between two parcels on one line.
    pub every: Duration,
    /// Codes to pick from at random; when empty, random `SF` + 12-digit codes.
    pub codes: Vec<CodeSpec>,
    /// Probability (0.0..=1.0) that a parcel has an unreadable label.
    pub no_read_rate: f64,
    /// Probability (0.0..=1.0) that a parcel carries a dense object.
    pub dense_rate: f64,
    /// Parcel lengths in mm.
    pub lengths_mm: RangeInclusive<u16>,
    /// True weights in kg, for codes without their own weight.
    pub weights_kg: RangeInclusive<f64>,
    /// Stop injecting after this long (then the run finishes once every parcel dropped);
    /// `None` = until shutdown.
    pub duration: Option<Duration>,
    /// Hold each line's first parcel until a PLC client and a scanner client are
    /// connected to it (and one period more, for the client's first poll), so a
    /// controller started together with the simulator sees every parcel from the first.
    pub wait_for_clients: bool,
    /// Use each listed code once, in list order, instead of at random: line `i` of `n`
    /// takes codes `i`, `i + n`, `i + 2n` …, and made-up codes once its share runs out. A
    /// load run judged by expected lanes needs this: a waybill seen twice is a duplicate.
    pub unique_codes: bool,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(1),
            codes: Vec::new(),
            no_read_rate: 0.0,
            dense_rate: 0.0,
            lengths_mm: 200..=600,
            weights_kg: 0.2..=5.0,
            duration: None,
            wait_for_clients: false,
            unique_codes: false,
        }
    }
}

impl GeneratorConfig {
    /// A load run: `rate` parcels/s per line for `seconds`, 60..=100 mm parcels (to go
    /// with [`LineConfig::for_load`](crate::conveyor::LineConfig::for_load)).
    pub fn load(rate: f64, seconds: f64) -> Self {
        Self {
            every: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            lengths_mm: 60..=100,
            duration: Some(Duration::from_secs_f64(seconds.max(0.0))),
            ..Self::default()
        }
    }

    /// Every inconsistency, one message each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.every.is_zero() {
            out.push("generator.every must be greater than 0".to_owned());
        }
        for (name, rate) in [
            ("no_read_rate", self.no_read_rate),
            ("dense_rate", self.dense_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                out.push(format!(
                    "generator.{name} must be within 0.0..=1.0, got {rate}"
                ));
            }
        }
        let (lo, hi) = (*self.lengths_mm.start(), *self.lengths_mm.end());
        if lo == 0 || lo > hi || hi > crate::parcel::MAX_LENGTH_MM {
            out.push(format!(
                "generator.lengths_mm {lo}..={hi} is not a range within 1..=5000"
            ));
        }
        let (lo, hi) = (*self.weights_kg.start(), *self.weights_kg.end());
        if !(lo >= 0.0 && lo <= hi && hi <= MAX_WEIGHT_KG) {
            out.push(format!(
                "generator.weights_kg {lo}..={hi} is not a range within 0..={MAX_WEIGHT_KG}"
            ));
        }
        for (i, spec) in self.codes.iter().enumerate() {
            if let Err(err) = spec.parcel(400, 1.0).check() {
                out.push(format!("generator.codes[{i}] ({:?}): {err}", spec.code));
            }
        }
        out
    }

    /// The next parcel for `line`; `nth` is this line's own code index when the codes
    /// are unique.
    fn next_parcel(&self, line: &str, nth: Option<usize>) -> NewParcel {
        let mut rng = rand::rng();
        let length_mm = rng.random_range(self.lengths_mm.clone());
        let weight_kg = rng.random_range(self.weights_kg.clone());
        let spec = match nth {
            Some(n) => self.codes.get(n),
            None => self.codes.choose(&mut rng),
        };
        let mut parcel = match spec {
            Some(spec) => spec.parcel(length_mm, weight_kg),
            None => NewParcel {
                code: Some(format!(
                    "SF{:012}",
                    rng.random_range(0..1_000_000_000_000_u64)
                )),
                length_mm,
                weight_kg,
                ..NewParcel::default()
            },
        };
        if rng.random_bool(self.no_read_rate.clamp(0.0, 1.0)) {
            parcel.code = None;
            // An unreadable label can only be sorted to the exception lane.
            parcel.expect = parcel.expect.map(|_| LaneKind::Exception);
        }
        parcel.dense_object = rng.random_bool(self.dense_rate.clamp(0.0, 1.0));
        parcel.line = Some(line.to_owned());
        parcel
    }

    /// Inject parcels into `line` (number `index` of `count`) of `site`, the lines spread
    /// over one period so they do not all inject in one tick, until the duration is over
    /// and every parcel dropped, or `shutdown` fires.
    pub async fn run(
        self,
        site: Site,
        line: SharedLine,
        (index, count): (usize, usize),
        shutdown: CancellationToken,
    ) {
        let offset = self.every / count.max(1) as u32 * index as u32;
        let mut nth = index;
        let id = line.id().to_owned();
        if self.wait_for_clients {
            let mut check = tokio::time::interval(Duration::from_millis(50));
            while !line.has_clients() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = check.tick() => {}
                }
            }
            info!(line = id, "controller attached: generating parcels");
            // Give the controller a moment to finish starting (its first polls, its file
            // watchers) before the first parcel, as a real line is started after its
            // controller is up.
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every.max(CLIENT_SETTLE)) => {}
            }
        }
        let start = Instant::now() + offset;
        let stop = self.duration.map(|d| start + d);
        let mut interval = tokio::time::interval_at(start, self.every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let at = tokio::select! {
                () = shutdown.cancelled() => return,
                at = interval.tick() => at,
            };
            if stop.is_some_and(|stop| at >= stop) {
                break;
            }
            let parcel = self.next_parcel(&id, self.unique_codes.then_some(nth));
            nth += count;
            match site.inject(parcel) {
                Ok((parcel_id, _)) => debug!(line = id, parcel_id, "generated parcel"),
                Err(err) => warn!(line = id, %err, "generator could not inject a parcel"),
            }
        }
        info!(
            line = id,
            "generator done; waiting for the last parcels to drop"
        );
        let mut check = tokio::time::interval(Duration::from_millis(20));
        while !line.with(|c, _| c.all_dropped()) {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = check.tick() => {}
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(GRACE) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_codes_are_used_once_each_in_order_then_made_up() {
        let config = GeneratorConfig {
            codes: ["A", "B", "C"].into_iter().map(CodeSpec::from).collect(),
            unique_codes: true,
            ..GeneratorConfig::default()
        };
        let code = |nth| config.next_parcel("L1", Some(nth)).code.unwrap();
        assert_eq!([code(0), code(1), code(2)], ["A", "B", "C"]);
        assert!(code(3).starts_with("SF"), "past the list: a made-up code");
    }

    #[test]
    fn picks_listed_codes_with_their_expectation_or_no_read() {
        let config = GeneratorConfig {
            codes: vec![CodeSpec::from("A1"), "B2 release 1.5".parse().unwrap()],
            ..GeneratorConfig::default()
        };
        for _ in 0..50 {
            let p = config.next_parcel("L2", None);
            assert_eq!(p.line.as_deref(), Some("L2"));
            match p.code.as_deref() {
                Some("A1") => assert!(p.expect.is_none() && (0.2..=5.0).contains(&p.weight_kg)),
                Some("B2") => assert_eq!((p.expect, p.weight_kg), (Some(LaneKind::Release), 1.5)),
                other => panic!("{other:?}"),
            }
            assert!((200..=600).contains(&p.length_mm));
        }
        let all_no_read = GeneratorConfig {
            no_read_rate: 1.0,
            codes: vec!["B2 release".parse().unwrap()],
            ..config
        };
        let p = all_no_read.next_parcel("L1", None);
        assert_eq!((p.code, p.expect), (None, Some(LaneKind::Exception)));
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let config = GeneratorConfig {
            every: Duration::ZERO,
            codes: vec!["ok".into(), "bad\u{3}".into()],
            no_read_rate: 1.5,
            weights_kg: 3.0..=1.0,
            ..GeneratorConfig::default()
        };
        assert_eq!(config.problems().len(), 4, "{:?}", config.problems());
    }

    #[test]
    fn the_load_preset_makes_short_parcels_at_the_rate() {
        let load = GeneratorConfig::load(20.0, 60.0);
        assert_eq!(load.every, Duration::from_millis(50));
        assert_eq!(load.duration, Some(Duration::from_secs(60)));
        assert!(load.problems().is_empty());
    }
}
