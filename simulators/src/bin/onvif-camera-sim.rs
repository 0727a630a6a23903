//! `onvif-camera-sim`: one simulated ONVIF camera (WS-Discovery, SOAP device and media
//! services, Digest snapshots, MJPEG streams, H.264 over RTSP through GStreamer) until
//! Ctrl-C/SIGTERM. When it is ready it prints its URLs as one JSON line on stdout; logs go
//! to stderr.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use customs_edge_simulators::onvif::{self, OnvifCameraConfig, ProfileConfig};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// How long the camera gets to say Bye after Ctrl-C/SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

const EXAMPLES: &str = "\
Examples:
  onvif-camera-sim                                     # 127.0.0.1, free ports, no multicast
  onvif-camera-sim --listen 192.168.1.64:8080 --rtsp-port 8554 --password s3cret --size 1920x1080
  onvif-camera-sim --clock-skew-s 3600 --no-multicast  # a camera an hour ahead, unicast only
  curl --digest -u admin:admin123 'http://127.0.0.1:PORT/onvif/snapshot?profile=main' -o snap.jpg
  ffprobe 'http://admin:admin123@127.0.0.1:PORT/stream/main'          # MJPEG over HTTP
  ffprobe 'rtsp://admin:admin123@127.0.0.1:RTSP_PORT/main'             # H.264 over RTSP

The default user is admin, password admin123. Multicast discovery (Hello, Bye, probes
to 239.255.255.250) runs on the --listen interface only: none on loopback. RTSP needs
GStreamer's RTSP server (Debian: python3-gi gir1.2-gst-rtsp-server-1.0
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly); without
it the camera says so and serves MJPEG over HTTP only.

Stdout (one line): {\"name\", \"http\", \"device_service\", \"media_service\", \"endpoint\",
\"discovery\": \"ip:port\" | null, \"multicast\": bool, \"rtsp\": port | null, \"username\",
\"profiles\": [{\"token\", \"width\", \"height\", \"fps\", \"snapshot\", \"stream\",
\"rtsp\": url | null}]}";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(version, about = "A simulated ONVIF IP camera for customs-edge", after_long_help = EXAMPLES)]
struct Args {
    /// HTTP address (SOAP, snapshot, MJPEG); port 0 takes a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Camera name (discovery scope, endpoint reference).
    #[arg(long, default_value = "sim-camera")]
    name: String,
    /// User name.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Password (or set ONVIF_SIM_PASSWORD).
    #[arg(
        long,
        env = "ONVIF_SIM_PASSWORD",
        default_value = "admin123",
        hide_env_values = true
    )]
    password: String,
    /// Size of the main profile and the video source, WxH (multiples of 8); the sub
    /// profile is half of it.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (u32, u32),
    /// Frames per second of both profiles.
    #[arg(long, default_value_t = 10)]
    fps: u32,
    /// JPEG quality of both profiles (1..=100).
    #[arg(long, default_value_t = 75)]
    quality: u8,
    /// The camera's clock minus true UTC, in seconds.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew_s: i64,
    /// Seconds a WS-Security Created time may be off the camera's clock.
    #[arg(long, default_value_t = 60)]
    token_window_s: u64,
    /// No WS-Discovery at all.
    #[arg(long)]
    no_discovery: bool,
    /// No multicast WS-Discovery (directed probes only).
    #[arg(long)]
    no_multicast: bool,
    /// Where directed WS-Discovery probes are answered; port 0 takes a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    discovery_listen: SocketAddr,
    /// No RTSP: GetStreamUri answers the MJPEG-over-HTTP URL whatever is asked.
    #[arg(long)]
    no_rtsp: bool,
    /// Port of the RTSP server (H.264), on the --listen address; 0 takes a free port.
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    rtsp_port: u16,
    /// The Python with GStreamer's bindings (gi) that runs the RTSP server
    /// [default: /usr/bin/python3 when it exists, else python3].
    #[arg(long, value_name = "PATH")]
    rtsp_python: Option<std::path::PathBuf>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or("expected WxH, e.g. 1280x720")?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|e| format!("`{v}`: {e}"));
    Ok((parse(w)?, parse(h)?))
}

fn config(args: &Args) -> OnvifCameraConfig {
    let (width, height) = args.size;
    let mut cfg = OnvifCameraConfig::sized(args.name.clone(), width, height, args.fps);
    for p in &mut cfg.profiles {
        p.quality = args.quality;
    }
    OnvifCameraConfig {
        http_listen: args.listen,
        username: args.user.clone(),
        password: args.password.clone(),
        clock_skew_s: args.clock_skew_s,
        token_window_s: args.token_window_s,
        discovery: !args.no_discovery,
        discovery_multicast: !args.no_discovery && !args.no_multicast,
        discovery_unicast: args.discovery_listen,
        rtsp: !args.no_rtsp,
        rtsp_port: args.rtsp_port,
        rtsp_python: args.rtsp_python.clone(),
        ..cfg
    }
}

/// Cancels `shutdown` on the first Ctrl-C or SIGTERM.
async fn signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    shutdown.cancel();
    Ok(())
}

fn profile_json(camera: &onvif::RunningCamera, p: &ProfileConfig) -> serde_json::Value {
    serde_json::json!({
        "token": p.token,
        "width": p.width,
        "height": p.height,
        "fps": p.fps,
        "snapshot": camera.snapshot_url_for(&p.token),
        "stream": camera.stream_url_for(&p.token),
        "rtsp": camera.rtsp_url_for(&p.token),
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let camera = onvif::start(config(&args), shutdown.clone()).await?;
    let ready = serde_json::json!({
        "name": camera.config().name,
        "http": camera.http_addr().to_string(),
        "device_service": camera.device_service_url(),
        "media_service": camera.media_service_url(),
        "endpoint": camera.endpoint_reference(),
        "discovery": camera.discovery_addr().map(|a| a.to_string()),
        "multicast": camera.multicast_joined(),
        "rtsp": camera.rtsp_port(),
        "username": camera.config().username,
        "profiles": camera.config().profiles.iter().map(|p| profile_json(&camera, p)).collect::<Vec<_>>(),
    });
    println!("{ready}");
    signals(shutdown.clone()).await?;
    if tokio::time::timeout(STOP_TIMEOUT, camera.stopped())
        .await
        .is_err()
    {
        bail!("the camera did not stop within {STOP_TIMEOUT:?}");
    }
    let stats = camera.stats();
    eprintln!(
        "onvif-camera-sim: frames_sent={} snapshots={} auth_failures={} probes_answered={} soap={:?}",
        stats.frames_sent,
        stats.snapshots_served,
        stats.auth_failures,
        stats.probes_answered,
        stats.soap_requests
    );
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("onvif-camera-sim: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("onvif-camera-sim: {err:#}");
            ExitCode::from(2)
        }
    }
}
