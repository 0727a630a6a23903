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
//! - [`plate`] — licence-plate camera events: Hikvision and Dahua payloads parsed into
//!   one typed read ([`plate::PlateRead`]), Chinese plate formats, and the consensus
//!   that agrees a plate from several reads ([`plate::agree`]).
#![warn(missing_docs)]

pub mod line_plc;
pub mod plate;
pub mod scanner;
pub mod xray;
