//! The gate I/O of one truck lane (an I/O module or the gate PLC) over Modbus TCP holding
//! registers: ground loops before and after the barrier, the barrier with position
//! feedback, and the lane's LED display.
//!
//! [`map`] is the one source of truth for the register layout (used by the driver here and
//! by the gate simulator); [`status`] decodes and checks the status block; [`driver`] reads
//! it and writes barrier commands and LED text, each read back.

pub mod driver;
pub mod map;
pub mod status;

pub use driver::{GateIo, GateIoError};
pub use map::{BarrierCommand, GateFault, GateInputs, GateIoMap, LedTextError};
pub use status::{DecodeError, GateStatus};
