//! CPU and thread accounting from /proc: what the server and the load generator each used
//! over a phase, the process's peak thread count, and the machine's model and load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

pub(super) fn loadavg() -> String {
    let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let f: Vec<&str> = l.split_whitespace().take(3).collect();
    format!("load average {}", f.join(" "))
}

pub(super) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or_else(String::new, |m| {
            m.trim_start_matches([' ', '\t', ':']).to_owned()
        })
}

/// CPU ticks of this process and of the load generator's threads, at one moment; for a
/// watched phase, also the most threads the process had (sampled every 200 ms).
pub(super) struct Cpu {
    at: Instant,
    total: f64,
    load: f64,
    peak: Option<(Arc<AtomicU64>, CancellationToken)>,
}

/// CPU used by each side over a phase, in % of one core, and the peak thread count.
pub(super) struct CpuUsed {
    pub(super) server_pct: f64,
    pub(super) load_pct: f64,
    pub(super) threads_peak: u64,
}

impl Cpu {
    pub(super) fn now() -> Self {
        let total = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()).1;
        let pid = std::process::id().to_string();
        let mut load = 0.0;
        for task in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let (comm, t) = ticks(&stat);
            // Load threads are named "load"; the main thread only orchestrates.
            if comm.starts_with("load") || task.file_name().to_str() == Some(&pid) {
                load += t;
            }
        }
        Self {
            at: Instant::now(),
            total,
            load,
            peak: None,
        }
    }

    /// Like `now`, and sample the thread count until `since`.
    pub(super) fn watch() -> Self {
        let (peak, stop) = (Arc::new(AtomicU64::new(0)), CancellationToken::new());
        let (p, s) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.is_cancelled() {
                let n = std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count);
                p.fetch_max(n as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self {
            peak: Some((peak, stop)),
            ..Self::now()
        }
    }

    pub(super) fn since(&self) -> CpuUsed {
        let threads_peak = self.peak.as_ref().map_or(0, |(peak, stop)| {
            stop.cancel();
            peak.load(Ordering::Relaxed)
        });
        let now = Self::now();
        let wall = (now.at - self.at).as_secs_f64().max(1e-9);
        let load = now.load - self.load;
        CpuUsed {
            server_pct: 100.0 * (now.total - self.total - load) / wall,
            load_pct: 100.0 * load / wall,
            threads_peak,
        }
    }
}

/// The command name and user + system CPU seconds of a /proc stat line (USER_HZ = 100).
fn ticks(stat: &str) -> (String, f64) {
    let comm = stat
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(')'))
        .map_or("", |(c, _)| c)
        .to_owned();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (comm, (t(11) + t(12)) / 100.0)
}
