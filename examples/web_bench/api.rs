//! The open-loop API load: the console's GETs that answer on this build, sent at their
//! planned instants and timed from them, and the figures of one phase.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::seed::Consoles;
use crate::{Load, pct};

/// One GET of the API mix.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub(super) name: String,
    urls: Vec<String>,
}

/// The console's GETs: the ones every build has, and those other engineers are adding
/// when they answer 2xx on this build; `BENCH_API_SKIP` (comma-separated path prefixes,
/// e.g. `/api/stats`) leaves some out.
pub(super) async fn targets(
    web: SocketAddr,
    client: &reqwest::Client,
    parcels: usize,
) -> Vec<Target> {
    let url = |p: &str| format!("http://{web}{p}");
    let skip: Vec<String> = std::env::var("BENCH_API_SKIP")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let lists = customs_edge::demo::sample_lists(parcels.clamp(1, 2000));
    let pick = |k: usize| &lists[(k * 7919) % lists.len()];
    let mut queries = Vec::new();
    for k in 0..8 {
        let l = pick(k);
        queries.push(l.logistics_no.clone());
        queries.push(l.order_no.clone().unwrap_or_default());
        queries.push(l.invt_no.clone().unwrap_or_default());
        queries.push(l.logistics_no[..10].to_owned());
    }
    let mut all = vec![
        Target {
            name: "/api/parcels?limit=50".into(),
            urls: vec![url("/api/parcels?limit=50")],
        },
        Target {
            name: "/api/me".into(),
            urls: vec![url("/api/me")],
        },
        Target {
            name: "/api/gates".into(),
            urls: vec![url("/api/gates")],
        },
        Target {
            name: "/api/site".into(),
            urls: vec![url("/api/site")],
        },
    ];
    let optional = [
        Target {
            name: "/api/stats".into(),
            urls: vec![url("/api/stats")],
        },
        Target {
            name: "/api/parcels/search?q=…".into(),
            urls: queries
                .iter()
                .map(|q| url(&format!("/api/parcels/search?q={q}")))
                .collect(),
        },
        Target {
            name: "/api/devices".into(),
            urls: vec![url("/api/devices")],
        },
        // Every console's header polls the alarms; officers' judging strips poll the belt.
        Target {
            name: "/api/alarms".into(),
            urls: vec![url("/api/alarms")],
        },
        Target {
            name: "/api/judging".into(),
            urls: vec![url("/api/judging")],
        },
    ];
    for t in optional {
        if skip.iter().any(|s| t.name.starts_with(s.as_str())) {
            continue;
        }
        match client.get(&t.urls[0]).send().await {
            Ok(r) if r.status().is_success() => all.push(t),
            Ok(r) => eprintln!("web-bench: {} left out: it answers {}", t.name, r.status()),
            Err(e) => eprintln!("web-bench: {} left out: {e}", t.name),
        }
    }
    all.retain(|t| !skip.iter().any(|s| t.name.starts_with(s.as_str())));
    all
}

/// API figures of one phase.
#[derive(Clone, Debug, Default)]
pub(super) struct ApiFigures {
    pub(super) sent: usize,
    /// 2xx answers a second, from the first planned request to the last answer.
    pub(super) rps: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    /// p99 of how late the load generator sent a request after its planned instant
    /// (included in the latencies).
    pub(super) lag_p99_ms: f64,
    pub(super) errors: usize,
    pub(super) first_errors: Vec<String>,
    pub(super) per_target: Vec<(String, f64, f64, usize)>,
}

/// Open-loop GETs at `load.api_rps` for `load.api_s`, round-robin over `targets` and the
/// API sessions, each timed from its planned instant to the end of its body.
pub(super) async fn api_load(load: &Load, consoles: &Consoles, targets: &[Target]) -> ApiFigures {
    let n = (load.api_rps * load.api_s) as usize;
    let period = Duration::from_secs(1) / load.api_rps as u32;
    let start = tokio::time::Instant::now();
    let mut requests = JoinSet::new();
    for i in 0..n {
        let planned = start + period * i as u32;
        tokio::time::sleep_until(planned).await;
        let t = i % targets.len();
        let target = &targets[t];
        let url = target.urls[(i / targets.len()) % target.urls.len()].clone();
        let client = consoles.api[i % consoles.api.len()].clone();
        requests.spawn(async move {
            let lag = planned.elapsed();
            let outcome = match client.get(&url).send().await {
                Ok(res) => {
                    let status = res.status();
                    match res.bytes().await {
                        Ok(_) if status.is_success() => Ok(()),
                        Ok(body) => Err(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(120)])
                        )),
                        Err(e) => Err(format!("body: {e}")),
                    }
                }
                Err(e) if e.is_timeout() => Err("no answer within 10 s".to_owned()),
                Err(e) => Err(error_chain(&e)),
            };
            (
                t,
                lag,
                planned.elapsed(),
                tokio::time::Instant::now(),
                outcome,
            )
        });
    }
    let mut per: Vec<Vec<u64>> = vec![Vec::new(); targets.len()];
    let mut lags = Vec::with_capacity(n);
    let mut errs = vec![0usize; targets.len()];
    let mut f = ApiFigures {
        sent: n,
        ..ApiFigures::default()
    };
    let mut last = start;
    while let Some(joined) = requests.join_next().await {
        let Ok((t, lag, latency, done, outcome)) = joined else {
            f.errors += 1;
            continue;
        };
        last = last.max(done);
        per[t].push(latency.as_micros() as u64);
        lags.push(lag.as_micros() as u64);
        if let Err(e) = outcome {
            errs[t] += 1;
            f.errors += 1;
            if f.first_errors.len() < 3 {
                f.first_errors.push(format!("{}: {e}", targets[t].name));
            }
        }
    }
    f.rps = (n - f.errors) as f64 / (last - start).as_secs_f64();
    let mut all: Vec<u64> = per.iter().flatten().copied().collect();
    all.sort_unstable();
    f.p50_ms = pct(&all, 0.50);
    f.p99_ms = pct(&all, 0.99);
    f.max_ms = all.last().map_or(f64::NAN, |&v| v as f64 / 1000.0);
    lags.sort_unstable();
    f.lag_p99_ms = pct(&lags, 0.99);
    for (t, mut v) in per.into_iter().enumerate() {
        v.sort_unstable();
        f.per_target.push((
            targets[t].name.clone(),
            pct(&v, 0.50),
            pct(&v, 0.99),
            errs[t],
        ));
    }
    f
}

/// An error with its causes (reqwest's own message names only the URL).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}
