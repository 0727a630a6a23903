//! RTSP for the simulated camera: GStreamer's RTSP server (`rtsp_server.py`, run by a
//! Python with GStreamer's bindings) as a child process, fed with the camera's own
//! rendered frames, H.264 over RTP to any RTSP client (ffprobe, FFmpeg, OpenCV, a VMS).
//!
//! - **Process.** `python3 -c <script>` with piped stdin, stdout and stderr,
//!   `kill_on_drop`. Its stdin carries the setup (address, port, credentials, profiles),
//!   then JPEG frames and password changes; when the camera stops, or dies, stdin closes
//!   and the server exits. It prints `READY <port>`, then `ON <token>` / `OFF <token>` as
//!   clients come and go; stderr lines go to the camera's log.
//! - **Frames.** While a profile has RTSP clients, a task takes that profile's frames (the
//!   same renderer as the MJPEG stream, so the stream stopped switch and reboots apply)
//!   and queues them to the pipe; a full queue drops the frame, so a stuck server never
//!   slows the camera.
//! - **Lifetime.** A reboot stops the server (connections cut) and starts it again on the
//!   same port once the camera is up; a server that dies is restarted. Without GStreamer
//!   (no `gi`, no RTSP server, a missing plugin) the camera logs what to install and runs
//!   without RTSP: MJPEG over HTTP, streaming capabilities false.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::camera::Shared;
use super::feed::Feed;

/// The RTSP server's source.
const SCRIPT: &str = include_str!("rtsp_server.py");
/// How long the server may take to listen (Python, GStreamer and its plugin registry).
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long it gets to exit after its stdin closed, before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Pause before a server that died is started again.
const RESTART_PAUSE: Duration = Duration::from_secs(1);
/// Records (frames) waiting for the pipe; more are dropped.
const QUEUE: usize = 8;
/// What Debian calls the packages the server needs.
const PACKAGES: &str = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
                        gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly";

/// Record kinds on the server's stdin.
const SETUP: u8 = 0;
const FRAME: u8 = 1;
const CONTROL: u8 = 2;

/// `kind`, `profile`, the payload's length (u32, big-endian), the payload.
fn record(kind: u8, profile: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + payload.len());
    out.push(kind);
    out.push(profile);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The Python that runs the server.
fn python(configured: Option<&Path>) -> PathBuf {
    configured.map_or_else(
        || {
            let debian = Path::new("/usr/bin/python3");
            if debian.exists() {
                debian.to_owned()
            } else {
                PathBuf::from("python3")
            }
        },
        Path::to_owned,
    )
}

/// A server that said it is ready.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    port: u16,
}

/// Starts the RTSP server when the camera's config asks for it: `Some(supervisor)` once it
/// listens (its port is then in `shared`), `None` when RTSP is off or cannot run here (the
/// log says why).
pub(crate) async fn start(shared: &Arc<Shared>) -> Option<JoinHandle<()>> {
    if !shared.cfg.rtsp {
        return None;
    }
    match spawn(shared, shared.cfg.rtsp_port).await {
        Ok(server) => {
            shared.rtsp_port.store(server.port, Ordering::Relaxed);
            info!(camera = %shared.cfg.name, port = server.port, "RTSP server up (H.264, GStreamer)");
            Some(tokio::spawn(supervise(Arc::clone(shared), server)))
        }
        Err(err) => {
            warn!(camera = %shared.cfg.name, "no RTSP, MJPEG over HTTP only: {err:#}");
            None
        }
    }
}

/// Runs the server child and waits until it listens.
async fn spawn(shared: &Shared, port: u16) -> anyhow::Result<Server> {
    let python = python(shared.cfg.rtsp_python.as_deref());
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {} for GStreamer's RTSP server (a Python with `gi`: rtsp_python, --rtsp-python)",
                python.display()
            )
        })?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        bail!("the RTSP server's pipes are missing");
    };
    let camera = shared.cfg.name.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            warn!(%camera, "RTSP server: {line}");
        }
    });
    let profiles: Vec<_> = (shared.cfg.profiles.iter())
        .map(|p| {
            serde_json::json!({"token": p.token, "width": p.width, "height": p.height, "fps": p.fps})
        })
        .collect();
    let setup = serde_json::json!({
        "address": shared.http_addr.ip().to_string(),
        "port": port,
        "user": shared.cfg.username,
        "password": shared.password(),
        "profiles": profiles,
    });
    stdin
        .write_all(&record(SETUP, 0, setup.to_string().as_bytes()))
        .await
        .context("the RTSP server did not take its setup")?;
    let mut stdout = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(READY_TIMEOUT, stdout.next_line())
        .await
        .map_err(|_| anyhow!("the RTSP server did not listen within {READY_TIMEOUT:?}"))?
        .context("reading the RTSP server")?;
    match first
        .as_deref()
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
    {
        Some(("READY", port)) => {
            let port = port.trim().parse().context("the RTSP server's port")?;
            Ok(Server {
                child,
                stdin,
                stdout,
                port,
            })
        }
        Some(("MISSING", what)) => {
            bail!("GStreamer's RTSP server cannot run: {what} (Debian: apt-get install {PACKAGES})")
        }
        Some(_) => bail!("the RTSP server said {first:?}"),
        None => {
            let status = child.wait().await?;
            bail!("the RTSP server exited ({status}) before it listened; its log is above")
        }
    }
}

/// How one server's run ended.
enum End {
    Shutdown,
    Reboot,
    Exited(String),
}

/// Keeps a server running on the same port until shutdown: again after each reboot, and
/// after it dies.
async fn supervise(shared: Arc<Shared>, mut server: Server) {
    let (port, camera) = (server.port, shared.cfg.name.clone());
    loop {
        match serve(&shared, server).await {
            End::Shutdown => return,
            End::Reboot => {
                while shared.is_down() {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                        () = shared.shutdown.cancelled() => return,
                    }
                }
            }
            End::Exited(why) => {
                warn!(%camera, "RTSP server stopped ({why}); starting it again");
                tokio::select! {
                    () = tokio::time::sleep(RESTART_PAUSE) => {}
                    () = shared.shutdown.cancelled() => return,
                }
            }
        }
        server = loop {
            match spawn(&shared, port).await {
                Ok(server) => break server,
                Err(err) => {
                    warn!(%camera, "RTSP server did not start again: {err:#}");
                    tokio::select! {
                        () = tokio::time::sleep(RESTART_PAUSE * 5) => {}
                        () = shared.shutdown.cancelled() => return,
                    }
                }
            }
        };
        debug!(%camera, port, "RTSP server up again");
    }
}

/// Feeds one server until shutdown, a reboot or its exit; then stops it.
async fn serve(shared: &Arc<Shared>, server: Server) -> End {
    let Server {
        mut child,
        stdin,
        mut stdout,
        ..
    } = server;
    let boot = shared.boot_token();
    let (tx, rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let writer = tokio::spawn(write_records(stdin, rx));
    let mut watched: HashMap<usize, CancellationToken> = HashMap::new();
    let mut passwords = shared.watch_password();
    let end = loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => break End::Shutdown,
            () = boot.cancelled() => break End::Reboot,
            status = child.wait() => break End::Exited(describe(status)),
            changed = passwords.changed() => {
                if changed.is_ok() {
                    let control = serde_json::json!({ "password": shared.password() }).to_string();
                    let _ = tx.send(record(CONTROL, 0, control.as_bytes())).await;
                }
            }
            line = stdout.next_line() => match line {
                Ok(Some(line)) => watch(shared, &line, &tx, &mut watched),
                Ok(None) | Err(_) => break End::Exited(describe(child.wait().await)),
            },
        }
    };
    for stop in watched.values() {
        stop.cancel();
    }
    drop(tx);
    // Its stdin closes once the queue is written: the server exits by itself.
    let _ = tokio::time::timeout(STOP_GRACE, writer).await;
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    end
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    status.map_or_else(|e| e.to_string(), |s| s.to_string())
}

/// Acts on one line of the server: `ON <token>` starts feeding that profile, `OFF
/// <token>` stops.
fn watch(
    shared: &Arc<Shared>,
    line: &str,
    tx: &mpsc::Sender<Vec<u8>>,
    watched: &mut HashMap<usize, CancellationToken>,
) {
    let camera = &shared.cfg.name;
    let (what, token) = line.split_once(' ').unwrap_or((line, ""));
    let Some(index) = shared.feeds.iter().position(|f| f.profile.token == token) else {
        debug!(%camera, "RTSP server: {line}");
        return;
    };
    match what {
        "ON" => {
            let stop = CancellationToken::new();
            if let Some(old) = watched.insert(index, stop.clone()) {
                old.cancel();
            }
            debug!(%camera, profile = token, "RTSP clients watching");
            let feed = Arc::clone(&shared.feeds[index]);
            tokio::spawn(forward(feed, index as u8, tx.clone(), stop));
        }
        "OFF" => {
            if let Some(stop) = watched.remove(&index) {
                stop.cancel();
            }
            debug!(%camera, profile = token, "no RTSP clients left");
        }
        _ => debug!(%camera, "RTSP server: {line}"),
    }
}

/// Queues `feed`'s frames for the server until `stop`.
async fn forward(feed: Arc<Feed>, index: u8, tx: mpsc::Sender<Vec<u8>>, stop: CancellationToken) {
    let mut frames = feed.subscribe();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            changed = frames.changed() => if changed.is_err() { return },
        }
        let Some(frame) = frames.borrow_and_update().clone() else {
            continue;
        };
        if let Err(mpsc::error::TrySendError::Closed(_)) =
            tx.try_send(record(FRAME, index, &frame.jpeg))
        {
            return;
        }
    }
}

/// Writes queued records to the server's stdin; closes it when the queue ends.
async fn write_records(mut stdin: ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if stdin.write_all(&bytes).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_kind_profile_length_payload() {
        assert_eq!(
            record(FRAME, 2, b"abc"),
            [1, 2, 0, 0, 0, 3, b'a', b'b', b'c']
        );
    }

    #[test]
    fn the_configured_python_wins() {
        assert_eq!(python(Some(Path::new("/opt/py"))), Path::new("/opt/py"));
        let default = python(None);
        assert!(default == Path::new("/usr/bin/python3") || default == Path::new("python3"));
    }
}
