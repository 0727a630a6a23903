//! The controller: starts every subsystem for a config under a supervisor, and stops them
//! on the shutdown token (and only on it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge_devices::backoff::Backoff;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::alarm_book::AlarmBook;
use crate::config::Config;
use crate::disk_watch::DiskWatch;
use crate::health::Health;
use crate::listen::Server;
use crate::service::{self, Watchdog};
use crate::sorting::LineTask;
use crate::store::Store;
use crate::supervisor::Supervisor;
use crate::sync::SyncStats;
use crate::web::{self, AppState};

/// How long stopping tasks get to finish their current work after shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A started controller.
#[derive(Debug)]
pub struct Running {
    /// Where the console and API listen.
    pub web_addr: SocketAddr,
    /// The store, for callers that want to look.
    pub store: Store,
    /// Subsystem health.
    pub health: Health,
    /// The controller's alarms about itself (store, disk, failed tasks).
    pub alarms: AlarmBook,
    /// The platform link's counters, when a platform is configured.
    pub sync: Option<Arc<SyncStats>>,
    /// The gate lanes, when the site runs any.
    pub gates: Option<crate::gates::Gates>,
    /// Video capture and evidence frames, when any camera is captured. The line and the
    /// gates hand it their moments ([`crate::video::VideoHub::moment`]).
    pub video: Option<crate::video::VideoHub>,
    /// The loops that must make progress for systemd's watchdog to be pinged.
    pub watchdog: Watchdog,
    tasks: Supervisor,
}

/// Start the controller for `config` on `store`; returns once every listener is bound.
///
/// Every task runs under a [`Supervisor`]: one that fails is restarted, its failure an
/// alarm; none of them ends the controller, only `shutdown` does. The console's address
/// (`web.listen`) is bound first, so a busy port fails before any device is touched.
pub async fn start(
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let web = bind_web(&config.web.listen).await?;
    start_on(config, store, web, shutdown).await
}

/// The lines' decision log, with what an earlier run left in it stored first.
async fn open_decision_log(
    config: &Config,
    store: &Store,
) -> anyhow::Result<Arc<crate::sorting::decision_log::DecisionLog>> {
    use crate::sorting::decision_log::{self, DecisionLog};
    let (log, mut recovered) =
        DecisionLog::open_waiting(&config.storage.data_dir, Duration::from_secs(10))
            .await
            .context("opening the decision log")?;
    if recovered.torn > 0 {
        warn!(
            lines = recovered.torn,
            "decision log: lines that are not a whole record skipped (an append cut short by a crash)"
        );
    }
    let records = std::mem::take(&mut recovered.records);
    let found = records.len();
    match decision_log::replay(store, records).await {
        Ok(replayed) => {
            if found > 0 {
                info!(
                    found,
                    stored = replayed.stored,
                    known = replayed.known,
                    orphaned = replayed.orphaned,
                    "decisions the last run logged: those the store did not have are stored"
                );
            }
            recovered.done();
        }
        Err(e) => {
            warn!(found, error = %e, "decisions the last run logged not stored now: the log keeps them for the next start");
        }
    }
    Ok(log)
}

/// Binds the console's address; the error names it and the config key.
pub async fn bind_web(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let addr: SocketAddr = listen.parse().context("web.listen")?;
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (web.listen)"))
}

/// [`start`] with the console's listener already bound (the demo binds it before it
/// starts its simulated site).
pub async fn start_on(
    config: Config,
    store: Store,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let nofile = crate::listen::nofile::raise();
    let health = Health::default();
    let alarms = AlarmBook::default();
    let (events, _) = broadcast::channel(1024);
    let mut tasks = Supervisor::new(shutdown.clone(), health.clone(), alarms.clone());
    let watchdog = Watchdog::default();
    watchdog.watch(
        "store writer",
        store.writer.pulse(),
        service::WRITER_STALL_AFTER,
    );
    // The outbox first: on a fresh store it is off until configured, and an alarm raised
    // before (a low disk at the first start) was recorded but never went to the platform.
    configure_outbox(&config, &store, &mut tasks).await;
    spawn_store_watches(&config, &store, &health, &alarms, &mut tasks);
    // Before the lines and the gates, which hand it their moments.
    let video = crate::video::start(&config, &store, &health, &mut tasks)
        .context("starting video capture")?;
    let mut feeds = Vec::new();
    let decisions = open_decision_log(&config, &store).await?;
    for line in &config.lines {
        let evidence = crate::evidence::EvidenceStore::new(&config.storage.data_dir);
        let task = LineTask::new(
            line.clone(),
            store.for_control(),
            Arc::clone(&decisions),
            events.clone(),
            health.clone(),
            evidence,
            video.clone(),
        );
        feeds.push(task.status_feed());
        let poll = Duration::from_millis(line.plc.poll_interval_ms);
        watchdog.watch(
            format!("line {}", line.id),
            task.pulse(),
            service::stall_after(service::LINE_STALL_AFTER, poll),
        );
        tasks.spawn_control(format!("line {}", line.id), move |token| {
            task.clone().run(token)
        });
    }
    let belts = feeds.iter().map(|f| f.belt.clone()).collect();
    let sync = match &config.platform {
        Some(platform) => Some(crate::sync::spawn(
            &config, platform, &store, &health, feeds, &mut tasks,
        )?),
        None => None,
    };
    let caps = listener_caps(&config, &nofile);
    let gates = crate::gates::start(
        &config,
        &store,
        &health,
        video.as_ref(),
        caps.plate_events,
        &mut tasks,
    )
    .await
    .context("starting the gates")?;
    // A lane publishes its view after every poll: that publication is its heartbeat.
    if let Some(gates) = &gates {
        for view in gates.watch_views() {
            let id = view.borrow().gate.clone();
            let poll = config.gates.iter().find(|g| g.id == id);
            let poll = Duration::from_millis(poll.map_or(0, |g| g.poll_interval_ms));
            let stall_after = service::stall_after(service::LANE_STALL_AFTER, poll);
            let pulse = service::Pulse::new();
            watchdog.watch(format!("gate {id}"), pulse.clone(), stall_after);
            service::watchdog::beat_on_change(view, pulse, shutdown.clone());
        }
    }
    let retention = config.storage.retention();
    let purge_store = store.clone();
    tasks.spawn("evidence purge", move |token| {
        retention.clone().run(purge_store.clone(), token)
    });
    if let Some(backup) = config.backup.clone() {
        let (data_dir, backup_store) = (config.storage.data_dir.clone(), store.clone());
        tasks.spawn("scheduled backups", move |token| {
            crate::backup::schedule::run(
                backup.clone(),
                data_dir.clone(),
                backup_store.clone(),
                token,
            )
        });
    }
    let state = AppState {
        store: store.clone(),
        health: health.clone(),
        alarms: alarms.clone(),
        events,
        site: config.site.clone(),
        sync: sync.clone(),
        evidence: crate::evidence::EvidenceStore::new(&config.storage.data_dir),
        gates: gates.clone(),
        video: video.clone(),
        belts,
        trusted_proxies: config.web.proxies(),
    };
    let mut server = Server::new(
        "web",
        listener,
        web::router(state),
        &config.web.limits,
        caps.web,
    );
    if let Some(tls) = &config.web.tls {
        let tls_config = crate::listen::tls::load(&tls.cert_file, &tls.key_file)
            .map_err(|e| anyhow::anyhow!("web.tls: {e}"))?;
        server = server
            .with_tls(tls_config)
            .with_handshake_timeout(tls.handshake_timeout())
            .with_hsts(tls.hsts());
    }
    let web_addr = server.local_addr()?;
    tasks.spawn("web", move |token| server.clone().run(token));
    info!(%web_addr, lines = config.lines.len(), site = %config.site.code, "controller started");
    Ok(Running {
        web_addr,
        store,
        health,
        alarms,
        sync,
        gates,
        video,
        watchdog,
        tasks,
    })
}

/// The controller's alarms written to the store as it takes them, and the watch on the
/// data disk and the store's commits.
fn spawn_store_watches(
    config: &Config,
    store: &Store,
    health: &Health,
    alarms: &AlarmBook,
    tasks: &mut Supervisor,
) {
    let (book, book_store) = (alarms.clone(), store.clone());
    tasks.spawn("controller alarms", move |token| {
        book.clone().run(book_store.clone(), token)
    });
    let watch = DiskWatch {
        dir: config.storage.data_dir.clone(),
        config: config.storage.disk.clone(),
        alarms: alarms.clone(),
        health: health.clone(),
    };
    let watch_store = store.clone();
    tasks.spawn("disk watch", move |token| {
        watch.clone().run(watch_store.clone(), token)
    });
}

/// Turn the outbox on or off for this config; when the store cannot take it now (a full
/// disk at start), it is retried in the background and the controller starts anyway.
async fn configure_outbox(config: &Config, store: &Store, tasks: &mut Supervisor) {
    let Err(e) = crate::sync::configure_outbox(config, store).await else {
        return;
    };
    warn!(error = %e, "outbox settings not written; retrying in the background");
    let (config, store) = (config.clone(), store.clone());
    tasks.spawn("outbox settings", move |token| {
        let (config, store) = (config.clone(), store.clone());
        async move {
            let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
            while let Err(e) = crate::sync::configure_outbox(&config, &store).await {
                tracing::debug!(error = %e, "outbox settings not written yet");
                tokio::select! {
                    () = token.cancelled() => return Ok(()),
                    () = tokio::time::sleep(backoff.next_wait()) => {}
                }
            }
            info!("outbox settings written");
            token.cancelled().await;
            Ok(())
        }
    });
}

/// Each listener's connection cap, fitted into the open-file limit.
#[derive(Debug, Clone, Copy)]
struct ListenerCaps {
    web: u32,
    plate_events: u32,
}

fn listener_caps(config: &Config, nofile: &crate::listen::nofile::NoFile) -> ListenerCaps {
    let wanted = [
        config.web.limits.max_connections,
        if config.gates.is_empty() {
            0
        } else {
            config.plate_events.limits.max_connections
        },
    ];
    let budget = nofile.for_connections();
    let fitted = crate::listen::nofile::fit(&wanted, budget);
    if fitted != wanted {
        warn!(?wanted, ?fitted, open_file_limit = ?nofile.soft,
            "connection caps lowered to fit the open-file limit");
    }
    ListenerCaps {
        web: fitted[0].max(1),
        plate_events: fitted[1].max(1),
    }
}

impl Running {
    /// Wait until shutdown, then drain every task (a failed task is restarted, never a
    /// reason to stop).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.tasks.run_until_shutdown(DRAIN_TIMEOUT).await;
        info!("controller stopped");
        Ok(())
    }
}

/// Open the store named by `config` and run until `shutdown`, keeping the service manager
/// (when there is one) told: ready once listening, the watchdog, stopping.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    service::status("starting: opening the store (a pending migration backs it up first)");
    let store = Store::open(&config.storage.data_dir)
        .with_context(|| format!("opening the store in {}", config.storage.data_dir.display()))?;
    let (lines, gates, cameras) = (config.lines.len(), config.gates.len(), config.cameras.len());
    let mut running = start(config, store, shutdown.clone()).await?;
    let status = format!(
        "running: {lines} line(s), {gates} gate lane(s), {cameras} camera(s); console on {}",
        running.web_addr
    );
    if let Some(link) = service::ready(status, running.watchdog.clone(), &shutdown) {
        // Told once; the future runs until shutdown and is not made again.
        let mut link = Some(link);
        running.tasks.spawn("service manager link", move |token| {
            let link = link.take();
            async move {
                match link {
                    Some(link) => link.await,
                    None => token.cancelled().await,
                }
                Ok(())
            }
        });
    }
    running.wait().await
}
