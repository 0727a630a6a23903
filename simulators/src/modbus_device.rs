//! The one Modbus TCP server every simulated device runs behind (line PLC, gate I/O,
//! weighbridge): a device is its [`HoldingRegisters`] (what FC03 reads and FC06/FC16 write) and
//! a [`ModbusDevice`] (its unit id, the functions it implements, who may connect, the lock
//! its map lives behind).
//!
//! The server is the single place a request meets the wire: framing and malformed requests
//! ([`frame`]: an untrustworthy MBAP header closes the connection, anything else is
//! answered, with exception 0x01 or 0x03 when it cannot be carried out), the unit-id check
//! (another unit gets `GatewayTargetDevice`, 0x0B, so a controller mapped to the wrong unit
//! gets a named error rather than a timeout), the function code dispatch ([`answer`]: FC23
//! writes, then reads), logging, and connections ([`connection`]): each one is closed when
//! the device stops or its link is cut.

use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

mod connection;
pub(crate) mod frame;

pub(crate) use frame::{MAX_READ, MAX_WRITE};

/// The functions a device with writable registers implements: FC03, FC06, FC16, FC23.
pub(crate) const READ_WRITE_FUNCTIONS: &[u8] = &[
    frame::READ_HOLDING,
    frame::WRITE_SINGLE,
    frame::WRITE_MULTIPLE,
    frame::READ_WRITE,
];
/// The functions of a read-only device: FC03.
pub(crate) const READ_ONLY_FUNCTIONS: &[u8] = &[frame::READ_HOLDING];

/// The holding registers of a simulated device, as the function codes reach them. Each
/// map checks its own ranges and values and answers with the exception a real device of
/// its kind gives.
pub(crate) trait HoldingRegisters {
    /// FC03, and the read half of FC23: `qty` registers from `addr`.
    fn read(&mut self, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode>;

    /// FC06 and FC16, and the write half of FC23 (done first): `words` from `addr`. A
    /// read-only device keeps this default, `IllegalFunction`.
    fn write(&mut self, addr: u16, words: &[u16]) -> Result<(), ExceptionCode> {
        let _ = (addr, words);
        Err(ExceptionCode::IllegalFunction)
    }
}

/// Answers one request against a register map (pure: no I/O).
pub(crate) fn answer(
    map: &mut impl HoldingRegisters,
    request: Request<'_>,
) -> Result<Response, ExceptionCode> {
    match request {
        Request::ReadHoldingRegisters(addr, qty) => {
            map.read(addr, qty).map(Response::ReadHoldingRegisters)
        }
        Request::WriteSingleRegister(addr, word) => map
            .write(addr, &[word])
            .map(|()| Response::WriteSingleRegister(addr, word)),
        Request::WriteMultipleRegisters(addr, words) => map
            .write(addr, &words)
            .map(|()| Response::WriteMultipleRegisters(addr, words.len() as u16)),
        // The write first, then the read, in one transaction (how the controller writes a
        // command and reads it back in one round trip).
        Request::ReadWriteMultipleRegisters(read_addr, qty, write_addr, words) => {
            map.write(write_addr, &words)?;
            map.read(read_addr, qty)
                .map(Response::ReadWriteMultipleRegisters)
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

/// Offset of `addr` in the block `base..base + len` if `qty` words from it fit inside.
pub(crate) fn offset_in(base: u16, len: u16, addr: u16, qty: usize) -> Option<usize> {
    let (addr, base) = (usize::from(addr), usize::from(base));
    (addr >= base && addr + qty <= base + usize::from(len)).then(|| addr - base)
}

/// What a device decided about a new connection.
pub(crate) struct Admitted {
    /// Cancelled to close the connection (the device stopped, or its link was cut).
    pub(crate) cut: CancellationToken,
    /// Held for as long as the client stays connected (the PLC counts its clients so).
    pub(crate) guard: Option<Box<dyn Any + Send + Sync>>,
}

/// A simulated device the server serves.
pub(crate) trait ModbusDevice: Send + Sync + 'static {
    /// Its name in the log.
    fn name(&self) -> &str;

    /// The unit id it answers to.
    fn unit_id(&self) -> u8;

    /// The function codes it implements; any other is answered `IllegalFunction` before
    /// its data is looked at.
    fn functions(&self) -> &'static [u8] {
        READ_WRITE_FUNCTIONS
    }

    /// A new client at `peer`; `None` closes the connection at once. By default every
    /// client is admitted until the server stops (`stopped`).
    fn admit(&self, peer: SocketAddr, stopped: &CancellationToken) -> Option<Admitted> {
        let _ = peer;
        Some(Admitted {
            cut: stopped.clone(),
            guard: None,
        })
    }

    /// Answers one request for its unit, against the device's current state.
    fn answer(&self, request: Request<'static>) -> Result<Response, ExceptionCode>;
}

/// Serves `device` on `listener` until `shutdown` fires; every connection is closed then.
pub(crate) async fn serve<D: ModbusDevice>(
    listener: TcpListener,
    device: D,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let device = Arc::new(device);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, or a connection reset before it was accepted:
                    // the server carries on.
                    debug!(device = device.name(), %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Some(admitted) = device.admit(peer, &shutdown) else {
            info!(device = device.name(), %peer, "connection refused: the device is not accepting");
            continue;
        };
        info!(device = device.name(), %peer, "Modbus client connected");
        tokio::spawn(connection::run(Arc::clone(&device), stream, peer, admitted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight registers at 100; writes of 0xFFFF refused; every call recorded.
    #[derive(Default)]
    struct Toy {
        words: [u16; 8],
        calls: Vec<&'static str>,
    }

    impl HoldingRegisters for Toy {
        fn read(&mut self, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
            self.calls.push("read");
            let off = offset_in(100, 8, addr, usize::from(qty))
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            Ok(self.words[off..off + usize::from(qty)].to_vec())
        }

        fn write(&mut self, addr: u16, words: &[u16]) -> Result<(), ExceptionCode> {
            self.calls.push("write");
            let off =
                offset_in(100, 8, addr, words.len()).ok_or(ExceptionCode::IllegalDataAddress)?;
            if words.contains(&0xFFFF) {
                return Err(ExceptionCode::IllegalDataValue);
            }
            self.words[off..off + words.len()].copy_from_slice(words);
            Ok(())
        }
    }

    #[test]
    fn function_codes_reach_the_map_and_fc23_writes_before_it_reads() {
        let mut toy = Toy::default();
        assert_eq!(
            answer(&mut toy, Request::WriteSingleRegister(101, 7)),
            Ok(Response::WriteSingleRegister(101, 7))
        );
        assert_eq!(
            answer(
                &mut toy,
                Request::WriteMultipleRegisters(102, vec![8, 9].into())
            ),
            Ok(Response::WriteMultipleRegisters(102, 2))
        );
        toy.calls.clear();
        assert_eq!(
            answer(
                &mut toy,
                Request::ReadWriteMultipleRegisters(100, 4, 100, vec![6].into())
            ),
            Ok(Response::ReadWriteMultipleRegisters(vec![6, 7, 8, 9]))
        );
        assert_eq!(toy.calls, ["write", "read"]);
    }

    #[test]
    fn a_refused_fc23_write_is_not_followed_by_the_read() {
        let mut toy = Toy::default();
        let request = Request::ReadWriteMultipleRegisters(100, 1, 100, vec![0xFFFF].into());
        assert_eq!(
            answer(&mut toy, request),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(toy.calls, ["write"]);
    }

    #[test]
    fn other_functions_and_writes_to_a_read_only_map_are_illegal_functions() {
        struct ReadOnly;
        impl HoldingRegisters for ReadOnly {
            fn read(&mut self, _: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
                Ok(vec![0; usize::from(qty)])
            }
        }
        for request in [
            Request::ReadCoils(0, 1),
            Request::ReadInputRegisters(0, 1),
            Request::WriteSingleCoil(0, true),
        ] {
            assert_eq!(
                answer(&mut Toy::default(), request.clone()),
                Err(ExceptionCode::IllegalFunction),
                "{request:?}"
            );
        }
        for request in [
            Request::WriteSingleRegister(0, 1),
            Request::WriteMultipleRegisters(0, vec![1].into()),
            Request::ReadWriteMultipleRegisters(0, 1, 0, vec![1].into()),
        ] {
            assert_eq!(
                answer(&mut ReadOnly, request.clone()),
                Err(ExceptionCode::IllegalFunction),
                "{request:?}"
            );
        }
        assert_eq!(
            answer(&mut ReadOnly, Request::ReadHoldingRegisters(0, 2)),
            Ok(Response::ReadHoldingRegisters(vec![0, 0]))
        );
    }
}
