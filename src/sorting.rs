//! The X-ray sorting line: track each parcel from the photo-eye to a lane and decide its lane.
//!
//! - [`belt`] — a line's belt as the consoles see it, with each parcel's time left.
//! - [`decision`] — the pure lane decision with its reasons.
//! - [`tracker`] — the pure model of parcels moving on the belt, pairing scans with parcels.
//! - [`xray_match`] — the pure rule that gives X-ray views to parcels.
//! - [`waybill`] — what customs says about a waybill: its declaration facts and the
//!   instruction that stands, the decision's inputs from the store.
//! - [`line`] — the task per line that does the I/O: PLC, scanners, store, events.

pub mod belt;
pub mod decision;
pub mod decision_log;
pub mod line;
pub mod tracker;
pub mod waybill;
pub mod xray_match;

pub use belt::BeltView;
pub use decision::{Decision, Inputs, LaneKind, Read, Reason, Weight, WeightTolerance, decide};
pub use line::{LineStatusFeed, LineTask, PlcSample};
