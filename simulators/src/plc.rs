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
//! and closed at once ([`link`]).
//!
//! The request handling is the pure function [`handle`]; the [`PlcService`] around it only
//! checks the unit id and takes the lock.

use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::line_plc::map::{
    BELT_RUN, CMD_LANE, CMD_TRACKING, COMMAND_LEN, CONTROLLER_HEARTBEAT, STATUS_LEN,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::conveyor::{CommandOutcome, Conveyor};
use crate::line::{ClientGuard, Device, SharedLine};

pub mod link;

use link::LinkStream;

/// Most registers one FC03 may read (Modbus application protocol, 6.3).
const MAX_READ: u16 = 125;
/// Most registers one FC16 may write (Modbus application protocol, 6.12).
const MAX_WRITE: usize = 123;

/// Serve the PLC on `listener` until `shutdown` fires.
pub async fn run(
    listener: TcpListener,
    line: SharedLine,
    map: RegisterMap,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let on_connected = |stream: TcpStream, peer: SocketAddr| {
        let accepted = line.plc_link().map(|cut| {
            let service = PlcService::new(line.clone(), map, peer);
            (service, LinkStream::new(stream, cut))
        });
        let id = line.id().to_owned();
        async move {
            let Some((service, stream)) = accepted else {
                info!(line = id, %peer, "PLC link is down: connection closed");
                return Ok(None);
            };
            info!(line = id, %peer, "PLC client connected");
            stream.get_ref().set_nodelay(true)?;
            Ok(Some((service, stream)))
        }
    };
    let on_error = |err: io::Error| debug!(%err, "PLC client connection failed");
    Server::new(listener)
        .serve_until(&on_connected, on_error, shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// One client connection's view of the PLC.
#[derive(Debug)]
pub struct PlcService {
    line: SharedLine,
    map: RegisterMap,
    peer: SocketAddr,
    _client: ClientGuard,
}

impl PlcService {
    /// A service for the client at `peer`, counted as connected while it lives.
    pub fn new(line: SharedLine, map: RegisterMap, peer: SocketAddr) -> Self {
        let client = line.client_guard(Device::Plc);
        Self {
            line,
            map,
            peer,
            _client: client,
        }
    }
}

impl Drop for PlcService {
    fn drop(&mut self) {
        info!(line = self.line.id(), peer = %self.peer, "PLC client disconnected");
    }
}

impl Service for PlcService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        if req.slave != self.map.unit_id {
            warn!(peer = %self.peer, unit_id = req.slave, expected = self.map.unit_id,
                "request for another unit id");
            return ready(Err(ExceptionCode::GatewayTargetDevice));
        }
        let result = self
            .line
            .with(|conveyor, now| handle(conveyor, now, self.map, req.request));
        if let Err(code) = &result {
            debug!(peer = %self.peer, %code, "answered with a Modbus exception");
        }
        ready(result)
    }
}

/// Answer one Modbus request against the line (pure: no I/O).
pub fn handle(
    conveyor: &mut Conveyor,
    now: Duration,
    map: RegisterMap,
    request: Request<'_>,
) -> Result<Response, ExceptionCode> {
    match request {
        Request::ReadHoldingRegisters(addr, qty) => {
            read(conveyor, map, addr, qty).map(Response::ReadHoldingRegisters)
        }
        Request::WriteSingleRegister(addr, word) => write(conveyor, now, map, addr, &[word])
            .map(|()| Response::WriteSingleRegister(addr, word)),
        Request::WriteMultipleRegisters(addr, words) => write(conveyor, now, map, addr, &words)
            .map(|()| Response::WriteMultipleRegisters(addr, words.len() as u16)),
        // FC23: the write first, then the read, in one transaction (how the controller
        // writes a command and reads it back in one round trip).
        Request::ReadWriteMultipleRegisters(read_addr, qty, write_addr, words) => {
            write(conveyor, now, map, write_addr, &words)?;
            read(conveyor, map, read_addr, qty).map(Response::ReadWriteMultipleRegisters)
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

/// Offset of `addr` in the block `base..base + len` if `qty` words from it fit inside.
fn offset_in(base: u16, len: u16, addr: u16, qty: usize) -> Option<usize> {
    let (addr, base) = (usize::from(addr), usize::from(base));
    (addr >= base && addr + qty <= base + usize::from(len)).then(|| addr - base)
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
    if words.is_empty() || words.len() > MAX_WRITE {
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
