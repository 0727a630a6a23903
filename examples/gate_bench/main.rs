//! The gate benchmark: `BENCH_LANES` (8) simulated exit lanes at once, each with
//! `BENCH_PER_LANE` (12) trucks, against the controller in this process (release build).
//!
//! Three in four trucks hold an approved permit at their true weight; the others have
//! none, a voided one, one awaiting approval, or one a fifth off their weight. Cameras
//! send three reads per truck (Hikvision with Digest on odd lanes, Dahua with Basic on
//! even ones), one in ten misread and one in twenty a no-read. Latency is the simulator's:
//! from the plate event the controller decided on (the truck's last one sent before the
//! open command) to the barrier open command held in its gate I/O; the weighbridge has
//! settled before the camera fires, so settling is excluded.
//!
//! Every truck with an approved permit carries a load its permit names item by item
//! ([`load`]): one in eight 5,000 waybills in 50 bags, the others 20 in 2; one in six of
//! them a parcel held after it dropped into its bag (an interception), another one in six a
//! waybill that never went through the line. The load check is part of the latency.
//!
//! Prints the report's totals, then one line:
//! `gate-bench: vehicles=N wrong_verdict=N p50_ms=X p99_ms=X custody_escapes=N
//! max_permit_waybills=N`; `custody_escapes` is the gate judge's count of trucks that left
//! carrying held or unsorted goods: each truck is loaded with its bags and waybills, the
//! simulator's custody book knows what each bag holds and which parcels customs held.

mod load;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use customs_edge::config::{self};
use customs_edge::demo::gate_lanes::{controller_lanes, fleet, permits_for, sim_lanes};
use customs_edge::store::Store;
use customs_edge_simulators::custody::Custody;
use customs_edge_simulators::vehicles::{LaneTiming, Tasks, Traffic, TrafficOptions};
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let lanes = env_or("BENCH_LANES", 8) as usize;
    let per_lane = env_or("BENCH_PER_LANE", 12);
    let data = tempfile::Builder::new().prefix("gate-bench-").tempdir()?;
    let shutdown = CancellationToken::new();

    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let password = "bench-camera-secret";
    let timing = LaneTiming {
        barrier_travel_ms: 800,
        settle_ms: 600,
        patience_ms: 5_000,
        to_barrier_ms: 300,
        both_loops_ms: 300,
        clear_ms: 300,
        headway_ms: 300,
        ..LaneTiming::default()
    };
    let setups = sim_lanes(lanes, listen, password, timing);
    let mut fleet = fleet(&setups, per_lane, 0, 2026);
    let mut permits = permits_for(&fleet);
    let sizes = load::Sizes {
        big_every: env_or("BENCH_BIG_EVERY", 8) as usize,
        big_bags: env_or("BENCH_BIG_BAGS", 50) as usize,
        bag_parcels: env_or("BENCH_BAG_PARCELS", 100) as usize,
    };

    let options = TrafficOptions {
        seed: 7,
        generate: None,
        wait_for_controller: true,
    };
    let mut sim_tasks = Tasks::new();
    let (traffic, addrs) = Traffic::start(&setups, &[], &options, &shutdown, &mut sim_tasks)
        .await
        .context("starting the simulated lanes")?;
    // The bench packs its bags off the simulated line: it tells the book what is in them.
    let custody = Custody::new(Vec::new());
    traffic.set_custody(custody.clone());

    let password_file = data.path().join("camera-password");
    std::fs::write(&password_file, password)?;
    let text = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n[web]\nlisten = \"127.0.0.1:0\"\n[plate_events]\nlisten = \"{listen}\"\n",
        data.path().display().to_string()
    );
    let mut config = config::parse(&text, Path::new("gate-bench.toml"))?;
    (config.gates, config.cameras) = controller_lanes(&addrs, &password_file);
    for gate in &mut config.gates {
        // Every approved permit here names its load: check it, as a real site does.
        gate.permit_without_items = customs_edge::config::PermitWithoutItems::Hold;
    }
    let store = Store::open(data.path())?;
    let seeding = Instant::now();
    let loads = load::seed(&store, &custody, &mut fleet, &mut permits, sizes).await?;
    eprintln!(
        "gate-bench: {} parcels in bags, {} trucks with held or unsorted goods, largest permit {} waybills ({:.1} s to seed)",
        loads.parcels,
        loads.dirty.len(),
        loads.max_waybills,
        seeding.elapsed().as_secs_f64()
    );
    store
        .writer
        .write(move |tx| {
            for p in &permits {
                customs_edge::store::downlink::upsert_permit(tx, p, &customs_edge::store::now())?;
            }
            Ok(())
        })
        .await?;
    let controller = customs_edge::daemon::start(config, store, shutdown.clone()).await?;

    let started = Instant::now();
    let total = fleet.len();
    traffic.queue_all(fleet)?;
    let mut last = 0;
    while !traffic.wait_done(Duration::from_secs(5)).await {
        let done = traffic.report().totals.done;
        if done != last {
            eprintln!(
                "gate-bench: {done}/{total} trucks done after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last = done;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the run did not finish in 15 minutes"
        );
    }
    let report = traffic.report();
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), controller.wait()).await;
    let t = &report.totals;
    eprintln!("{}", serde_json::to_string_pretty(t)?);
    for v in report.wrong_verdicts() {
        eprintln!("gate-bench: wrong verdict: {v:?}");
    }
    // Ground truth: the gate judge's trucks that left carrying held or unsorted goods.
    let escapes = t.custody_escapes;
    let ms = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"));
    println!(
        "gate-bench: vehicles={} wrong_verdict={} p50_ms={} p99_ms={} custody_escapes={escapes} max_permit_waybills={}",
        t.vehicles,
        t.wrong_verdict,
        ms(t.latency_ms.p50),
        ms(t.latency_ms.p99),
        loads.max_waybills
    );
    Ok(())
}
