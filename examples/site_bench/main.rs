//! The site benchmark: the whole site on one box at once, for sizing. Against the release
//! controller (`customs-edge run`, a child process, so its CPU and memory are its own):
//!
//! - `BENCH_LINES` (10) sorting lines at `BENCH_RATE` (2) parcels/s each on belts at
//!   `BENCH_BELT_MM_S` (2000) mm/s, every parcel with a released declaration list at its
//!   true weight (expected: the release lane);
//! - `BENCH_GATES` (8) exit lanes with a truck every `BENCH_TRUCK_EVERY_S` (20) s each,
//!   three in four entitled, misreads and no-reads among the plate reads;
//! - `BENCH_CAMERAS` (16) ONVIF cameras at 1280x720, 10 fps MJPEG behind Digest, captured
//!   and burned into evidence at the lines' decision points and the gate lanes;
//! - `BENCH_CONSOLES` (50) live consoles logged in, each reading `/api/events`;
//! - the platform link draining a `BENCH_BACKLOG` (1,000,000) message outbox and ingesting
//!   `BENCH_LISTS` (1,000,000) declaration lists, through a Mosquitto of its own;
//!
//! for `BENCH_SECONDS` (600) of parcels. The simulators run in this process on the same
//! box. Prints progress to stderr and ends with one line:
//!
//! `site-bench: lines= gates= cameras= consoles= wrong_lane= wrong_verdict= line_p99_ms=
//! gate_p99_ms= event_p99_ms= drain_msgs_per_s= cpu_pct= rss_mb= disk_mb_per_hour=`
//! plus `parcels= missed= trucks= events= lost_events= drained= lists_in= ingest_rows_per_s=`.
//!
//! - wrong_lane / missed: the line simulator's ground truth (lane fallen into, no command);
//!   wrong_verdict: the gate simulator's (a barrier that opened for a truck not entitled,
//!   or stayed shut for one that was);
//! - line_p99_ms: last input to the lane command held in the PLC; gate_p99_ms: the plate
//!   event decided on to the open command held in the gate I/O (both the simulators');
//! - event_p99_ms: a parcel's decision time (as the controller stamped it) to its event
//!   arriving at a console, over every console;
//! - drain_msgs_per_s: the platform simulator's rate of applying the backlog;
//! - cpu_pct, rss_mb: the controller process's CPU time over the run in % of one core,
//!   its peak resident set (VmHWM);
//! - disk_mb_per_hour: growth of the data directory per hour once the backlog drained and
//!   the lists were in (records, evidence, their indexes).
//!
//!     cargo run --release --features demo --example site_bench -- target/release/customs-edge

mod consoles;
mod controller;
mod site;

#[path = "../common/backlog.rs"]
mod backlog;
#[allow(dead_code)] // the consoles' logins; the web benchmark's seeding is not used here
#[path = "../web_bench/seed.rs"]
mod seed;
#[path = "../common/sse.rs"]
mod sse;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use customs_edge::store::Store;
use customs_edge_simulators::vehicles::GateReport;

use crate::controller::Controller;

/// What the site runs, from the environment.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) lines: usize,
    pub(crate) rate_per_s: f64,
    pub(crate) gates: usize,
    pub(crate) truck_every_s: u64,
    pub(crate) cameras: usize,
    pub(crate) consoles: usize,
    pub(crate) backlog: u64,
    pub(crate) lists: u64,
    pub(crate) seconds: u64,
    /// The belts' speed: how much time a decision has before the diverter.
    pub(crate) belt_mm_s: u16,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Load {
    fn from_env() -> Self {
        Self {
            lines: env_or("BENCH_LINES", 10),
            rate_per_s: env_or("BENCH_RATE", 2.0),
            gates: env_or("BENCH_GATES", 8),
            truck_every_s: env_or("BENCH_TRUCK_EVERY_S", 20),
            cameras: env_or("BENCH_CAMERAS", 16),
            consoles: env_or("BENCH_CONSOLES", 50),
            backlog: env_or("BENCH_BACKLOG", 1_000_000),
            lists: env_or("BENCH_LISTS", 1_000_000),
            seconds: env_or("BENCH_SECONDS", 600),
            belt_mm_s: env_or("BENCH_BELT_MM_S", 2000),
        }
    }

    /// Parcels the lines are fed over the run.
    fn parcels(&self) -> u64 {
        (self.lines as f64 * self.rate_per_s * self.seconds as f64).ceil() as u64
    }
}

/// The site code every part agrees on.
pub(crate) const SITE: &str = "3511W001";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let bin: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: site_bench PATH_TO_customs-edge")?
        .into();
    let load = Load::from_env();
    eprintln!("site-bench: {load:?}");
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    let work = tempfile::Builder::new()
        .prefix("site-bench-")
        .tempdir()?
        .keep();
    let data = work.join("data");

    // The data a site has on the morning of the run: the lists of today's parcels, the
    // trucks' exit permits, and an outbox that built up while the link was down.
    let prepared = Instant::now();
    let store = Store::open(&data)?;
    backlog::fill(&store, load.backlog).await?;
    let sim = site::start(&load, &work).await?;
    sim.seed(&store, load.parcels()).await?;
    drop(store);
    eprintln!(
        "site-bench: data ready in {:.0} s ({} backlog messages)",
        prepared.elapsed().as_secs_f64(),
        load.backlog
    );

    let config = sim.controller_config(&load, &data)?;
    let config_path = work.join("site.toml");
    std::fs::write(&config_path, config)?;
    let controller = Controller::start(&bin, &config_path, &work.join("controller.log")).await?;
    sim.queue_trucks()?;
    let web = controller.web;
    let live = consoles::Live::start(web, load.consoles).await?;
    let cpu0 = controller.cpu_ticks()?;
    let t0 = Instant::now();
    let ingest = sim.ingest(load.lists);

    // The run: progress every 30 s until the lines are fed and every parcel and truck is
    // through; the data directory's size once the link's bulk work is done.
    let mut steady: Option<(Instant, u64)> = None;
    let mut ingest_rows_per_s = f64::NAN;
    let mut next_report = t0 + Duration::from_secs(30);
    let limit = t0 + Duration::from_secs(load.seconds * 2 + 600);
    let (drained, ingested) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let drained = sim.drained();
        let ingested = live.applied_lists().await.unwrap_or(0);
        // From the first list published (at t0) to the last one stored.
        if ingested >= load.lists && ingest_rows_per_s.is_nan() {
            ingest_rows_per_s = ingested as f64 / t0.elapsed().as_secs_f64();
        }
        let bulk_done = drained >= load.backlog && ingested >= load.lists;
        if bulk_done && steady.is_none() {
            steady = Some((Instant::now(), dir_bytes(&data)));
        }
        let done = sim.finished() && bulk_done;
        if Instant::now() >= next_report || done {
            next_report += Duration::from_secs(30);
            eprintln!(
                "site-bench: {:.0} s: {} parcels sorted, {} trucks done, {drained}/{} drained, \
                 {ingested}/{} lists in, controller {:.0} % CPU",
                t0.elapsed().as_secs_f64(),
                sim.parcels_dropped(),
                sim.trucks_done(),
                load.backlog,
                load.lists,
                controller.cpu_pct_since(cpu0, t0)?,
            );
        }
        if done {
            break (drained, ingested);
        }
        anyhow::ensure!(
            Instant::now() < limit,
            "the run did not finish in {} s",
            limit.duration_since(t0).as_secs()
        );
    };
    let wall = t0.elapsed();
    let cpu_pct = controller.cpu_pct_since(cpu0, t0)?;
    let rss_mb = controller.peak_rss_mb()?;
    let disk_mb_per_hour = steady.map_or(f64::NAN, |(at, bytes)| {
        let grew = dir_bytes(&data).saturating_sub(bytes) as f64 / 1e6;
        grew / at.elapsed().as_secs_f64() * 3600.0
    });
    let events = live.stop().await;
    ingest.await.context("the ingest task")??;
    controller.stop().await;

    let lines = sim.line_report();
    let gates = sim.gate_report();
    for v in gates.iter().flat_map(GateReport::wrong_verdicts) {
        eprintln!("site-bench: wrong verdict: {v:?}");
    }
    for failure in &events.failures {
        eprintln!("site-bench: a console failed: {failure}");
    }
    let ms = |x: Option<f64>| x.map_or_else(|| "NA".to_owned(), |v| format!("{v:.1}"));
    eprintln!("site-bench: run took {:.0} s", wall.as_secs_f64());
    println!(
        "site-bench: lines={} gates={} cameras={} consoles={} wrong_lane={} wrong_verdict={} \
         line_p99_ms={} gate_p99_ms={} event_p99_ms={} drain_msgs_per_s={:.0} cpu_pct={cpu_pct:.1} \
         rss_mb={rss_mb:.1} disk_mb_per_hour={disk_mb_per_hour:.1} parcels={} missed={} trucks={} \
         events={} lost_events={} drained={drained} lists_in={ingested} ingest_rows_per_s={ingest_rows_per_s:.0}",
        load.lines,
        load.gates,
        load.cameras,
        load.consoles,
        lines.summary.wrong_lane,
        gates.as_ref().map_or(0, |g| g.totals.wrong_verdict),
        ms(lines.summary.latency_ms.p99),
        ms(gates.as_ref().and_then(|g| g.totals.latency_ms.p99)),
        ms(events.p99_ms),
        sim.drain_rate(),
        lines.summary.dropped,
        lines.summary.missed,
        gates.as_ref().map_or(0, |g| g.totals.done),
        events.received,
        events.lost,
    );
    sim.stop().await;
    if keep {
        eprintln!("site-bench: kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
