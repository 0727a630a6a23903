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
//!   `IllegalDataValue`, as is a lane outside `1..=lanes`. Writing `CONTROLLER_HEARTBEAT`
//!   (alone or with the command) is echoed in the status block. A refused write changes
//!   nothing and is recorded in the report.
//! - Any other address range → `IllegalDataAddress` (so is a write to the status block).
//! - Any other function code → `IllegalFunction`.
//! - A request for another unit id → `GatewayTargetDevice` (0x0B), so a controller mapped
//!   to the wrong unit id gets an immediate, named error rather than a timeout.
//!
//! The request handling is the pure function [`handle`]; the [`PlcService`] around it only
//! checks the unit id and takes the lock.

use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::line_plc::map::{
    CMD_LANE, CMD_TRACKING, COMMAND_LEN, CONTROLLER_HEARTBEAT, STATUS_LEN,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::conveyor::{CommandOutcome, Conveyor};
use crate::line::{ClientGuard, Device, SharedLine};

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
        let service = PlcService::new(line.clone(), map, peer);
        async move {
            info!(%peer, "PLC client connected");
            stream.set_nodelay(true)?;
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
        info!(peer = %self.peer, "PLC client disconnected");
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
    let regs = conveyor.command_registers();
    match (written(CMD_TRACKING), written(CMD_LANE)) {
        (Some(tracking_no), Some(lane)) => match conveyor.lane_command(now, tracking_no, lane) {
            Ok(outcome) => log_outcome(tracking_no, lane, outcome),
            Err(err) => {
                warn!(tracking_no, lane, %err, "lane command rejected");
                return Err(ExceptionCode::IllegalDataValue);
            }
        },
        (None, None) => {}
        (tracking, lane) => {
            let tracking_no = tracking.unwrap_or(regs[CMD_TRACKING as usize]);
            let lane = lane.unwrap_or(regs[CMD_LANE as usize]);
            let reason = "CMD_TRACKING and CMD_LANE must be written together in one FC16 request";
            warn!(tracking_no, lane, reason, "lane command rejected");
            conveyor.reject_command(now, tracking_no, lane, reason.to_owned());
            return Err(ExceptionCode::IllegalDataValue);
        }
    }
    if let Some(value) = written(CONTROLLER_HEARTBEAT) {
        conveyor.controller_heartbeat(value);
    }
    Ok(())
}

fn log_outcome(tracking_no: u16, lane: u16, outcome: CommandOutcome) {
    match outcome {
        CommandOutcome::Accepted { parcel_id } => {
            debug!(tracking_no, lane, parcel_id, "lane command accepted");
        }
        CommandOutcome::Late { parcel_id } => {
            warn!(
                tracking_no,
                lane, parcel_id, "late lane command: parcel already dropped"
            );
        }
        CommandOutcome::Unknown => warn!(
            tracking_no,
            lane, "lane command for unknown tracking number"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conveyor::LineConfig;
    use crate::parcel::NewParcel;
    use customs_edge_devices::line_plc::LineStatus;

    fn line() -> Conveyor {
        Conveyor::new(LineConfig::default(), chrono::Utc::now())
    }

    fn map() -> RegisterMap {
        RegisterMap {
            unit_id: 1,
            status_base: 1000,
            command_base: 2000,
        }
    }

    fn call(c: &mut Conveyor, req: Request<'static>) -> Result<Response, ExceptionCode> {
        handle(c, Duration::ZERO, map(), req)
    }

    #[test]
    fn status_block_reads_at_its_base_and_decodes() {
        let mut c = line();
        let Ok(Response::ReadHoldingRegisters(words)) =
            call(&mut c, Request::ReadHoldingRegisters(1000, STATUS_LEN))
        else {
            panic!("read failed");
        };
        let status = LineStatus::decode(&words).unwrap();
        assert!(status.flags.running);
        assert_eq!(status.belt_speed_mm_s, 500);
    }

    #[test]
    fn reads_outside_the_blocks_are_illegal_addresses() {
        let mut c = line();
        for (addr, qty) in [(0, 1), (999, 2), (1039, 2), (2002, 2), (1040, 1)] {
            assert_eq!(
                call(&mut c, Request::ReadHoldingRegisters(addr, qty)),
                Err(ExceptionCode::IllegalDataAddress),
                "{addr}+{qty}"
            );
        }
        assert_eq!(
            call(&mut c, Request::ReadHoldingRegisters(1000, 126)),
            Err(ExceptionCode::IllegalDataValue)
        );
    }

    #[test]
    fn heartbeat_write_is_echoed_and_reads_back() {
        let mut c = line();
        call(&mut c, Request::WriteSingleRegister(2000, 42)).unwrap();
        assert_eq!(c.status().controller_heartbeat_echo, 42);
        assert_eq!(
            call(&mut c, Request::ReadHoldingRegisters(2000, 1)),
            Ok(Response::ReadHoldingRegisters(vec![42]))
        );
    }

    #[test]
    fn lane_command_is_acked_and_a_half_command_is_refused() {
        let mut c = line();
        c.inject(
            Duration::ZERO,
            NewParcel {
                code: Some("SF1".into()),
                length_mm: 400,
            },
        )
        .unwrap();
        c.tick(Duration::from_millis(10));
        let cmd = Request::WriteMultipleRegisters(2001, vec![1, 2].into());
        assert_eq!(
            call(&mut c, cmd),
            Ok(Response::WriteMultipleRegisters(2001, 2))
        );
        assert_eq!(
            (c.status().cmd_ack_tracking, c.status().cmd_ack_lane),
            (1, 2)
        );
        assert_eq!(
            call(&mut c, Request::WriteSingleRegister(2002, 1)),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(c.status().cmd_ack_lane, 2, "refused write changed nothing");
        let report = c.report(Duration::ZERO);
        assert_eq!(report.rejected_commands.len(), 1);
        assert!(report.rejected_commands[0].reason.contains("together"));
    }

    #[test]
    fn writes_to_the_status_block_and_other_functions_are_refused() {
        let mut c = line();
        assert_eq!(
            call(&mut c, Request::WriteSingleRegister(1000, 1)),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            call(&mut c, Request::ReadInputRegisters(1000, 1)),
            Err(ExceptionCode::IllegalFunction)
        );
        assert_eq!(
            call(&mut c, Request::ReadCoils(0, 1)),
            Err(ExceptionCode::IllegalFunction)
        );
    }
}
