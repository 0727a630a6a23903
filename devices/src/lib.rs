//! Device drivers and wire formats for customs-edge.
//!
//! Everything here is shared by the controller's drivers and by the simulators, so that a
//! register address or a frame byte is defined exactly once:
//!
//! - [`line_plc`] — the sorting-line PLC over Modbus TCP: the typed register map
//!   ([`line_plc::map`]) and the polling driver ([`line_plc::driver`]).
//! - [`scanner`] — barcode scanners streaming codes over TCP: the framing codec
//!   ([`scanner::codec`]) and the reconnecting client ([`scanner::client`]).
//! - [`xray`] — the X-ray machine's image feed: a watched directory of image files
//!   reported once each, when complete ([`xray::XrayFeed`]).
#![warn(missing_docs)]

pub mod line_plc;
pub mod scanner;
pub mod xray;
