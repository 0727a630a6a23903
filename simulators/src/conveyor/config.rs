//! Geometry and behaviour of one simulated line.

use customs_edge_devices::line_plc::map::{MAX_BELT_SPEED, MAX_LANE};
use serde::{Deserialize, Serialize};

use crate::parcel::LaneKind;

/// Geometry and behaviour of the line (echoed in the report, so a report explains itself).
///
/// Positions are leading-edge distances from the entry photo-eye. In a scenario file this
/// is the `[line]` table; absent keys take the defaults below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineConfig {
    /// Belt speed in mm/s while running (default 500).
    pub belt_speed_mm_s: u16,
    /// Where the dynamic scale weighs (default 300).
    pub scale_at_mm: u32,
    /// Where the top and side scanners read (default 600).
    pub scanner_at_mm: u32,
    /// The X-ray tunnel entrance (default 1200).
    pub xray_at_mm: u32,
    /// Where the diverter acts (default 3000).
    pub diverter_at_mm: u32,
    /// Number of lanes; valid lane commands are `1..=lanes` (default 3).
    pub lanes: u16,
    /// The release lane's number (default 1).
    pub release_lane: u16,
    /// The inspection lane's number (default 2).
    pub inspection_lane: u16,
    /// The exception lane, where a parcel with no valid command falls (default 3).
    pub exception_lane: u16,
    /// Free belt the feeder leaves after one parcel's trailing edge (default 300).
    pub gap_mm: u32,
    /// Time from a parcel entering the X-ray tunnel to its images being written (default 300).
    pub xray_delay_ms: u32,
    /// Images the X-ray writes per parcel (default 2).
    pub xray_views: u8,
}

impl Default for LineConfig {
    fn default() -> Self {
        Self {
            belt_speed_mm_s: 500,
            scale_at_mm: 300,
            scanner_at_mm: 600,
            xray_at_mm: 1200,
            diverter_at_mm: 3000,
            lanes: 3,
            release_lane: 1,
            inspection_lane: 2,
            exception_lane: 3,
            gap_mm: 300,
            xray_delay_ms: 300,
            xray_views: 2,
        }
    }
}

/// Longest X-ray delay: a machine slower than this is broken.
const MAX_XRAY_DELAY_MS: u32 = 60_000;
/// Most views an X-ray machine writes per parcel.
pub const MAX_XRAY_VIEWS: u8 = 8;

impl LineConfig {
    /// The load profile for `rate` parcels per second: parcels of 60..=100 mm with 40 mm
    /// gaps on a belt of `max(3000, 150 × rate)` mm/s (at most 10000), so the feeder's
    /// worst pitch of 140 mm takes less than `1 / rate` s. Positions stay the defaults.
    pub fn for_load(rate_per_s: f64) -> Self {
        let speed = (150.0 * rate_per_s).clamp(3000.0, f64::from(MAX_BELT_SPEED));
        Self {
            belt_speed_mm_s: speed as u16,
            gap_mm: 40,
            ..Self::default()
        }
    }

    /// The lane number of a lane kind.
    pub fn lane_of(&self, kind: LaneKind) -> u16 {
        match kind {
            LaneKind::Release => self.release_lane,
            LaneKind::Inspection => self.inspection_lane,
            LaneKind::Exception => self.exception_lane,
        }
    }

    /// Every inconsistency, one message each (empty when the line can run).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=MAX_BELT_SPEED).contains(&self.belt_speed_mm_s) {
            out.push(format!(
                "belt_speed_mm_s must be 1..={MAX_BELT_SPEED}, got {}",
                self.belt_speed_mm_s
            ));
        }
        for (name, at) in [
            ("scale_at_mm", self.scale_at_mm),
            ("scanner_at_mm", self.scanner_at_mm),
            ("xray_at_mm", self.xray_at_mm),
        ] {
            if at >= self.diverter_at_mm {
                out.push(format!(
                    "{name} ({at}) must be before diverter_at_mm ({})",
                    self.diverter_at_mm
                ));
            }
        }
        if !(1..=MAX_LANE).contains(&self.lanes) {
            out.push(format!("lanes must be 1..={MAX_LANE}, got {}", self.lanes));
        }
        for (name, lane) in [
            ("release_lane", self.release_lane),
            ("inspection_lane", self.inspection_lane),
            ("exception_lane", self.exception_lane),
        ] {
            if !(1..=self.lanes).contains(&lane) {
                out.push(format!(
                    "{name} ({lane}) must be one of the lanes 1..={}",
                    self.lanes
                ));
            }
        }
        if self.xray_delay_ms > MAX_XRAY_DELAY_MS {
            out.push(format!(
                "xray_delay_ms must be at most {MAX_XRAY_DELAY_MS}, got {}",
                self.xray_delay_ms
            ));
        }
        if !(1..=MAX_XRAY_VIEWS).contains(&self.xray_views) {
            out.push(format!(
                "xray_views must be 1..={MAX_XRAY_VIEWS}, got {}",
                self.xray_views
            ));
        }
        out
    }
}
