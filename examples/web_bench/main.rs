//! The console benchmark (release build): the real router (`customs_edge::web::router`)
//! served on loopback exactly as the daemon serves it, over a real SQLite store seeded with
//! `BENCH_PARCELS` (50,000) parcels, their declaration lists, scans, weighings, X-ray views,
//! decisions (by the real `decide`) and drops, with `BENCH_GATES` (2) idle gate lanes
//! polling their simulated gate I/O and weighbridge.
//!
//! Every client logs in over HTTP like a browser (session cookie + CSRF token), each from
//! its own loopback address (127.0.2.x for live consoles, 127.0.1.x for API sessions), so
//! the per-address login limit holds as on a real site. Each round runs three phases:
//!
//! 1. **events**: `BENCH_SSE_CLIENTS` (50) consoles read `GET /api/events`; the bench
//!    publishes `BENCH_EVENTS_PER_S` (200) parcel views a second for `BENCH_EVENT_SECONDS`
//!    (30) into `AppState.events`, from the server's runtime as the line task does. Each
//!    view's id maps to the instant it was sent; each console records receipt − send for
//!    every event it gets. Lost: events a console never got; `resync`: the server told a
//!    lagging console to reload.
//! 2. **api**: open-loop GETs at `BENCH_API_RPS` (500) a second for `BENCH_API_SECONDS`
//!    (20), spread round-robin over the console's GETs that answer on this build
//!    (`BENCH_API_SKIP=/api/stats,...` leaves some out). Each request is sent at its
//!    planned instant whatever the others do, and timed from that instant to the last
//!    byte of its body, so queueing shows (no coordinated omission).
//! 3. **together**: phase 1 with phase 2 running in its middle.
//!
//! Before each phase the bench waits for the server to be idle. `ROUNDS` (3) rounds;
//! medians are printed, and the last line is the together phase's (event_p99_ms over the
//! events sent while the API load ran; api_rps counts 2xx answers a second):
//! `web-bench: sse_clients=50 events_per_s=200 event_p99_ms=X api_rps=X api_p99_ms=X`.
//!
//! The server runs on a runtime of its own with 2 worker threads (plus its blocking pool,
//! the store's writer and checkpoint threads); the load generator and the simulated gate
//! devices on another with 1 worker thread. Threads are not pinned: the OS shares the
//! machine's cores, and each phase prints the CPU each side used.

mod api;
mod cpu;
mod live;
mod seed;
mod server;
#[path = "../common/sse.rs"]
mod sse;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiFigures, api_load, targets};
use crate::cpu::{Cpu, CpuUsed, cpu_model, loadavg};
use crate::live::{EventFigures, live};
use crate::seed::Consoles;
use crate::server::start_server;

/// Ids of published events start here, far above the seeded parcels'.
const EVENT_ID_BASE: i64 = 1_000_000_000;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The load, from the environment.
#[derive(Clone, Copy, Debug)]
struct Load {
    parcels: usize,
    gates: usize,
    clients: usize,
    events_per_s: u64,
    event_s: u64,
    api_rps: u64,
    api_s: u64,
    rounds: usize,
}

impl Load {
    fn from_env() -> Self {
        Self {
            parcels: env_or("BENCH_PARCELS", 50_000) as usize,
            gates: env_or("BENCH_GATES", 2) as usize,
            clients: env_or("BENCH_SSE_CLIENTS", 50).clamp(1, 250) as usize,
            events_per_s: env_or("BENCH_EVENTS_PER_S", 200).max(1),
            event_s: env_or("BENCH_EVENT_SECONDS", 30).max(1),
            api_rps: env_or("BENCH_API_RPS", 500).max(1),
            api_s: env_or("BENCH_API_SECONDS", 20).max(1),
            rounds: env_or("ROUNDS", 3).max(1) as usize,
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()?;
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        // Load threads must outlive the run: their CPU is read per thread (see `Cpu`).
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!(
        "web-bench: machine: {cores} cores ({}), {}",
        cpu_model(),
        loadavg()
    );
    eprintln!(
        "web-bench: cores split: server runtime 2 worker threads + its blocking pool + store writer/checkpoint \
         threads; load generator and simulated gate devices 1 worker thread on their own runtime; \
         not pinned, the OS shares the {cores} cores"
    );
    let result = load.block_on(run(Load::from_env(), server.handle().clone()));
    eprintln!("web-bench: machine after: {}", loadavg());
    load.shutdown_timeout(Duration::from_secs(5));
    server.shutdown_timeout(Duration::from_secs(5));
    let line = result?;
    println!("{line}");
    Ok(())
}

async fn run(load: Load, server_rt: tokio::runtime::Handle) -> anyhow::Result<String> {
    let shutdown = CancellationToken::new();
    // The gate devices are on this (the load) runtime: on a site they are other boxes.
    let plate_listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let setups = customs_edge::demo::gate_lanes::sim_lanes(
        load.gates,
        plate_listen,
        "bench-camera-secret",
        customs_edge_simulators::vehicles::LaneTiming::default(),
    );
    let mut sim_tasks = customs_edge_simulators::vehicles::Tasks::new();
    let (_traffic, addrs) = customs_edge_simulators::vehicles::Traffic::start(
        &setups,
        &[],
        &customs_edge_simulators::vehicles::TrafficOptions::default(),
        &shutdown,
        &mut sim_tasks,
    )
    .await
    .context("starting the simulated gate devices")?;

    let t = Instant::now();
    let (token, rt) = (shutdown.clone(), server_rt.clone());
    let server = server_rt
        .spawn(async move { start_server(load, plate_listen, &addrs, token, rt).await })
        .await??;
    eprintln!(
        "web-bench: server on {} with {} parcels seeded in {:.1} s, {} gate lanes",
        server.web,
        load.parcels,
        t.elapsed().as_secs_f64(),
        load.gates
    );
    let consoles = Consoles::log_in(server.web, load.clients).await?;
    let targets = targets(server.web, &consoles.api[0], load.parcels).await;
    eprintln!(
        "web-bench: API mix: {}",
        targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut rounds = Vec::new();
    for round in 0..load.rounds {
        eprintln!("web-bench: round {} of {}", round + 1, load.rounds);
        let id_base = EVENT_ID_BASE + (round as i64) * 10_000_000;
        settle().await;
        let events = live(&load, &server, &consoles, &[], id_base).await?;
        report("events   ", Some(&events.0), None, &events.2);
        settle().await;
        let cpu = Cpu::watch();
        let api = api_load(&load, &consoles, &targets).await;
        report("api      ", None, Some(&api), &cpu.since());
        settle().await;
        let both = live(&load, &server, &consoles, &targets, id_base + 5_000_000).await?;
        report("together ", Some(&both.0), both.1.as_ref(), &both.2);
        rounds.push((events.0, api, both.0, both.1.context("api figures")?));
    }
    server.shutdown.cancel();
    shutdown.cancel();

    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    eprintln!("web-bench: medians of {} rounds:", rounds.len());
    eprintln!(
        "web-bench:   events alone: p50_ms={:.1} p99_ms={:.1} lost={} resync={}",
        med(&|r| r.0.p50_ms),
        med(&|r| r.0.p99_ms),
        med(&|r| r.0.lost as f64),
        med(&|r| r.0.resyncs as f64)
    );
    eprintln!(
        "web-bench:   api alone:    rps={:.0} p50_ms={:.1} p99_ms={:.1} errors={}",
        med(&|r| r.1.rps),
        med(&|r| r.1.p50_ms),
        med(&|r| r.1.p99_ms),
        med(&|r| r.1.errors as f64)
    );
    eprintln!(
        "web-bench:   together:     event p50_ms={:.1} p99_ms={:.1} p99_ms_while_api={:.1} lost={} resync={}; api rps={:.0} p50_ms={:.1} p99_ms={:.1} errors={}",
        med(&|r| r.2.p50_ms),
        med(&|r| r.2.p99_ms),
        med(&|r| r.2.under_api_p99_ms),
        med(&|r| r.2.lost as f64),
        med(&|r| r.2.resyncs as f64),
        med(&|r| r.3.rps),
        med(&|r| r.3.p50_ms),
        med(&|r| r.3.p99_ms),
        med(&|r| r.3.errors as f64)
    );
    Ok(format!(
        "web-bench: sse_clients={} events_per_s={} event_p99_ms={:.1} api_rps={:.0} api_p99_ms={:.1}",
        load.clients,
        load.events_per_s,
        med(&|r| r.2.under_api_p99_ms),
        med(&|r| r.3.rps),
        med(&|r| r.3.p99_ms)
    ))
}

/// Wait (up to 60 s) until the server is idle: work left from a phase (reads of requests
/// that timed out finish on blocking threads) must not count in the next.
async fn settle() {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let cpu = Cpu::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        if cpu.since().server_pct < 25.0 {
            return;
        }
    }
    eprintln!("web-bench: the server is still busy after 60 s; going on");
}

/// One round's figures: events alone, API alone, and both together.
type Round = (EventFigures, ApiFigures, EventFigures, ApiFigures);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

/// The `q` quantile (nearest rank) of sorted µs values, in ms.
fn pct(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

fn report(phase: &str, ev: Option<&EventFigures>, api: Option<&ApiFigures>, cpu: &CpuUsed) {
    if let Some(e) = ev {
        eprintln!(
            "web-bench:   {phase} events={} per_s={:.1} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} p99_ms_while_api={:.1} lost={} resync={} failed_consoles={}",
            e.published,
            e.per_s,
            e.p50_ms,
            e.p99_ms,
            e.max_ms,
            e.under_api_p99_ms,
            e.lost,
            e.resyncs,
            e.failed_clients
        );
    }
    if let Some(a) = api {
        eprintln!(
            "web-bench:   {phase} requests={} rps={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.1} errors={} generator_lag_p99_ms={:.2}",
            a.sent, a.rps, a.p50_ms, a.p99_ms, a.max_ms, a.errors, a.lag_p99_ms
        );
        let each: Vec<String> = a
            .per_target
            .iter()
            .map(|(name, p50, p99, e)| {
                format!(
                    "{name} {p50:.2}/{p99:.2}{}",
                    if *e > 0 {
                        format!(" ({e} errors)")
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        eprintln!("web-bench:     p50/p99 ms by GET: {}", each.join(", "));
        for e in &a.first_errors {
            eprintln!("web-bench:     error: {e}");
        }
    }
    eprintln!(
        "web-bench:     cpu % of one core: server {:.0}, load generator {:.0}; process threads at most {}; {}",
        cpu.server_pct,
        cpu.load_pct,
        cpu.threads_peak,
        loadavg()
    );
}
