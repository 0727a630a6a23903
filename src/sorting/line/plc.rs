//! What a status poll tells the line: entries, weighings, drops, acks and the PLC's
//! heartbeat; and what not hearing from the PLC means — after `stale_after_ms` without a
//! good poll (or with a frozen heartbeat) the line has lost sight of its belt, and every
//! parcel on it can only go to the exception lane.

use std::time::Duration;

use customs_edge_devices::line_plc::map::clock_ms_since;
use customs_edge_devices::line_plc::{FaultCode, LineStatus, PlcError};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Line;
use crate::health::State;
use crate::store::{StoreError, alarms, holds, parcels};

/// Where the line is in the PLC's counters and watches.
pub(super) struct Cursor {
    /// Last entry, weighing and drop counts processed; `None` until the first good poll.
    counts: Option<Counts>,
    /// Commands written but not yet seen acknowledged: (tracking no, lane, record id).
    pub(super) unacked: Vec<(u16, u16, i64)>,
    /// Parcels whose lane was commanded again for a late hold, until the PLC acks it.
    pub(super) revised: std::collections::HashSet<i64>,
    /// When the last good poll came.
    last_good: Option<Instant>,
    /// The PLC heartbeat value and when it last changed.
    heartbeat: Option<(u16, Instant)>,
    /// The line has lost sight of the belt and not yet regained it.
    stale: bool,
    /// The fault code last seen, to raise and clear its alarm once.
    fault: Option<FaultCode>,
    /// The controller heartbeat written to the PLC, and when.
    heartbeat_out: u16,
    heartbeat_sent: Option<Instant>,
}

/// How often the controller heartbeat is written.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(100);

#[derive(Clone, Copy)]
struct Counts {
    entry: u16,
    weight: u16,
    drop: u16,
}

impl Cursor {
    pub(super) fn new() -> Self {
        Self {
            counts: None,
            unacked: Vec::new(),
            revised: std::collections::HashSet::new(),
            last_good: None,
            heartbeat: None,
            stale: false,
            fault: None,
            heartbeat_out: 0,
            heartbeat_sent: None,
        }
    }
}

impl Line {
    fn plc_source(&self) -> String {
        format!("line:{}:plc", self.id())
    }

    fn stale_after(&self) -> Duration {
        Duration::from_millis(self.config.decision.stale_after_ms)
    }

    /// Poll the PLC once and act on what it says (or on its silence).
    pub(super) async fn poll(&mut self, now: Instant) -> Result<(), StoreError> {
        match self.plc.read_status().await {
            Ok(status) => {
                self.samples.send_replace(super::PlcSample {
                    status: Some(status.clone()),
                    read_at: Some(now),
                    link_up: true,
                    bad: false,
                });
                self.on_status(&status, now).await
            }
            Err(e) => {
                let bad = matches!(e, PlcError::Decode { .. });
                self.samples.send_modify(|s| {
                    s.link_up = false;
                    s.bad = bad;
                });
                self.on_poll_error(e, now).await
            }
        }
    }

    async fn on_poll_error(&mut self, error: PlcError, now: Instant) -> Result<(), StoreError> {
        self.health
            .set(&self.plc_source(), State::Down, error.to_string());
        if let PlcError::Decode { error: decode, raw } = &error {
            warn!(line = %self.id(), error = %decode, ?raw, "PLC status block rejected");
            let payload = serde_json::to_string(raw).unwrap_or_default();
            self.reject(self.plc_source(), decode.to_string(), payload)
                .await?;
        } else {
            debug!(line = %self.id(), %error, kind = ?error.kind(), "PLC poll failed");
        }
        let since_good = self.cursor.last_good.map_or(Duration::MAX, |t| now - t);
        if !self.cursor.stale && since_good > self.stale_after() && self.cursor.last_good.is_some()
        {
            self.go_stale(format!("no good PLC poll for {since_good:?}: {error}"))
                .await?;
        }
        Ok(())
    }

    /// The line lost sight of the belt: mark every parcel on it and raise an alarm.
    async fn go_stale(&mut self, why: String) -> Result<(), StoreError> {
        self.cursor.stale = true;
        let lost = self.tracker.lose_tracking();
        warn!(line = %self.id(), parcels = lost.len(), %why, "tracking lost: parcels on the belt go to the exception lane");
        let source = self.plc_source();
        let detail = format!(
            "{why}; {} parcel(s) on the belt can only go to the exception lane",
            lost.len()
        );
        self.record(move |tx| {
            alarms::raise(tx, &source, "tracking_lost", &detail, None)?;
            Ok(())
        })
        .await
    }

    async fn on_status(&mut self, status: &LineStatus, now: Instant) -> Result<(), StoreError> {
        if self.heartbeat_frozen(status, now) {
            if !self.cursor.stale {
                self.go_stale(format!(
                    "PLC heartbeat frozen at {} for over {:?}",
                    status.plc_heartbeat,
                    self.stale_after()
                ))
                .await?;
            }
            self.health
                .set(&self.plc_source(), State::Down, "PLC heartbeat frozen");
            return Ok(());
        }
        self.cursor.last_good = Some(now);
        let moved = self.tracker.advance(now.into_std(), status.belt_speed_mm_s);
        for (id, ago) in moved.entered_xray {
            self.parcel_entered_xray(id, ago).await?;
        }
        for (id, ago) in moved.exited_xray {
            self.moment(
                id,
                crate::video::Point::XrayExit {
                    line: self.id().to_owned(),
                },
                ago,
            );
        }
        let Some(seen) = self.cursor.counts else {
            // First contact: start from what the PLC shows now.
            self.cursor.counts = Some(Counts {
                entry: status.entry_count,
                weight: status.weight_count,
                drop: status.drop_count,
            });
            return self.after_poll(status).await;
        };
        let lost_sight = self.cursor.stale;
        self.entries(status, seen.entry, lost_sight).await?;
        self.weights(status, seen.weight).await?;
        self.drops(status, seen.drop).await?;
        self.cursor.counts = Some(Counts {
            entry: status.entry_count,
            weight: status.weight_count,
            drop: status.drop_count,
        });
        if lost_sight {
            self.cursor.stale = false;
            info!(line = %self.id(), "PLC back in sight; new parcels are tracked again");
            let source = self.plc_source();
            self.record(move |tx| {
                alarms::clear(tx, &source, "tracking_lost")?;
                Ok(())
            })
            .await?;
        }
        self.unconfirmed().await?;
        self.acks(status).await?;
        self.after_poll(status).await
    }

    fn heartbeat_frozen(&mut self, status: &LineStatus, now: Instant) -> bool {
        match self.cursor.heartbeat {
            Some((value, since)) if value == status.plc_heartbeat => {
                now - since > self.stale_after()
            }
            _ => {
                self.cursor.heartbeat = Some((status.plc_heartbeat, now));
                false
            }
        }
    }

    async fn entries(
        &mut self,
        status: &LineStatus,
        seen: u16,
        lost_sight: bool,
    ) -> Result<(), StoreError> {
        let (entries, lost) = status.entries_since(seen);
        if lost > 0 {
            warn!(line = %self.id(), lost, "more parcels entered between two polls than the PLC ring holds");
        }
        if entries.is_empty() {
            return Ok(());
        }
        // One write for every parcel of this poll: the record ids are needed before the
        // parcels can be tracked, so this write is awaited. When it cannot be committed the
        // parcels are not tracked: nothing is decided for them, no lane commanded, and the
        // PLC sends them to its default, the exception lane.
        let at = crate::store::now();
        let line_id = self.id().to_owned();
        let batch = entries.clone();
        let ids = match self
            .store
            .writer
            .write(move |tx| {
                batch
                    .iter()
                    .map(|e| parcels::insert_entry(tx, &line_id, e.tracking_no, &at, e.length_mm))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
        {
            Ok(ids) => ids,
            Err(e) => {
                warn!(line = %self.id(), parcels = entries.len(), error = %e,
                    "parcels not recorded (store cannot commit): not tracked, the PLC's exception lane applies");
                for _ in &entries {
                    crate::metrics::record_parcel_entered(self.id());
                }
                return Ok(());
            }
        };
        for (entry, id) in entries.into_iter().zip(ids) {
            // How far it has travelled since the photo-eye, by the PLC's own clock; a stamp
            // older than the staleness limit is not believed (the parcel's tracking is lost
            // then anyway).
            let age =
                Duration::from_millis(u64::from(clock_ms_since(entry.entered_ms, status.clock_ms)));
            let position_mm = if age <= self.stale_after() {
                age.as_secs_f64() * f64::from(status.belt_speed_mm_s)
            } else {
                0.0
            };
            self.tracker
                .enter(id, entry.tracking_no, lost_sight, position_mm);
            debug!(line = %self.id(), tracking_no = entry.tracking_no, parcel = id, lost_sight, "parcel entered");
            crate::metrics::record_parcel_entered(self.id());
            self.announce(id);
        }
        Ok(())
    }

    async fn weights(&mut self, status: &LineStatus, seen: u16) -> Result<(), StoreError> {
        let (weights, lost) = status.weights_since(seen);
        if lost > 0 {
            warn!(line = %self.id(), lost, "more weighings between two polls than the PLC ring holds");
        }
        for w in weights {
            let Some(id) = self.tracker.assign_weight(w) else {
                warn!(line = %self.id(), tracking_no = w.tracking_no, weight_g = w.weight_g, "weighing for a parcel not on the belt");
                continue;
            };
            let at = crate::store::now();
            let kg = f64::from(w.weight_g) / 1000.0;
            self.record(move |tx| parcels::record_weight(tx, id, kg, w.stable, &at))
                .await?;
        }
        Ok(())
    }

    async fn drops(&mut self, status: &LineStatus, seen: u16) -> Result<(), StoreError> {
        let (drops, lost) = status.drops_since(seen);
        if lost > 0 {
            warn!(line = %self.id(), lost, "more parcels dropped between two polls than the PLC ring holds");
        }
        for drop in drops {
            let Some(parcel) = self.tracker.remove_tracking(drop.tracking_no) else {
                warn!(line = %self.id(), tracking_no = drop.tracking_no, lane = drop.lane, "drop reported for a parcel not on the belt");
                continue;
            };
            let outcome = if parcel.lane == Some(drop.lane) {
                "sorted"
            } else {
                "lane_mismatch"
            };
            let at = crate::store::now();
            let source = format!("line:{}", self.id());
            let into_release = drop.lane == self.config.diverter.release_lane;
            self.cursor.revised.remove(&parcel.id);
            self.record(move |tx| {
                parcels::record_drop(tx, parcel.id, drop.lane, &at, outcome, into_release)?;
                if outcome == "lane_mismatch" {
                    let detail = format!(
                        "decided lane {:?}, fell into lane {}",
                        parcel.lane, drop.lane
                    );
                    alarms::raise(tx, &source, "lane_mismatch", &detail, Some(parcel.id))?;
                }
                Ok(())
            })
            .await?;
            if outcome == "lane_mismatch" {
                warn!(line = %self.id(), parcel = parcel.id, decided = ?parcel.lane, dropped = drop.lane, "parcel fell into another lane than decided");
            }
            self.announce(parcel.id);
        }
        Ok(())
    }

    async fn unconfirmed(&mut self) -> Result<(), StoreError> {
        let timeout = Duration::from_millis(self.config.decision.drop_timeout_ms);
        for parcel in self.tracker.take_unconfirmed(timeout) {
            self.cursor.revised.remove(&parcel.id);
            warn!(line = %self.id(), parcel = parcel.id, "no drop confirmation in time: parcel marked unconfirmed");
            let at = crate::store::now();
            let source = format!("line:{}", self.id());
            let lane = parcel.lane.unwrap_or(self.config.diverter.exception_lane);
            self.record(move |tx| {
                parcels::record_drop(tx, parcel.id, lane, &at, "unconfirmed", false)?;
                let detail = format!("no drop report within {timeout:?} of reaching the diverter");
                alarms::raise(tx, &source, "drop_unconfirmed", &detail, Some(parcel.id))?;
                Ok(())
            })
            .await?;
            self.announce(parcel.id);
        }
        Ok(())
    }

    async fn acks(&mut self, status: &LineStatus) -> Result<(), StoreError> {
        let acked: Vec<i64> = self
            .cursor
            .unacked
            .iter()
            .filter(|(t, lane, _)| status.cmd_ack_tracking == *t && status.cmd_ack_lane == *lane)
            .map(|(_, _, id)| *id)
            .collect();
        self.cursor.unacked.retain(|(_, _, id)| !acked.contains(id));
        let keep_from = self.cursor.unacked.len().saturating_sub(64);
        self.cursor.unacked.drain(..keep_from);
        for id in acked {
            let at = crate::store::now();
            let revised = self.cursor.revised.remove(&id);
            self.record(move |tx| {
                parcels::record_command(tx, id, &at, true)?;
                if revised {
                    // The PLC took the new lane: the late hold is acted on.
                    holds::resolve(tx, id, holds::LateOutcome::Recommanded, None)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Health, fault alarms and the controller heartbeat, after every good poll.
    async fn after_poll(&mut self, status: &LineStatus) -> Result<(), StoreError> {
        let source = self.plc_source();
        if status.fault != self.cursor.fault {
            let (old, new) = (self.cursor.fault, status.fault);
            self.cursor.fault = new;
            warn!(line = %self.id(), ?old, ?new, "PLC fault code changed");
            self.record(move |tx| {
                if let Some(old) = old {
                    alarms::clear(tx, &source, &fault_kind(old))?;
                }
                if let Some(new) = new {
                    alarms::raise(
                        tx,
                        &source,
                        &fault_kind(new),
                        &format!("PLC reports {new:?}"),
                        None,
                    )?;
                }
                Ok(())
            })
            .await?;
        }
        let addr = self.plc_source();
        match status.fault {
            Some(fault) => self
                .health
                .set(&addr, State::Degraded, format!("PLC fault: {fault:?}")),
            None if !status.flags.running => {
                self.health.set(&addr, State::Degraded, "belt stopped");
            }
            None => self.health.set(
                &addr,
                State::Ok,
                format!("belt running at {} mm/s", status.belt_speed_mm_s),
            ),
        }
        // The dynamic scale is read through the PLC: its fault flag is its health.
        if self.config.geometry.scale_at_mm.is_some() {
            let scale = format!("line:{}:scale", self.id());
            if status.flags.scale_fault {
                self.health
                    .set(&scale, State::Down, "the PLC reports a scale fault");
            } else {
                self.health
                    .set(&scale, State::Ok, "weighing (through the PLC)");
            }
        }
        // The PLC only needs to see the heartbeat change well within its own watchdog
        // (2 s in the simulator); writing it every 100 ms, not every poll, halves the
        // Modbus traffic at a 10 ms poll.
        let now = Instant::now();
        if self
            .cursor
            .heartbeat_sent
            .is_none_or(|t| now - t >= HEARTBEAT_EVERY)
        {
            self.cursor.heartbeat_sent = Some(now);
            self.cursor.heartbeat_out = self.cursor.heartbeat_out.wrapping_add(1);
            if let Err(e) = self.plc.write_heartbeat(self.cursor.heartbeat_out).await {
                debug!(line = %self.id(), error = %e, "heartbeat write failed");
            }
        }
        Ok(())
    }
}

fn fault_kind(fault: FaultCode) -> String {
    let name = serde_json::to_value(fault)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("plc_fault:{name}")
}
