//! A truck lane's gate I/O as a Modbus TCP server over the register map of
//! [`customs_edge_devices::gate_io::map`], at the bases of the configured [`GateIoMap`].
//!
//! - **FC03** reads any range inside the status block or inside the command block (which
//!   reads back what was last written).
//! - **FC06 / FC16** write any range inside the command block; **FC23** writes, then reads,
//!   in one transaction. A `BARRIER_CMD` other than 0, 1, 2, an `LED_LEN` above 32, or LED
//!   text that is not valid UTF-16 → `IllegalDataValue` (0x03). A **close while a loop is
//!   occupied → `IllegalDataValue`**, recorded in the ground truth (the loop interlock of a
//!   real barrier controller). Open/close while faulted or in manual mode →
//!   `ServerDeviceFailure` (0x04). A refused write changes nothing.
//! - Any other range → `IllegalDataAddress`; any other function → `IllegalFunction`; another
//!   unit id → `GatewayTargetDevice`.
//!
//! The barrier is physical ([`device::GateDevice`]): it moves over `travel_time`, reverses
//! if a loop becomes occupied while it closes, and stops on a fault. [`SimGate`] is the
//! `Clone` handle a vehicle simulator uses to drive the loops and read the ground truth.
//! Request handling is the pure function [`handle`], served by the simulators' shared
//! Modbus server; when `shutdown` fires it stops and closes every open connection, as a
//! device losing power does.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use customs_edge_devices::gate_io::map::{COMMAND_LEN, STATUS_LEN};
use customs_edge_devices::gate_io::{GateFault, GateIoMap, GateStatus};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;

use crate::modbus_device::{self, HoldingRegisters, MAX_READ, MAX_WRITE, ModbusDevice, offset_in};

pub mod device;

pub use device::{BarrierEvent, BarrierEventKind, GateDevice, GateSimConfig, Refusal};

#[derive(Debug)]
struct Inner {
    start: Instant,
    /// A `std` mutex: held only for a state update, never across an `.await`.
    device: Mutex<GateDevice>,
}

/// A shared handle to one simulated gate lane.
#[derive(Debug, Clone)]
pub struct SimGate {
    inner: Arc<Inner>,
}

impl SimGate {
    /// A gate with the barrier closed and the loops free; its clock starts now.
    pub fn new(config: GateSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                device: Mutex::new(GateDevice::new(config)),
            }),
        }
    }

    /// Run `f` on the device, advanced to now.
    pub fn with<R>(&self, f: impl FnOnce(&mut GateDevice, Duration) -> R) -> R {
        let now = self.inner.start.elapsed();
        let mut device = self
            .inner
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        device.tick(now);
        f(&mut device, now)
    }

    /// A vehicle drives onto the loop before the barrier.
    pub fn vehicle_enters_before_loop(&self) {
        self.with(|d, now| d.set_loop(now, false, true));
    }

    /// The vehicle leaves the loop before the barrier.
    pub fn vehicle_leaves_before_loop(&self) {
        self.with(|d, now| d.set_loop(now, false, false));
    }

    /// A vehicle drives onto the loop after the barrier.
    pub fn vehicle_enters_after_loop(&self) {
        self.with(|d, now| d.set_loop(now, true, true));
    }

    /// The vehicle leaves the loop after the barrier.
    pub fn vehicle_leaves_after_loop(&self) {
        self.with(|d, now| d.set_loop(now, true, false));
    }

    /// Raise or clear a barrier fault.
    pub fn set_fault(&self, fault: Option<GateFault>) {
        self.with(|d, now| d.set_fault(now, fault));
    }

    /// Switch manual/local mode.
    pub fn set_manual(&self, manual: bool) {
        self.with(|d, now| d.set_manual(now, manual));
    }

    /// The status block as served now.
    pub fn status(&self) -> GateStatus {
        self.with(|d, now| d.status(now))
    }

    /// The text on the LED display.
    pub fn led_text(&self) -> String {
        self.with(|d, _| d.led_text())
    }

    /// Ground truth: every barrier movement and refusal so far.
    pub fn events(&self) -> Vec<BarrierEvent> {
        self.with(|d, _| d.events().to_vec())
    }

    /// Ground truth: whether the barrier ever closed on an occupied loop (must be false).
    pub fn closed_on_occupied_loop(&self) -> bool {
        self.with(|d, _| d.closed_on_occupied_loop())
    }
}

/// Serve the gate on `listener` until `shutdown` fires; then every connection is closed.
pub async fn run(
    listener: TcpListener,
    gate: SimGate,
    map: GateIoMap,
    shutdown: CancellationToken,
) -> io::Result<()> {
    modbus_device::serve(listener, Server { gate, map }, shutdown).await
}

/// The gate as the Modbus server serves it.
struct Server {
    gate: SimGate,
    map: GateIoMap,
}

impl ModbusDevice for Server {
    fn name(&self) -> &'static str {
        "gate I/O"
    }

    fn unit_id(&self) -> u8 {
        self.map.unit_id
    }

    fn answer(&self, request: Request<'static>) -> Result<Response, ExceptionCode> {
        self.gate
            .with(|device, now| handle(device, now, self.map, request))
    }
}

/// Answer one Modbus request against the gate (pure: no I/O).
pub fn handle(
    device: &mut GateDevice,
    now: Duration,
    map: GateIoMap,
    request: Request<'_>,
) -> Result<Response, ExceptionCode> {
    modbus_device::answer(&mut Registers { device, now, map }, request)
}

/// The gate's registers at one moment.
struct Registers<'a> {
    device: &'a mut GateDevice,
    now: Duration,
    map: GateIoMap,
}

impl HoldingRegisters for Registers<'_> {
    fn read(&mut self, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
        read(self.device, self.now, self.map, addr, qty)
    }

    fn write(&mut self, addr: u16, words: &[u16]) -> Result<(), ExceptionCode> {
        write(self.device, self.now, self.map, addr, words)
    }
}

fn read(
    device: &GateDevice,
    now: Duration,
    map: GateIoMap,
    addr: u16,
    qty: u16,
) -> Result<Vec<u16>, ExceptionCode> {
    if !(1..=MAX_READ).contains(&qty) {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let n = usize::from(qty);
    if let Some(off) = offset_in(map.status_base, STATUS_LEN, addr, n) {
        return Ok(device.status(now).encode()[off..off + n].to_vec());
    }
    if let Some(off) = offset_in(map.command_base, COMMAND_LEN, addr, n) {
        return Ok(device.command_registers()[off..off + n].to_vec());
    }
    Err(ExceptionCode::IllegalDataAddress)
}

fn write(
    device: &mut GateDevice,
    now: Duration,
    map: GateIoMap,
    addr: u16,
    words: &[u16],
) -> Result<(), ExceptionCode> {
    if words.is_empty() || words.len() > usize::from(MAX_WRITE) {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let off = offset_in(map.command_base, COMMAND_LEN, addr, words.len())
        .ok_or(ExceptionCode::IllegalDataAddress)?;
    device
        .write(now, off, words)
        .map_err(|refusal| match refusal {
            Refusal::BadValue => ExceptionCode::IllegalDataValue,
            Refusal::NotAccepting => ExceptionCode::ServerDeviceFailure,
        })
}

#[cfg(test)]
mod tests;
