//! The task that watches the directory, stats files and reports the complete ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use notify::RecommendedWatcher;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::hints::{Action, Raw, Seen, start_watcher};
use super::scan::{blocking, is_image_name, list_images, snapshot, stat_all};
use super::state::{Hint, Ready, Snapshot, Tracker};
use super::{FeedOptions, XrayEvent, XrayImage};
use crate::backoff::Backoff;

/// Filesystem events queued between the watcher thread and the task; past this the
/// events are dropped and a rescan is due instead, so memory stays bounded.
const HINT_QUEUE: usize = 1024;
/// Longest wait between attempts after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First wait before watching again after the watcher failed.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Watches one directory for the X-ray machine's image files.
#[derive(Debug, Clone)]
pub struct XrayFeed {
    dir: PathBuf,
    options: FeedOptions,
}

impl XrayFeed {
    /// A feed for the image files written into `dir`.
    pub fn new(dir: impl Into<PathBuf>, options: FeedOptions) -> Self {
        Self {
            dir: dir.into(),
            options,
        }
    }

    /// The watched directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Run until `shutdown` fires or the receiver of `events` is dropped.
    pub async fn run(self, events: mpsc::Sender<XrayEvent>, shutdown: CancellationToken) {
        let mut task = Task::new(self, events, shutdown.clone());
        if !task.start().await {
            return;
        }
        task.ensure_watcher().await;
        while !task.stopped {
            let at = task.next_wake();
            let hint = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                Some(hint) = task.hints.recv() => Some(hint),
                () = tokio::time::sleep_until(at) => None,
            };
            if let Some(hint) = hint {
                task.on_hint(hint).await;
                // Take what else is queued now, but let timers run in between.
                for _ in 0..64 {
                    let Ok(hint) = task.hints.try_recv() else {
                        break;
                    };
                    task.on_hint(hint).await;
                }
            }
            task.tick().await;
        }
    }
}

/// The state of one running feed.
struct Task {
    dir: PathBuf,
    options: FeedOptions,
    /// Lower-case extensions.
    extensions: Arc<[String]>,
    tracker: Tracker,
    events: mpsc::Sender<XrayEvent>,
    shutdown: CancellationToken,
    hints_tx: mpsc::Sender<Raw>,
    hints: mpsc::Receiver<Raw>,
    /// Set by the watcher thread when `hints` was full: a rescan is due.
    overflow: Arc<AtomicBool>,
    watcher: Option<RecommendedWatcher>,
    /// The way of watching last announced (`Some(true)`: events).
    announced: Option<bool>,
    watch_retry_at: Instant,
    watch_backoff: Backoff,
    next_rescan: Instant,
    /// The wait between rescans while they fail (reset by one that works).
    rescan_backoff: Backoff,
    next_check: Instant,
    /// The receiver is gone or shutdown fired.
    stopped: bool,
}

impl Task {
    fn new(feed: XrayFeed, events: mpsc::Sender<XrayEvent>, shutdown: CancellationToken) -> Self {
        let (hints_tx, hints) = mpsc::channel(HINT_QUEUE);
        let now = Instant::now();
        let rescan_floor = feed.options.poll.min(MAX_BACKOFF);
        let extensions = feed
            .options
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        Self {
            tracker: Tracker::new(feed.options.settle, feed.options.max_remembered),
            dir: feed.dir,
            options: feed.options,
            extensions,
            events,
            shutdown,
            hints_tx,
            hints,
            overflow: Arc::new(AtomicBool::new(false)),
            watcher: None,
            announced: None,
            watch_retry_at: now,
            watch_backoff: Backoff::new(FIRST_BACKOFF, MAX_BACKOFF),
            next_rescan: now,
            rescan_backoff: Backoff::new(rescan_floor, MAX_BACKOFF),
            next_check: now,
            stopped: false,
        }
    }

    /// Create the directory if needed and take the baseline; false when stopped first.
    async fn start(&mut self) -> bool {
        let mut backoff = Backoff::new(
            self.options.poll.max(Duration::from_millis(100)),
            MAX_BACKOFF,
        );
        loop {
            let dir = self.dir.clone();
            let exts = self.extensions.clone();
            let listed = blocking(move || {
                std::fs::create_dir_all(&dir)?;
                let paths = list_images(&dir, &exts)?;
                Ok(stat_all(paths))
            })
            .await;
            match listed {
                Ok(files) => {
                    let files = files
                        .into_iter()
                        .filter_map(|(p, s)| Some((p, s.ok()??)))
                        .collect();
                    if self.options.include_existing {
                        let now = Instant::now().into_std();
                        for (path, snap) in files {
                            self.tracker.observe(path, Hint::Changed, snap, now);
                        }
                    } else {
                        self.tracker.baseline(files);
                    }
                    self.next_rescan = Instant::now() + self.rescan_period();
                    return true;
                }
                Err(e) => {
                    let reason =
                        format!("cannot use the X-ray directory {}: {e}", self.dir.display());
                    self.error(reason).await;
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                () = tokio::time::sleep(backoff.next_wait()) => {}
            }
            if self.stopped {
                return false;
            }
        }
    }

    fn rescan_period(&self) -> Duration {
        if self.watcher.is_some() {
            self.options.rescan
        } else {
            self.options.poll
        }
    }

    fn check_period(&self) -> Duration {
        (self.options.settle / 4).clamp(Duration::from_millis(10), Duration::from_millis(250))
    }

    fn next_wake(&self) -> Instant {
        let mut at = self.next_rescan;
        if self.tracker.has_pending() {
            at = at.min(self.next_check);
        }
        if self.options.use_events && self.watcher.is_none() {
            at = at.min(self.watch_retry_at);
        }
        at
    }

    /// Start watching for events, if they are wanted and not running.
    async fn ensure_watcher(&mut self) {
        if !self.options.use_events {
            self.announce(false).await;
            return;
        }
        if self.watcher.is_some() {
            return;
        }
        let tx = self.hints_tx.clone();
        let started = start_watcher(&self.dir, tx, Arc::clone(&self.overflow));
        let now = Instant::now();
        match started {
            Ok(watcher) => {
                self.watcher = Some(watcher);
                self.watch_backoff.reset();
                // Whatever arrived before the watch started is found by a rescan (unless
                // rescans are failing and backing off).
                if self.rescan_backoff.failures() == 0 {
                    self.next_rescan = now;
                }
                self.announce(true).await;
            }
            Err(e) => {
                let reason = format!(
                    "cannot watch the X-ray directory {} for events ({e}); rescanning every {:?}",
                    self.dir.display(),
                    self.options.poll
                );
                self.error(reason).await;
                self.watch_retry_at = now + self.watch_backoff.next_wait();
                self.announce(false).await;
            }
        }
    }

    async fn announce(&mut self, by_events: bool) {
        if self.announced != Some(by_events) {
            self.announced = Some(by_events);
            tracing::info!(dir = %self.dir.display(), by_events, "watching the X-ray directory");
            let dir = self.dir.clone();
            self.send(XrayEvent::Watching { dir, by_events }).await;
        }
    }

    /// Drop a watcher that watches nothing any more; the next tick watches again.
    fn lose_watcher(&mut self) {
        if self.watcher.take().is_some() {
            self.watch_retry_at = Instant::now();
        }
    }

    async fn on_hint(&mut self, raw: Raw) {
        let seen = match raw {
            Ok(seen) => seen,
            Err(e) => {
                let reason = format!("watching the X-ray directory {}: {e}", self.dir.display());
                self.error(reason).await;
                self.next_rescan = Instant::now();
                return;
            }
        };
        for Seen { action, stat } in seen {
            match action {
                Action::Look(path, hint) => self.consider(path, hint, stat).await,
                Action::Gone(path) => self.tracker.gone(&path),
                Action::DirGone => {
                    self.lose_watcher();
                    self.next_rescan = Instant::now();
                }
                Action::Rescan => self.next_rescan = Instant::now(),
            }
        }
    }

    /// Tell the tracker about `path`, with the watcher thread's `stat` of it if it took
    /// one, else with one taken now off the async threads.
    async fn consider(
        &mut self,
        path: PathBuf,
        hint: Hint,
        stat: Option<std::io::Result<Option<Snapshot>>>,
    ) {
        if path.parent() != Some(self.dir.as_path()) || !is_image_name(&path, &self.extensions) {
            return;
        }
        // Reported files change nothing but a rename onto them; pending files are
        // statted on every check anyway, so a write burst costs no stat per write.
        let known = match hint {
            Hint::Arrived => false,
            Hint::Closed => self.tracker.is_reported(&path),
            Hint::Changed => self.tracker.is_known(&path),
        };
        if known {
            return;
        }
        let stat = if let Some(stat) = stat {
            stat
        } else {
            let stat_path = path.clone();
            blocking(move || snapshot(&stat_path)).await
        };
        match stat {
            Ok(Some(snap)) => {
                let now = Instant::now().into_std();
                if let Some(ready) = self.tracker.observe(path, hint, snap, now) {
                    self.report(ready).await;
                }
            }
            Ok(None) => self.tracker.gone(&path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot stat an X-ray file");
            }
        }
    }

    /// Timers: rescans, watching again, and pending files that may have settled.
    async fn tick(&mut self) {
        if self.overflow.swap(false, Ordering::Relaxed) {
            tracing::debug!(dir = %self.dir.display(), "event queue overflowed; rescanning");
            self.next_rescan = Instant::now();
        }
        if Instant::now() >= self.next_rescan {
            self.rescan().await;
        }
        if self.options.use_events
            && self.watcher.is_none()
            && Instant::now() >= self.watch_retry_at
        {
            self.ensure_watcher().await;
        }
        if self.tracker.has_pending() && Instant::now() >= self.next_check {
            self.check_pending().await;
            self.next_check = Instant::now() + self.check_period();
        }
    }

    async fn rescan(&mut self) {
        let dir = self.dir.clone();
        let exts = self.extensions.clone();
        match blocking(move || list_images(&dir, &exts)).await {
            Ok(paths) => {
                self.rescan_backoff.reset();
                self.next_rescan = Instant::now() + self.rescan_period();
                let present: HashSet<PathBuf> = paths.iter().cloned().collect();
                self.tracker.retain_present(&present);
                let unknown: Vec<PathBuf> = paths
                    .into_iter()
                    .filter(|p| !self.tracker.is_known(p))
                    .collect();
                if !unknown.is_empty() {
                    self.observe_all(unknown).await;
                }
            }
            Err(e) => {
                let reason = format!(
                    "cannot read the X-ray directory {}: {e}",
                    self.dir.display()
                );
                self.error(reason).await;
                let dir = self.dir.clone();
                if let Err(e) = blocking(move || std::fs::create_dir_all(dir)).await {
                    tracing::debug!(error = %e, "cannot create the X-ray directory yet");
                }
                // A directory made again is a new one: watch it anew.
                self.lose_watcher();
                self.next_rescan = Instant::now() + self.rescan_backoff.next_wait();
            }
        }
    }

    async fn check_pending(&mut self) {
        let paths = self.tracker.pending_paths();
        self.observe_all(paths).await;
        let now = Instant::now().into_std();
        for ready in self.tracker.due(now) {
            self.report(ready).await;
        }
    }

    /// Stat `paths` off the async threads and tell the tracker what changed.
    async fn observe_all(&mut self, paths: Vec<PathBuf>) {
        let Ok(stats) = blocking(move || Ok(stat_all(paths))).await else {
            return;
        };
        let now = Instant::now().into_std();
        for (path, snap) in stats {
            match snap {
                Ok(Some(snap)) => {
                    // `Changed` never completes a file at once; `due` does.
                    let _ = self.tracker.observe(path, Hint::Changed, snap, now);
                }
                Ok(None) => self.tracker.gone(&path),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot stat an X-ray file");
                }
            }
        }
    }

    async fn report(&mut self, ready: Ready) {
        let image = XrayImage {
            path: ready.path,
            produced_at: ready.snap.modified,
            detected_at: SystemTime::now(),
            bytes: ready.snap.len,
        };
        tracing::debug!(path = %image.path.display(), bytes = image.bytes, "X-ray image");
        self.send(XrayEvent::Image(image)).await;
    }

    async fn error(&mut self, reason: String) {
        tracing::warn!(%reason, "X-ray feed");
        self.send(XrayEvent::Error { reason }).await;
    }

    async fn send(&mut self, event: XrayEvent) {
        if self.stopped {
            return;
        }
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => self.stopped = true,
            sent = self.events.send(event) => self.stopped = sent.is_err(),
        }
    }
}
