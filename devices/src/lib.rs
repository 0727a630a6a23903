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
//! - [`gate_io`] — a truck lane's gate I/O over Modbus TCP: loops, barrier with position
//!   feedback, LED text; the typed map ([`gate_io::map`]) and the driver ([`gate_io::GateIo`]).
//! - [`weighbridge`] — the truck weighbridge over Modbus TCP: map, decode and driver
//!   ([`weighbridge::Weighbridge`]).
//! - [`http_auth`] — HTTP Basic and Digest authentication, server and client side, without
//!   sockets: what plate cameras and the controller's listener speak.
//! - [`onvif`] — ONVIF cameras: WS-Discovery, the device and media services over SOAP
//!   with WS-Security, snapshots over HTTP Digest/Basic ([`onvif::OnvifClient`]).
//! - [`modbus_link`] — the Modbus TCP link the gate drivers share: lazy connect, timeouts,
//!   reconnect with backoff, writes read back.
//! - [`xml`] — the small element tree every XML reader here and in the simulators uses
//!   (ONVIF answers and requests, ISAPI plate events), bounded and lenient about prefixes.
//! - [`register_block`] — a register block's layout as data (named fields, offsets,
//!   lengths), so documents are checked against the maps.
//! - [`backoff`] — the doubling wait between reconnection attempts every retrying link
//!   uses, here, in the controller and in the simulators.
#![warn(missing_docs)]

pub mod backoff;
pub mod gate_io;
pub mod http_auth;
pub mod line_plc;
pub mod modbus_link;
pub mod onvif;
pub mod plate;
pub mod register_block;
pub mod resolve;
pub mod scanner;
pub mod weighbridge;
pub mod xml;
pub mod xray;
