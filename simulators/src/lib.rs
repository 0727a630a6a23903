//! Simulated devices of the customs site, so the controller runs against real network peers
//! on a laptop or in CI with no hardware.
//!
//! A site of N sorting lines, each with its own Modbus TCP PLC, two TCP barcode scanners
//! (top and side) and an X-ray machine writing image files, plus one HTTP API:
//!
//! - [`conveyor`] — the physical model of one line (feeder, belt, photo-eye, scale,
//!   scanners, X-ray tunnel, diverter, lanes, faults) as pure state advanced by
//!   `tick(now)`; it keeps the ground truth.
//! - [`parcel`] — a parcel to inject (label, weight, scanner options, expected lane).
//! - [`faults`] — faults injected at run time and their records.
//! - [`line`](mod@line) — a running line: the conveyor behind a lock, the site clock, the
//!   ticker.
//! - [`plc`] — the line PLC as a Modbus TCP server over the register map of
//!   [`customs_edge_devices::line_plc::map`].
//! - [`gate_io`] — a truck lane's gate I/O (loops, physical barrier with interlock, LED) as
//!   a Modbus TCP server over [`customs_edge_devices::gate_io::map`]; keeps the ground truth.
//! - [`weighbridge`](mod@weighbridge) — a weighbridge indicator as a Modbus TCP server whose
//!   weight settles to a target with noise.
//! - [`plate_camera`] — a licence-plate camera posting Hikvision or Dahua events over HTTP
//!   with Basic or Digest authentication, and the plate pictures it sends.
//! - [`scanner`] — a barcode scanner as a TCP server streaming STX/ETX or CR/LF frames.
//! - [`xray`] — the X-ray machine: synthetic grayscale PNG views, written atomically.
//! - [`site`] — the running site as one handle: lines, sim ids, faults, the report.
//! - [`custody`] — which parcels customs holds and what a truck that left really carried:
//!   the gate judge's custody escapes.
//! - [`http`] — the HTTP API: inject parcels and faults, read the ground truth.
//! - [`report`] — the report's JSON types (readable back with serde) and its summary.
//! - [`scenario`] — scenario files (parcels, faults, expected lanes) and their player.
//! - [`generator`] — injects random parcels on a timer: demos and load runs.
//! - [`config`] — [`SimConfig`] and its per-line [`LineSetup`].
//! - [`running`] — [`start`] binds and runs all of the above; the `edge-sim` binary is a
//!   thin CLI around it.
//! - [`vehicles`] — trucks driving through simulated gate lanes (gate I/O, weighbridge,
//!   plate camera), physically, and the ground truth of every barrier verdict.
//! - [`onvif`] — an ONVIF IP camera: WS-Discovery, SOAP device and media services with
//!   WS-Security, Digest-protected snapshots, an MJPEG stream of a synthetic scene, fault
//!   switches; the `onvif-camera-sim` binary.
//! - [`broker`] — a Mosquitto process on a free port (tests and the demo).
//! - [`platform`] — the central platform over MQTT and judge of the site's uplink (exactly
//!   once, in order; acks; downlink lists, permits, instructions); the `platform-sim` binary.
#![warn(missing_docs)]

pub mod broker;
pub mod config;
pub mod conveyor;
pub mod custody;
pub mod faults;
pub mod gate_io;
pub mod generator;
pub mod http;
pub mod line;
mod modbus_device;
pub mod onvif;
pub mod parcel;
pub mod plate_camera;
pub mod platform;
pub mod plc;
pub mod report;
pub mod running;
pub mod scanner;
pub mod scenario;
pub mod site;
pub mod vehicles;
pub mod weighbridge;
pub mod xray;

pub use config::{LineSetup, SimConfig};
pub use conveyor::LineConfig;
pub use faults::{FaultKind, FaultRequest};
pub use generator::{CodeSpec, GeneratorConfig};
pub use parcel::{LaneKind, NewParcel};
pub use report::{ParcelState, Report};
pub use running::{LineAddrs, RunningSim, start};
pub use scenario::Scenario;
