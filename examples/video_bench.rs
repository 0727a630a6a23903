//! The video benchmark: `BENCH_CAMERAS` (8) simulated ONVIF cameras streaming 1280x720
//! MJPEG at 10 fps behind Digest, captured by the controller's real capture tasks for
//! `BENCH_SECONDS` (60) after every stream flows (release build).
//!
//! The cameras run in a child process (this binary with `--serve N`), so the CPU and RSS
//! measured are the capture side's only. During the run, evidence lookups
//! (`VideoHub::nearest` at a random time of the last 5 s, 200 a second, under the capture
//! threads' writes) are timed, and `BENCH_MOMENTS_PER_S` (2) moments a second are
//! handed to the evidence worker (two cameras watch each point: burn, keep, thumbnail and
//! link, as in production) — their cost is in the CPU figure.
//!
//! - fps: frames captured per camera per second;
//! - drop_pct: frames the cameras sent that capture did not keep, over those sent;
//! - cpu_pct: this process's user + system time over wall time (100 = one core);
//! - rss_mb: this process's peak resident set (VmHWM);
//! - evidence_p99_ms: 99th percentile of one `nearest` lookup.
//!
//! Ends with one line:
//! `video-bench: cameras=8 fps=X drop_pct=X cpu_pct=X rss_mb=X evidence_p99_ms=X`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use customs_edge::config::CameraConfig;
use customs_edge::evidence::EvidenceStore;
use customs_edge::health::Health;
use customs_edge::store::Store;
use customs_edge::video::{CameraState, Moment, Point, VideoHub};
use customs_edge_simulators::onvif::{self, OnvifCameraConfig};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "bench-Cam#1";
/// Clock ticks per second of /proc/*/stat times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

fn env_or(name: &str, default: u64) -> u64 {
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
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(8);
        return serve(n).await;
    }
    bench().await
}

/// The cameras' side: start `n` cameras, print their stream URLs, answer `sent` with the
/// frames each sent so far, stop when stdin closes.
async fn serve(n: usize) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let mut cameras = Vec::new();
    for i in 0..n {
        let cfg = OnvifCameraConfig {
            password: PASSWORD.to_owned(),
            ..OnvifCameraConfig::sized(format!("bench-{i}"), 1280, 720, 10)
        };
        cameras.push(onvif::start(cfg, shutdown.clone()).await?);
    }
    let mut out = tokio::io::stdout();
    for c in &cameras {
        out.write_all(format!("{}\n", c.stream_url()).as_bytes())
            .await?;
    }
    out.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "sent" {
            let sent: Vec<String> = cameras
                .iter()
                .map(|c| c.stats().frames_sent.to_string())
                .collect();
            out.write_all(format!("{}\n", sent.join(" ")).as_bytes())
                .await?;
            out.flush().await?;
        }
    }
    shutdown.cancel();
    Ok(())
}

/// The camera process, talked to over its stdin and stdout.
struct Cameras {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Cameras {
    async fn sent(&mut self) -> anyhow::Result<u64> {
        self.stdin.write_all(b"sent\n").await?;
        let line = self
            .stdout
            .next_line()
            .await?
            .context("camera process ended")?;
        Ok(line
            .split_whitespace()
            .filter_map(|n| n.parse::<u64>().ok())
            .sum())
    }

    fn cpu_s(&self) -> f64 {
        self.child
            .id()
            .map_or(0.0, |pid| cpu_seconds(&format!("/proc/{pid}/stat")))
    }
}

/// user + system CPU seconds from a /proc stat file.
fn cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn captured(hub: &VideoHub) -> (u64, u64) {
    hub.cameras()
        .iter()
        .fold((0, 0), |(f, d), c| (f + c.frames, d + c.drops))
}

async fn bench() -> anyhow::Result<()> {
    let n = env_or("BENCH_CAMERAS", 8) as usize;
    let seconds = env_or("BENCH_SECONDS", 60);
    let moments_per_s = env_or("BENCH_MOMENTS_PER_S", 2);
    let data = tempfile::Builder::new().prefix("video-bench-").tempdir()?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["--serve", &n.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the camera process")?;
    let stdin = child.stdin.take().context("stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut urls = Vec::new();
    for _ in 0..n {
        urls.push(stdout.next_line().await?.context("camera URL")?);
    }
    let mut cams = Cameras {
        child,
        stdin,
        stdout,
    };

    let password_file = data.path().join("camera.pass");
    std::fs::write(&password_file, PASSWORD)?;
    let configs: Vec<CameraConfig> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| CameraConfig {
            username: Some("admin".into()),
            password_file: Some(password_file.clone()),
            points: match i {
                0 | 1 => vec!["line:L1:xray_exit".into()],
                2 | 3 => vec!["line:L1:decision".into()],
                _ => Vec::new(),
            },
            ..CameraConfig::with_stream(
                &format!("35000011101320501{:03}", i + 1),
                &format!("通道{}", i + 1),
                url,
            )
        })
        .collect();
    let store = Store::open(data.path())?;
    let shutdown = CancellationToken::new();
    let health = Health::default();
    let mut tasks = customs_edge::supervisor::Supervisor::new(
        shutdown.clone(),
        health.clone(),
        customs_edge::alarm_book::AlarmBook::default(),
    );
    let hub = customs_edge::video::start_cameras(
        &configs,
        EvidenceStore::new(data.path()),
        &store,
        &health,
        &mut tasks,
    )?
    .context("cameras are captured")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !hub
        .cameras()
        .iter()
        .all(|c| c.state == CameraState::Streaming && c.frames > 10)
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "streams not flowing: {:#?}",
            hub.cameras()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("video-bench: {n} cameras streaming; measuring for {seconds} s");

    let sent0 = cams.sent().await?;
    let (frames0, drops0) = captured(&hub);
    let (cpu0, server_cpu0, t0) = (cpu_seconds("/proc/self/stat"), cams.cpu_s(), Instant::now());
    let lookups = tokio::spawn(time_lookups(
        hub.clone(),
        urls.len(),
        Duration::from_secs(seconds),
    ));
    let moments = tokio::spawn(hand_moments(
        hub.clone(),
        moments_per_s,
        Duration::from_secs(seconds),
    ));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let sent = cams.sent().await? - sent0;
    let (frames1, drops1) = captured(&hub);
    let (cpu, server_cpu) = (
        cpu_seconds("/proc/self/stat") - cpu0,
        cams.cpu_s() - server_cpu0,
    );
    let mut times = lookups.await?;
    let handed = moments.await?;

    let frames = frames1 - frames0;
    let fps = frames as f64 / n as f64 / elapsed;
    let drop_pct = 100.0 * sent.saturating_sub(frames) as f64 / sent.max(1) as f64;
    times.sort_unstable();
    let p99 = times
        .get(times.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    let reconnects: u64 = hub.cameras().iter().map(|c| c.reconnects).sum();
    let (ring_frames, ring_bytes) = hub
        .cameras()
        .iter()
        .fold((0, 0), |(f, b), c| (f + c.ring.frames, b + c.ring.bytes));
    eprintln!(
        "video-bench: rings hold {ring_frames} frames, {:.1} MiB ({:.0} KiB a frame)",
        ring_bytes as f64 / 1_048_576.0,
        ring_bytes as f64 / 1024.0 / ring_frames.max(1) as f64
    );
    eprintln!(
        "video-bench: sent={sent} captured={frames} bad_frames={} reconnects={reconnects} nominal_fps=10 \
         lookups={} p50_us={} max_us={} moments={handed} server_cpu_pct={:.1}",
        drops1 - drops0,
        times.len(),
        times.get(times.len() / 2).copied().unwrap_or_default(),
        times.last().copied().unwrap_or_default(),
        100.0 * server_cpu / elapsed
    );
    shutdown.cancel();
    tasks.run_until_shutdown(Duration::from_secs(8)).await;
    let kept: u64 = hub.cameras().iter().map(|c| c.evidence_kept).sum();
    let missing: u64 = hub.cameras().iter().map(|c| c.evidence_missing).sum();
    eprintln!("video-bench: evidence frames kept={kept} missing={missing}");
    drop(cams.stdin);
    let _ = tokio::time::timeout(Duration::from_secs(5), cams.child.wait()).await;
    println!(
        "video-bench: cameras={n} fps={fps:.2} drop_pct={drop_pct:.2} cpu_pct={:.1} rss_mb={:.0} evidence_p99_ms={:.3}",
        100.0 * cpu / elapsed,
        peak_rss_mb(),
        p99 as f64 / 1000.0
    );
    Ok(())
}

/// `nearest` at random times of the last 5 s, 200 a second; each one's time in µs.
async fn time_lookups(hub: VideoHub, cameras: usize, run: Duration) -> Vec<u64> {
    let ids: Vec<String> = hub.cameras().into_iter().map(|c| c.id).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut times = Vec::new();
    let started = Instant::now();
    while started.elapsed() < run {
        tick.tick().await;
        let id = &ids[rand::random_range(0..cameras)];
        let at = Utc::now() - TimeDelta::milliseconds(rand::random_range(0..5000));
        let t = Instant::now();
        let frame = hub.nearest(id, at);
        times.push(t.elapsed().as_micros() as u64);
        assert!(frame.is_some(), "a frame near {at}");
    }
    times
}

/// Moments at the X-ray exit and the decision, alternately, `per_s` a second.
async fn hand_moments(hub: VideoHub, per_s: u64, run: Duration) -> u64 {
    if per_s == 0 {
        return 0;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_s as u32);
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < run {
        tick.tick().await;
        n += 1;
        let point = if n % 2 == 0 {
            Point::Decision { line: "L1".into() }
        } else {
            Point::XrayExit { line: "L1".into() }
        };
        hub.moment(Moment {
            record_kind: "parcel",
            record_id: n as i64,
            point,
            at: Utc::now(),
        });
    }
    n
}
