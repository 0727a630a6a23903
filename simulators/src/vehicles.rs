//! The truck gates' traffic: vehicles driving through simulated gate lanes, physically,
//! and the ground truth of whether each barrier verdict was right.
//!
//! A gate lane ([`GateLaneSim`]) is a gate I/O module ([`crate::gate_io`]: loops,
//! barrier, LED), an optional weighbridge ([`crate::weighbridge`]) and an optional plate
//! camera posting to the controller. One task per lane drives its queued vehicles:
//! onto the loop and the weighbridge, camera events once the weight is stable, a wait for
//! the barrier to be fully open (never through a closed or moving arm), then through, or
//! back off after `patience_ms`. The controller under test only sees the devices.
//!
//! - [`spec`] — a vehicle ([`VehicleSpec`]): plate, true weight, direction, lane, whether it
//!   is entitled to pass, how well the camera reads it, tailgating.
//! - [`ocr`] — what the camera sends, planned from a seed: reads, misreads (OCR
//!   confusions 0↔D/Q, 8↔B, 2↔Z, 5↔S, 1↔I), no-reads.
//! - [`generate`] — random vehicles for every lane (`[traffic.generate]`).
//! - [`lane`] — a lane's setup (`[[gate]]`, [`LaneTiming`]), its running devices and
//!   addresses.
//! - [`camera`] — a lane's plate camera setup (`[gate.camera]`) and posting one event.
//! - `journey` — the per-lane task: a vehicle's journey, physically.
//! - [`judge`] — the ground truth: per-vehicle records, totals, [`GateReport`].
//! - [`traffic`] — [`Traffic`], the handle: start lanes, queue vehicles, wait, report.
//!
//! In a scenario file:
//!
//! ```toml
//! [traffic]
//! seed = 7
//! [traffic.generate]          # optional: random vehicles per lane
//! per_lane = 10
//! entitled_rate = 0.8
//! misread_rate = 0.1
//! no_read_rate = 0.05
//! tailgate_rate = 0.0
//!
//! [[gate]]
//! id = "G1"
//! direction = "out"
//! lane_no = 1
//! io_listen = "127.0.0.1:5502"
//! weighbridge_listen = "127.0.0.1:5503"   # absent = no weighbridge
//! [gate.camera]
//! form = "hikvision"                     # hikvision | dahua
//! auth = "digest"                        # none | basic | digest
//! url = "http://127.0.0.1:8080/api/plate/hikvision"
//! username = "admin"
//! password = "12345"
//! [gate.timing]                          # optional, ms
//! patience_ms = 20000
//!
//! [[vehicle]]
//! plate = "闽G12345"
//! true_weight_kg = 32000
//! lane = "G1"
//! entitled = true
//! reads = 3
//! misread_rate = 0.3
//! ```

use tokio::task::JoinSet;

pub mod camera;
pub mod generate;
mod journey;
pub mod judge;
pub mod lane;
pub mod ocr;
pub mod spec;
pub mod traffic;

pub use camera::CameraSetup;
pub use generate::VehicleGenerator;
pub use judge::{GateReport, GateTotals, Moment, ShotRecord, VehicleRecord, VehicleState};
pub use lane::{GateLaneAddrs, GateLaneSetup, GateLaneSim, LaneTiming, start_lane};
pub use ocr::{PlannedShot, ShotKind};
pub use spec::{Direction, VehicleSpec};
pub use traffic::{QueueError, Traffic, TrafficOptions};

/// The tasks a lane's servers and driver run as: each returns its name and how it ended.
pub type Tasks = JoinSet<(&'static str, anyhow::Result<()>)>;
