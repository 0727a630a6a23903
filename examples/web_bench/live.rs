//! The live consoles: parcel events published into the server as the line task does,
//! read on `GET /api/events` by every console, and their latency, losses and resyncs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use customs_edge::store::parcels::ParcelView;
use customs_edge::store::timestamp;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiFigures, Target, api_load};
use crate::cpu::{Cpu, CpuUsed};
use crate::seed::Consoles;
use crate::server::Server;
use crate::{Load, pct};

/// When each event was sent, by its sequence number (ns after `epoch`, 0 = not yet).
struct SentLog {
    epoch: Instant,
    at: Vec<AtomicU64>,
}

impl SentLog {
    fn new(n: usize) -> Self {
        Self {
            epoch: Instant::now(),
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn ns(&self, t: Instant) -> u64 {
        (t - self.epoch).as_nanos() as u64 + 1
    }
}

/// What one live console saw.
#[derive(Default)]
struct ConsoleResult {
    /// (sent, in ns after the log's epoch; latency in µs) of every event received.
    latencies: Vec<(u64, u64)>,
    received: usize,
    resyncs: u64,
    error: Option<String>,
}

/// Events figures of one phase.
#[derive(Clone, Debug, Default)]
pub(super) struct EventFigures {
    pub(super) published: usize,
    pub(super) per_s: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    /// p99 of the events sent while the API load ran (NaN without it).
    pub(super) under_api_p99_ms: f64,
    pub(super) lost: u64,
    pub(super) resyncs: u64,
    pub(super) failed_clients: usize,
}

/// A live phase: consoles connect, events are published (with the API load in the middle
/// when `targets` is not empty), then every console's stream is read to the end.
pub(super) async fn live(
    load: &Load,
    server: &Server,
    consoles: &Consoles,
    targets: &[Target],
    id_base: i64,
) -> anyhow::Result<(EventFigures, Option<ApiFigures>, CpuUsed)> {
    let count = (load.events_per_s * load.event_s) as usize;
    let sent = Arc::new(SentLog::new(count));
    let got = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let before = server.events.receiver_count();
    let mut clients = JoinSet::new();
    for client in &consoles.live {
        let url = format!("http://{}/api/events", consoles.web);
        let (client, sent, got, stop) = (client.clone(), sent.clone(), got.clone(), stop.clone());
        clients.spawn(watch(client, url, sent, got, stop, id_base));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.events.receiver_count() < before + consoles.live.len() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "live consoles did not all connect ({} of {})",
            server.events.receiver_count() - before,
            consoles.live.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = Cpu::watch();
    let (events, log) = (server.events.clone(), sent.clone());
    let period = Duration::from_secs(1) / load.events_per_s as u32;
    let publisher = server
        .handle
        .spawn(async move { publish(&events, &log, period, id_base).await });
    let mut window = None;
    let api = if targets.is_empty() {
        None
    } else {
        let before_api = load.event_s.saturating_sub(load.api_s) / 2;
        tokio::time::sleep(Duration::from_secs(before_api)).await;
        let from = sent.ns(Instant::now());
        let figures = api_load(load, consoles, targets).await;
        window = Some((from, sent.ns(Instant::now())));
        Some(figures)
    };
    let took = publisher.await?;
    let expected = (count * consoles.live.len()) as u64;
    let drain = Instant::now() + Duration::from_secs(5);
    while got.load(Ordering::Relaxed) < expected && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let used = cpu.since();
    stop.cancel();
    let mut figures = EventFigures {
        published: count,
        per_s: count as f64 / took.as_secs_f64(),
        ..EventFigures::default()
    };
    let mut all = Vec::with_capacity(count * consoles.live.len());
    let mut under_api = Vec::new();
    while let Some(joined) = clients.join_next().await {
        let r = joined?;
        if let Some(e) = &r.error {
            eprintln!("web-bench: a live console failed: {e}");
            figures.failed_clients += 1;
        }
        figures.lost += (count - r.received.min(count)) as u64;
        figures.resyncs += r.resyncs;
        for (at, lat) in r.latencies {
            all.push(lat);
            if window.is_some_and(|(from, to)| (from..to).contains(&at)) {
                under_api.push(lat);
            }
        }
    }
    under_api.sort_unstable();
    figures.under_api_p99_ms = pct(&under_api, 0.99);
    all.sort_unstable();
    figures.p50_ms = pct(&all, 0.50);
    figures.p99_ms = pct(&all, 0.99);
    figures.max_ms = all.last().map_or(f64::NAN, |&v| v as f64 / 1000.0);
    Ok((figures, api, used))
}

/// Publish one parcel view every `period`, as the line task does after a commit.
async fn publish(
    events: &broadcast::Sender<ParcelView>,
    log: &SentLog,
    period: Duration,
    id_base: i64,
) -> Duration {
    let start = tokio::time::Instant::now();
    for (seq, slot) in log.at.iter().enumerate() {
        tokio::time::sleep_until(start + period * seq as u32).await;
        let now = chrono::Utc::now();
        let kind = ["release", "release", "release", "inspection", "exception"][seq % 5];
        let view = ParcelView {
            id: id_base + seq as i64,
            line_id: if seq.is_multiple_of(2) { "L1" } else { "L2" }.into(),
            tracking_no: (seq % 65_536) as u16,
            entered_at: timestamp(now - chrono::TimeDelta::milliseconds(2500)),
            logistics_no: Some(format!("SF{:012}", 360_000_000_000 + seq)),
            read_status: "read".into(),
            lane: Some([1, 1, 1, 2, 3][seq % 5]),
            lane_kind: Some(kind.into()),
            reasons: vec![
                if kind == "release" {
                    "released"
                } else {
                    "manifest_not_found"
                }
                .into(),
            ],
            decided_at: Some(timestamp(now)),
            dropped_lane: None,
            dropped_at: None,
            outcome: "in_flight".into(),
        };
        slot.store(log.ns(Instant::now()), Ordering::Release);
        let _ = events.send(view);
    }
    start.elapsed()
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: i64,
}

/// One live console: read `/api/events` until `stop`, timing every parcel event.
async fn watch(
    client: reqwest::Client,
    url: String,
    sent: Arc<SentLog>,
    got: Arc<AtomicU64>,
    stop: CancellationToken,
    id_base: i64,
) -> ConsoleResult {
    let mut r = ConsoleResult::default();
    let mut seen = vec![false; sent.at.len()];
    let mut res = match client.get(&url).send().await {
        Ok(res) if res.status().is_success() => res,
        Ok(res) => {
            r.error = Some(format!("GET /api/events answered {}", res.status()));
            return r;
        }
        Err(e) => {
            r.error = Some(format!("GET /api/events: {e}"));
            return r;
        }
    };
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = tokio::select! {
            () = stop.cancelled() => break,
            c = res.chunk() => c,
        };
        let at = Instant::now();
        match chunk {
            Ok(Some(bytes)) => buf.extend_from_slice(&bytes),
            Ok(None) => {
                r.error = Some("the event stream ended".into());
                break;
            }
            Err(e) => {
                r.error = Some(format!("reading the event stream: {e}"));
                break;
            }
        }
        while let Some((event, data)) = crate::sse::next_frame(&mut buf) {
            match event.as_str() {
                "resync" => r.resyncs += 1,
                "parcel" => {
                    let Ok(IdOnly { id }) = serde_json::from_str(&data) else {
                        continue;
                    };
                    let Some(seq) = usize::try_from(id - id_base)
                        .ok()
                        .filter(|&s| s < seen.len() && !seen[s])
                    else {
                        continue;
                    };
                    let sent_ns = sent.at[seq].load(Ordering::Acquire);
                    seen[seq] = true;
                    r.received += 1;
                    got.fetch_add(1, Ordering::Relaxed);
                    let lat = sent.ns(at).saturating_sub(sent_ns);
                    r.latencies.push((sent_ns, lat / 1000));
                }
                _ => {}
            }
        }
    }
    r
}
