//! The controller: starts every subsystem for a config and stops them on the shutdown token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::health::Health;
use crate::service::{self, Watchdog};
use crate::sorting::LineTask;
use crate::store::Store;
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
    /// The platform link's counters, when a platform is configured.
    pub sync: Option<Arc<SyncStats>>,
    /// The gate lanes, when the site runs any.
    pub gates: Option<crate::gates::Gates>,
    /// Video capture and evidence frames, when any camera is captured. The line and the
    /// gates hand it their moments ([`crate::video::VideoHub::moment`]).
    pub video: Option<crate::video::VideoHub>,
    /// The loops that must make progress for systemd's watchdog to be pinged.
    pub watchdog: Watchdog,
    tasks: JoinSet<(String, anyhow::Result<()>)>,
    shutdown: CancellationToken,
}

/// Start the controller for `config` on `store`; returns once every listener is bound.
pub async fn start(
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let health = Health::default();
    let (events, _) = broadcast::channel(1024);
    let mut tasks = JoinSet::new();
    let watchdog = Watchdog::default();
    watchdog.watch(
        "store writer",
        store.writer.pulse(),
        service::WRITER_STALL_AFTER,
    );
    crate::sync::configure_outbox(&config, &store)
        .await
        .context("configuring the outbox")?;
    // Before the lines and the gates, which hand it their moments.
    let video = crate::video::start(&config, &store, &health, &shutdown, &mut tasks)
        .context("starting video capture")?;
    let mut feeds = Vec::new();
    for line in &config.lines {
        let name = format!("line {}", line.id);
        let evidence = crate::evidence::EvidenceStore::new(&config.storage.data_dir);
        let task = LineTask::new(
            line.clone(),
            store.clone(),
            events.clone(),
            health.clone(),
            evidence,
            video.clone(),
        );
        feeds.push(task.status_feed());
        let poll = Duration::from_millis(line.plc.poll_interval_ms);
        watchdog.watch(
            name.clone(),
            task.pulse(),
            service::stall_after(service::LINE_STALL_AFTER, poll),
        );
        let token = shutdown.clone();
        tasks.spawn(async move { (name, task.run(token).await) });
    }
    let belts = feeds.iter().map(|f| f.belt.clone()).collect();
    let sync = match &config.platform {
        Some(platform) => Some(crate::sync::spawn(
            &config, platform, &store, &health, feeds, &shutdown, &mut tasks,
        )?),
        None => None,
    };
    let gates = crate::gates::start(
        &config,
        &store,
        &health,
        video.as_ref(),
        &shutdown,
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
    let (retention, token) = (config.storage.retention(), shutdown.clone());
    let purge_store = store.clone();
    tasks.spawn(async move {
        (
            "evidence purge".to_owned(),
            retention.run(purge_store, token).await,
        )
    });
    if let Some(backup) = config.backup.clone() {
        let (data_dir, backup_store, token) = (
            config.storage.data_dir.clone(),
            store.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            (
                "scheduled backups".to_owned(),
                crate::backup::schedule::run(backup, data_dir, backup_store, token).await,
            )
        });
    }
    let listen: SocketAddr = config.web.listen.parse().context("web.listen")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (web.listen)"))?;
    let web_addr = listener.local_addr()?;
    let state = AppState {
        store: store.clone(),
        health: health.clone(),
        events,
        site: config.site.clone(),
        sync: sync.clone(),
        evidence: crate::evidence::EvidenceStore::new(&config.storage.data_dir),
        gates: gates.clone(),
        video: video.clone(),
        belts,
    };
    let router = web::router(state);
    let token = shutdown.clone();
    tasks.spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(token.cancelled_owned())
        .await;
        ("web".to_owned(), served.map_err(anyhow::Error::from))
    });
    info!(%web_addr, lines = config.lines.len(), site = %config.site.code, "controller started");
    Ok(Running {
        web_addr,
        store,
        health,
        sync,
        gates,
        video,
        watchdog,
        tasks,
        shutdown,
    })
}

impl Running {
    /// Wait until shutdown (or until a task fails, which shuts the rest down), then drain.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut failed = None;
        tokio::select! {
            () = self.shutdown.cancelled() => {}
            Some(joined) = self.tasks.join_next() => {
                let (name, result) = joined.context("a controller task panicked")?;
                // A task that ends because shutdown began (it saw the token first) is no failure.
                if !self.shutdown.is_cancelled() || result.is_err() {
                    let err = result.err().unwrap_or_else(|| anyhow::anyhow!("stopped unexpectedly"));
                    error!(task = %name, error = %err, "controller task failed; shutting down");
                    failed = Some(err.context(format!("{name} failed")));
                    self.shutdown.cancel();
                }
            }
        }
        let drain = async {
            while let Some(joined) = self.tasks.join_next().await {
                if let Ok((name, Err(e))) = joined {
                    warn!(task = %name, error = %e, "task ended with an error during shutdown");
                }
            }
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
            warn!(timeout = ?DRAIN_TIMEOUT, "tasks did not stop in time; aborting them");
            self.tasks.abort_all();
        }
        info!("controller stopped");
        failed.map_or(Ok(()), Err)
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
        running.tasks.spawn(async move {
            link.await;
            ("service manager link".to_owned(), Ok(()))
        });
    }
    running.wait().await
}
