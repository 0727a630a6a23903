//! `platform-sim`: the central platform over MQTT and judge of a site's uplink, with an
//! HTTP API; runs until Ctrl-C/SIGTERM, writes the ledger, exits 1 on a double effect.

use std::io::{IsTerminal, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use customs_edge_protocol::signed::{SealKey, TrustedKeys};
use customs_edge_simulators::platform::{
    self, BulkProgress, Ledger, Platform, PlatformConfig, Scenario, bulk, config, scenario,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

const ABOUT: &str = "The central platform as a customs-edge site sees it over MQTT, and the judge \
of the site's uplink.";

const LONG_ABOUT: &str = "\
The central platform as a customs-edge site sees it over MQTT, and the judge of the site's
uplink.

Topics (under --prefix, per --site):
  <prefix>/<site>/up/<stream>   uplink it subscribes to (QoS 1): decisions, gate, officer,
                                health, telemetry, stats
  <prefix>/<site>/status        the site's retained presence (online/offline)
  <prefix>/<site>/down/<kind>   downlink it publishes (QoS 1): lists, list_status, arrivals,
                                permits, permit_status, instructions, ack

The judge applies each (site, stream) exactly once, in order: the next sequence number is
applied; a lower one is a resend (counted in `resent`, ignored); a higher one arrived ahead
of a missing one (counted in `gaps`, ignored: the site resends it). A record (parcel,
gate pass, officer action, inspection result, alarm transition, dead letter) applied under
a second sequence number counts in `applied_twice`: a double effect. Payloads that are not
an envelope count in `malformed_uplink`; applied messages that break the contract count in
`invalid`. Each stream is acked cumulatively at most every --ack-interval-ms.

Scenarios (--scenario FILE.toml): declaration lists, list status updates, expected
arrivals, exit permits, permit status updates and customs instructions on a timeline, for
one site (the file's `site`, else the first --site). Each [[step]] has an `at_ms` from the
moment the platform is subscribed; each kind in a step is one downlink message, sent in the
order lists, list_status, arrivals, permits, permit_status, instructions; `raw` payloads go
as they are. The file is refused at start, naming the step and its line, when a key is
unknown, steps go back in time, or the site would dead-letter a message (unless the step
says `unchecked = true`).
After the last step the platform keeps serving acks and the ledger until stopped. See
simulators/scenarios/platform-release-and-inspect.toml.

HTTP API (--http): GET /ledger, GET /applied?site=&stream=, POST /lists, /list-status,
/permits, /permit-status, /instructions, /arrivals (JSON array or {\"lists\": [...]} etc.),
POST /raw?topic=, GET|POST /acks {\"paused\": bool, \"drop_rate\": 0.5},
GET /anchor?site= (the newest audit anchor the site sent, as a file for
`customs-edge audit verify --anchor`, signed when --signing-key is given).

Signing (--signing-key, --site-key): every downlink message and ack is wrapped and signed
with the platform's Ed25519 key; uplink not signed by the site's key is refused (counted in
`malformed_uplink`). See docs/mqtt/README.md, Signed messages.

The first line on stdout is the HTTP API's address; the last is the summary. Exit status:
0, or 1 when applied_twice > 0 at exit, or 2 on an error.";

const EXAMPLES: &str = "\
Examples:
  platform-sim --broker mqtt://127.0.0.1:1883 --site 3511W001
  platform-sim --broker mqtts://broker.lan:8883 --ca-file ca.pem --site 3511W001 \\
      --username-env PLATFORM_USER --password-env PLATFORM_PASSWORD
  platform-sim --site 3511W001 --lists docs/manifests.example.jsonl --report-file ledger.json
  platform-sim --site 3511W001 --scenario simulators/scenarios/platform-release-and-inspect.toml
  platform-sim --site 3511W001 --generate 1000000 --batch 1000 --rate 20000 --http 127.0.0.1:0
  curl -s localhost:5090/ledger | jq .totals
  curl -s -XPOST localhost:5090/acks -d '{\"paused\": true}'";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
struct Args {
    /// Broker URL: mqtt://host:port or mqtts://host:port.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// PEM CA file for mqtts:// (default: the system's roots).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS.
    #[arg(long, requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// PEM key of --client-cert.
    #[arg(long, requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Name of the environment variable holding the broker user name.
    #[arg(long, value_name = "VAR")]
    username_env: Option<String>,
    /// Name of the environment variable holding the broker password.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Topic prefix.
    #[arg(long, default_value_t = config::default_prefix())]
    prefix: String,
    /// Site code (loctNo) to serve; repeat for several.
    #[arg(long = "site", value_name = "SITE", required = true)]
    sites: Vec<String>,
    /// MQTT client id (stable: the broker keeps the session while the platform is away).
    #[arg(long, default_value = "customs-edge-platform-sim")]
    client_id: String,
    /// HTTP API address; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5090")]
    http: SocketAddr,
    /// Least time between two acks of one stream, ms.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    ack_interval_ms: u64,
    /// Start with acks paused.
    #[arg(long)]
    acks_paused: bool,
    /// Fraction of acks to drop (0 to 1).
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    ack_drop_rate: f64,
    /// Bodies of applied messages kept for GET /applied (counts are kept for all).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    keep_bodies: usize,
    /// Take the first sequence number seen on a stream as its start (after a restart of
    /// this simulator against a site that keeps going).
    #[arg(long)]
    adopt_first_seq: bool,
    /// First part of downlink message ids (default: `platform-` and the start time, so a
    /// restart is not taken for redeliveries by a site that remembers applied ids).
    #[arg(long)]
    origin: Option<String>,
    /// Publish the declaration lists of this JSON-lines file (`#` lines skipped).
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["generate", "scenario"])]
    lists: Option<PathBuf>,
    /// Publish this many synthetic released lists instead of a file.
    #[arg(long, value_name = "N", conflicts_with = "scenario")]
    generate: Option<u64>,
    /// Play this platform scenario (TOML) once subscribed: lists, statuses, expected
    /// arrivals, permits and instructions on a timeline (see above).
    #[arg(long, value_name = "FILE.toml")]
    scenario: Option<PathBuf>,
    /// The site the lists go to (default: the first --site).
    #[arg(long, value_name = "SITE")]
    lists_site: Option<String>,
    /// Lists per message.
    #[arg(long, value_name = "N", default_value_t = bulk::DEFAULT_BATCH)]
    batch: usize,
    /// At most this many lists per second (default: as fast as the broker takes them).
    #[arg(long, value_name = "LISTS_PER_S")]
    rate: Option<f64>,
    /// Write the ledger (JSON) here on exit.
    #[arg(long, value_name = "PATH")]
    report_file: Option<PathBuf>,
    /// Sign every downlink message and ack with this Ed25519 key (a file with the 32-byte
    /// seed as hex, as `customs-edge keys generate` writes) and require signed uplink.
    #[arg(long, value_name = "FILE", requires = "site_keys")]
    signing_key: Option<PathBuf>,
    /// A site's public key (hex) its uplink must verify with: `SITE=HEX`; repeat.
    #[arg(long = "site-key", value_name = "SITE=HEX", requires = "signing_key")]
    site_keys: Vec<String>,
}

fn env_var(name: Option<&str>, what: &str) -> anyhow::Result<Option<String>> {
    name.map(|n| std::env::var(n).with_context(|| format!("the {what} variable {n} is not set")))
        .transpose()
}

impl Args {
    fn config(&self) -> anyhow::Result<PlatformConfig> {
        let origin = self.origin.clone().unwrap_or_else(|| {
            format!(
                "platform-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            )
        });
        Ok(PlatformConfig {
            broker: self.broker.clone(),
            ca_file: self.ca_file.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            username: env_var(self.username_env.as_deref(), "user name")?,
            password: env_var(self.password_env.as_deref(), "password")?,
            prefix: self.prefix.clone(),
            sites: self.sites.clone(),
            client_id: self.client_id.clone(),
            ack_interval: Duration::from_millis(self.ack_interval_ms.max(1)),
            keep_bodies: self.keep_bodies,
            adopt_first_seq: self.adopt_first_seq,
            origin,
            signing: self.signing()?,
            ..PlatformConfig::default()
        })
    }

    fn signing(&self) -> anyhow::Result<Option<platform::Signing>> {
        let Some(path) = &self.signing_key else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--signing-key {}", path.display()))?;
        let key = SealKey::from_hex(&text)
            .map_err(|e| anyhow::anyhow!("--signing-key {}: {e}", path.display()))?;
        let mut signing = platform::Signing::new(key, &[]);
        for pair in &self.site_keys {
            let (site, hex) = pair
                .split_once('=')
                .with_context(|| format!("--site-key {pair:?} is not SITE=HEX"))?;
            let keys = TrustedKeys::from_hex(&[hex])
                .map_err(|e| anyhow::anyhow!("--site-key {site}: {e}"))?;
            signing.site_keys.insert(site.to_owned(), keys);
        }
        Ok(Some(signing))
    }
}

/// Resolve on the first Ctrl-C or SIGTERM.
async fn signals() -> anyhow::Result<()> {
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
    Ok(())
}

/// Publish the lists of `--lists` or `--generate`, logging progress every few seconds.
async fn load_lists(p: Platform, args: &Args) -> anyhow::Result<()> {
    let site = args
        .lists_site
        .clone()
        .unwrap_or_else(|| args.sites[0].clone());
    let mut last_log = std::time::Instant::now();
    let log = |done: &BulkProgress| {
        if last_log.elapsed() >= Duration::from_secs(5) {
            last_log = std::time::Instant::now();
            info!(
                lists = done.lists,
                messages = done.messages,
                rate = done.rate_per_s().round(),
                "publishing lists"
            );
        }
    };
    let done = if let Some(path) = &args.lists {
        let mut bad = 0_u64;
        let lists = platform::read_jsonl(path)?.filter_map(|item| {
            item.inspect_err(|e| {
                bad += 1;
                warn!(file = %path.display(), "skipped: {e}");
            })
            .ok()
        });
        let done = p
            .publish_lists_from(&site, lists, args.batch, args.rate, log)
            .await?;
        if bad > 0 {
            warn!(bad, file = %path.display(), "lines skipped");
        }
        done
    } else if let Some(n) = args.generate {
        let lists = platform::synthetic_lists(&site, 1, n);
        p.publish_lists_from(&site, lists, args.batch, args.rate, log)
            .await?
    } else {
        return Ok(());
    };
    info!(site, lists = done.lists, messages = done.messages, first_seq = ?done.first_seq,
        last_seq = ?done.last_seq, seconds = done.elapsed.as_secs_f64(),
        rate = done.rate_per_s().round(), "lists published");
    Ok(())
}

/// Wait until subscribed, however long the broker takes, then play the scenario (which
/// logs what it publishes).
async fn play_scenario(
    p: Platform,
    scenario: Scenario,
    site: String,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            r = p.wait_subscribed(Duration::from_secs(30)) => match r {
                Ok(()) => break,
                Err(e) => warn!("{e:#}; the scenario waits"),
            },
        }
    }
    scenario::play(&p, &scenario, &site, shutdown).await?;
    Ok(())
}

fn write_report(path: &Path, ledger: &Ledger) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(ledger)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Run until a signal; `Ok(true)` when no double effect was seen.
async fn run(args: Args) -> anyhow::Result<bool> {
    if !(0.0..=1.0).contains(&args.ack_drop_rate) {
        bail!(
            "--ack-drop-rate {} is not between 0 and 1",
            args.ack_drop_rate
        );
    }
    if let Some(site) = &args.lists_site
        && !args.sites.contains(site)
    {
        bail!("--lists-site {site} is not one of the --site values");
    }
    let scenario = match &args.scenario {
        Some(path) => {
            let s = Scenario::load(path)?;
            let site = s.site.clone().unwrap_or_else(|| args.sites[0].clone());
            if !args.sites.contains(&site) {
                bail!(
                    "the scenario {} is for site {site}, which is not one of the --site values",
                    path.display()
                );
            }
            Some((s, site))
        }
        None => None,
    };
    let config = args.config()?;
    let report_file = args.report_file.clone();
    let listener = TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", args.http))?;
    let http_addr = listener.local_addr()?;
    let running = platform::start(config).await?;
    running.set_acks_paused(args.acks_paused);
    running.set_ack_drop_rate(args.ack_drop_rate);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{http_addr}");
        let _ = out.flush();
    }
    info!(http = %http_addr, "HTTP API listening");
    let stop_http = CancellationToken::new();
    let http = tokio::spawn(platform::http::run(
        listener,
        running.handle(),
        stop_http.clone(),
    ));
    let stop_scenario = CancellationToken::new();
    let player = scenario.map(|(s, site)| {
        let (p, stop) = (running.handle(), stop_scenario.clone());
        tokio::spawn(async move {
            if let Err(e) = play_scenario(p, s, site, stop).await {
                warn!("scenario not all published: {e:#}");
            }
        })
    });
    let loader = {
        let p = running.handle();
        async move {
            if let Err(e) = load_lists(p, &args).await {
                warn!("lists not all published: {e:#}");
            }
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = signals() => r?,
        () = loader => {}
    }
    info!("stopping");
    stop_scenario.cancel();
    if let Some(player) = player {
        let _ = tokio::time::timeout(Duration::from_secs(2), player).await;
    }
    stop_http.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), http).await;
    let ledger = running.stop().await;
    if let Some(path) = &report_file {
        write_report(path, &ledger)?;
        info!(file = %path.display(), "ledger written");
    }
    Ok(finish(&ledger))
}

/// Print the summary (ignoring a closed stdout: a script may have read only the first
/// line); `true` when no double effect was seen.
fn finish(ledger: &Ledger) -> bool {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", ledger.summary_line());
    for d in &ledger.doubles {
        let _ = writeln!(
            out,
            "  applied twice: {} on {}/{} at seq {} (first at seq {})",
            d.record, d.site, d.stream, d.seq, d.first_seq
        );
    }
    let _ = out.flush();
    ledger.totals.applied_twice == 0
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("platform-sim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
