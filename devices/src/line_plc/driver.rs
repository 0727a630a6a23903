//! Polling driver for the sorting-line PLC over Modbus TCP, on a [`ModbusLink`]: a timeout
//! on every call, reconnect with backoff, writes read back (FC23, or FC16 + FC03).

use std::net::SocketAddr;
use std::time::Duration;

use tokio_modbus::ExceptionCode;

use super::map::{BELT_RUN, DecodeError, LineStatus, RegisterMap, STATUS_LEN};
use crate::modbus_link::{LinkError, ModbusLink};

/// What a caller can do about an error: the link's kinds.
pub use crate::modbus_link::LinkErrorKind as PlcErrorKind;

/// An error talking to the line PLC.
#[derive(Debug, thiserror::Error)]
pub enum PlcError {
    /// The link failed, timed out, or the PLC answered with an exception or a bad read-back.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The status block did not decode; `raw` is what the PLC sent, for the log.
    #[error("status block rejected: {error}")]
    Decode {
        /// What is wrong with it.
        error: DecodeError,
        /// The words as read.
        raw: Vec<u16>,
    },
}

impl PlcError {
    /// The kind of error, for callers that act on it.
    pub fn kind(&self) -> PlcErrorKind {
        match self {
            Self::Link(e) => e.kind(),
            Self::Decode { .. } => PlcErrorKind::Protocol,
        }
    }

    /// The Modbus exception code, when the PLC answered with one.
    pub fn exception(&self) -> Option<ExceptionCode> {
        match self {
            Self::Link(e) => e.exception(),
            Self::Decode { .. } => None,
        }
    }
}

/// The line PLC driver: owns its Modbus TCP connection.
pub struct LinePlc {
    link: ModbusLink,
    map: RegisterMap,
}

impl std::fmt::Debug for LinePlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinePlc")
            .field("addr", &self.link.addr())
            .field("connected", &self.link.is_connected())
            .finish_non_exhaustive()
    }
}

impl LinePlc {
    /// A driver for the PLC at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr, map: RegisterMap, timeout: Duration) -> Self {
        Self {
            link: ModbusLink::new(addr, map.unit_id, timeout),
            map,
        }
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.link.is_connected()
    }

    /// How many times a connection has been (re)established.
    pub fn connections(&self) -> u64 {
        self.link.connections()
    }

    /// Read and decode the whole status block in one request.
    pub async fn read_status(&mut self) -> Result<LineStatus, PlcError> {
        let words = self
            .link
            .read_holding("reading the status block", self.map.status_base, STATUS_LEN)
            .await?;
        LineStatus::decode(&words).map_err(|error| PlcError::Decode { error, raw: words })
    }

    /// Tell the PLC which lane the parcel `tracking_no` goes to (one write, so the PLC
    /// never sees a tracking number without its lane), and read it back.
    pub async fn write_lane(&mut self, tracking_no: u16, lane: u16) -> Result<(), PlcError> {
        let addr = self.map.command_address();
        Ok(self
            .link
            .write_verified("writing a lane command", addr, vec![tracking_no, lane])
            .await?)
    }

    /// Ask the PLC to run (`true`) or stop (`false`) the belt, and read it back.
    pub async fn write_belt_run(&mut self, run: bool) -> Result<(), PlcError> {
        let addr = self.map.command_base + BELT_RUN;
        Ok(self
            .link
            .write_verified("writing the belt run request", addr, vec![u16::from(run)])
            .await?)
    }

    /// Write the controller heartbeat so the PLC knows the controller is alive.
    pub async fn write_heartbeat(&mut self, value: u16) -> Result<(), PlcError> {
        let addr = self.map.heartbeat_address();
        Ok(self
            .link
            .write_single("writing the heartbeat", addr, value)
            .await?)
    }
}
