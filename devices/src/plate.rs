//! Licence-plate camera events: the typed read, the two wire forms, plate formats and
//! the consensus that turns several reads of one vehicle into one plate.
//!
//! Everything here is pure: no sockets, no clocks. The camera listener hands a request's
//! content type and body to [`parse_hikvision`] or [`parse_dahua`] and gets a [`PlateRead`]
//! or a [`PlateError`] naming what was wrong; the gate loop gathers reads and asks
//! [`agree`] for a [`Verdict`] against the plates that have open exit permits.
//!
//! - [`event`] — the typed read ([`PlateRead`]), its images, colour and source format.
//! - [`hikvision`] — the ISAPI form: `multipart/form-data` with an `EventNotificationAlert`
//!   XML part and JPEG parts, or the XML alone.
//! - [`dahua`] — the JSON form with `Picture.Plate` and base64 pictures.
//! - [`format`](mod@format) — Chinese plate formats: normalisation and validation ([`PlateKind`]).
//! - [`consensus`] — agreement across reads and OCR-confusion resolution ([`agree`]).
//! - [`verdict`] — what the consensus concludes ([`Verdict`]) and its reasons, as English
//!   codes and Chinese phrases for the LED.
//! - [`error`] — [`PlateError`] and the size limits ([`PlateLimits`]) every parser applies.

pub mod consensus;
pub mod dahua;
pub mod error;
pub mod event;
pub mod format;
pub mod hikvision;
mod multipart;
mod time;
pub mod verdict;
mod xml;

pub use consensus::{ConsensusConfig, agree};
pub use dahua::{DAHUA_ACK, parse_dahua, parse_dahua_with};
pub use error::{PlateError, PlateLimits};
pub use event::{PlateColor, PlateImage, PlateRead, RawFormat};
pub use format::{FormatError, PlateKind, classify, normalize};
pub use hikvision::{parse_hikvision, parse_hikvision_with};
pub use verdict::{Agreement, AgreementBasis, Candidate, Reason, ReasonCode, Verdict};

#[cfg(test)]
mod tests;
