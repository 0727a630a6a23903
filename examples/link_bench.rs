//! The platform-link benchmark for `scripts/bench-link.sh`: the controller (a separate
//! process, the binary given) against the line simulator, a real Mosquitto with
//! persistence and the platform simulator, all started here; the broker is stopped for an
//! outage mid-run and started again on the same port.
//!
//!     link_bench CUSTOMS_EDGE_BINARY OUTAGE_S
//!
//! - Traffic: a parcel every `BENCH_PARCEL_MS` (500) ms on the line from start to end, so
//!   the decisions stream grows before, during and after the outage; the PLC's heartbeat
//!   is published as telemetry with a deadband of 19 (a message every 200 ms of the
//!   simulator's 10 ms ticks), as in the comparison with the ThingsBoard gateway.
//! - `telemetry_p50_ms` / `telemetry_p99_ms`: before the outage (`BENCH_TELEMETRY_S`, 20 s),
//!   from the moment the simulated PLC's heartbeat took a value to the moment a
//!   subscriber of the broker received the telemetry message carrying it (a watcher reads
//!   the simulator's heartbeat every millisecond in this process).
//! - `recover_s`: from the broker accepting connections again to the platform simulator
//!   having applied the last decisions message the controller wrote before that.
//! - `produced`: decisions messages the controller wrote; `delivered`: those the platform
//!   applied (after traffic stops and the outbox drains); `lost` the difference;
//!   `duplicates_applied`: records the platform applied under two sequence numbers;
//!   `reordered`: messages that reached the platform ahead of an earlier one of their
//!   stream (the ledger's gaps, every stream).
//! - `cpu_pct`: the controller's CPU time over the run in % of one core; `rss_mb` its peak
//!   resident set (VmHWM).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use customs_edge_protocol::topics::Topics;
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::parcel::NewParcel;
use customs_edge_simulators::platform::{self, Ledger, RunningPlatform};
use customs_edge_simulators::{RunningSim, SimConfig};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio_util::sync::CancellationToken;

const SITE: &str = "3511W001";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The controller process; killed on drop.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(") ").context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

fn clock_ticks_per_s() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The last decisions message the controller wrote (0 before the first).
fn produced(data: &Path) -> u64 {
    let db = data.join("customs-edge.db");
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        &db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return 0;
    };
    conn.query_row(
        "SELECT next_seq - 1 FROM outbox_streams WHERE stream = 'decisions'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n.max(0) as u64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// When each heartbeat value first appeared in the simulated PLC (the latest time, the
/// counter wraps), read every millisecond.
fn watch_heartbeat(sim: &RunningSim, stop: CancellationToken) -> Arc<Mutex<HashMap<u16, Instant>>> {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let line = sim.site().lines()[0].clone();
    let out = seen.clone();
    std::thread::spawn(move || {
        let mut last = None;
        while !stop.is_cancelled() {
            let beat = line.with(|c, _| c.status().plc_heartbeat);
            if last != Some(beat) {
                out.lock().unwrap().insert(beat, Instant::now());
                last = Some(beat);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    seen
}

/// Telemetry messages as a subscriber of the broker receives them: (heartbeat, when).
fn subscribe_telemetry(
    broker: &Broker,
    stop: CancellationToken,
) -> Arc<Mutex<Vec<(u16, Instant)>>> {
    let received = Arc::new(Mutex::new(Vec::new()));
    let mut options = broker.client_options("link-bench-telemetry");
    options.set_clean_session(true);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let topic = Topics::new("customs-edge", SITE).up("telemetry");
    let out = received.clone();
    // On a thread and runtime of its own, so the time a message is received is not the
    // time the simulators sharing the bench's runtime let this task run.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the telemetry subscriber");
        runtime.block_on(async move {
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => return,
                    e = eventloop.poll() => e,
                };
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.try_subscribe(topic.clone(), QoS::AtMostOnce);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let at = Instant::now();
                        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload) else {
                            continue;
                        };
                        for tag in v["body"]["tags"].as_array().into_iter().flatten() {
                            if tag["tag"] == "plc_heartbeat"
                                && tag["quality"] == "good"
                                && let Some(value) = tag["value"].as_f64()
                            {
                                out.lock().unwrap().push((value as u16, at));
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
    });
    received
}

async fn wait_ledger(
    p: &RunningPlatform,
    what: &str,
    limit: Duration,
    pred: impl Fn(&Ledger) -> bool,
) -> anyhow::Result<Ledger> {
    let deadline = Instant::now() + limit;
    loop {
        let l = p.ledger();
        if pred(&l) {
            return Ok(l);
        }
        if Instant::now() > deadline {
            bail!(
                "link-bench: timed out waiting for {what}: {}",
                l.summary_line()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(binary), Some(outage)) = (args.next(), args.next()) else {
        bail!("usage: link_bench CUSTOMS_EDGE_BINARY OUTAGE_S");
    };
    let outage = Duration::from_secs_f64(outage.parse()?);
    let parcel_every = Duration::from_millis(env_u64("BENCH_PARCEL_MS", 500));
    let telemetry_window = Duration::from_secs(env_u64("BENCH_TELEMETRY_S", 20));
    let work = tempfile::Builder::new().prefix("link-bench-").tempdir()?;
    let data = work.path().join("data");
    let stop = CancellationToken::new();

    let mut broker = Broker::start();
    let mut platform_config = platform::PlatformConfig::new(broker.url(), &[SITE]);
    platform_config.client_id = "link-bench-platform".into();
    let platform = platform::start(platform_config).await?;
    platform.wait_subscribed(Duration::from_secs(30)).await?;
    let sim = customs_edge_simulators::start(SimConfig::default(), stop.clone()).await?;
    let line = &sim.lines[0];

    let config = format!(
        r#"[site]
code = "{SITE}"
[storage]
data_dir = "{data}"
disk.warn_free_pct = 0.0
disk.shed_bulk_free_pct = 0.0
disk.shed_evidence_free_pct = 0.0
[web]
listen = "127.0.0.1:0"
[[lines]]
id = "L1"
plc.address = "{plc}"
plc.poll_interval_ms = 10
[[lines.scanners]]
name = "top"
address = "{scanner}"
[platform]
broker = "{broker}"
stats_interval_s = 0
[[platform.telemetry]]
line = "L1"
tag = "plc_heartbeat"
deadband = 19
max_interval_s = 60
"#,
        data = data.display(),
        plc = line.plc,
        scanner = line.top,
        broker = broker.url(),
    );
    let config_path = work.path().join("site.toml");
    std::fs::write(&config_path, config)?;
    let log = std::fs::File::create(work.path().join("controller.log"))?;
    let controller = Controller(
        Command::new(&binary)
            .args(["run", "--config"])
            .arg(&config_path)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {binary}"))?,
    );
    let pid = controller.0.id();
    let hz = clock_ticks_per_s();
    let cpu0 = cpu_ticks(pid)?;
    let t0 = Instant::now();

    let beats = watch_heartbeat(&sim, stop.clone());
    let telemetry = subscribe_telemetry(&broker, stop.clone());
    // Parcels all along.
    let feeding = CancellationToken::new();
    let feeder = {
        let sim_site = sim.site().clone();
        let feeding = feeding.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            let mut tick = tokio::time::interval(parcel_every);
            loop {
                tokio::select! {
                    () = feeding.cancelled() => return n,
                    _ = tick.tick() => {}
                }
                let parcel: NewParcel =
                    serde_json::from_value(serde_json::json!({ "code": format!("LB{n:010}") }))
                        .expect("a parcel");
                if sim_site.inject(parcel).is_ok() {
                    n += 1;
                }
            }
        })
    };

    // The link up and decisions flowing, then telemetry measured before the outage.
    wait_ledger(
        &platform,
        "decisions to flow",
        Duration::from_secs(120),
        |l| l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 2),
    )
    .await?;
    let window_from = Instant::now();
    tokio::time::sleep(telemetry_window).await;
    let window_to = Instant::now();

    broker.stop();
    eprintln!("link-bench: broker stopped for {outage:?}");
    tokio::time::sleep(outage).await;
    broker.start_again();
    let back = Instant::now();
    let backlog = produced(&data);
    eprintln!("link-bench: broker back; backlog up to decisions seq {backlog}");
    wait_ledger(
        &platform,
        "the backlog to reach the platform",
        Duration::from_secs(600),
        |l| l.last_applied(SITE, "decisions") >= backlog,
    )
    .await?;
    let recover = back.elapsed();

    // A little more traffic after, then everything drained.
    tokio::time::sleep(Duration::from_secs(2)).await;
    feeding.cancel();
    let fed = feeder.await?;
    let report_deadline = Instant::now() + Duration::from_secs(60);
    while !sim.site().all_dropped() && Instant::now() < report_deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let produced_all = produced(&data);
    let ledger = wait_ledger(&platform, "every decision", Duration::from_secs(120), |l| {
        l.last_applied(SITE, "decisions") >= produced_all
    })
    .await?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid)? - cpu0) as f64 / hz / wall * 100.0;
    let rss = peak_rss_mb(pid);
    stop.cancel();

    // Telemetry latency before the outage: heartbeat change -> received from the broker.
    let mut latencies: Vec<f64> = {
        let beats = beats.lock().unwrap();
        telemetry
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| *at >= window_from && *at <= window_to)
            .filter_map(|(value, at)| {
                let changed = beats.get(value)?;
                (changed <= at).then(|| at.duration_since(*changed).as_secs_f64() * 1000.0)
            })
            .collect()
    };
    latencies.sort_by(f64::total_cmp);
    if latencies.is_empty() {
        bail!("link-bench: no telemetry received before the outage");
    }
    let decisions = ledger
        .stream(SITE, "decisions")
        .cloned()
        .unwrap_or_default();
    eprintln!(
        "link-bench: {fed} parcels, {} telemetry samples, ledger: {}",
        latencies.len(),
        ledger.summary_line()
    );
    drop(controller);
    println!(
        "link-bench: outage_s={:.0} produced={produced_all} delivered={} lost={} duplicates_applied={} \
         reordered={} recover_s={:.2} telemetry_p50_ms={:.1} telemetry_p99_ms={:.1} cpu_pct={cpu:.1} rss_mb={rss:.1}",
        outage.as_secs_f64(),
        decisions.applied,
        produced_all.saturating_sub(decisions.applied),
        ledger.totals.applied_twice,
        ledger.totals.gaps,
        recover.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
    );
    sim.stop();
    Ok(())
}
