//! The ground-truth report: what really happened to every parcel, served at `GET /report`.
//!
//! A test of the controller compares its own records with this. The types derive both
//! `Serialize` and `Deserialize` so a Rust test can read the JSON back into them. Times are
//! RFC 3339 UTC strings (`2026-05-01T08:00:00.123Z`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conveyor::LineConfig;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The line's geometry.
    pub line: LineConfig,
    /// Parcels injected so far (the highest sim id).
    pub injected: u64,
    /// Parcels injected and not yet dropped (waiting in the feeder or on the belt).
    pub in_flight: usize,
    /// Of those, the ones still waiting in the feeder (no tracking number yet).
    pub waiting: usize,
    /// Parcels dropped per lane, keyed by lane number (every lane is listed).
    pub lane_counts: BTreeMap<u16, u64>,
    /// Lane commands accepted for a parcel still before the diverter.
    pub accepted_commands: u64,
    /// Valid commands for a parcel that had already passed the diverter.
    pub late_commands: Vec<CommandRecord>,
    /// Valid commands for a tracking number no parcel on the line has.
    pub unknown_commands: Vec<CommandRecord>,
    /// Commands the PLC refused with a Modbus exception.
    pub rejected_commands: Vec<CommandRecord>,
    /// Dropped parcels removed from `parcels` to bound memory (oldest first).
    pub evicted_parcels: u64,
    /// Clients connected to the simulated devices right now.
    pub connections: Connections,
    /// Every parcel, oldest first.
    pub parcels: Vec<ParcelReport>,
}

impl Report {
    /// The parcel with sim id `id`, if still in the report.
    pub fn parcel(&self, id: u64) -> Option<&ParcelReport> {
        self.parcels.iter().find(|p| p.id == id)
    }
}

/// Where a parcel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelState {
    /// In the feeder queue, not yet at the photo-eye.
    Waiting,
    /// On the belt, between the photo-eye and the diverter.
    OnBelt,
    /// In a lane.
    Dropped,
}

/// One parcel's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelReport {
    /// Sim id, as returned by `POST /parcels`.
    pub id: u64,
    /// The code on its label; `null` for an unreadable label.
    pub code: Option<String>,
    /// Length in mm.
    pub length_mm: u16,
    /// Where it is now.
    pub state: ParcelState,
    /// PLC tracking number, once it entered.
    pub tracking_no: Option<u16>,
    /// When it was put in the feeder.
    pub injected_at: DateTime<Utc>,
    /// When it passed the entry photo-eye.
    pub entered_at: Option<DateTime<Utc>>,
    /// When the scanner sent its code (or no-read).
    pub scanned_at: Option<DateTime<Utc>>,
    /// Lane of the last command accepted for it.
    pub commanded_lane: Option<u16>,
    /// When that command arrived.
    pub command_at: Option<DateTime<Utc>>,
    /// Lane it fell into.
    pub lane: Option<u16>,
    /// When it fell.
    pub dropped_at: Option<DateTime<Utc>>,
    /// True when it fell into the exception lane because no valid command came in time.
    pub defaulted: bool,
}

/// A lane command that was late, unknown or rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// Tracking number written.
    pub tracking_no: u16,
    /// Lane written.
    pub lane: u16,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The parcel it was for, when known.
    pub parcel_id: Option<u64>,
    /// Why it did not steer a parcel.
    pub reason: String,
}

/// Clients connected to the simulated devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    /// Modbus TCP clients of the PLC.
    pub plc_clients: usize,
    /// TCP clients of the scanner.
    pub scanner_clients: usize,
}
