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
    tasks: JoinSet<(String, anyhow::Result<()>)>,
    shutdown: CancellationToken,
}

/// Start the controller for `config` on `store`; returns once every listener is bound.
/// The console's address (`web.listen`) is bound first, so a busy port fails before any
/// device is touched.
pub async fn start(
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let web = bind_web(&config.web.listen).await?;
    start_on(config, store, web, shutdown).await
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
    let health = Health::default();
    let (events, _) = broadcast::channel(1024);
    let mut tasks = JoinSet::new();
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

/// Open the store named by `config` and run until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let store = Store::open(&config.storage.data_dir)
        .with_context(|| format!("opening the store in {}", config.storage.data_dir.display()))?;
    start(config, store, shutdown).await?.wait().await
}
