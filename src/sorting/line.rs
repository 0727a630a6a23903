//! The task that runs one sorting line: polls the PLC, listens to the scanners, writes every
//! event to the store, decides lanes when they fall due and commands the diverter.
//!
//! Order of effects for each event: store first, then the PLC and the live console. A
//! parcel whose lane command cannot be written still gets the PLC's default lane
//! (exception), so a controller fault fails closed.

use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, LineStatus, RegisterMap};
use customs_edge_devices::scanner::{ScanFrame, ScannerClient, ScannerCodec, ScannerEvent};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::decision::{Decision, LaneKind, decide};
use super::tracker::{Geometry, ScanRead, Tracker};
use crate::config::LineConfig;
use crate::health::{Health, State};
use crate::store::parcels::{self, DecisionRow, ParcelView, ScanRow};
use crate::store::{Store, StoreError, manifests};

/// Runs one line. Build it with [`LineTask::new`], then `run` it.
#[derive(Debug)]
pub struct LineTask {
    config: LineConfig,
    store: Store,
    events: broadcast::Sender<ParcelView>,
    health: Health,
}

/// Where the line task is between two polls.
struct Cursor {
    /// Last entry tracking number processed; None until the first good poll.
    entry: Option<u16>,
    /// Last drop count processed.
    drop: Option<u16>,
    /// Commands written but not yet seen acknowledged: (tracking no, lane, record id).
    unacked: Vec<(u16, u16, i64)>,
}

impl LineTask {
    /// A task for `config`, writing to `store`, announcing parcel changes on `events`.
    pub fn new(
        config: LineConfig,
        store: Store,
        events: broadcast::Sender<ParcelView>,
        health: Health,
    ) -> Self {
        Self {
            config,
            store,
            events,
            health,
        }
    }

    fn lane_number(&self, kind: LaneKind) -> u16 {
        let d = &self.config.diverter;
        match kind {
            LaneKind::Release => d.release_lane,
            LaneKind::Inspection => d.inspection_lane,
            LaneKind::Exception => d.exception_lane,
        }
    }

    fn plc_health(&self) -> String {
        format!("line:{}:plc", self.config.id)
    }

    /// Run until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let line_id = self.config.id.clone();
        let interrupted = {
            let id = line_id.clone();
            self.store
                .writer
                .write(move |tx| parcels::mark_interrupted(tx, &id))
                .await?
        };
        if interrupted > 0 {
            warn!(line = %line_id, interrupted, "parcels left in flight by the previous run are marked interrupted");
        }
        let (scan_tx, mut scan_rx) = mpsc::channel(1024);
        for scanner in &self.config.scanners {
            let addr = resolve(&scanner.address, &shutdown).await?;
            let codec =
                ScannerCodec::new(scanner.framing, scanner.no_read.clone(), scanner.max_length);
            self.health.set(
                &self.scanner_health(&scanner.name),
                State::Starting,
                format!("connecting to {addr}"),
            );
            tokio::spawn(
                ScannerClient::new(scanner.name.as_str(), addr, codec)
                    .run(scan_tx.clone(), shutdown.clone()),
            );
        }
        drop(scan_tx);
        let plc_addr = resolve(&self.config.plc.address, &shutdown).await?;
        let map = RegisterMap {
            unit_id: self.config.plc.unit_id,
            status_base: self.config.plc.status_base,
            command_base: self.config.plc.command_base,
        };
        let mut plc = LinePlc::new(
            plc_addr,
            map,
            Duration::from_millis(self.config.plc.timeout_ms),
        );
        self.health.set(
            &self.plc_health(),
            State::Starting,
            format!("connecting to {plc_addr}"),
        );
        let g = &self.config.geometry;
        let mut tracker = Tracker::new(Geometry {
            scanner_at_mm: f64::from(g.scanner_at_mm),
            diverter_at_mm: f64::from(g.diverter_at_mm),
            scan_window_mm: f64::from(g.scan_window_mm),
        });
        let mut cursor = Cursor {
            entry: None,
            drop: None,
            unacked: Vec::new(),
        };
        let mut poll =
            tokio::time::interval(Duration::from_millis(self.config.plc.poll_interval_ms));
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_poll = Instant::now();
        let mut heartbeat: u16 = 0;
        info!(line = %line_id, plc = %plc_addr, "sorting line started");
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(event) = scan_rx.recv() => self.on_scanner(event, &mut tracker).await?,
                _ = poll.tick() => {
                    let now = Instant::now();
                    let status = match plc.read_status().await {
                        Ok(status) => status,
                        Err(e) => {
                            self.health.set(&self.plc_health(), State::Down, e.to_string());
                            debug!(line = %line_id, error = %e, kind = ?e.kind(), "PLC poll failed");
                            continue;
                        }
                    };
                    self.health.set(&self.plc_health(), State::Ok, format!("connected to {plc_addr}"));
                    tracker.advance(now - last_poll, status.belt_speed_mm_s);
                    last_poll = now;
                    self.on_status(&status, &mut cursor, &mut tracker).await?;
                    self.decide_due(&mut plc, &mut cursor, &mut tracker).await?;
                    heartbeat = heartbeat.wrapping_add(1);
                    if let Err(e) = plc.write_heartbeat(heartbeat).await {
                        debug!(line = %line_id, error = %e, "heartbeat write failed");
                    }
                }
            }
        }
        info!(line = %line_id, in_flight = tracker.len(), "sorting line stopped");
        Ok(())
    }

    fn scanner_health(&self, scanner: &str) -> String {
        format!("line:{}:scanner:{scanner}", self.config.id)
    }

    async fn on_scanner(
        &self,
        event: ScannerEvent,
        tracker: &mut Tracker,
    ) -> Result<(), StoreError> {
        let (scanner, at, frame) = match event {
            ScannerEvent::Connected { scanner } => {
                self.health
                    .set(&self.scanner_health(&scanner), State::Ok, "connected");
                return Ok(());
            }
            ScannerEvent::Disconnected {
                scanner,
                error,
                retry_in,
            } => {
                warn!(line = %self.config.id, %scanner, %error, ?retry_in, "scanner disconnected");
                self.health
                    .set(&self.scanner_health(&scanner), State::Down, error);
                return Ok(());
            }
            ScannerEvent::Frame { scanner, at, frame } => (scanner, at, frame),
        };
        let at = crate::store::timestamp(at.into());
        let line_id = self.config.id.clone();
        let (kind, code, detail, parcel_id) = match frame {
            ScanFrame::Code(code) => {
                let parcel = tracker.assign_scan(ScanRead::Code(code.clone()));
                let detail = parcel
                    .is_none()
                    .then(|| "no parcel under the scanner".to_owned());
                ("code", Some(code), detail, parcel)
            }
            ScanFrame::NoRead => ("no_read", None, None, tracker.assign_scan(ScanRead::NoRead)),
            ScanFrame::Invalid { reason, raw } => {
                warn!(line = %line_id, %scanner, %reason, "invalid scanner message rejected");
                ("invalid", None, Some(format!("{reason}: {raw:?}")), None)
            }
        };
        if parcel_id.is_none() && kind != "invalid" {
            warn!(line = %line_id, %scanner, ?code, "scan matches no parcel on the belt");
        }
        self.store
            .writer
            .write(move |tx| {
                let row = ScanRow {
                    line_id: &line_id,
                    scanner: &scanner,
                    parcel_id,
                    at: &at,
                    kind,
                    code: code.as_deref(),
                    detail: detail.as_deref(),
                };
                parcels::insert_scan(tx, &row)?;
                if kind == "invalid" {
                    let source = format!("scanner:{line_id}/{scanner}");
                    parcels::reject_input(
                        tx,
                        &at,
                        &source,
                        detail.as_deref().unwrap_or_default(),
                        "",
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn on_status(
        &self,
        status: &LineStatus,
        cursor: &mut Cursor,
        tracker: &mut Tracker,
    ) -> Result<(), StoreError> {
        let line_id = &self.config.id;
        let (Some(entry_seen), Some(drop_seen)) = (cursor.entry, cursor.drop) else {
            // First contact: start from what the PLC shows now.
            cursor.entry = Some(status.entry_count);
            cursor.drop = Some(status.drop_count);
            return Ok(());
        };
        let (entries, lost) = status.entries_since(entry_seen);
        if lost > 0 {
            warn!(line = %line_id, lost, "more parcels entered between two polls than the PLC ring holds");
        }
        for entry in entries {
            let at = crate::store::now();
            let id_line = line_id.clone();
            let id = self
                .store
                .writer
                .write(move |tx| {
                    parcels::insert_entry(tx, &id_line, entry.tracking_no, &at, entry.length_mm)
                })
                .await?;
            tracker.enter(id, entry.tracking_no);
            debug!(line = %line_id, tracking_no = entry.tracking_no, parcel = id, "parcel entered");
            self.announce(id).await;
        }
        cursor.entry = Some(status.entry_count);

        let (drops, lost) = status.drops_since(drop_seen);
        if lost > 0 {
            warn!(line = %line_id, lost, "more parcels dropped between two polls than the PLC ring holds");
        }
        for drop in drops {
            let Some(parcel) = tracker.remove_tracking(drop.tracking_no) else {
                warn!(line = %line_id, tracking_no = drop.tracking_no, lane = drop.lane, "drop reported for a parcel not on the belt");
                continue;
            };
            let outcome = if parcel.lane == Some(drop.lane) {
                "sorted"
            } else {
                "lane_mismatch"
            };
            if outcome == "lane_mismatch" {
                warn!(line = %line_id, parcel = parcel.id, decided = ?parcel.lane, dropped = drop.lane, "parcel fell into another lane than decided");
            }
            let at = crate::store::now();
            self.store
                .writer
                .write(move |tx| parcels::record_drop(tx, parcel.id, drop.lane, &at, outcome))
                .await?;
            self.announce(parcel.id).await;
        }
        cursor.drop = Some(status.drop_count);

        for overdue in tracker.take_overdue() {
            warn!(line = %line_id, parcel = overdue.id, "no drop confirmation: parcel marked unconfirmed");
            let at = crate::store::now();
            let lane = overdue.lane.unwrap_or(0);
            self.store
                .writer
                .write(move |tx| parcels::record_drop(tx, overdue.id, lane, &at, "unconfirmed"))
                .await?;
            self.announce(overdue.id).await;
        }

        let acked: Vec<i64> = cursor
            .unacked
            .iter()
            .filter(|(t, lane, _)| status.cmd_ack_tracking == *t && status.cmd_ack_lane == *lane)
            .map(|(_, _, id)| *id)
            .collect();
        cursor.unacked.retain(|(_, _, id)| !acked.contains(id));
        cursor.unacked.truncate(64);
        for id in acked {
            let at = crate::store::now();
            self.store
                .writer
                .write(move |tx| parcels::record_command(tx, id, &at, true))
                .await?;
        }
        Ok(())
    }

    async fn decide_due(
        &self,
        plc: &mut LinePlc,
        cursor: &mut Cursor,
        tracker: &mut Tracker,
    ) -> Result<(), StoreError> {
        for (id, tracking_no, read) in tracker.due() {
            let manifest = match read.code() {
                Some(code) => {
                    let code = code.to_owned();
                    self.store
                        .reader
                        .read(move |conn| manifests::facts(conn, &code))
                        .await?
                }
                None => None,
            };
            let decision: Decision = decide(&read, manifest.as_ref());
            let lane = self.lane_number(decision.lane);
            let at = crate::store::now();
            let logistics_no = read.code().map(str::to_owned);
            let read_status = read.status();
            let reasons = decision.reasons_json();
            let kind = decision.lane.as_str();
            self.store
                .writer
                .write(move |tx| {
                    parcels::record_decision(
                        tx,
                        &DecisionRow {
                            parcel_id: id,
                            decided_at: &at,
                            logistics_no: logistics_no.as_deref(),
                            read_status,
                            lane,
                            lane_kind: kind,
                            reasons_json: &reasons,
                        },
                    )
                })
                .await?;
            tracker.set_lane(id, lane);
            info!(line = %self.config.id, parcel = id, tracking_no, lane, kind, reasons = %decision.reasons_json(), "lane decided");
            match plc.write_lane(tracking_no, lane).await {
                Ok(()) => {
                    let at = crate::store::now();
                    self.store
                        .writer
                        .write(move |tx| parcels::record_command(tx, id, &at, false))
                        .await?;
                    cursor.unacked.push((tracking_no, lane, id));
                }
                Err(e) => {
                    warn!(line = %self.config.id, parcel = id, error = %e, "lane command not written; the PLC default (exception) applies");
                }
            }
            self.announce(id).await;
        }
        Ok(())
    }

    /// Tell live consoles about a parcel's new state (read back from the store, so they
    /// only ever see what was committed).
    async fn announce(&self, id: i64) {
        if self.events.receiver_count() == 0 {
            return;
        }
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

/// Resolve `host:port`, retrying until it resolves or shutdown.
async fn resolve(address: &str, shutdown: &CancellationToken) -> anyhow::Result<SocketAddr> {
    let mut delay = Duration::from_millis(200);
    loop {
        match tokio::net::lookup_host(address)
            .await
            .map(|mut it| it.next())
        {
            Ok(Some(addr)) => return Ok(addr),
            Ok(None) => warn!(%address, "address resolves to nothing; retrying"),
            Err(e) => warn!(%address, error = %e, "cannot resolve; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => anyhow::bail!("shut down while resolving {address}"),
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
