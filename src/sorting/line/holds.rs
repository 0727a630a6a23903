//! Holds that come after a release decision (brief, rule 5). The store hands the line a
//! late hold for each of its parcels decided for release that is still in flight
//! (`store::holds`); the line reads them at every poll and, for a parcel that has not
//! reached the diverter, decides again with the facts as they are now, keeps both versions
//! (`decision_revisions`) and commands the new lane (the PLC takes a later command for the
//! same tracking number). One that has reached the diverter is too late for it: its drop
//! into the release lane opens the interception (`holds::on_release_drop`).

use tracing::{info, warn};

use super::Line;
use crate::sorting::decision::LaneKind;
use crate::store::StoreError;
use crate::store::holds::{self, LateOutcome, PendingHold, Revision};

impl Line {
    /// Act on the late holds the store has for this line's parcels.
    pub(super) async fn late_holds(&mut self) -> Result<(), StoreError> {
        let line = self.id().to_owned();
        let after = self.holds_seen;
        let pending = self
            .store
            .reader
            .read_blocking(move |conn| holds::pending_for_line(conn, &line, after))?;
        for hold in pending {
            self.holds_seen = self.holds_seen.max(hold.id);
            self.act_on_hold(&hold).await?;
        }
        Ok(())
    }

    async fn act_on_hold(&mut self, hold: &PendingHold) -> Result<(), StoreError> {
        let release = self.lane_number(LaneKind::Release);
        let Some(parcel) = self.tracker.get(hold.parcel_id).cloned() else {
            // It dropped already: its drop settles the hold (an interception if it fell
            // into the release lane).
            return Ok(());
        };
        if parcel.lane != Some(release) || parcel.tracking_lost {
            // Not (or no longer) going to the release lane.
            let id = parcel.id;
            self.record(move |tx| {
                holds::resolve(tx, id, LateOutcome::Recommanded, None).map(|_| ())
            })
            .await?;
            return Ok(());
        }
        if parcel.at_diverter.is_some() {
            warn!(line = %self.id(), parcel = parcel.id, tracking_no = parcel.tracking_no, cause = %hold.cause,
                "a hold came after the parcel reached the diverter: too late to command it again; its drop into the release lane opens an interception");
            crate::metrics::record_late_hold(self.id(), "too_late");
            return Ok(());
        }
        let (inputs, _) = self.gather(&parcel)?;
        let decision = self.decide_over(&inputs);
        let lane = self.lane_number(decision.lane);
        if lane == release {
            // The hold no longer stands (lifted again before the line saw it).
            info!(line = %self.id(), parcel = parcel.id, cause = %hold.cause, "late hold no longer stands; the parcel stays released");
            return Ok(());
        }
        let id = parcel.id;
        let cause = hold.cause.clone();
        let kind = decision.lane.as_str();
        let reasons = decision.reasons_json();
        let inputs_json = serde_json::to_string(&inputs).unwrap_or_default();
        self.store
            .writer
            .write(move |tx| {
                holds::revise_decision(
                    tx,
                    &Revision {
                        parcel_id: id,
                        cause: &cause,
                        lane,
                        lane_kind: kind,
                        reasons_json: &reasons,
                        inputs_json: &inputs_json,
                    },
                )
            })
            .await?;
        self.tracker.set_lane_again(id, lane);
        match self.plc.write_lane(parcel.tracking_no, lane).await {
            Ok(()) => {
                self.cursor.unacked.push((parcel.tracking_no, lane, id));
                self.cursor.revised.insert(id);
                crate::metrics::record_late_hold(self.id(), "recommanded");
                info!(line = %self.id(), parcel = id, tracking_no = parcel.tracking_no, lane, kind,
                    cause = %hold.cause, "late hold: lane commanded again before the diverter");
            }
            Err(e) => {
                // The PLC keeps the release command: the drop into the release lane opens
                // the interception.
                warn!(line = %self.id(), parcel = id, error = %e, "late hold: the new lane command was not written; the drop will open an interception");
            }
        }
        self.announce(id);
        Ok(())
    }
}
