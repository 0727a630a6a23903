//! The task that runs one sorting line: polls the PLC, listens to the scanners, writes every
//! event to the store, decides lanes when they fall due and commands the diverter.
//!
//! Order of effects for each event: local storage first, then the PLC and the live
//! console. A decision goes to the decision log ([`super::decision_log`]) and is
//! commanded; its commit to the store follows, in order with the line's other writes. A
//! parcel whose decision cannot be logged, or whose lane command cannot be written, still
//! gets the PLC's default lane (exception), so a controller fault fails closed.
//!
//! - [`plc`] — what a status poll tells: entries, weighings, drops, acks, heartbeat, and
//!   the staleness watch that marks parcels `tracking_lost`.
//! - [`scans`] — scanner messages.
//! - [`bag_scans`] — the bag-label scanners at the release lane: closing bags, recording
//!   retrievals.
//! - [`decide`] — gathering a parcel's inputs, deciding, commanding the diverter.
//! - [`xray`] — X-ray views: matching them to parcels and keeping them as evidence.
//! - [`faults`] — bad input kept without flooding the disk; store writes that fail.

mod bag_scans;
mod decide;
mod faults;
mod holds;
mod plc;
mod scans;
mod xray;

use faults::{RejectThrottle, StoreFaults};
use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, LineStatus, RegisterMap};
use customs_edge_devices::resolve::resolve_retrying;
use customs_edge_devices::scanner::{ScannerClient, ScannerCodec};
use customs_edge_devices::xray::{FeedOptions, XrayFeed};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::belt::{BeltPublisher, BeltView};
use super::decision_log::{DecisionLog, LineDecisions};
use super::tracker::{Geometry, Tracker};
use crate::config::{DecisionMode, LineConfig};
use crate::evidence::EvidenceStore;
use crate::health::{Health, State};
use crate::sorting::xray_match::XrayMatcher;
use crate::store::parcels::{self, ParcelView};
use crate::store::{Store, StoreError, Submitted};

/// Runs one line. Build it with [`LineTask::new`], then `run` it (a clone of it, to run
/// it again after a failure: the clones share the line's status feed).
#[derive(Debug, Clone)]
pub struct LineTask {
    config: LineConfig,
    store: Store,
    events: broadcast::Sender<ParcelView>,
    health: Health,
    evidence: EvidenceStore,
    samples: watch::Sender<PlcSample>,
    belt: BeltPublisher,
    video: Option<crate::video::VideoHub>,
    /// Where decisions go before their lanes are commanded.
    decisions: std::sync::Arc<DecisionLog>,
    /// Beaten every loop iteration; the service watchdog reads it ([`LineTask::pulse`]).
    pulse: crate::service::Pulse,
}

/// The line PLC's latest status as last polled, for telemetry.
#[derive(Debug, Clone, Default)]
pub struct PlcSample {
    /// The last status block that decoded, if any yet.
    pub status: Option<LineStatus>,
    /// When it was read.
    pub read_at: Option<Instant>,
    /// Whether the last poll succeeded.
    pub link_up: bool,
    /// Whether the last poll failed because the block did not decode (a garbled PLC).
    pub bad: bool,
}

/// A line's PLC samples as they come.
#[derive(Debug, Clone)]
pub struct LineStatusFeed {
    /// Line id.
    pub line: String,
    /// The latest sample.
    pub samples: watch::Receiver<PlcSample>,
    /// The belt and the parcels on it, for the consoles.
    pub belt: watch::Receiver<BeltView>,
}

/// The line task's state between events.
struct Line {
    config: LineConfig,
    store: Store,
    events: broadcast::Sender<ParcelView>,
    health: Health,
    plc: LinePlc,
    tracker: Tracker,
    cursor: plc::Cursor,
    rejects: RejectThrottle,
    /// The X-ray side, when the line has an X-ray feed.
    xray: Option<xray::LineXray>,
    /// Readings queued to the store but not yet seen committed (see [`Line::record`]).
    queued: Vec<Submitted<()>>,
    /// Decisions logged and queued to the store.
    decisions: LineDecisions,
    /// Parcels to announce to the consoles once the queued writes have committed.
    changed: Vec<i64>,
    /// Where each poll's outcome goes, for telemetry.
    samples: watch::Sender<PlcSample>,
    /// Where the belt goes, for the consoles.
    belt: BeltPublisher,
    /// Cameras watching the line, for evidence frames of its moments.
    video: Option<crate::video::VideoHub>,
    /// Store writes that failed, for the warning.
    store_faults: StoreFaults,
    /// The highest late hold record read (`store::holds::pending_for_line`).
    holds_seen: i64,
}

impl LineTask {
    /// A task for `config`, writing to `store` (its decisions first to `decisions`),
    /// announcing parcel changes on `events`.
    pub fn new(
        config: LineConfig,
        store: Store,
        decisions: std::sync::Arc<DecisionLog>,
        events: broadcast::Sender<ParcelView>,
        health: Health,
        evidence: EvidenceStore,
        video: Option<crate::video::VideoHub>,
    ) -> Self {
        Self {
            belt: BeltPublisher::new(&config.id, &geometry(&config)),
            config,
            store,
            events,
            health,
            evidence,
            samples: watch::channel(PlcSample::default()).0,
            video,
            decisions,
            pulse: crate::service::Pulse::new(),
        }
    }

    /// The pulse this line beats every loop iteration, for the service watchdog.
    pub fn pulse(&self) -> crate::service::Pulse {
        self.pulse.clone()
    }

    /// The feed of this line's PLC samples.
    pub fn status_feed(&self) -> LineStatusFeed {
        LineStatusFeed {
            line: self.config.id.clone(),
            samples: self.samples.subscribe(),
            belt: self.belt.subscribe(),
        }
    }

    /// Run until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            store,
            events,
            health,
            evidence,
            samples,
            belt,
            video,
            decisions,
            pulse,
        } = self;
        let line_id = config.id.clone();
        let interrupted = {
            let id = line_id.clone();
            store
                .writer
                .write(move |tx| parcels::mark_interrupted(tx, &id))
                .await
        };
        match interrupted {
            Ok(0) => {}
            Ok(n) => {
                warn!(line = %line_id, interrupted = n, "parcels left in flight by the previous run are marked interrupted");
            }
            // The line runs without: they are marked at the next start.
            Err(e) => {
                warn!(line = %line_id, error = %e, "parcels left in flight not marked interrupted");
            }
        }
        // The line's helpers run only while it does; one that ends (it can only panic) ends
        // the line's run, and the supervisor starts all of it again.
        let mut helpers: JoinSet<String> = JoinSet::new();
        let (scan_tx, mut scan_rx) = mpsc::channel(1024);
        for scanner in &config.scanners {
            let addr = resolve_retrying(&scanner.address, &shutdown).await?;
            let codec =
                ScannerCodec::new(scanner.framing, scanner.no_read.clone(), scanner.max_length);
            health.set(
                &format!("line:{line_id}:scanner:{}", scanner.name),
                State::Starting,
                format!("connecting to {addr}"),
            );
            let client = ScannerClient::new(scanner.name.as_str(), addr, codec)
                .run(scan_tx.clone(), shutdown.clone());
            let name = format!("scanner {}", scanner.name);
            helpers.spawn(async move {
                client.await;
                name
            });
        }
        drop(scan_tx);
        // The bag-label scanners at the release lane: their own channel, since what they
        // read is a bag or a parcel taken out, not a parcel on the belt.
        let (bag_tx, mut bag_rx) = mpsc::channel(256);
        for scanner in &config.bag_scanners {
            let addr = resolve_retrying(&scanner.address, &shutdown).await?;
            let codec =
                ScannerCodec::new(scanner.framing, scanner.no_read.clone(), scanner.max_length);
            health.set(
                &format!("line:{line_id}:bag_scanner:{}", scanner.name),
                State::Starting,
                format!("connecting to {addr}"),
            );
            let client = ScannerClient::new(scanner.name.as_str(), addr, codec)
                .run(bag_tx.clone(), shutdown.clone());
            let name = format!("bag-label scanner {}", scanner.name);
            helpers.spawn(async move {
                client.await;
                name
            });
        }
        drop(bag_tx);
        let (xray_tx, mut xray_rx) = mpsc::channel(1024);
        let xray = config.xray.as_ref().map(|x| {
            health.set(
                &format!("line:{line_id}:xray"),
                State::Starting,
                format!("watching {}", x.dir.display()),
            );
            let feed = XrayFeed::new(&x.dir, FeedOptions::default())
                .run(xray_tx.clone(), shutdown.clone());
            helpers.spawn(async move {
                feed.await;
                "X-ray feed".to_owned()
            });
            let (jobs_tx, jobs_rx) = mpsc::channel(4096);
            let worker = xray::evidence_worker(
                line_id.clone(),
                jobs_rx,
                store.clone(),
                evidence.clone(),
                shutdown.clone(),
            );
            helpers.spawn(async move {
                worker.await;
                "X-ray evidence worker".to_owned()
            });
            xray::LineXray {
                matcher: XrayMatcher::new(Duration::from_secs_f64(x.window_s)),
                evidence: jobs_tx,
            }
        });
        drop(xray_tx);
        let plc_addr = resolve_retrying(&config.plc.address, &shutdown).await?;
        let map = RegisterMap {
            unit_id: config.plc.unit_id,
            status_base: config.plc.status_base,
            command_base: config.plc.command_base,
        };
        health.set(
            &format!("line:{line_id}:plc"),
            State::Starting,
            format!("connecting to {plc_addr}"),
        );
        let mut line = Line {
            tracker: Tracker::new(geometry(&config)),
            plc: LinePlc::new(plc_addr, map, Duration::from_millis(config.plc.timeout_ms)),
            cursor: plc::Cursor::new(),
            rejects: RejectThrottle::default(),
            queued: Vec::new(),
            decisions: LineDecisions::new(decisions),
            changed: Vec::new(),
            store_faults: StoreFaults::default(),
            holds_seen: 0,
            samples,
            belt,
            xray,
            config,
            store,
            events,
            health,
            video,
        };
        let mut poll =
            tokio::time::interval(Duration::from_millis(line.config.plc.poll_interval_ms));
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        info!(line = %line_id, plc = %plc_addr, "sorting line started");
        loop {
            pulse.beat();
            // A store error never ends the line: what could not be written is logged and
            // counted, a decision that could not be logged is never commanded (the PLC's
            // exception lane applies), and the line goes on with the next event.
            let handled = tokio::select! {
                () = shutdown.cancelled() => break,
                Some(ended) = helpers.join_next() => {
                    if shutdown.is_cancelled() {
                        break;
                    }
                    let what = ended.unwrap_or_else(|e| format!("a helper ({e})"));
                    anyhow::bail!("line {line_id}: {what} stopped");
                }
                Some(event) = scan_rx.recv() => line.on_scanner(event).await,
                Some(event) = bag_rx.recv() => line.on_bag_scanner(event).await,
                Some(event) = xray_rx.recv() => line.on_xray(event).await,
                _ = poll.tick() => match line.poll(Instant::now()).await {
                    // Holds that came after a release decision, at every poll: the parcel's
                    // position is freshest now.
                    Ok(()) => line.late_holds().await,
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = handled {
                line.store_fault(&e);
            }
            if let Err(e) = line.decide_due().await {
                line.store_fault(&e);
            }
            line.settle().await;
            line.belt
                .publish(&line.tracker, &line.samples.borrow(), false);
        }
        // What was queued is committed before the task says it stopped.
        for submitted in line.queued.drain(..) {
            if let Err(e) = submitted.committed().await {
                warn!(line = %line_id, error = %e, "a reading queued before shutdown was not written");
            }
        }
        info!(line = %line_id, in_flight = line.tracker.len(), "sorting line stopped");
        Ok(())
    }
}

fn geometry(config: &LineConfig) -> Geometry {
    let g = &config.geometry;
    Geometry {
        scale_at_mm: g.scale_at_mm.map(f64::from),
        scanner_at_mm: f64::from(g.scanner_at_mm),
        xray_at_mm: config.xray.as_ref().and(g.xray_at_mm).map(f64::from),
        xray_exit_at_mm: config
            .xray
            .as_ref()
            .and(g.xray_exit_at_mm.or(g.xray_at_mm))
            .map(f64::from),
        diverter_at_mm: f64::from(g.diverter_at_mm),
        window_mm: f64::from(g.scan_window_mm),
        scanners: config.scanners.len(),
        xray_views: config.xray.as_ref().map_or(0, |x| x.views),
        lead: Duration::from_millis(config.decision.lead_ms),
    }
}

impl Line {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn when_complete(&self) -> bool {
        self.config.decision.mode == DecisionMode::WhenComplete
    }

    /// Queue a reading to the store without waiting for its commit. Writes commit in
    /// order, before the decision queued after it; consoles hear of anything only once it
    /// committed ([`Line::settle`], which also surfaces its outcome).
    async fn record<F>(&mut self, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    {
        let submitted = self.store.writer.submit(f).await?;
        self.queued.push(submitted);
        Ok(())
    }

    /// Note that a parcel changed; consoles hear of it at the next [`Line::settle`].
    fn announce(&mut self, id: i64) {
        self.changed.push(id);
    }

    /// Look at the queued writes without waiting (a failed one is logged and counted: the
    /// store could not commit, and the line goes on); once all are done, tell live consoles
    /// about every parcel that changed, read back from the store, so they only ever see
    /// what was committed. The line never waits here: queued writes commit with the next
    /// awaited one or a few milliseconds later (the writer's linger), and the next event or
    /// poll looks again.
    async fn settle(&mut self) {
        let mut pending = Vec::new();
        let mut failed = None;
        for mut submitted in self.queued.drain(..) {
            match submitted.try_committed() {
                Some(Ok(())) => {}
                Some(Err(e)) => failed = Some(e),
                None => pending.push(submitted),
            }
        }
        self.queued = pending;
        let (decisions_pending, decision_failed) = self.decisions.settle(&self.store).await;
        if let Some(e) = failed.or(decision_failed) {
            self.store_fault(&e);
        }
        if !self.queued.is_empty() || decisions_pending {
            return;
        }
        let mut changed = std::mem::take(&mut self.changed);
        changed.dedup();
        if self.events.receiver_count() == 0 {
            return;
        }
        for id in changed {
            match self
                .store
                .reader
                .read(move |conn| parcels::get(conn, id))
                .await
            {
                Ok(view) => {
                    let _ = self.events.send(view);
                }
                Err(e) => debug!(parcel = id, error = %e, "parcel not announced"),
            }
        }
    }
}
