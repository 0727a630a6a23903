//! Barcode scanners that stream codes over TCP.
//!
//! [`codec`] frames the byte stream (STX/ETX or CR/LF) into [`ScanFrame`]s; [`client`]
//! keeps a reconnecting connection to one scanner and forwards typed events.

pub mod client;
pub mod codec;

pub use client::{ScannerClient, ScannerEvent};
pub use codec::{Framing, ScanFrame, ScannerCodec};
