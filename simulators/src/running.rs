//! [`start`] binds every listener of the site, spawns the ticker, the device servers, the
//! X-ray writers, the gate lanes and their vehicles, the HTTP API, the generators and the
//! scenario player, and returns a [`RunningSim`] with the real addresses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use customs_edge_devices::scanner::ScannerCodec;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::{LineSetup, SimConfig};
use crate::conveyor::{Conveyor, ScannerId};
use crate::faults::{FaultRequest, FaultSource};
use crate::line::{Clock, SharedLine, run_ticker};
use crate::parcel::{InjectError, MAX_CODE_BYTES, NewParcel};
use crate::report::Report;
use crate::site::{FaultError, Site, UnknownLine};
use crate::vehicles::{GateLaneAddrs, Traffic};
use crate::{http, plc, scanner, scenario, xray};

type Tasks = JoinSet<(&'static str, anyhow::Result<()>)>;

/// Where one running line's devices are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineAddrs {
    /// Line id.
    pub id: String,
    /// The PLC (Modbus TCP).
    pub plc: SocketAddr,
    /// The top scanner.
    pub top: SocketAddr,
    /// The side scanner.
    pub side: SocketAddr,
    /// The bag-label scanner at the release lane.
    pub bag: SocketAddr,
    /// The X-ray image directory, when the line has an X-ray.
    pub xray_dir: Option<PathBuf>,
}

/// A running site.
#[derive(Debug)]
pub struct RunningSim {
    /// Address of the HTTP API.
    pub http: SocketAddr,
    /// Each line's addresses, in config order.
    pub lines: Vec<LineAddrs>,
    /// Each gate lane's addresses, in config order.
    pub gates: Vec<GateLaneAddrs>,
    site: Site,
    shutdown: CancellationToken,
    tasks: Tasks,
}

async fn bind(addr: SocketAddr, what: String) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for the {what} on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Bind the listeners and start every part of the site; it runs until `shutdown` fires.
pub async fn start(config: SimConfig, shutdown: CancellationToken) -> anyhow::Result<RunningSim> {
    let config = config.resolved();
    let problems = config.problems();
    if !problems.is_empty() {
        bail!("invalid simulator config:\n  - {}", problems.join("\n  - "));
    }
    // A child token: a failing part stops the site without cancelling the caller's token.
    let shutdown = shutdown.child_token();
    let clock = Clock::start();
    let mut tasks = Tasks::new();
    let mut lines = Vec::new();
    let mut addrs = Vec::new();
    for setup in &config.lines {
        let (line, line_addrs) = start_line(setup, &config, clock, &shutdown, &mut tasks).await?;
        lines.push(line);
        addrs.push(line_addrs);
    }
    let (traffic, gates) = if config.gates.is_empty() {
        (None, Vec::new())
    } else {
        let (traffic, gates) = Traffic::start(
            &config.gates,
            &config.vehicles,
            &config.traffic,
            &shutdown,
            &mut tasks,
        )
        .await?;
        (Some(traffic), gates)
    };
    let (http_listener, http) = bind(config.http_listen, "HTTP API".to_owned()).await?;
    let site = Site::with_traffic(lines.clone(), traffic, shutdown.clone());

    let (l, s, tick) = (lines.clone(), shutdown.clone(), config.tick);
    tasks.spawn(async move {
        run_ticker(l, tick, s).await;
        ("ticker", Ok(()))
    });
    let (site2, s) = (site.clone(), shutdown.clone());
    tasks.spawn(async move {
        let result = http::run(http_listener, site2, s).await;
        ("HTTP API", result.map_err(Into::into))
    });
    spawn_drivers(&config, &site, &shutdown, &mut tasks);
    for a in &addrs {
        info!(line = a.id, plc = %a.plc, top = %a.top, side = %a.side, xray_dir = ?a.xray_dir,
            "line started");
    }
    for g in &gates {
        info!(gate = g.id, io = %g.io, weighbridge = ?g.weighbridge, camera = ?g.camera_url,
            "gate lane started");
    }
    info!(%http, lines = addrs.len(), gates = gates.len(), "simulated site started");
    Ok(RunningSim {
        http,
        lines: addrs,
        gates,
        site,
        shutdown,
        tasks,
    })
}

/// Bind one line's PLC and scanners, make its X-ray directory, spawn its servers.
async fn start_line(
    setup: &LineSetup,
    config: &SimConfig,
    clock: Clock,
    shutdown: &CancellationToken,
    tasks: &mut Tasks,
) -> anyhow::Result<(SharedLine, LineAddrs)> {
    let id = &setup.id;
    let (plc_listener, plc) = bind(setup.plc_listen, format!("{id} PLC")).await?;
    let (top_listener, top) = bind(setup.top_listen, format!("{id} top scanner")).await?;
    let (side_listener, side) = bind(setup.side_listen, format!("{id} side scanner")).await?;
    let (bag_listener, bag) = bind(setup.bag_listen, format!("{id} bag-label scanner")).await?;
    let xray = match &config.xray_root {
        Some(root) => {
            let dir = root.join(id);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the X-ray directory {}", dir.display()))?;
            let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
            Some((dir, jobs_tx, jobs_rx))
        }
        None => None,
    };
    let conveyor = Conveyor::new(id.clone(), setup.line, clock.epoch(), xray.is_some());
    let line = SharedLine::new(
        conveyor,
        clock,
        xray.as_ref().map(|(dir, tx, _)| (dir.clone(), tx.clone())),
    );
    if let Some((dir, _, jobs)) = xray {
        let (l, s, image) = (line.clone(), shutdown.clone(), config.xray_image);
        tasks.spawn(async move {
            xray::run(l, dir, image, jobs, s).await;
            ("X-ray writer", Ok(()))
        });
    }
    let (l, s, map) = (line.clone(), shutdown.clone(), setup.map);
    tasks.spawn(async move {
        let result = plc::run(plc_listener, l, map, s).await;
        ("PLC", result.map_err(Into::into))
    });
    let codec = ScannerCodec::new(setup.framing, setup.no_read.clone(), MAX_CODE_BYTES);
    for (listener, which) in [
        (top_listener, ScannerId::Top),
        (side_listener, ScannerId::Side),
        (bag_listener, ScannerId::Bag),
    ] {
        let (l, s, codec) = (line.clone(), shutdown.clone(), codec.clone());
        tasks.spawn(async move {
            let result = scanner::run(listener, codec, which, l, s).await;
            ("scanner", result.map_err(Into::into))
        });
    }
    let addrs = LineAddrs {
        id: id.clone(),
        plc,
        top,
        side,
        bag,
        xray_dir: line.xray_dir().cloned(),
    };
    Ok((line, addrs))
}

/// Spawn the generators and the scenario player; when the bounded ones are all done, the
/// site is finished.
fn spawn_drivers(config: &SimConfig, site: &Site, shutdown: &CancellationToken, tasks: &mut Tasks) {
    let mut bounded = JoinSet::new();
    if let Some(generator) = &config.generator {
        let n = site.lines().len();
        for (i, line) in site.lines().iter().enumerate() {
            let run = generator
                .clone()
                .run(site.clone(), line.clone(), (i, n), shutdown.clone());
            if generator.duration.is_some() {
                bounded.spawn(run);
            } else {
                tasks.spawn(async move {
                    run.await;
                    ("generator", Ok(()))
                });
            }
        }
    }
    if let Some(s) = &config.scenario {
        bounded.spawn(scenario::run::run(
            s.clone(),
            site.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(traffic) = site.traffic().filter(|_| {
        !config.vehicles.is_empty()
            || config
                .traffic
                .generate
                .as_ref()
                .is_some_and(|g| g.per_lane > 0)
    }) {
        let (traffic, shutdown) = (traffic.clone(), shutdown.clone());
        // A scenario's hard end also ends the traffic.
        let end = config.scenario.as_ref().and_then(|s| s.duration_ms);
        bounded.spawn(async move {
            let done = async {
                match end {
                    Some(ms) => {
                        let _ =
                            tokio::time::timeout(Duration::from_millis(ms), traffic.done()).await;
                    }
                    None => traffic.done().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = done => {}
            }
        });
    }
    if bounded.is_empty() {
        return;
    }
    let (site, shutdown) = (site.clone(), shutdown.clone());
    tasks.spawn(async move {
        while let Some(done) = bounded.join_next().await {
            if let Err(err) = done {
                return ("scenario", Err(anyhow::anyhow!("panicked: {err}")));
            }
        }
        if !shutdown.is_cancelled() {
            site.finish();
        }
        shutdown.cancelled().await;
        ("scenario", Ok(()))
    });
}

impl RunningSim {
    /// The line with this id.
    pub fn line(&self, id: &str) -> Option<&LineAddrs> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// Put a parcel in its line's feeder (as `POST /parcels` does); returns its sim id.
    pub fn inject(&self, parcel: NewParcel) -> Result<u64, InjectError> {
        self.site.inject(parcel).map(|(id, _)| id)
    }

    /// Start a fault now (as `POST /faults` does); returns the lines it hit.
    pub fn fault(&self, request: &FaultRequest) -> Result<Vec<String>, FaultError> {
        self.site.fault(request, FaultSource::Api)
    }

    /// The ground truth so far (as `GET /report` serves it).
    pub fn report(&self) -> Report {
        self.site
            .report(None, true)
            .expect("the whole site always exists")
    }

    /// The ground truth of one line (as `GET /report?line=ID` serves it).
    pub fn line_report(&self, id: &str) -> Result<Report, UnknownLine> {
        self.site.report(Some(id), true)
    }

    /// The gate lanes' traffic (queue vehicles, wait, the gate report), when the site has
    /// gates.
    pub fn traffic(&self) -> Option<&Traffic> {
        self.site.traffic()
    }

    /// A handle to the site itself.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Resolves when the scenario, or the bounded load run, is over (never without one).
    pub async fn finished(&self) {
        self.site.finished().cancelled().await;
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

    /// Stop the site, wait for it, and return the final ground truth.
    pub async fn finish(self, drain: Duration) -> anyhow::Result<Report> {
        let site = self.site.clone();
        self.stop();
        tokio::time::timeout(drain, self.wait())
            .await
            .unwrap_or_else(|_| {
                tracing::warn!(after = ?drain, "parts still running; reporting anyway");
                Ok(())
            })?;
        Ok(site
            .report(None, true)
            .expect("the whole site always exists"))
    }
}
