//! Polling driver for the sorting-line PLC over Modbus TCP.
//!
//! Every call is wrapped in a timeout (tokio-modbus has none of its own). After a timeout
//! or a transport error the connection is dropped — a late reply could otherwise pair with
//! the next request — and the next call reconnects once the backoff has elapsed. A Modbus
//! exception from the device keeps the connection: the transport is fine.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::{ExceptionCode, Slave};

use super::map::{BELT_RUN, DecodeError, LineStatus, RegisterMap, STATUS_LEN};

/// What a caller can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlcErrorKind {
    /// The link is down or slow; the driver reconnects by itself.
    Transport,
    /// The PLC answered with a Modbus exception: a mapping or device problem.
    Device,
    /// The PLC answered with data that does not fit the register map.
    Protocol,
}

/// An error talking to the line PLC.
#[derive(Debug, thiserror::Error)]
pub enum PlcError {
    /// Not connected; the next attempt is after the backoff.
    #[error("not connected to the PLC at {addr} (next attempt in {retry_in:?}): {last_error}")]
    NotConnected {
        /// PLC address.
        addr: SocketAddr,
        /// Time until the next connection attempt.
        retry_in: Duration,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// Connecting failed.
    #[error("cannot connect to the PLC at {addr}: {source}")]
    Connect {
        /// PLC address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A request got no answer in time.
    #[error("{what} timed out after {timeout:?}")]
    Timeout {
        /// The request.
        what: &'static str,
        /// The timeout.
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
    /// The PLC answered with a Modbus exception.
    #[error("{what} answered with Modbus exception {code}")]
    Exception {
        /// The request.
        what: &'static str,
        /// The exception code.
        code: ExceptionCode,
    },
    /// The status block did not decode; `raw` is what the PLC sent, for the log.
    #[error("status block rejected: {error}")]
    Decode {
        /// What is wrong with it.
        error: DecodeError,
        /// The words as read.
        raw: Vec<u16>,
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

impl PlcError {
    /// The kind of error, for callers that act on it.
    pub fn kind(&self) -> PlcErrorKind {
        match self {
            Self::NotConnected { .. }
            | Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. } => PlcErrorKind::Transport,
            Self::Exception { .. } => PlcErrorKind::Device,
            Self::Decode { .. } | Self::ReadBack { .. } => PlcErrorKind::Protocol,
        }
    }
}

/// The line PLC driver: owns its Modbus TCP connection.
pub struct LinePlc {
    addr: SocketAddr,
    map: RegisterMap,
    timeout: Duration,
    ctx: Option<Context>,
    backoff: Duration,
    next_attempt: Instant,
    last_error: String,
    reconnects: u64,
    /// Whether the PLC takes FC23 (read/write multiple registers); cleared on its first
    /// "illegal function" answer.
    fc23: bool,
}

impl std::fmt::Debug for LinePlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinePlc")
            .field("addr", &self.addr)
            .field("connected", &self.ctx.is_some())
            .finish_non_exhaustive()
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl LinePlc {
    /// A driver for the PLC at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr, map: RegisterMap, timeout: Duration) -> Self {
        Self {
            addr,
            map,
            timeout,
            ctx: None,
            backoff: MIN_BACKOFF,
            next_attempt: Instant::now(),
            last_error: String::new(),
            reconnects: 0,
            fc23: true,
        }
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.ctx.is_some()
    }

    /// How many times a connection has been (re)established.
    pub fn connections(&self) -> u64 {
        self.reconnects
    }

    async fn context(&mut self) -> Result<&mut Context, PlcError> {
        if self.ctx.is_none() {
            let now = Instant::now();
            if now < self.next_attempt {
                return Err(PlcError::NotConnected {
                    addr: self.addr,
                    retry_in: self.next_attempt - now,
                    last_error: self.last_error.clone(),
                });
            }
            let connect =
                tokio_modbus::client::tcp::connect_slave(self.addr, Slave(self.map.unit_id));
            match tokio::time::timeout(self.timeout.max(Duration::from_secs(1)), connect).await {
                Ok(Ok(ctx)) => {
                    self.ctx = Some(ctx);
                    self.backoff = MIN_BACKOFF;
                    self.reconnects += 1;
                }
                Ok(Err(source)) => {
                    self.failed(source.to_string());
                    return Err(PlcError::Connect {
                        addr: self.addr,
                        source,
                    });
                }
                Err(_) => {
                    let source =
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
                    self.failed(source.to_string());
                    return Err(PlcError::Connect {
                        addr: self.addr,
                        source,
                    });
                }
            }
        }
        Ok(self.ctx.as_mut().expect("connected above"))
    }

    fn failed(&mut self, error: String) {
        self.ctx = None;
        self.last_error = error;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    async fn call<T>(
        &mut self,
        what: &'static str,
        op: impl AsyncFnOnce(&mut Context) -> tokio_modbus::Result<T>,
    ) -> Result<T, PlcError> {
        let timeout = self.timeout;
        let ctx = self.context().await?;
        match tokio::time::timeout(timeout, op(ctx)).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(code))) => Err(PlcError::Exception { what, code }),
            Ok(Err(source)) => {
                self.failed(source.to_string());
                Err(PlcError::Transport { what, source })
            }
            Err(_) => {
                self.failed(format!("{what} timed out"));
                Err(PlcError::Timeout { what, timeout })
            }
        }
    }

    /// Read and decode the whole status block in one request.
    pub async fn read_status(&mut self) -> Result<LineStatus, PlcError> {
        let base = self.map.status_base;
        let words = self
            .call("reading the status block", async move |ctx| {
                ctx.read_holding_registers(base, STATUS_LEN).await
            })
            .await?;
        LineStatus::decode(&words).map_err(|error| PlcError::Decode { error, raw: words })
    }

    /// Write `words` at `addr` in one FC16 request, then read them back and compare.
    async fn write_verified(
        &mut self,
        what: &'static str,
        addr: u16,
        words: Vec<u16>,
    ) -> Result<(), PlcError> {
        let count = words.len() as u16;
        let read = if self.fc23 {
            // Write and read back in one request (FC23): one round trip instead of two.
            let to_write = words.clone();
            match self
                .call(what, async move |ctx| {
                    ctx.read_write_multiple_registers(addr, count, addr, &to_write)
                        .await
                })
                .await
            {
                Err(PlcError::Exception {
                    code: ExceptionCode::IllegalFunction,
                    ..
                }) => {
                    // A PLC without FC23: nothing was written; FC16 and FC03 from now on.
                    tracing::info!(plc = %self.addr, "the PLC does not offer FC23; writing and reading back in two requests");
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
            self.call(what, async move |ctx| {
                ctx.read_holding_registers(addr, count).await
            })
            .await?
        };
        if read == words {
            Ok(())
        } else {
            Err(PlcError::ReadBack {
                what,
                wrote: words,
                read,
            })
        }
    }

    /// Tell the PLC which lane the parcel `tracking_no` goes to (one FC16 write, so the
    /// PLC never sees a tracking number without its lane), and read it back.
    pub async fn write_lane(&mut self, tracking_no: u16, lane: u16) -> Result<(), PlcError> {
        let addr = self.map.command_address();
        self.write_verified("writing a lane command", addr, vec![tracking_no, lane])
            .await
    }

    /// Ask the PLC to run (`true`) or stop (`false`) the belt, and read it back.
    pub async fn write_belt_run(&mut self, run: bool) -> Result<(), PlcError> {
        let addr = self.map.command_base + BELT_RUN;
        self.write_verified("writing the belt run request", addr, vec![u16::from(run)])
            .await
    }

    /// Write the controller heartbeat so the PLC knows the controller is alive.
    pub async fn write_heartbeat(&mut self, value: u16) -> Result<(), PlcError> {
        let addr = self.map.heartbeat_address();
        self.call("writing the heartbeat", async move |ctx| {
            ctx.write_single_register(addr, value).await
        })
        .await
    }
}
