//! Simulated devices of the customs site, so the controller runs against real network peers
//! on a laptop or in CI with no hardware.
//!
//! One simulated sorting line, speaking the real protocols on loopback sockets:
//!
//! - [`conveyor`] — the physical model (feeder, belt, photo-eye, scanner position, diverter,
//!   lanes) as pure state advanced by `tick(now)`; it keeps the ground truth.
//! - [`parcel`] — a parcel to inject and the checks it must pass.
//! - [`line`](mod@line) — the running line: the conveyor behind a lock, its sim clock and the ticker.
//! - [`plc`] — the line PLC as a Modbus TCP server over the register map of
//!   [`customs_edge_devices::line_plc::map`].
//! - [`scanner`] — the barcode scanner as a TCP server streaming STX/ETX or CR/LF frames.
//! - [`http`] — the HTTP API: inject parcels, read the ground-truth report.
//! - [`report`] — the report's JSON types (readable back with serde).
//! - [`generator`] — injects random parcels on a timer for demos.
//! - [`site`] — [`site::start`] binds and runs all of the above; the `edge-sim` binary is a
//!   thin CLI around it.
#![warn(missing_docs)]

pub mod conveyor;
pub mod generator;
pub mod http;
pub mod line;
pub mod parcel;
pub mod plc;
pub mod report;
pub mod scanner;
pub mod site;

pub use generator::GeneratorConfig;
pub use parcel::NewParcel;
pub use report::Report;
pub use site::{RunningSim, SimConfig, start};
