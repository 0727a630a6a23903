//! Gathering a parcel's inputs, deciding its lane, and commanding the diverter.

use std::time::Duration;

use serde_json::json;
use tracing::{info, warn};

use super::Line;
use crate::sorting::decision::{
    Decision, Inputs, LaneKind, Reason, Weight, WeightTolerance, XrayViews, decide,
};
use crate::sorting::decision_log::Logged;
use crate::sorting::tracker::Tracked;
use crate::store::parcels;
use crate::store::{StoreError, instructions, manifests};

/// Look-back for the e-commerce company's weight mismatch count.
const RISK_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A decision slower than this is logged with the time of each stage: a stall of every
/// line at once (seen once in the site benchmark) names what it waited for.
const SLOW_DECISION: Duration = Duration::from_millis(250);

impl Line {
    pub(super) fn lane_number(&self, kind: LaneKind) -> u16 {
        let d = &self.config.diverter;
        match kind {
            LaneKind::Release => d.release_lane,
            LaneKind::Inspection => d.inspection_lane,
            LaneKind::Exception => d.exception_lane,
        }
    }

    fn weight_of(&self, parcel: &Tracked) -> Weight {
        match (self.config.geometry.scale_at_mm, parcel.weight) {
            (None, _) => Weight::NotMeasured,
            (Some(_), None) => Weight::Missing,
            (Some(_), Some(w)) if w.stable => Weight::Stable {
                kg: f64::from(w.weight_g) / 1000.0,
            },
            (Some(_), Some(w)) => Weight::Unstable {
                kg: f64::from(w.weight_g) / 1000.0,
            },
        }
    }

    /// Decide every parcel whose decision is due; the consoles see the belt change at once.
    pub(super) async fn decide_due(&mut self) -> Result<(), StoreError> {
        let due: Vec<Tracked> = self
            .tracker
            .due(self.when_complete())
            .into_iter()
            .cloned()
            .collect();
        let decided = !due.is_empty();
        for parcel in due {
            self.decide_one(&parcel).await?;
        }
        if decided {
            self.belt
                .publish(&self.tracker, &self.samples.borrow(), true);
        }
        Ok(())
    }

    /// Everything the decision needs about `parcel`, read from the store now: its inputs
    /// and the e-commerce company's recent weight mismatches (a risk signal).
    pub(super) fn gather(&self, parcel: &Tracked) -> Result<(Inputs, u32), StoreError> {
        let read = parcel.merged_read();
        let id = parcel.id;
        let code = read.code().map(str::to_owned);
        let since = crate::store::timestamp(chrono::Utc::now() - RISK_WINDOW);
        // Everything the store knows about the waybill, read in one go, here: five indexed
        // lookups take tens of microseconds, less than the hop to a blocking thread and
        // back, which under load was a good part of the decision's tail latency.
        let (manifest, instruction, officer_flags, duplicate_of, ebc_mismatches) =
            self.store.reader.read_blocking(move |conn| {
                let Some(code) = code else {
                    return Ok((
                        None,
                        None,
                        instructions::flags_against(conn, id, None)?,
                        None,
                        0,
                    ));
                };
                let manifest = manifests::facts(conn, &code)?;
                let ebc_mismatches = match manifest.as_ref().and_then(|m| m.ebc_code.as_deref()) {
                    Some(ebc) => parcels::ebc_weight_mismatches_since(conn, ebc, &since)?,
                    None => 0,
                };
                Ok((
                    manifest,
                    instructions::standing_instruction(conn, &code)?,
                    instructions::flags_against(conn, id, Some(&code))?,
                    parcels::earlier_sorted(conn, &code, id)?,
                    ebc_mismatches,
                ))
            })?;
        let inputs = Inputs {
            read,
            manifest,
            instruction,
            officer_flags,
            weight: self.weight_of(parcel),
            xray: self.config.xray.as_ref().map(|x| XrayViews {
                got: parcel.xray_images,
                expected: x.views,
            }),
            duplicate_of,
            tracking_lost: parcel.tracking_lost,
        };
        Ok((inputs, ebc_mismatches))
    }

    /// The decision over `inputs`, with the line's weight tolerance.
    pub(super) fn decide_over(&self, inputs: &Inputs) -> Decision {
        let d = &self.config.decision;
        let tolerance = WeightTolerance {
            abs_kg: d.weight_abs_kg,
            pct: d.weight_pct,
        };
        decide(inputs, tolerance)
    }

    async fn decide_one(&mut self, parcel: &Tracked) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let id = parcel.id;
        let (inputs, ebc_mismatches) = match self.gather(parcel) {
            Ok(facts) => facts,
            Err(e) => {
                self.fail_closed(parcel, &format!("facts not read: {e}"));
                return Ok(());
            }
        };
        let read = started.elapsed();
        crate::metrics::record_decision_stage(self.id(), "read", read);
        let decision = self.decide_over(&inputs);
        let lane = self.lane_number(decision.lane);
        // Facts read from a store that cannot commit may be missing a hold it could not
        // take: nothing is commanded then.
        if self.store.status().commit_failing() {
            self.fail_closed(parcel, "the store cannot commit");
            return Ok(());
        }
        let record = self.logged(parcel, &inputs, &decision, lane, ebc_mismatches);
        if let Err(e) = self.decisions.log(&self.store, record).await {
            self.fail_closed(parcel, &format!("decision not logged: {e}"));
            return Ok(());
        }
        let logged = started.elapsed();
        crate::metrics::record_decision_stage(self.id(), "log", logged.saturating_sub(read));
        self.moment(
            id,
            crate::video::Point::Decision {
                line: self.id().to_owned(),
            },
            std::time::Duration::ZERO,
        );
        self.tracker.set_lane(id, lane);
        info!(line = %self.id(), parcel = id, tracking_no = parcel.tracking_no, lane, kind = decision.lane.as_str(),
            reasons = %decision.reasons_json(), "lane decided");
        let kind = decision.lane.as_str();
        if parcel.tracking_lost {
            // Its tracking number may already be past the diverter or reused: leave it to
            // the PLC default (the exception lane), which is also what was decided.
            crate::metrics::record_decision(self.id(), kind, started.elapsed());
            self.announce(id);
            return Ok(());
        }
        let commanding = std::time::Instant::now();
        match self.plc.write_lane(parcel.tracking_no, lane).await {
            Ok(()) => {
                let command = commanding.elapsed();
                crate::metrics::record_decision_stage(self.id(), "command", command);
                if started.elapsed() > SLOW_DECISION {
                    warn!(line = %self.id(), parcel = id, read_ms = read.as_millis(),
                        log_ms = logged.saturating_sub(read).as_millis(),
                        command_ms = command.as_millis(), "slow decision");
                }
                let at = crate::store::now();
                self.record(move |tx| parcels::record_command(tx, id, &at, false))
                    .await?;
                self.cursor.unacked.push((parcel.tracking_no, lane, id));
                crate::metrics::record_decision(self.id(), kind, started.elapsed());
            }
            Err(e) => {
                warn!(line = %self.id(), parcel = id, error = %e, "lane command not written; the PLC default (exception) applies");
            }
        }
        self.announce(id);
        Ok(())
    }

    /// No decision could be logged for `parcel`: no lane is commanded, so the PLC sends it
    /// to its default, the exception lane, which is what the line now expects of it.
    fn fail_closed(&mut self, parcel: &Tracked, why: &str) {
        let lane = self.config.diverter.exception_lane;
        self.tracker.set_lane(parcel.id, lane);
        crate::metrics::record_decision_not_committed(self.id());
        warn!(line = %self.id(), parcel = parcel.id, tracking_no = parcel.tracking_no, %why,
            "no lane command without a stored decision: the PLC's exception lane applies");
        self.announce(parcel.id);
    }

    /// The decision on `parcel` as the log and the store keep it.
    fn logged(
        &self,
        parcel: &Tracked,
        inputs: &Inputs,
        decision: &Decision,
        lane: u16,
        ebc_mismatches: u32,
    ) -> Logged {
        let weight_mismatch = decision
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::WeightOutOfTolerance { .. }));
        let deviation_pct = match (
            inputs.weight,
            inputs.manifest.as_ref().and_then(|m| m.gross_weight_kg),
        ) {
            (Weight::Stable { kg }, Some(declared)) if declared > 0.0 => {
                Some((kg - declared) / declared * 100.0)
            }
            _ => None,
        };
        let risk = json!({
            "weight_deviation_pct": deviation_pct,
            "unmatched": inputs.read.code().is_some() && inputs.manifest.is_none(),
            "duplicate_waybill": inputs.duplicate_of.is_some(),
            "ebc_weight_mismatches_24h": ebc_mismatches,
        })
        .to_string();
        Logged {
            parcel_id: parcel.id,
            line_id: self.id().to_owned(),
            tracking_no: parcel.tracking_no,
            decided_at: crate::store::now(),
            logistics_no: inputs.read.code().map(str::to_owned),
            read_status: inputs.read.status().to_owned(),
            lane,
            lane_kind: decision.lane.as_str().to_owned(),
            reasons_json: decision.reasons_json(),
            inputs_json: serde_json::to_string(inputs).unwrap_or_default(),
            risk_json: risk,
            ebc_code: inputs.manifest.as_ref().and_then(|m| m.ebc_code.clone()),
            weight_mismatch,
        }
    }
}
