//! The demo line's pace: a belt slow enough for a customs officer to look at each parcel's
//! X-ray views and flag it before its decision deadline, and a feeder that keeps up with it.
//!
//! The stations stay where `config/demo.toml` puts them (X-ray at 1.2 m, diverter at
//! 3 m), so the same config also runs against a standalone `edge-sim`. Only the belt speed
//! (which the controller reads from the PLC, not from its config), the parcel lengths and
//! the feeder's period are the demo's own.

use std::ops::RangeInclusive;
use std::time::Duration;

use customs_edge_simulators::{CodeSpec, GeneratorConfig, LineConfig as SimLine};

use crate::config::LineConfig;

/// Belt speed of the demo line: 120 mm/s leaves an officer about 14 s between a parcel's
/// X-ray views and its decision deadline, so that with a parcel every [`PARCEL_EVERY`] the
/// next one's views are in before the current one is decided (the judging strip shows it,
/// and it can be flagged ahead of its turn).
pub const BELT_SPEED_MM_S: u16 = 120;

/// Lengths of the demo's parcels.
pub const PARCEL_LENGTHS_MM: RangeInclusive<u16> = 200..=400;

/// Time between two parcels entering the feeder: at least the longest parcel plus the
/// feeder's gap at [`BELT_SPEED_MM_S`] (so the queue in front of the photo-eye never
/// grows), and at least the judging window, so that an officer who looks at every parcel
/// has 8 s for each (with parcels every 3.5 s a new one took the judging view with
/// 3 s left).
pub const PARCEL_EVERY: Duration = Duration::from_secs(8);

/// The simulated line for the controller's `line`: the stations and lanes of the config,
/// the demo's belt speed.
pub fn sim_line(line: &LineConfig) -> SimLine {
    SimLine {
        belt_speed_mm_s: BELT_SPEED_MM_S,
        scale_at_mm: line.geometry.scale_at_mm.unwrap_or(300),
        scanner_at_mm: line.geometry.scanner_at_mm,
        xray_at_mm: line.geometry.xray_at_mm.unwrap_or(1200),
        diverter_at_mm: line.geometry.diverter_at_mm,
        release_lane: line.diverter.release_lane,
        inspection_lane: line.diverter.inspection_lane,
        exception_lane: line.diverter.exception_lane,
        xray_views: line.xray.as_ref().map_or(2, |x| x.views as u8),
        ..SimLine::default()
    }
}

/// The feeder: `codes` at random, one parcel every [`PARCEL_EVERY`], some unreadable
/// labels and dense objects, the first held until the controller is connected.
pub fn generator(codes: Vec<CodeSpec>) -> GeneratorConfig {
    GeneratorConfig {
        every: PARCEL_EVERY,
        codes,
        no_read_rate: 0.05,
        dense_rate: 0.1,
        lengths_mm: PARCEL_LENGTHS_MM,
        wait_for_clients: true,
        ..GeneratorConfig::default()
    }
}

/// How long an officer has to flag a parcel: from its X-ray views being written to its
/// decision deadline (`lead_ms` before the diverter), on `sim` with the controller's `line`.
pub fn judging_window(sim: &SimLine, line: &LineConfig) -> Duration {
    let speed = f64::from(sim.belt_speed_mm_s);
    let views_at = f64::from(sim.xray_at_mm) / speed + f64::from(sim.xray_delay_ms) / 1000.0;
    let deadline_at = f64::from(sim.diverter_at_mm) / speed - line.decision.lead_ms as f64 / 1000.0;
    Duration::from_secs_f64((deadline_at - views_at).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_officer_has_at_least_eight_seconds_to_judge_each_parcel() {
        let config = super::super::demo_config();
        let line = &config.lines[0];
        assert_eq!(line.decision.mode, crate::config::DecisionMode::Deadline);
        let window = judging_window(&sim_line(line), line);
        assert!(window >= Duration::from_secs(8), "{window:?}");
        assert!(
            PARCEL_EVERY >= Duration::from_secs(8),
            "one parcel at a time: {PARCEL_EVERY:?} between parcels"
        );
    }

    #[test]
    fn the_feeder_never_outruns_the_belt() {
        let config = super::super::demo_config();
        let sim = sim_line(&config.lines[0]);
        let longest = u32::from(*PARCEL_LENGTHS_MM.end()) + sim.gap_mm;
        let pitch = Duration::from_secs_f64(f64::from(longest) / f64::from(sim.belt_speed_mm_s));
        assert!(pitch <= PARCEL_EVERY, "{pitch:?} > {PARCEL_EVERY:?}");
        assert!(generator(Vec::new()).problems().is_empty());
    }
}
