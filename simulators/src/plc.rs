//! The sorting-line PLC as a Modbus TCP server over the shared [`Conveyor`].
//!
//! It serves the register map of [`customs_edge_devices::line_plc::map`] at the bases of
//! the configured [`RegisterMap`]:
//!
//! - **FC03** Read Holding Registers: any range (1..=125 words) inside the status block or
//!   inside the command block (which reads back what was last written).
//! - **FC16** Write Multiple Registers / **FC06** Write Single Register: any range inside the
//!   command block. `CMD_TRACKING` and `CMD_LANE` must be written together in one request
//!   (that is one lane command); writing only one of them is refused with
//!   `IllegalDataValue`, as is a lane outside `1..=lanes` or a `BELT_RUN` other than 0 or 1.
//!   Writing `CONTROLLER_HEARTBEAT` is echoed in the status block; `BELT_RUN` stops (0) or
//!   runs (1) the belt. A refused write changes nothing; a refused lane command is recorded
//!   in the report. Every accepted write reads back as written.
//! - Any other address range → `IllegalDataAddress` (so is a write to the status block).
//! - Any other function code → `IllegalFunction`.
//! - A request for another unit id → `GatewayTargetDevice` (0x0B), so a controller mapped
//!   to the wrong unit id gets an immediate, named error rather than a timeout.
//!
//! During a `plc_link_drop` fault every connection is closed and new ones are accepted
//! and closed at once. The server is the shared one of `modbus_device`; the
//! request handling here is the pure function [`handle`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::line_plc::map::{
    BELT_RUN, CMD_LANE, CMD_TRACKING, COMMAND_LEN, CONTROLLER_HEARTBEAT, STATUS_LEN,
};
use tokio::net::TcpListener;
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::conveyor::{CommandOutcome, Conveyor};
use crate::line::{Device, SharedLine};
use crate::modbus_device::{
    self, Admitted, HoldingRegisters, MAX_READ, MAX_WRITE, ModbusDevice, offset_in,
};

/// Serve the PLC on `listener` until `shutdown` fires.
pub async fn run(
    listener: TcpListener,
    line: SharedLine,
    map: RegisterMap,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let name = format!("{} PLC", line.id());
    modbus_device::serve(listener, Plc { line, map, name }, shutdown).await
}

/// The line's PLC as the Modbus server serves it.
struct Plc {
    line: SharedLine,
    map: RegisterMap,
    name: String,
}

impl ModbusDevice for Plc {
    fn name(&self) -> &str {
        &self.name
    }

    fn unit_id(&self) -> u8 {
        self.map.unit_id
    }

    /// While the link is down a client is closed at once; a connection is cut when the
    /// link drops, and counted as a connected PLC client while it lasts.
    fn admit(&self, peer: SocketAddr, _stopped: &CancellationToken) -> Option<Admitted> {
        let Some(cut) = self.line.plc_link() else {
            info!(line = self.line.id(), %peer, "PLC link is down: connection closed");
            return None;
        };
        Some(Admitted {
            cut,
            guard: Some(Box::new(self.line.client_guard(Device::Plc))),
        })
    }

    fn answer(&self, request: Request<'static>) -> Result<Response, ExceptionCode> {
        self.line
            .with(|conveyor, now| handle(conveyor, now, self.map, request))
    }
}

/// Answer one Modbus request against the line (pure: no I/O).
pub fn handle(
    conveyor: &mut Conveyor,
    now: Duration,
    map: RegisterMap,
    request: Request<'_>,
) -> Result<Response, ExceptionCode> {
    modbus_device::answer(&mut Registers { conveyor, now, map }, request)
}

/// The line's registers at one moment.
struct Registers<'a> {
    conveyor: &'a mut Conveyor,
    now: Duration,
    map: RegisterMap,
}

impl HoldingRegisters for Registers<'_> {
    fn read(&mut self, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
        read(self.conveyor, self.map, addr, qty)
    }

    fn write(&mut self, addr: u16, words: &[u16]) -> Result<(), ExceptionCode> {
        write(self.conveyor, self.now, self.map, addr, words)
    }
}

fn read(
    conveyor: &Conveyor,
    map: RegisterMap,
    addr: u16,
    qty: u16,
) -> Result<Vec<u16>, ExceptionCode> {
    if !(1..=MAX_READ).contains(&qty) {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let n = usize::from(qty);
    if let Some(off) = offset_in(map.status_base, STATUS_LEN, addr, n) {
        return Ok(conveyor.status().encode()[off..off + n].to_vec());
    }
    if let Some(off) = offset_in(map.command_base, COMMAND_LEN, addr, n) {
        return Ok(conveyor.command_registers()[off..off + n].to_vec());
    }
    Err(ExceptionCode::IllegalDataAddress)
}

fn write(
    conveyor: &mut Conveyor,
    now: Duration,
    map: RegisterMap,
    addr: u16,
    words: &[u16],
) -> Result<(), ExceptionCode> {
    if words.is_empty() || words.len() > usize::from(MAX_WRITE) {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let off = offset_in(map.command_base, COMMAND_LEN, addr, words.len())
        .ok_or(ExceptionCode::IllegalDataAddress)?;
    // The value this write puts at a command-block offset, if it covers it.
    let written = |reg: u16| {
        usize::from(reg)
            .checked_sub(off)
            .and_then(|i| words.get(i).copied())
    };
    // Check everything before changing anything: a refused write changes nothing.
    let belt_run = match written(BELT_RUN) {
        None => None,
        Some(run @ (0 | 1)) => Some(run == 1),
        Some(other) => {
            warn!(
                line = conveyor.id(),
                value = other,
                "BELT_RUN write refused: only 0 or 1"
            );
            return Err(ExceptionCode::IllegalDataValue);
        }
    };
    let regs = conveyor.command_registers();
    match (written(CMD_TRACKING), written(CMD_LANE)) {
        (Some(tracking_no), Some(lane)) => match conveyor.lane_command(now, tracking_no, lane) {
            Ok(outcome) => log_outcome(conveyor.id(), tracking_no, lane, outcome),
            Err(err) => {
                warn!(line = conveyor.id(), tracking_no, lane, %err, "lane command rejected");
                return Err(ExceptionCode::IllegalDataValue);
            }
        },
        (None, None) => {}
        (tracking, lane) => {
            let tracking_no = tracking.unwrap_or(regs[CMD_TRACKING as usize]);
            let lane = lane.unwrap_or(regs[CMD_LANE as usize]);
            let reason = "CMD_TRACKING and CMD_LANE must be written together in one FC16 request";
            warn!(
                line = conveyor.id(),
                tracking_no, lane, reason, "lane command rejected"
            );
            conveyor.reject_command(now, tracking_no, lane, reason.to_owned());
            return Err(ExceptionCode::IllegalDataValue);
        }
    }
    if let Some(value) = written(CONTROLLER_HEARTBEAT) {
        conveyor.controller_heartbeat(now, value);
    }
    if let Some(run) = belt_run {
        if run != (regs[BELT_RUN as usize] == 1) {
            info!(line = conveyor.id(), run, "belt run request");
        }
        conveyor.belt_run(now, run);
    }
    Ok(())
}

fn log_outcome(line_id: &str, tracking_no: u16, lane: u16, outcome: CommandOutcome) {
    match outcome {
        CommandOutcome::Accepted { parcel_id } => {
            debug!(
                line = line_id,
                tracking_no, lane, parcel_id, "lane command accepted"
            );
        }
        CommandOutcome::Late { parcel_id } => {
            warn!(
                line = line_id,
                tracking_no, lane, parcel_id, "late lane command: parcel already dropped"
            );
        }
        CommandOutcome::Unknown => warn!(
            line = line_id,
            tracking_no, lane, "lane command for unknown tracking number"
        ),
    }
}

#[cfg(test)]
mod tests;
