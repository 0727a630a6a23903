//! The whole simulated site in one call: [`start`] binds the PLC, scanner and HTTP
//! listeners, spawns the conveyor ticker, the three servers and the optional generator, and
//! returns a [`RunningSim`] with the real addresses.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::{Framing, ScannerCodec};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::conveyor::{Conveyor, LineConfig};
use crate::generator::GeneratorConfig;
use crate::line::SharedLine;
use crate::parcel::{InjectError, MAX_CODE_BYTES, NewParcel};
use crate::report::Report;
use crate::{http, plc, scanner};

/// Scans buffered per scanner client before a slow one starts missing some.
const SCAN_BUFFER: usize = 1024;

/// Everything about a simulated site.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Where the PLC serves Modbus TCP (port 0 = any free port).
    pub plc_listen: SocketAddr,
    /// Where the scanner serves its code stream.
    pub scanner_listen: SocketAddr,
    /// Where the HTTP API listens.
    pub http_listen: SocketAddr,
    /// Unit id and block bases of the PLC's registers.
    pub map: RegisterMap,
    /// Geometry and behaviour of the line: belt speed, scanner and diverter positions,
    /// lanes, the PLC's default lane, the feeder gap.
    pub line: LineConfig,
    /// Scanner framing.
    pub framing: Framing,
    /// What the scanner sends for an unreadable label.
    pub no_read: String,
    /// The PLC scan cycle: how often the line advances.
    pub tick: Duration,
    /// Inject parcels on a timer, if set.
    pub generator: Option<GeneratorConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            plc_listen: any,
            scanner_listen: any,
            http_listen: any,
            map: RegisterMap::default(),
            line: LineConfig::default(),
            framing: Framing::StxEtx,
            no_read: "NoRead".to_owned(),
            tick: Duration::from_millis(10),
            generator: None,
        }
    }
}

impl SimConfig {
    /// Every inconsistency, one message each (empty when the site can start).
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.line.problems();
        out.extend(self.map.problems().into_iter().map(|p| format!("map: {p}")));
        if self.tick.is_zero() {
            out.push("tick must be greater than 0".to_owned());
        }
        if self.no_read.is_empty() || self.no_read.chars().any(char::is_control) {
            out.push(format!(
                "no_read ({:?}) must be non-empty without control characters",
                self.no_read
            ));
        }
        if let Some(generator) = &self.generator {
            out.extend(generator.problems());
        }
        out
    }
}

/// A running site.
#[derive(Debug)]
pub struct RunningSim {
    /// Address of the PLC (Modbus TCP).
    pub plc: SocketAddr,
    /// Address of the scanner.
    pub scanner: SocketAddr,
    /// Address of the HTTP API.
    pub http: SocketAddr,
    line: SharedLine,
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for the {what} on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Bind the listeners and start every part of the site; it runs until `shutdown` fires.
pub async fn start(config: SimConfig, shutdown: CancellationToken) -> anyhow::Result<RunningSim> {
    let problems = config.problems();
    if !problems.is_empty() {
        bail!("invalid simulator config:\n  - {}", problems.join("\n  - "));
    }
    let (plc_listener, plc) = bind(config.plc_listen, "PLC").await?;
    let (scanner_listener, scanner) = bind(config.scanner_listen, "scanner").await?;
    let (http_listener, http) = bind(config.http_listen, "HTTP API").await?;

    // A child token: a failing part stops the site without cancelling the caller's token.
    let shutdown = shutdown.child_token();
    let line = SharedLine::new(Conveyor::new(config.line, chrono::Utc::now()));
    let (scans, _) = broadcast::channel(SCAN_BUFFER);
    let codec = ScannerCodec::new(config.framing, config.no_read.clone(), MAX_CODE_BYTES);

    let mut tasks = JoinSet::new();
    let (l, s) = (line.clone(), shutdown.clone());
    let ticker_scans = scans.clone();
    tasks.spawn(async move {
        l.run_ticker(config.tick, ticker_scans, s).await;
        ("conveyor", Ok(()))
    });
    let (l, s, map) = (line.clone(), shutdown.clone(), config.map);
    tasks.spawn(async move {
        (
            "PLC",
            plc::run(plc_listener, l, map, s).await.map_err(Into::into),
        )
    });
    let (l, s) = (line.clone(), shutdown.clone());
    tasks.spawn(async move {
        let result = scanner::run(scanner_listener, codec, scans, l, s).await;
        ("scanner", result.map_err(Into::into))
    });
    let (l, s) = (line.clone(), shutdown.clone());
    tasks.spawn(async move {
        (
            "HTTP API",
            http::run(http_listener, l, s).await.map_err(Into::into),
        )
    });
    if let Some(generator) = config.generator {
        let (l, s) = (line.clone(), shutdown.clone());
        tasks.spawn(async move {
            generator.run(l, s).await;
            ("generator", Ok(()))
        });
    }
    info!(%plc, %scanner, %http, "simulated site started");
    Ok(RunningSim {
        plc,
        scanner,
        http,
        line,
        shutdown,
        tasks,
    })
}

impl RunningSim {
    /// Put a parcel in the feeder (as `POST /parcels` does); returns its sim id.
    pub fn inject(&self, parcel: NewParcel) -> Result<u64, InjectError> {
        self.line.with(|c, now| c.inject(now, parcel))
    }

    /// The ground truth so far (as `GET /report` serves it).
    pub fn report(&self) -> Report {
        self.line.report()
    }

    /// A handle to the line itself.
    pub fn line(&self) -> &SharedLine {
        &self.line
    }

    /// Stop the site (the caller's token is not cancelled).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Wait until every part has stopped: after shutdown, or after the first part fails,
    /// which stops the others and is returned as the error.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let (part, result) = match joined {
                Ok(done) => done,
                Err(join_error) => ("a task", Err(anyhow::anyhow!("panicked: {join_error}"))),
            };
            let result = match result {
                Ok(()) if !self.shutdown.is_cancelled() => {
                    Err(anyhow::anyhow!("stopped unexpectedly"))
                }
                other => other,
            };
            if let Err(err) = result {
                error!(part, "{err:#}");
                self.shutdown.cancel();
                first_error.get_or_insert(err.context(format!("the {part} failed")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
