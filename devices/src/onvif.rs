//! ONVIF cameras: WS-Discovery, the device and media services over SOAP 1.2, snapshots.
//!
//! - [`discovery`] — probes on UDP 3702 (multicast 239.255.255.250, or unicast to given
//!   addresses) and the devices that answered, one per endpoint reference
//!   ([`discover`]); [`probe`] — the Probe and ProbeMatches messages themselves.
//! - [`client`] — [`OnvifClient`]: GetSystemDateAndTime (no credentials; keeps the
//!   clock offset), GetCapabilities, GetServices, GetDeviceInformation, GetProfiles,
//!   GetSnapshotUri, GetStreamUri, and snapshots over HTTP Digest or Basic
//!   ([`crate::http_auth`]).
//! - [`device`] and [`media`] — each operation as an [`Operation`]: its request body
//!   and its answer read into plain types; no sockets, so they are tested on fixtures.
//! - [`soap`] — envelopes, the WS-Security UsernameToken (PasswordDigest), faults.
//! - [`ns`] — the namespaces and WS-* URIs, shared with the simulated camera.
//! - [`error`] — [`OnvifError`]: the operation, the camera URL and an [`ErrorKind`].
//!
//! Answers are read by local element names, whatever prefixes a camera uses
//! (`tds:`/`tt:`/`trt:`, `env:`/`s:`/`SOAP-ENV:`, default namespaces). Cameras send
//! garbage and reboot: every answer is size-bounded and every parse turns bad input into
//! an [`ErrorKind`] naming the element, never a panic. Only media service version 1
//! (`ver10/media/wsdl`) is spoken; every Profile S camera offers it.

pub mod client;
pub mod device;
pub mod discovery;
pub mod error;
mod http;
pub mod media;
pub mod ns;
pub mod probe;
pub mod soap;
mod xml;

pub use client::{OnvifClient, Snapshot};
pub use device::{Capabilities, DeviceInformation, Service, SystemDateAndTime};
pub use discovery::{DiscoveredDevice, Discovery, DiscoveryReport, discover};
pub use error::{ErrorKind, OnvifError, SoapFault};
pub use media::{MediaUri, Profile, StreamSetup, VideoEncoder};

/// The ONVIF service an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// Device management (`tds:`), at the device service URL.
    Device,
    /// Media, version 1 (`trt:`), at the address GetCapabilities or GetServices gives.
    Media,
}

impl ServiceKind {
    /// The service's WSDL namespace, which prefixes its SOAP actions.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Device => ns::TDS,
            Self::Media => ns::TRT,
        }
    }
}

/// One ONVIF SOAP operation: its request body and how its answer is read.
pub trait Operation {
    /// The operation name (`GetProfiles`): the SOAP action's last segment and the name
    /// errors carry.
    const NAME: &'static str;
    /// The service it is sent to.
    const SERVICE: ServiceKind;
    /// Whether it is sent with a UsernameToken when credentials are known (everything
    /// but GetSystemDateAndTime).
    const AUTHENTICATED: bool = true;
    /// What the answer gives.
    type Output;

    /// The request element for the SOAP body (prefixes `tds:`, `trt:`, `tt:`).
    fn body(&self) -> String;

    /// Reads a whole SOAP answer: its value, or the fault or problem it holds.
    fn parse_response(xml: &str) -> Result<Self::Output, ErrorKind>;
}

/// A fixture from `devices/tests/onvif_fixtures/`.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/onvif_fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
