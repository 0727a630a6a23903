//! The controller under test: `customs-edge run` as a child process, its log kept in a file,
//! its CPU time and peak memory read from /proc.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

/// Clock ticks per second of /proc/*/stat times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// The running controller.
pub(crate) struct Controller {
    child: Child,
    pid: u32,
    /// Where its console and API answer.
    pub(crate) web: SocketAddr,
}

impl Controller {
    /// Start `bin run --config config` with JSON logs into `log`; ready once it logged
    /// "controller started" (its web address is taken from that line).
    pub(crate) async fn start(bin: &Path, config: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(bin)
            .args(["--log-format", "json", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn,customs_edge::daemon=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the controller's pid")?;
        let stderr = child.stderr.take().context("the controller's stderr")?;
        let mut file = tokio::fs::File::create(log).await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.is_some()
                    && let Some(addr) = started_at(&line)
                {
                    let _ = tx.take().map(|tx| tx.send(addr));
                }
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
            }
            let _ = file.flush().await;
        });
        let web = tokio::time::timeout(Duration::from_secs(120), rx)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the controller did not start in 120 s; see {}",
                    log.display()
                )
            })?
            .map_err(|_| {
                anyhow::anyhow!("the controller exited at start; see {}", log.display())
            })?;
        Ok(Self { child, pid, web })
    }

    /// User + system CPU ticks so far.
    pub(crate) fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .context("the controller is gone")?;
        // Fields after the command name, which may hold spaces: state is field 3, so
        // utime (14) and stime (15) are at 11 and 12 after it.
        let rest = stat.rsplit_once(')').context("/proc stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11).context("utime")?.parse()?;
        let stime: u64 = fields.get(12).context("stime")?.parse()?;
        Ok(utime + stime)
    }

    /// CPU use since `ticks` were read at `at`, in % of one core.
    pub(crate) fn cpu_pct_since(&self, ticks: u64, at: Instant) -> anyhow::Result<f64> {
        let used = self.cpu_ticks()?.saturating_sub(ticks) as f64 / TICKS;
        Ok(used / at.elapsed().as_secs_f64().max(1e-3) * 100.0)
    }

    /// Peak resident set (VmHWM) in MB.
    pub(crate) fn peak_rss_mb(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("VmHWM")?
            .parse()?;
        Ok(kb / 1024.0)
    }

    /// SIGTERM, and wait for it to finish (killed after 30 s).
    pub(crate) async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("site-bench: the controller did not stop in 30 s; killing it");
            let _ = self.child.kill().await;
        }
    }
}

/// The web address from the controller's "controller started" log line, if this is it.
fn started_at(line: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields").unwrap_or(&v);
    if fields.get("message")?.as_str()? != "controller started" {
        return None;
    }
    fields.get("web_addr")?.as_str()?.parse().ok()
}
