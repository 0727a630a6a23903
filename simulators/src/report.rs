//! The ground-truth report: what really happened to every parcel, served at `GET /report`
//! and written by `edge-sim --report-file`.
//!
//! A test of the controller compares its own records with this. The types derive both
//! `Serialize` and `Deserialize` so a Rust test can read the JSON back into them. Times are
//! RFC 3339 UTC strings (`2026-05-01T08:00:00.123Z`); durations are milliseconds as
//! numbers with microsecond precision.
//!
//! The file `edge-sim --report-file` writes is a [`SiteReport`]: this report with the gate
//! lanes' ground truth ([`GateReport`]) under `gates` when the site has gate lanes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conveyor::{BagRecord, LineConfig, ScannerId};
use crate::faults::FaultRecord;
use crate::parcel::LaneKind;
use crate::vehicles::GateReport;

mod summary;

pub use summary::{Stats, Summary};
pub(crate) use summary::{Tally, round_us};

/// The whole report (or one line's, for `GET /report?line=L1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// True once the scenario or the bounded load run is over.
    pub finished: bool,
    /// Totals over the lines in this report.
    pub summary: Summary,
    /// Each line: its config, its state now, its own summary.
    pub lines: Vec<LineReport>,
    /// Every fault injected or raised, oldest first.
    pub faults: Vec<FaultRecord>,
    /// Valid commands for a parcel that had already passed the diverter.
    pub late_commands: Vec<CommandRecord>,
    /// Valid commands for a tracking number no parcel on the line has.
    pub unknown_commands: Vec<CommandRecord>,
    /// Commands the PLC refused with a Modbus exception.
    pub rejected_commands: Vec<CommandRecord>,
    /// Every parcel still kept, by line then oldest first.
    pub parcels: Vec<ParcelReport>,
    /// The release lanes' bags, by line then oldest first: which parcel is in which bag.
    #[serde(default)]
    pub bags: Vec<BagRecord>,
}

impl Report {
    /// The parcel with sim id `id`, if still in the report.
    pub fn parcel(&self, id: u64) -> Option<&ParcelReport> {
        self.parcels.iter().find(|p| p.id == id)
    }

    /// The line with this id.
    pub fn line(&self, id: &str) -> Option<&LineReport> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// The parcels that ended in a lane other than the one expected.
    pub fn wrong_lane(&self) -> impl Iterator<Item = &ParcelReport> {
        self.parcels.iter().filter(|p| p.wrong_lane)
    }

    /// The parcels whose lane a later command changed (a controller acting on a hold that
    /// came after its decision).
    pub fn lane_changed(&self) -> impl Iterator<Item = &ParcelReport> {
        self.parcels.iter().filter(|p| p.lane_changes > 0)
    }

    /// The bag of `line` closed with label `bag_no`.
    pub fn bag(&self, line: &str, bag_no: &str) -> Option<&BagRecord> {
        self.bags
            .iter()
            .find(|b| b.line == line && b.bag_no.as_deref() == Some(bag_no))
    }
}

/// The sorting lines' report with the gate lanes' (the file `edge-sim` writes). The
/// file also reads as a plain [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteReport {
    /// The sorting lines' report, its fields at the top level.
    #[serde(flatten)]
    pub lines: Report,
    /// The gate lanes' ground truth; absent when the site has no gate lanes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gates: Option<GateReport>,
}

impl SiteReport {
    /// Read a report file back. (Not `Deserialize`: serde's `flatten` cannot read the
    /// number-keyed maps of [`Report`], so the two parts are read separately.)
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Gates {
            #[serde(default)]
            gates: Option<GateReport>,
        }
        let gates: Gates = serde_json::from_str(text)?;
        Ok(Self {
            lines: serde_json::from_str(text)?,
            gates: gates.gates,
        })
    }
}

/// One line: what it is and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineReport {
    /// Line id (`L1`, …).
    pub id: String,
    /// Its geometry.
    pub config: LineConfig,
    /// Where its X-ray writes images (`null` when it has no X-ray).
    pub xray_dir: Option<String>,
    /// The PLC's state now.
    pub state: LineState,
    /// Clients connected to its devices now.
    pub connections: Connections,
    /// Totals of this line.
    pub summary: Summary,
}

/// The simulated PLC's state, as its registers show it (plus the link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineState {
    /// The belt moves.
    pub running: bool,
    /// `BELT_SPEED` now (0 while stopped).
    pub belt_speed_mm_s: u16,
    /// The controller's `BELT_RUN` request.
    pub belt_run: bool,
    /// An e-stop is pressed.
    pub estop: bool,
    /// The scale is faulted.
    pub scale_fault: bool,
    /// The X-ray is faulted.
    pub xray_fault: bool,
    /// `FAULT_CODE` now (0 = none).
    pub fault_code: u16,
    /// The PLC accepts Modbus connections (false during a `plc_link_drop`).
    pub plc_link_up: bool,
    /// `PLC_HEARTBEAT` now.
    pub plc_heartbeat: u16,
    /// The controller heartbeat last written.
    pub controller_heartbeat: u16,
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

/// One frame a scanner sent for a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// Which scanner.
    pub scanner: ScannerId,
    /// The code sent; `null` = the no-read string.
    pub code: Option<String>,
    /// When it was sent.
    pub at: DateTime<Utc>,
}

/// One X-ray image written for a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XrayImageRecord {
    /// View number, 1-based.
    pub view: u8,
    /// File name inside the line's X-ray directory.
    pub file: String,
    /// When it appeared under its final name.
    pub written_at: DateTime<Utc>,
}

/// One parcel's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelReport {
    /// Sim id (unique across lines), as returned by `POST /parcels`.
    pub id: u64,
    /// Line id.
    pub line: String,
    /// The code on its label; `null` for an unreadable label.
    pub code: Option<String>,
    /// The code the side scanner read instead, for a conflicting read.
    pub conflict: Option<String>,
    /// Damaged label: both scanners sent the no-read string.
    pub no_read: bool,
    /// Only the top scanner read it.
    pub side_no_read: bool,
    /// The top scanner sent the code twice.
    pub double_read: bool,
    /// It carries a dense object (dark blob in its X-ray views).
    pub dense_object: bool,
    /// Length in mm.
    pub length_mm: u16,
    /// True weight in kg.
    pub weight_kg: f64,
    /// Where it is now.
    pub state: ParcelState,
    /// PLC tracking number, once it entered.
    pub tracking_no: Option<u16>,
    /// When it was put in the feeder.
    pub injected_at: DateTime<Utc>,
    /// When it passed the entry photo-eye.
    pub entered_at: Option<DateTime<Utc>>,
    /// When the scale pushed its weighing.
    pub weighed_at: Option<DateTime<Utc>>,
    /// The weight pushed, in g (true weight plus noise).
    pub weighed_g: Option<u16>,
    /// Whether it was pushed as stable (false during a scale fault).
    pub weight_stable: Option<bool>,
    /// Every frame the scanners sent for it.
    pub scans: Vec<ScanRecord>,
    /// When the last of those was sent.
    pub scanned_at: Option<DateTime<Utc>>,
    /// When its leading edge entered the X-ray tunnel.
    pub xray_entered_at: Option<DateTime<Utc>>,
    /// Its X-ray images, in the order written.
    pub xray_images: Vec<XrayImageRecord>,
    /// When the first accepted lane command for it arrived.
    pub first_command_at: Option<DateTime<Utc>>,
    /// Lane of the first command accepted for it.
    #[serde(default)]
    pub first_commanded_lane: Option<u16>,
    /// Accepted commands that changed its lane after the first (a controller commanding
    /// it again, e.g. for a hold that came after its release decision).
    #[serde(default)]
    pub lane_changes: u32,
    /// Lane of the last command accepted for it.
    pub commanded_lane: Option<u16>,
    /// When that command arrived.
    pub command_at: Option<DateTime<Utc>>,
    /// Lane it physically fell into.
    pub lane: Option<u16>,
    /// When it fell.
    pub dropped_at: Option<DateTime<Utc>>,
    /// True when it fell into the exception lane because no valid command came in time.
    pub defaulted: bool,
    /// The bag of its line's release lane it fell into (`seq` of a [`BagRecord`]).
    #[serde(default)]
    pub bag_seq: Option<u64>,
    /// It was taken back out of its bag (scanned at the lane for retrieval).
    #[serde(default)]
    pub retrieved: bool,
    /// Time from the last accepted command's arrival to the parcel reaching the diverter.
    pub slack_ms: Option<f64>,
    /// The latest input the controller needed: last scan sent, weighing pushed or last
    /// X-ray image written.
    pub last_input_at: Option<DateTime<Utc>>,
    /// First accepted command's arrival − `last_input_at` (negative: the command came
    /// before that input).
    pub latency_ms: Option<f64>,
    /// The lane kind the scenario expected.
    pub expected: Option<LaneKind>,
    /// That kind's lane number on this line.
    pub expected_lane: Option<u16>,
    /// It dropped, an expectation was given, and the lane differs.
    pub wrong_lane: bool,
}

/// A lane command that was late, unknown or rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// Line id.
    pub line: String,
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

/// Clients connected to one line's simulated devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    /// Modbus TCP clients of the PLC.
    pub plc_clients: usize,
    /// TCP clients of the top scanner.
    pub top_clients: usize,
    /// TCP clients of the side scanner.
    pub side_clients: usize,
    /// TCP clients of the bag-label scanner at the release lane.
    #[serde(default)]
    pub bag_clients: usize,
}
