//! The contract between a customs-edge site controller and the central platform.
//!
//! Everything travels over MQTT as JSON in one versioned [`Envelope`]:
//!
//! - [`topics`] — where each message goes: `<prefix>/<site>/up/<stream>` from the site,
//!   `<prefix>/<site>/down/<kind>` to it, `<prefix>/<site>/status` for online/offline.
//! - [`uplink`] — the streams the site sends and the body of each message kind.
//! - [`downlink`] — what the platform sends: declaration lists, exit permits, customs
//!   instructions, expected arrivals, and acknowledgements of uplink streams.
//! - [`declaration`] — declaration lists (CEB603) as both sides read them.
//! - [`limits`] — the longest text each field may carry, shared with the schemas' `maxLength`.
//! - [`signed`] — the Ed25519 wrapper that signs a payload for its topic, and key rotation.
//!
//! `docs/mqtt/` documents every message with a JSON Schema; the controller's tests
//! validate what it emits against those files.

pub mod declaration;
pub mod downlink;
pub mod envelope;
pub mod limits;
pub mod signed;
pub mod topics;
pub mod uplink;

pub use envelope::{Envelope, SCHEMA_VERSION};
