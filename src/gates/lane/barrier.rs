//! The barrier side of a lane: kept down outside an opening, watched while open (vehicles
//! counted, a second one alarmed), closed once the truck is clear.

use std::time::Instant;

use customs_edge_devices::gate_io::{BarrierCommand, GateInputs, GateStatus};
use tracing::{info, warn};

use super::{LaneTask, Opening, Step};

impl LaneTask {
    /// Without an opening of ours the barrier belongs down (fail closed): found open after
    /// a restart or moved by hand, it is closed as soon as both loops are clear, and an
    /// alarm is raised while a vehicle is under it. A barrier in manual mode (the key
    /// switch on its cabinet) is left to the people at the cabinet.
    pub(super) async fn keep_closed(&mut self, status: &GateStatus, now: Instant) {
        if status.is_closed() || status.inputs.manual {
            self.stray_close = None;
            self.stray_alarmed = false;
            return;
        }
        if !status.inputs.any_loop() {
            let due = self
                .stray_close
                .is_none_or(|t| now.duration_since(t) >= self.settings.barrier_move());
            if due {
                warn!(gate = %self.id(), position = status.position_pct, "barrier open without a pass; closing it");
                self.link.command(BarrierCommand::Close).await;
                self.stray_close = Some(now);
            }
        } else if !self.stray_alarmed {
            self.stray_alarmed = true;
            let detail = format!(
                "gate {}: the barrier is open ({} %) with no pass, and a vehicle is on the loop",
                self.id(),
                status.position_pct
            );
            self.link
                .alarm(&self.store, "barrier_open_unexpectedly", &detail)
                .await;
        }
    }

    /// Watch an open barrier: count vehicles, alarm on a second one, close once the truck
    /// has cleared both loops. Returns the opening while the barrier stays open.
    pub(super) async fn watch_opening(
        &mut self,
        mut opening: Opening,
        status: &GateStatus,
        before: GateInputs,
        now: Instant,
    ) -> Option<Opening> {
        let inputs = status.inputs;
        let id = self.settings.config.id.clone();
        if !opening.commanded {
            // The command did not get through (link down): repeat it until it does.
            opening.commanded = self.link.command(BarrierCommand::Open).await;
        }
        if status.is_open() {
            opening.opened = true;
        } else if !opening.opened
            && now.duration_since(opening.since) > self.settings.barrier_move()
            && !opening.stuck_alarmed
        {
            opening.stuck_alarmed = true;
            self.link
                .alarm(
                    &self.store,
                    "barrier_stuck",
                    &format!("gate {id}: barrier did not open in time"),
                )
                .await;
        }
        if inputs.loop_after && !before.loop_after {
            opening.vehicles += 1;
        }
        let second_waiting = opening.vehicles >= 1 && inputs.loop_before && !before.loop_before;
        if (opening.vehicles >= 2 || second_waiting) && !opening.tailgate_alarmed {
            opening.tailgate_alarmed = true;
            self.link
                .alarm(
                    &self.store,
                    "gate_tailgate",
                    &format!(
                        "gate {id}: a second vehicle at the barrier opened for pass {}",
                        opening.pass_id
                    ),
                )
                .await;
        }
        if opening.vehicles >= 1 && !inputs.any_loop() {
            self.close(opening, now).await;
            return None;
        }
        if now.duration_since(opening.since) > self.settings.pass_wait() && opening.vehicles == 0 {
            if !opening.pass_alarmed {
                opening.pass_alarmed = true;
                self.link
                    .alarm(
                        &self.store,
                        "vehicle_not_passed",
                        &format!(
                            "gate {id}: the truck of pass {} did not pass the open barrier",
                            opening.pass_id
                        ),
                    )
                    .await;
            }
            if !inputs.any_loop() {
                self.close(opening, now).await;
                return None;
            }
        }
        Some(opening)
    }

    async fn close(&mut self, opening: Opening, now: Instant) {
        let pass_id = opening.pass_id;
        let vehicles = opening.vehicles;
        let at = crate::store::now();
        let written = self
            .store
            .writer
            .submit(move |tx| crate::store::gates::mark_cleared(tx, pass_id, vehicles, &at))
            .await;
        if let Err(e) = written {
            warn!(gate = %self.id(), error = %e, "could not record that the truck cleared");
        }
        // Loops were clear on this poll; the device refuses a close on an occupied loop
        // anyway, and the next poll opens again if one is occupied.
        self.link.command(BarrierCommand::Close).await;
        self.step = Step::Closing {
            opening,
            since: now,
            alarmed: false,
        };
    }

    pub(super) async fn closed(&mut self, opening: &Opening, now: Instant) {
        info!(gate = %self.id(), pass = opening.pass_id, vehicles = opening.vehicles, "barrier closed");
        self.forget_truck(now).await;
    }
}
