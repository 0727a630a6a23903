//! `customs-edge cameras …`: bringing up a site's cameras.
//!
//! `cameras discover` sends WS-Discovery probes (multicast, or unicast to given
//! addresses), asks each device that answers what it is, and prints it on stdout as a
//! ready-to-paste `[[cameras]]` block with everything learnt in comments above it. The
//! clock (GetSystemDateAndTime) is open to anyone; profiles, stream and snapshot URIs need
//! `--user` and `--password-env`. Progress and problems go to stderr.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use customs_edge_devices::onvif::{
    DeviceInformation, DiscoveredDevice, Discovery, MediaUri, OnvifClient, Profile,
    SystemDateAndTime, discover,
};

/// Timeout of each request to a camera once found.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The `cameras` commands.
#[derive(Debug, Subcommand)]
pub enum CamerasCommand {
    /// Find ONVIF cameras (WS-Discovery) and print them as `[[cameras]]` config.
    ///
    /// Without credentials only what a camera tells anyone is shown (its scopes and its
    /// clock); with --user and --password-env also its model, profiles, stream and
    /// snapshot URIs. Exit 0 if any device answered, 1 if none did.
    Discover(DiscoverArgs),
}

/// Options of `cameras discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// How long to wait for answers, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub timeout_s: f64,
    /// Probe these addresses (HOST or HOST:PORT, port 3702 by default) instead of the
    /// multicast group, e.g. cameras behind a router. Repeatable.
    #[arg(long, value_name = "HOST:PORT", num_args = 1..)]
    pub unicast: Vec<String>,
    /// User name to log in to the cameras with.
    #[arg(long, requires = "password_env")]
    pub user: Option<String>,
    /// Environment variable holding that user's password (never on the command line).
    #[arg(long, requires = "user", value_name = "VAR")]
    pub password_env: Option<String>,
}

/// Runs a `cameras` command.
pub async fn run(command: CamerasCommand) -> anyhow::Result<ExitCode> {
    match command {
        CamerasCommand::Discover(args) => discover_cmd(args).await,
    }
}

/// What one camera told us.
#[derive(Debug, Default)]
struct Findings {
    /// The device service URL used.
    xaddr: String,
    clock: Option<Result<SystemDateAndTime, String>>,
    offset_s: Option<f64>,
    info: Option<Result<DeviceInformation, String>>,
    /// Each profile with its stream and snapshot URIs (or why not).
    profiles: Option<Result<Vec<ProfileUris>, String>>,
}

#[derive(Debug)]
struct ProfileUris {
    profile: Profile,
    stream: Result<MediaUri, String>,
    snapshot: Result<MediaUri, String>,
}

/// The login given on the command line.
struct Login {
    user: String,
    password: String,
    password_env: String,
}

async fn discover_cmd(args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout_s.is_finite() && args.timeout_s > 0.0 && args.timeout_s <= 600.0) {
        bail!("--timeout-s must be between 0 and 600 seconds");
    }
    let login = match (args.user, args.password_env) {
        (Some(user), Some(var)) => Some(Login {
            password: std::env::var(&var).map_err(|_| {
                anyhow::anyhow!("environment variable {var} (--password-env) is not set")
            })?,
            user,
            password_env: var,
        }),
        _ => None,
    };
    let targets = if args.unicast.is_empty() {
        Discovery::Multicast
    } else {
        let mut addrs = Vec::new();
        for target in &args.unicast {
            addrs.push(resolve(target).await?);
        }
        Discovery::Unicast(addrs)
    };
    let timeout = Duration::from_secs_f64(args.timeout_s);
    eprintln!("probing {} for {timeout:?}…", describe(&targets));
    let report = discover(timeout, &targets)
        .await
        .context("opening a UDP socket for WS-Discovery")?;
    for e in &report.send_errors {
        eprintln!("warning: probe not sent {e}");
    }
    if report.malformed > 0 {
        eprintln!("warning: {} answer(s) could not be read:", report.malformed);
        for p in &report.problems {
            eprintln!("  {p}");
        }
    }
    if report.devices.is_empty() {
        eprintln!("no ONVIF device answered within {timeout:?}");
        return Ok(ExitCode::FAILURE);
    }
    eprintln!("{} device(s) answered", report.devices.len());
    let total = report.devices.len();
    for (i, device) in report.devices.iter().enumerate() {
        let findings = inspect(device, login.as_ref()).await;
        println!(
            "{}",
            render(i + 1, total, device, &findings, login.as_ref())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(targets: &Discovery) -> String {
    match targets {
        Discovery::Multicast => "the multicast group 239.255.255.250:3702".into(),
        Discovery::Unicast(addrs) => addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `HOST` or `HOST:PORT` (`[v6]:PORT`) to one socket address, port 3702 by default.
async fn resolve(target: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let with_port = if target
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        target.to_owned()
    } else {
        format!("{target}:3702")
    };
    tokio::net::lookup_host(&with_port)
        .await
        .with_context(|| format!("--unicast {target}: cannot resolve"))?
        .next()
        .with_context(|| format!("--unicast {target}: no address"))
}

/// The device service URL to talk to: one on the address that answered, else the first
/// IPv4 one, else the first.
fn pick_xaddr(device: &DiscoveredDevice) -> String {
    let ip = device.from.ip().to_string();
    let on = |x: &&String| x.contains(&format!("//{ip}/")) || x.contains(&format!("//{ip}:"));
    device
        .xaddrs
        .iter()
        .find(on)
        .or_else(|| device.xaddrs.iter().find(|x| !x.contains("//[")))
        .or(device.xaddrs.first())
        .cloned()
        .unwrap_or_default()
}

async fn inspect(device: &DiscoveredDevice, login: Option<&Login>) -> Findings {
    let mut out = Findings {
        xaddr: pick_xaddr(device),
        ..Findings::default()
    };
    let (user, password) = login.map_or(("", ""), |l| (l.user.as_str(), l.password.as_str()));
    let client = match OnvifClient::new(&out.xaddr, user, password, REQUEST_TIMEOUT) {
        Ok(c) => c,
        Err(e) => {
            out.clock = Some(Err(e.to_string()));
            return out;
        }
    };
    out.clock = Some(
        client
            .system_date_and_time()
            .await
            .map_err(|e| e.to_string()),
    );
    out.offset_s = client.clock_offset().map(chrono::TimeDelta::as_seconds_f64);
    if login.is_none() {
        return out;
    }
    out.info = Some(client.device_information().await.map_err(|e| e.to_string()));
    out.profiles = Some(match client.profiles().await {
        Err(e) => Err(e.to_string()),
        Ok(profiles) => {
            let mut all = Vec::new();
            for profile in profiles {
                let stream = client
                    .stream_uri(&profile.token)
                    .await
                    .map_err(|e| e.to_string());
                let snapshot = client
                    .snapshot_uri(&profile.token)
                    .await
                    .map_err(|e| e.to_string());
                all.push(ProfileUris {
                    profile,
                    stream,
                    snapshot,
                });
            }
            Ok(all)
        }
    });
    out
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn video_summary(p: &Profile) -> String {
    let Some(v) = &p.video else {
        return "no video".into();
    };
    let mut s = if v.encoding.is_empty() {
        "video".into()
    } else {
        v.encoding.clone()
    };
    if let Some((w, h)) = v.resolution {
        let _ = write!(s, " {w}x{h}");
    }
    if let Some(fps) = v.fps {
        let _ = write!(s, " @ {fps} fps");
    }
    s
}

/// One device as comments plus a `[[cameras]]` block.
fn render(
    n: usize,
    total: usize,
    device: &DiscoveredDevice,
    f: &Findings,
    login: Option<&Login>,
) -> String {
    let info = f.info.as_ref().and_then(|i| i.as_ref().ok());
    // The name an integrator gave the camera first, then what it is.
    let name = device
        .name()
        .or_else(|| {
            info.map(|i| format!("{} {}", i.manufacturer, i.model).trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| device.hardware())
        .unwrap_or_else(|| format!("camera {n}"));
    let mut o = String::new();
    let _ = writeln!(o, "# --- {n} of {total}: {name}");
    let _ = writeln!(
        o,
        "# endpoint  {} (answered from {})",
        device.endpoint, device.from
    );
    let _ = writeln!(o, "# xaddrs    {}", device.xaddrs.join(" "));
    let scopes: Vec<String> = [
        ("name", device.name()),
        ("hardware", device.hardware()),
        ("location", device.location()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k} {}", quoted(&v))))
    .collect();
    if !scopes.is_empty() {
        let _ = writeln!(o, "# scopes    {}", scopes.join(", "));
    }
    match (&f.clock, f.offset_s) {
        (Some(Ok(c)), Some(off)) => {
            let utc = c
                .utc
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "# clock     camera {utc}, {off:+.1} s from ours, set by {} (corrected for in WS-Security)",
                c.date_time_type
            );
        }
        (Some(Ok(c)), None) => {
            let _ = writeln!(
                o,
                "# clock     set by {}, no UTC time given",
                c.date_time_type
            );
        }
        (Some(Err(e)), _) => {
            let _ = writeln!(o, "# clock     {e}");
        }
        (None, _) => {}
    }
    if let Some(Ok(i)) = &f.info {
        let mut line = format!("{} {}", i.manufacturer, i.model).trim().to_owned();
        for (label, value) in [
            ("firmware", &i.firmware_version),
            ("serial", &i.serial_number),
        ] {
            if !value.is_empty() {
                let _ = write!(line, ", {label} {value}");
            }
        }
        let _ = writeln!(o, "# device    {line}");
    } else if let Some(Err(e)) = &f.info {
        let _ = writeln!(o, "# device    {e}");
    }
    let mut stream_url = None;
    match &f.profiles {
        None => {
            let _ = writeln!(
                o,
                "# profiles  credentials needed: run again with --user USER --password-env VAR"
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(o, "# profiles  {e}");
        }
        Some(Ok(list)) if list.is_empty() => {
            let _ = writeln!(o, "# profiles  none");
        }
        Some(Ok(list)) => {
            for p in list {
                let _ = writeln!(
                    o,
                    "# profile   {} {}: {}",
                    p.profile.token,
                    quoted(&p.profile.name),
                    video_summary(&p.profile)
                );
                for (what, uri) in [("stream", &p.stream), ("snapshot", &p.snapshot)] {
                    match uri {
                        Ok(u) => {
                            let _ = writeln!(o, "#   {what:<9}{}", u.uri);
                        }
                        Err(e) => {
                            let _ = writeln!(o, "#   {what:<9}{e}");
                        }
                    }
                }
                if stream_url.is_none() {
                    stream_url = p
                        .stream
                        .as_ref()
                        .ok()
                        .map(|u| (u.uri.clone(), p.profile.token.clone()));
                }
            }
        }
    }
    let _ = writeln!(o, "[[cameras]]");
    let _ = writeln!(
        o,
        "id = {}  # or the camera's 20-digit customs code",
        quoted(&format!("cam-{n}"))
    );
    let _ = writeln!(o, "name = {}", quoted(&name));
    let _ = writeln!(o, "onvif_url = {}", quoted(&f.xaddr));
    if let Some((uri, token)) = stream_url {
        let _ = writeln!(o, "stream_url = {}  # profile {token}", quoted(&uri));
    }
    if let Some(l) = login {
        let _ = writeln!(o, "username = {}", quoted(&l.user));
        let _ = writeln!(o, "password_env = {}", quoted(&l.password_env));
    } else {
        let _ = writeln!(o, "# username = \"…\"");
        let _ = writeln!(o, "# password_env = \"…\"  # or password_file");
    }
    o
}

#[cfg(test)]
#[path = "cameras_cli_tests.rs"]
mod tests;
