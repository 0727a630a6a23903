//! The free-space watch on the data directory (`[storage.disk]`): when to warn, and when to
//! stop writing what matters least, before the disk is full.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::load::Problem;

/// Levels of free space on the data directory's file system, in percent of its size.
/// Below each one more is shed, in this order: telemetry and statistics, then camera
/// evidence frames; decisions, gate passes, their readings, X-ray views and plate
/// snapshots are written for as long as the disk takes them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskWatchConfig {
    /// How often free space is looked at, in seconds.
    #[serde(default = "default_check_interval_s")]
    pub check_interval_s: f64,
    /// Below this much free space a `disk_low` alarm is raised; nothing is shed yet. 0
    /// turns the watch's alarms and shedding off (a commit that fails is still an alarm).
    #[serde(default = "default_warn_free_pct")]
    pub warn_free_pct: f64,
    /// Below this, PLC telemetry and statistics for the platform are no longer written.
    #[serde(default = "default_shed_bulk_free_pct")]
    pub shed_bulk_free_pct: f64,
    /// Below this, camera frames are no longer kept as evidence either.
    #[serde(default = "default_shed_evidence_free_pct")]
    pub shed_evidence_free_pct: f64,
}

impl Default for DiskWatchConfig {
    fn default() -> Self {
        Self {
            check_interval_s: default_check_interval_s(),
            warn_free_pct: default_warn_free_pct(),
            shed_bulk_free_pct: default_shed_bulk_free_pct(),
            shed_evidence_free_pct: default_shed_evidence_free_pct(),
        }
    }
}

fn default_check_interval_s() -> f64 {
    5.0
}

fn default_warn_free_pct() -> f64 {
    5.0
}

fn default_shed_bulk_free_pct() -> f64 {
    2.0
}

fn default_shed_evidence_free_pct() -> f64 {
    1.0
}

impl DiskWatchConfig {
    /// The check interval as a duration.
    pub fn check_interval(&self) -> Duration {
        Duration::from_secs_f64(self.check_interval_s)
    }

    pub(super) fn validate(&self, out: &mut Vec<Problem>) {
        if !(self.check_interval_s.is_finite() && (0.1..=600.0).contains(&self.check_interval_s)) {
            out.push(Problem::new(
                "storage.disk.check_interval_s",
                "must be between 0.1 and 600 seconds",
            ));
        }
        let levels = [
            ("warn_free_pct", self.warn_free_pct),
            ("shed_bulk_free_pct", self.shed_bulk_free_pct),
            ("shed_evidence_free_pct", self.shed_evidence_free_pct),
        ];
        for (field, value) in levels {
            if !(value.is_finite() && (0.0..100.0).contains(&value)) {
                out.push(Problem::new(
                    format!("storage.disk.{field}"),
                    "must be a percentage from 0 up to (not including) 100",
                ));
            }
        }
        for pair in levels.windows(2) {
            let ((upper, a), (lower, b)) = (pair[0], pair[1]);
            if a < b {
                out.push(Problem::new(
                    format!("storage.disk.{lower}"),
                    format!("must not be above {upper} ({b} > {a}): each level sheds more"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_must_shed_in_order() {
        let mut out = Vec::new();
        DiskWatchConfig::default().validate(&mut out);
        assert!(out.is_empty(), "{out:?}");
        let upside_down = DiskWatchConfig {
            check_interval_s: 0.0,
            warn_free_pct: 2.0,
            shed_bulk_free_pct: 5.0,
            shed_evidence_free_pct: 120.0,
        };
        upside_down.validate(&mut out);
        let paths: Vec<&str> = out.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "storage.disk.check_interval_s",
                "storage.disk.shed_evidence_free_pct",
                "storage.disk.shed_bulk_free_pct",
                "storage.disk.shed_evidence_free_pct",
            ]
        );
    }
}
