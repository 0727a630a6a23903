//! `edge-sim`: run the simulated sorting line (PLC, scanner, HTTP API) until Ctrl-C/SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::Framing;
use customs_edge_simulators::conveyor::LineConfig;
use customs_edge_simulators::{GeneratorConfig, SimConfig};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

/// How long the parts get to stop after Ctrl-C/SIGTERM.
const DRAIN: Duration = Duration::from_secs(5);

/// Simulated sorting line of the customs site: a Modbus TCP line PLC, a TCP barcode
/// scanner and an HTTP API to inject parcels and read the ground truth.
///
/// Parcels go into a feeder, onto the belt at the entry photo-eye (the PLC gives each a
/// tracking number), past the scanner (which sends the code, or the no-read string), and
/// into the lane the controller wrote for its tracking number before it reached the
/// diverter, or else into the exception lane.
///
/// Inject a parcel: curl -d '{"code":"SF123","length_mm":400}' http://127.0.0.1:5080/parcels
/// Ground truth:    curl http://127.0.0.1:5080/report
///
/// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) for more detail.
#[derive(Debug, Parser)]
#[command(name = "edge-sim", version, verbatim_doc_comment)]
struct Args {
    /// Address the PLC serves Modbus TCP on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5020")]
    plc: SocketAddr,

    /// Address the scanner streams codes on (any number of TCP clients).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5021")]
    scanner: SocketAddr,

    /// Address of the HTTP API (POST /parcels, GET /report, GET /healthz).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5080")]
    http: SocketAddr,

    /// Modbus unit id the PLC answers to; other unit ids get exception 0x0B.
    #[arg(long, default_value_t = 1)]
    unit_id: u8,

    /// First holding register of the 40-word status block (read with FC03).
    #[arg(long, default_value_t = 0)]
    status_base: u16,

    /// First holding register of the 3-word command block (heartbeat, tracking, lane).
    #[arg(long, default_value_t = 100)]
    command_base: u16,

    /// Belt speed in mm/s.
    #[arg(long, value_name = "MM_S", default_value_t = 500)]
    belt_speed: u16,

    /// Scanner position in mm after the entry photo-eye.
    #[arg(long, value_name = "MM", default_value_t = 600)]
    scanner_at: u32,

    /// Diverter position in mm after the entry photo-eye. The controller's lane command
    /// must arrive before the parcel gets here: (diverter-at / belt-speed) s after entry.
    #[arg(long, value_name = "MM", default_value_t = 3000)]
    diverter_at: u32,

    /// Free belt the feeder leaves between two parcels, in mm.
    #[arg(long, value_name = "MM", default_value_t = 300)]
    gap: u32,

    /// Number of lanes; valid lane commands are 1..=LANES, others get exception 0x03.
    #[arg(long, default_value_t = 3)]
    lanes: u16,

    /// Lane a parcel falls into when no valid command came in time (the PLC default).
    #[arg(long, value_name = "LANE", default_value_t = 3)]
    exception_lane: u16,

    /// How the scanner frames each code on the wire.
    #[arg(long, value_enum, default_value_t = FramingArg::StxEtx)]
    framing: FramingArg,

    /// What the scanner sends for an unreadable label.
    #[arg(long, value_name = "TEXT", default_value = "NoRead")]
    no_read: String,

    /// PLC scan cycle in ms: how often the line advances.
    #[arg(long, value_name = "MS", default_value_t = 10)]
    tick_ms: u64,

    /// Inject a random parcel every N ms (0 = off; inject over HTTP instead).
    #[arg(long, value_name = "N", default_value_t = 0)]
    generate_every_ms: u64,

    /// Waybill codes for the generator, one per line (blank lines and lines starting with
    /// '#' are skipped). Without it the generator makes up SF + 12-digit codes.
    #[arg(long, value_name = "FILE")]
    codes: Option<PathBuf>,

    /// Share of generated parcels with an unreadable label, 0.0 to 1.0.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    no_read_rate: f64,

    /// Hold the generator's first parcel until a controller is connected to both the PLC
    /// and the scanner.
    #[arg(long)]
    wait_for_clients: bool,
}

/// Scanner framing on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FramingArg {
    /// STX (0x02) code ETX (0x03).
    StxEtx,
    /// code CR LF.
    CrLf,
}

impl Args {
    fn into_config(self) -> anyhow::Result<SimConfig> {
        let generator = if self.generate_every_ms == 0 {
            None
        } else {
            let codes = match &self.codes {
                Some(path) => read_codes(path)?,
                None => Vec::new(),
            };
            Some(GeneratorConfig {
                every: Duration::from_millis(self.generate_every_ms),
                codes,
                no_read_rate: self.no_read_rate,
                wait_for_clients: self.wait_for_clients,
            })
        };
        if generator.is_none() && self.codes.is_some() {
            warn!("--codes has no effect without --generate-every-ms");
        }
        Ok(SimConfig {
            plc_listen: self.plc,
            scanner_listen: self.scanner,
            http_listen: self.http,
            map: RegisterMap {
                unit_id: self.unit_id,
                status_base: self.status_base,
                command_base: self.command_base,
            },
            line: LineConfig {
                belt_speed_mm_s: self.belt_speed,
                scanner_at_mm: self.scanner_at,
                diverter_at_mm: self.diverter_at,
                lanes: self.lanes,
                exception_lane: self.exception_lane,
                gap_mm: self.gap,
            },
            framing: match self.framing {
                FramingArg::StxEtx => Framing::StxEtx,
                FramingArg::CrLf => Framing::CrLf,
            },
            no_read: self.no_read,
            tick: Duration::from_millis(self.tick_ms),
            generator,
        })
    }
}

fn read_codes(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the codes file {}", path.display()))?;
    let codes: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(
        !codes.is_empty(),
        "the codes file {} has no codes",
        path.display()
    );
    Ok(codes)
}

/// Cancel `shutdown` on the first Ctrl-C or SIGTERM.
async fn signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    info!("stopping");
    shutdown.cancel();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = Args::parse().into_config()?;
    let shutdown = CancellationToken::new();
    let sim = customs_edge_simulators::start(config, shutdown.clone()).await?;
    println!("PLC (Modbus TCP)  {}", sim.plc);
    println!("scanner (TCP)     {}", sim.scanner);
    println!("HTTP API          http://{}", sim.http);
    let watcher = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(err) = signals(shutdown).await {
                warn!("{err:#}; stop with SIGKILL");
            }
        }
    });
    let wait = sim.wait();
    tokio::pin!(wait);
    let result = tokio::select! {
        result = &mut wait => result,
        () = shutdown.cancelled() => {
            let drained = tokio::time::timeout(DRAIN, &mut wait).await;
            drained.unwrap_or_else(|_| {
                warn!(after = ?DRAIN, "parts still running; exiting anyway");
                Ok(())
            })
        }
    };
    watcher.abort();
    result
}
