//! Driver for a gate lane's I/O over Modbus TCP, on a [`ModbusLink`] (lazy connect,
//! per-call timeout, reconnect with backoff, writes read back).

use std::net::SocketAddr;
use std::time::Duration;

use super::map::{BarrierCommand, GateIoMap, LedTextError, STATUS_LEN, encode_led};
use super::status::{DecodeError, GateStatus};
use crate::modbus_link::{LinkError, LinkErrorKind, ModbusLink};

/// An error talking to the gate I/O.
#[derive(Debug, thiserror::Error)]
pub enum GateIoError {
    /// The link failed, the device answered with an exception, or a read-back differed.
    #[error("gate I/O: {0}")]
    Link(#[from] LinkError),
    /// The status block did not decode; `raw` is what the device sent, for the log.
    #[error("gate status block rejected: {error}")]
    Decode {
        /// What is wrong with it.
        error: DecodeError,
        /// The words as read.
        raw: Vec<u16>,
    },
    /// The LED text does not fit the display field; nothing was written.
    #[error("LED text rejected: {0}")]
    LedText(#[from] LedTextError),
}

impl GateIoError {
    /// The kind of error, for callers that act on it.
    pub fn kind(&self) -> LinkErrorKind {
        match self {
            Self::Link(e) => e.kind(),
            Self::Decode { .. } | Self::LedText(_) => LinkErrorKind::Protocol,
        }
    }
}

/// The gate I/O driver for one lane: owns its Modbus TCP connection.
#[derive(Debug)]
pub struct GateIo {
    link: ModbusLink,
    map: GateIoMap,
}

impl GateIo {
    /// A driver for the gate device at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr, map: GateIoMap, timeout: Duration) -> Self {
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
    pub async fn read_status(&mut self) -> Result<GateStatus, GateIoError> {
        let words = self
            .link
            .read_holding(
                "reading the gate status block",
                self.map.status_base,
                STATUS_LEN,
            )
            .await?;
        GateStatus::decode(&words).map_err(|error| GateIoError::Decode { error, raw: words })
    }

    /// Command the barrier and read the command back. A close while a loop is occupied is
    /// refused by the device (a [`LinkError::Exception`] with code 0x03, kind `Device`).
    pub async fn command_barrier(&mut self, command: BarrierCommand) -> Result<(), GateIoError> {
        let addr = self.map.barrier_address();
        self.link
            .write_verified("writing the barrier command", addr, vec![command.to_word()])
            .await?;
        Ok(())
    }

    /// Show `text` on the lane's LED display (length and all text words in one request)
    /// and read it back. Text longer than the field is refused before anything is sent.
    pub async fn show_led(&mut self, text: &str) -> Result<(), GateIoError> {
        let words = encode_led(text)?;
        let addr = self.map.led_address();
        self.link
            .write_verified("writing the LED text", addr, words)
            .await?;
        Ok(())
    }

    /// Write the controller heartbeat so the device knows the controller is alive.
    pub async fn write_heartbeat(&mut self, value: u16) -> Result<(), GateIoError> {
        let addr = self.map.heartbeat_address();
        self.link
            .write_single("writing the gate heartbeat", addr, value)
            .await?;
        Ok(())
    }
}
