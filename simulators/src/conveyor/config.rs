//! Geometry and behaviour of the simulated line.

/// Geometry and behaviour of the line (echoed in the report, so a report explains itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineConfig {
    /// Belt speed in mm/s.
    pub belt_speed_mm_s: u16,
    /// Distance of the scanner from the entry photo-eye, in mm.
    pub scanner_at_mm: u32,
    /// Distance of the diverter from the entry photo-eye, in mm.
    pub diverter_at_mm: u32,
    /// Number of lanes (valid lanes are `1..=lanes`).
    pub lanes: u16,
    /// Lane a parcel falls into when no valid command came in time (the PLC default).
    pub exception_lane: u16,
    /// Free belt between the trailing edge of one parcel and the next, in mm.
    pub gap_mm: u32,
}

impl Default for LineConfig {
    fn default() -> Self {
        Self {
            belt_speed_mm_s: 500,
            scanner_at_mm: 600,
            diverter_at_mm: 3000,
            lanes: 3,
            exception_lane: 3,
            gap_mm: 300,
        }
    }
}

impl LineConfig {
    /// Every inconsistency, one message each (empty when the line can run).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.belt_speed_mm_s == 0 {
            out.push("belt_speed_mm_s must be greater than 0".to_owned());
        }
        if self.scanner_at_mm >= self.diverter_at_mm {
            out.push(format!(
                "scanner_at_mm ({}) must be before diverter_at_mm ({})",
                self.scanner_at_mm, self.diverter_at_mm
            ));
        }
        if self.lanes == 0 {
            out.push("lanes must be at least 1".to_owned());
        }
        if !(1..=self.lanes).contains(&self.exception_lane) {
            out.push(format!(
                "exception_lane ({}) must be one of the lanes 1..={}",
                self.exception_lane, self.lanes
            ));
        }
        out
    }
}
