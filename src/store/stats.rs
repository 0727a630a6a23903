//! Statistics over a time range, for the big screen and its CSV exports: parcels per hour
//! (in Beijing time), by trade mode, destination country and HS chapter, lanes and rates,
//! how long trucks stay between the gates, gate passes per hour; and the parcels of a range,
//! page by page, for the export that streams them.
//!
//! Parcels are counted by when they entered the line (`parcels.entered_at`, in the range
//! `[from, to)`); every parcel query walks the `parcels_entered_at` index over the range,
//! and the joins look lists and goods up by their keys, so a day of a busy line is a few
//! hundred milliseconds, not a scan of the table. Stored times are RFC 3339 UTC with
//! milliseconds, so a range is a string range; Beijing time is UTC+8 with no daylight
//! saving, so its hours are UTC hours relabelled.
//!
//! Here: the range, the shapes of the answer and [`compute`]; `parcels` counts the parcels,
//! `gate_traffic` the gate passes, and `export` pages through the parcels for the CSV export.

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::{StoreError, timestamp};

mod dwell;
mod export;
mod gate_traffic;
mod parcels;

pub use export::{Cursor, ParcelRow, parcel_page};

use gate_traffic::{avg_stay_s, gate_passes_per_hour};
use parcels::{breakdown, by_hs_chapter, parcels_per_hour, ranked};

/// The longest range one request may cover.
pub const MAX_SPAN: TimeDelta = TimeDelta::days(92);
/// How far before a range an entry pass is looked for, to pair it with an exit in the
/// range: a truck that stayed longer is not counted.
pub const ARRIVAL_LOOKBACK: TimeDelta = TimeDelta::days(31);
/// The key of parcels with no list (or no value in it) in the breakdowns.
pub const UNKNOWN: &str = "unknown";

/// A checked range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start, included.
    pub from: DateTime<Utc>,
    /// End, excluded.
    pub to: DateTime<Utc>,
}

/// A range that cannot be used, and the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct RangeError {
    /// `from` or `to`.
    pub parameter: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

impl Range {
    /// `[from, to)`, refused when `from` is after `to` or the span exceeds [`MAX_SPAN`].
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, RangeError> {
        if from > to {
            return Err(RangeError {
                parameter: "from",
                message: format!("from ({}) is after to ({})", timestamp(from), timestamp(to)),
            });
        }
        if to - from > MAX_SPAN {
            return Err(RangeError {
                parameter: "from",
                message: format!(
                    "the range from {} to {} spans more than {} days",
                    timestamp(from),
                    timestamp(to),
                    MAX_SPAN.num_days()
                ),
            });
        }
        Ok(Self { from, to })
    }

    /// The last 24 hours before `now`.
    pub fn last_day(now: DateTime<Utc>) -> Self {
        Self {
            from: now - TimeDelta::hours(24),
            to: now,
        }
    }

    /// Every hour that overlaps the range, from the one `from` falls in.
    pub fn hours(&self) -> Vec<DateTime<Utc>> {
        let hour = TimeDelta::hours(1);
        let mut at = self.from.duration_trunc(hour).unwrap_or(self.from);
        let mut hours = Vec::new();
        while at < self.to {
            hours.push(at);
            at += hour;
        }
        hours
    }

    fn bounds(&self) -> (String, String) {
        (timestamp(self.from), timestamp(self.to))
    }
}

/// An hour as labelled on the screen and in exports: Beijing time, `2026-11-27T14:00+08:00`.
pub fn hour_label(hour: DateTime<Utc>) -> String {
    hour.with_timezone(&super::beijing())
        .format("%Y-%m-%dT%H:00%:z")
        .to_string()
}

/// A stored time in Beijing time for people and spreadsheets: `2026-11-27 14:03:05`; the
/// stored text when it does not parse.
pub fn beijing_time(stored: &str) -> String {
    DateTime::parse_from_rfc3339(stored).map_or_else(
        |_| stored.to_owned(),
        |t| {
            t.with_timezone(&super::beijing())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

/// The key of a stored time's UTC hour, as `substr(at, 1, 13)` gives it.
fn hour_key(hour: DateTime<Utc>) -> String {
    hour.format("%Y-%m-%dT%H").to_string()
}

/// Parcels that entered in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HourCount {
    /// The hour, Beijing time: `2026-11-27T14:00+08:00`.
    pub hour: String,
    /// Parcels.
    pub count: u64,
}

/// Parcels with one value of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyCount {
    /// The value (`9610`, `US`, `61`, or `unknown`).
    pub key: String,
    /// Parcels.
    pub count: u64,
}

/// Parcels by the kind of lane they were sent to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LaneCounts {
    /// Sent to the release lane.
    pub release: u64,
    /// Sent to the inspection lane.
    pub inspection: u64,
    /// Sent to the exception lane.
    pub exception: u64,
    /// Not decided (yet, or never: interrupted).
    pub pending: u64,
}

impl LaneCounts {
    /// Parcels decided.
    pub fn decided(&self) -> u64 {
        self.release + self.inspection + self.exception
    }
}

/// Gate passes in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GateHour {
    /// The hour, Beijing time: `2026-11-27T14:00+08:00`.
    pub hour: String,
    /// Trucks let in (released or overridden).
    #[serde(rename = "in")]
    #[schema(rename = "in")]
    pub entered: u64,
    /// Trucks let out (released or overridden).
    #[serde(rename = "out")]
    #[schema(rename = "out")]
    pub left: u64,
    /// Passes refused, either way.
    pub refused: u64,
    /// Of the trucks let through, those an operator let through by hand.
    #[serde(rename = "override")]
    #[schema(rename = "override")]
    pub overridden: u64,
}

/// Everything the statistics screen shows for a range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// Start of the range, included (RFC 3339 UTC).
    pub from: String,
    /// End of the range, excluded (RFC 3339 UTC).
    pub to: String,
    /// Parcels that entered a line in the range.
    pub parcels: u64,
    /// Parcels per hour, Beijing time; every hour of the range, zeros included.
    pub parcels_per_hour: Vec<HourCount>,
    /// Parcels by the trade mode of their declaration list (9610, 9710, 9810, 1210;
    /// `unknown` without a list), most first.
    pub by_trade_mode: Vec<KeyCount>,
    /// Parcels by destination country (`unknown` without a list), most first.
    pub by_country: Vec<KeyCount>,
    /// Parcels by HS chapter (the first two digits of their goods' HS codes), each parcel
    /// counted once per chapter it carries; `unknown` when its goods have no HS code.
    pub by_hs_chapter: Vec<KeyCount>,
    /// Parcels by lane kind.
    pub lanes: LaneCounts,
    /// Inspection lane over parcels decided; null when none was decided.
    pub inspection_rate: Option<f64>,
    /// Exception lane over parcels decided; null when none was decided.
    pub exception_rate: Option<f64>,
    /// Decided parcels whose weight was out of tolerance over decided parcels with a stable
    /// weighing; null when none was weighed.
    pub weight_mismatch_rate: Option<f64>,
    /// Mean seconds from a truck's entry to its next exit, over exits in the range; null
    /// when no truck left.
    pub avg_arrival_to_departure_s: Option<f64>,
    /// Mean seconds a truck let through stayed at its lane (pass to the lane clearing);
    /// null when none cleared.
    pub avg_lane_dwell_s: Option<f64>,
    /// Gate passes per hour, Beijing time; every hour of the range.
    pub gate_passes_per_hour: Vec<GateHour>,
}

/// The statistics of `range`.
pub fn compute(conn: &Connection, range: Range) -> Result<Stats, StoreError> {
    let hours = range.hours();
    let parcels_per_hour = parcels_per_hour(conn, range, &hours)?;
    let b = breakdown(conn, range)?;
    let decided = b.lanes.decided();
    let rate = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    Ok(Stats {
        from: timestamp(range.from),
        to: timestamp(range.to),
        parcels: b.total,
        parcels_per_hour,
        by_trade_mode: ranked(b.trade_modes),
        by_country: ranked(b.countries),
        by_hs_chapter: by_hs_chapter(conn, range)?,
        lanes: b.lanes,
        inspection_rate: rate(b.lanes.inspection, decided),
        exception_rate: rate(b.lanes.exception, decided),
        weight_mismatch_rate: rate(b.mismatched, b.weighed),
        avg_arrival_to_departure_s: avg_stay_s(conn, range)?,
        avg_lane_dwell_s: dwell::avg_lane_dwell_s(conn, range)?,
        gate_passes_per_hour: gate_passes_per_hour(conn, range, &hours)?,
    })
}

#[cfg(test)]
mod tests;
