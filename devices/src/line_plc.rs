//! The sorting-line PLC, spoken to over Modbus TCP holding registers.
//!
//! [`map`] is the one source of truth for register layout (used by the driver here and by
//! the PLC simulator); [`status`] decodes and checks what a poll returns; [`driver`] polls
//! the status block and writes lane commands.

pub mod driver;
pub mod map;
pub mod status;

pub use driver::{LinePlc, PlcError, PlcErrorKind};
pub use map::{
    DecodeError, DropRecord, EntryRecord, FaultCode, LineStatus, RegisterMap, StatusFlags,
    WeightRecord,
};
