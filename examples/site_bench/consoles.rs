//! The live consoles: logged in as a shift would be (one account per role, each console from
//! its own address), each reading `/api/events`; how late each parcel decision reached
//! them, and whether every console saw every decision.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::seed::Consoles;

/// What the consoles saw.
pub(crate) struct EventFigures {
    /// Decision events received, over every console.
    pub(crate) received: u64,
    /// Decisions some console saw and another did not (after every console was connected).
    pub(crate) lost: u64,
    /// 99th percentile of decision time to arrival, over every console.
    pub(crate) p99_ms: Option<f64>,
    /// Consoles whose stream failed, and why.
    pub(crate) failures: Vec<String>,
}

/// What one console saw: (parcel id, decided at, latency in ms) of the first news of every
/// decided parcel.
#[derive(Default)]
struct Seen {
    events: Vec<(i64, DateTime<Utc>, f64)>,
    error: Option<String>,
}

/// Consoles reading the live stream.
pub(crate) struct Live {
    web: SocketAddr,
    admin: reqwest::Client,
    stop: CancellationToken,
    tasks: JoinSet<Seen>,
    /// When the last console's stream was open.
    all_open: DateTime<Utc>,
    /// Decision events received so far, over every console.
    received: Arc<AtomicU64>,
}

#[derive(serde::Deserialize)]
struct ParcelEvent {
    id: i64,
    decided_at: Option<String>,
}

impl Live {
    /// Set up the administrator, log `n` consoles in and open their streams.
    pub(crate) async fn start(web: SocketAddr, n: usize) -> anyhow::Result<Self> {
        let consoles = Consoles::log_in(web, n).await?;
        let admin = consoles
            .api
            .last()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no administrator session"))?;
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let opened = Arc::new(tokio::sync::Semaphore::new(0));
        let received = Arc::new(AtomicU64::new(0));
        for client in consoles.live {
            let url = format!("http://{web}/api/events");
            tasks.spawn(watch(
                client,
                url,
                stop.clone(),
                opened.clone(),
                received.clone(),
            ));
        }
        // Every stream open (or failed: then it counts as open and reports its error).
        let _ = opened.acquire_many(n as u32).await?;
        Ok(Self {
            web,
            admin,
            stop,
            tasks,
            all_open: Utc::now(),
            received,
        })
    }

    /// Declaration-list records the controller applied from the downlink so far.
    pub(crate) async fn applied_lists(&self) -> anyhow::Result<u64> {
        let sync: serde_json::Value = self
            .admin
            .get(format!("http://{}/api/sync", self.web))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        sync["link"]["applied_records"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("/api/sync has no link.applied_records"))
    }

    /// Close every stream and gather the figures, once the streams have caught up: some
    /// decision news received and then none for two seconds (at most 30 s). On a box loaded
    /// beside the run the controller's web work, at background priority, can lag the
    /// decisions by seconds; its late events count with their lateness rather than being
    /// cut off.
    pub(crate) async fn stop(mut self) -> EventFigures {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut before = self.received.load(Ordering::Relaxed);
        while tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = self.received.load(Ordering::Relaxed);
            if now == before && now > 0 {
                break;
            }
            before = now;
        }
        self.stop.cancel();
        let mut seen = Vec::new();
        let mut failures = Vec::new();
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(s) => {
                    if let Some(e) = &s.error {
                        failures.push(e.clone());
                    }
                    seen.push(s);
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        let after_open = |s: &Seen| -> HashSet<i64> {
            s.events
                .iter()
                .filter(|(_, at, _)| *at > self.all_open)
                .map(|(id, ..)| *id)
                .collect()
        };
        let sets: Vec<HashSet<i64>> = seen.iter().map(after_open).collect();
        let all: HashSet<i64> = sets.iter().flatten().copied().collect();
        let lost = sets.iter().map(|s| (all.len() - s.len()) as u64).sum();
        // A parcel decided before its console connected reaches it with its later news:
        // that is not a decision's lateness.
        let mut latencies: Vec<f64> = seen
            .iter()
            .flat_map(|s| s.events.iter())
            .filter(|(_, at, _)| *at > self.all_open)
            .map(|e| e.2)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let p99_ms = (!latencies.is_empty()).then(|| {
            let rank = ((latencies.len() as f64) * 0.99).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1]
        });
        EventFigures {
            received: latencies.len() as u64,
            lost,
            p99_ms,
            failures,
        }
    }
}

/// One console: read the stream until `stop`, timing every decision event.
async fn watch(
    client: reqwest::Client,
    url: String,
    stop: CancellationToken,
    opened: Arc<tokio::sync::Semaphore>,
    received: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen::default();
    let response = client.get(&url).send().await;
    opened.add_permits(1);
    let mut response = match response {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            seen.error = Some(format!("GET /api/events answered {}", r.status()));
            return seen;
        }
        Err(e) => {
            seen.error = Some(format!("GET /api/events: {e}"));
            return seen;
        }
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut first_news: HashSet<i64> = HashSet::new();
    loop {
        let chunk = tokio::select! {
            () = stop.cancelled() => break,
            c = response.chunk() => c,
        };
        let arrived = Utc::now();
        match chunk {
            Ok(Some(bytes)) => buf.extend_from_slice(&bytes),
            Ok(None) => {
                seen.error = Some("the event stream ended".into());
                break;
            }
            Err(e) => {
                seen.error = Some(format!("reading the event stream: {e}"));
                break;
            }
        }
        while let Some((event, data)) = crate::sse::next_frame(&mut buf) {
            if event != "parcel" {
                continue;
            }
            let Ok(parcel) = serde_json::from_str::<ParcelEvent>(&data) else {
                continue;
            };
            let Some(decided) = parcel
                .decided_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            else {
                continue;
            };
            // The first news of a decided parcel: its decision, or, when the announcement
            // came late, the parcel already sorted (the console shows the decision either
            // way). Later news of the same parcel is not a decision reaching the console.
            if !first_news.insert(parcel.id) {
                continue;
            }
            let decided = decided.with_timezone(&Utc);
            let ms = (arrived - decided).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            seen.events.push((parcel.id, decided, ms));
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
    seen
}
