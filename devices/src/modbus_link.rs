//! One Modbus TCP connection to one unit, shared by the Modbus drivers: connect lazily,
//! a timeout on every call, reconnect with exponential backoff, and writes verified by
//! reading them back (FC23 in one round trip, FC16 + FC03 when the device lacks FC23).
//!
//! tokio-modbus has no timeout of its own. After a timeout or a transport error the
//! connection is dropped — a late reply could otherwise pair with the next request — and
//! the next call reconnects once the backoff has elapsed. A Modbus exception keeps the
//! connection: the transport is fine.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::{ExceptionCode, Slave};

use crate::backoff::Backoff;

/// What a caller can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkErrorKind {
    /// The link is down or slow; the driver reconnects by itself.
    Transport,
    /// The device answered with a Modbus exception: a mapping, device or interlock problem.
    Device,
    /// The device answered with data that does not fit the register map.
    Protocol,
}

/// An error on the Modbus link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Not connected; the next attempt is after the backoff.
    #[error("not connected to {addr} (next attempt in {retry_in:?}): {last_error}")]
    NotConnected {
        /// Device address.
        addr: SocketAddr,
        /// Time until the next connection attempt.
        retry_in: Duration,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// Connecting failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Device address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A request got no answer in time.
    #[error("{what} timed out after {timeout:?}")]
    Timeout {
        /// The request.
        what: &'static str,
        /// How long it was given.
        timeout: Duration,
    },
    /// The connection broke during a request.
    #[error("{what} failed: {source}")]
    Transport {
        /// The request.
        what: &'static str,
        /// The transport error.
        source: tokio_modbus::Error,
    },
    /// The device answered with a Modbus exception.
    #[error("{what} answered with Modbus exception {code}")]
    Exception {
        /// The request.
        what: &'static str,
        /// The exception code.
        code: ExceptionCode,
    },
    /// A write was accepted but reading it back gave other values.
    #[error("{what}: wrote {wrote:?} but read back {read:?}")]
    ReadBack {
        /// The write.
        what: &'static str,
        /// Values written.
        wrote: Vec<u16>,
        /// Values read back.
        read: Vec<u16>,
    },
}

impl LinkError {
    /// The kind of error, for callers that act on it.
    pub fn kind(&self) -> LinkErrorKind {
        match self {
            Self::NotConnected { .. }
            | Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. } => LinkErrorKind::Transport,
            Self::Exception { .. } => LinkErrorKind::Device,
            Self::ReadBack { .. } => LinkErrorKind::Protocol,
        }
    }

    /// The Modbus exception code, when the device answered with one.
    pub fn exception(&self) -> Option<ExceptionCode> {
        match self {
            Self::Exception { code, .. } => Some(*code),
            _ => None,
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A lazily connected, self-healing Modbus TCP client for one unit.
pub struct ModbusLink {
    addr: SocketAddr,
    unit_id: u8,
    timeout: Duration,
    ctx: Option<Context>,
    backoff: Backoff,
    next_attempt: Instant,
    last_error: String,
    connections: u64,
    /// Whether the device takes FC23 (read/write multiple registers); cleared on its first
    /// "illegal function" answer.
    fc23: bool,
}

impl std::fmt::Debug for ModbusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusLink")
            .field("addr", &self.addr)
            .field("unit_id", &self.unit_id)
            .field("connected", &self.ctx.is_some())
            .finish_non_exhaustive()
    }
}

impl ModbusLink {
    /// A link to unit `unit_id` at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr, unit_id: u8, timeout: Duration) -> Self {
        Self {
            addr,
            unit_id,
            timeout,
            ctx: None,
            backoff: Backoff::new(MIN_BACKOFF, MAX_BACKOFF),
            next_attempt: Instant::now(),
            last_error: String::new(),
            connections: 0,
            fc23: true,
        }
    }

    /// Where the device is reached (resolved once, at construction).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.ctx.is_some()
    }

    /// How many times a connection has been (re)established.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    async fn context(&mut self) -> Result<&mut Context, LinkError> {
        if self.ctx.is_none() {
            let now = Instant::now();
            if now < self.next_attempt {
                return Err(LinkError::NotConnected {
                    addr: self.addr,
                    retry_in: self.next_attempt - now,
                    last_error: self.last_error.clone(),
                });
            }
            let connect = tokio_modbus::client::tcp::connect_slave(self.addr, Slave(self.unit_id));
            let source =
                match tokio::time::timeout(self.timeout.max(Duration::from_secs(1)), connect).await
                {
                    Ok(Ok(ctx)) => {
                        self.ctx = Some(ctx);
                        self.backoff.reset();
                        self.connections += 1;
                        return Ok(self.ctx.as_mut().expect("just connected"));
                    }
                    Ok(Err(source)) => source,
                    Err(_) => {
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
                    }
                };
            self.failed(source.to_string());
            return Err(LinkError::Connect {
                addr: self.addr,
                source,
            });
        }
        Ok(self.ctx.as_mut().expect("connected above"))
    }

    fn failed(&mut self, error: String) {
        self.ctx = None;
        self.last_error = error;
        self.next_attempt = Instant::now() + self.backoff.next_wait();
    }

    /// Run one request with the timeout; drop the connection on a timeout or transport error.
    pub async fn call<T>(
        &mut self,
        what: &'static str,
        op: impl AsyncFnOnce(&mut Context) -> tokio_modbus::Result<T>,
    ) -> Result<T, LinkError> {
        let timeout = self.timeout;
        let ctx = self.context().await?;
        match tokio::time::timeout(timeout, op(ctx)).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(code))) => Err(LinkError::Exception { what, code }),
            Ok(Err(source)) => {
                self.failed(source.to_string());
                Err(LinkError::Transport { what, source })
            }
            Err(_) => {
                self.failed(format!("{what} timed out"));
                Err(LinkError::Timeout { what, timeout })
            }
        }
    }

    /// Read `qty` holding registers from `addr` (FC03).
    pub async fn read_holding(
        &mut self,
        what: &'static str,
        addr: u16,
        qty: u16,
    ) -> Result<Vec<u16>, LinkError> {
        self.call(what, async move |ctx| {
            ctx.read_holding_registers(addr, qty).await
        })
        .await
    }

    /// Write one holding register (FC06), without read-back.
    pub async fn write_single(
        &mut self,
        what: &'static str,
        addr: u16,
        value: u16,
    ) -> Result<(), LinkError> {
        self.call(what, async move |ctx| {
            ctx.write_single_register(addr, value).await
        })
        .await
    }

    /// Write `words` at `addr` in one request, then read them back and compare: FC23 in one
    /// round trip, or FC16 then FC03 once the device has answered FC23 with "illegal
    /// function" (nothing was written then).
    pub async fn write_verified(
        &mut self,
        what: &'static str,
        addr: u16,
        words: Vec<u16>,
    ) -> Result<(), LinkError> {
        let count = words.len() as u16;
        let read = if self.fc23 {
            let to_write = words.clone();
            match self
                .call(what, async move |ctx| {
                    ctx.read_write_multiple_registers(addr, count, addr, &to_write)
                        .await
                })
                .await
            {
                Err(LinkError::Exception {
                    code: ExceptionCode::IllegalFunction,
                    ..
                }) => {
                    tracing::info!(device = %self.addr, "the device does not offer FC23; writing and reading back in two requests");
                    self.fc23 = false;
                    return Box::pin(self.write_verified(what, addr, words)).await;
                }
                other => other?,
            }
        } else {
            let to_write = words.clone();
            self.call(what, async move |ctx| {
                ctx.write_multiple_registers(addr, &to_write).await
            })
            .await?;
            self.read_holding(what, addr, count).await?
        };
        if read == words {
            Ok(())
        } else {
            Err(LinkError::ReadBack {
                what,
                wrote: words,
                read,
            })
        }
    }
}
