//! One lane's traffic, physically: one task per lane drives its queued vehicles one after
//! another through the gate I/O, the weighbridge and the camera, and writes what happened
//! into the [`Ledger`].
//!
//! A vehicle drives onto the loop before the barrier and the weighbridge; once the weight
//! is stable (or `camera_delay_ms` on a lane without a weighbridge) the camera sends its
//! events `shot_gap_ms` apart; then the vehicle waits for the barrier to be **fully open**
//! (it never passes a closed or moving arm) for up to `patience_ms`. If it opens, the
//! vehicle drives onto the loop after the barrier, covers both loops for a while (so a
//! truck under the arm always holds a loop), leaves the first loop and the weighbridge,
//! then the second. If not, it backs off (`held`). The next vehicle drives up once the
//! lane is clear, `headway_ms` later, when the barrier has closed (or after
//! `closed_wait_ms`). A tailgater drives onto the first loop while the vehicle before it
//! is on the second, and goes through the same opening.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::camera;
use super::judge::{Ledger, ShotRecord, VehicleState};
use super::lane::GateLaneSim;
use super::ocr::PlannedShot;
use super::spec::VehicleSpec;
use crate::gate_io::BarrierEventKind;
use crate::report::round_us;

/// Extra time, beyond three settling times, a vehicle waits for a stable weight before the
/// camera fires anyway (a faulted weighbridge never settles).
const STABLE_GRACE: Duration = Duration::from_secs(5);

/// A vehicle waiting for its lane.
#[derive(Debug)]
pub(crate) struct Queued {
    /// Its id in the ledger.
    pub(crate) id: u64,
    /// What it is.
    pub(crate) spec: VehicleSpec,
    /// What the camera will send for it.
    pub(crate) shots: Vec<PlannedShot>,
}

/// The shutdown fired.
struct Stopped;

/// The vehicle after the one just done.
enum Next {
    /// Taken from the queue, not yet arrived.
    Pending(Queued),
    /// Already on the first loop (a tailgater), since this gate time.
    OnLoop(Queued, Duration),
}

struct Driver {
    lane: GateLaneSim,
    ledger: Ledger,
    queue: mpsc::UnboundedReceiver<Queued>,
    /// When the traffic started: `at_ms` counts from it.
    start: Instant,
    shutdown: CancellationToken,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Drive `lane`'s vehicles from `queue` until `shutdown` fires. `at_ms` counts from
/// `start`, or, with `wait_for_controller`, from the first controller heartbeat.
pub(crate) async fn run(
    lane: GateLaneSim,
    queue: mpsc::UnboundedReceiver<Queued>,
    ledger: Ledger,
    (mut start, wait_for_controller): (Instant, bool),
    shutdown: CancellationToken,
) {
    if wait_for_controller {
        info!(
            lane = lane.id,
            "waiting for a controller heartbeat on the gate I/O"
        );
        while lane.gate.status().controller_heartbeat_echo == 0 {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(ms(lane.timing.poll_ms)) => {}
            }
        }
        start = Instant::now();
    }
    let mut driver = Driver {
        lane,
        ledger,
        queue,
        start,
        shutdown,
    };
    let _ = driver.drive().await;
}

impl Driver {
    async fn drive(&mut self) -> Result<(), Stopped> {
        let mut next = None;
        let mut first = true;
        loop {
            let (vehicle, arrived) = match next.take() {
                Some(Next::OnLoop(v, at)) => (v, at),
                Some(Next::Pending(v)) => {
                    let at = self.approach(&v, first).await?;
                    (v, at)
                }
                None => {
                    let v = self.recv().await?;
                    let at = self.approach(&v, first).await?;
                    (v, at)
                }
            };
            first = false;
            next = self.journey(&vehicle, arrived).await?;
        }
    }

    async fn recv(&mut self) -> Result<Queued, Stopped> {
        tokio::select! {
            () = self.shutdown.cancelled() => Err(Stopped),
            v = self.queue.recv() => {
                if let Some(v) = v {
                    return Ok(v);
                }
                // Every sender is gone: idle until the shutdown.
                self.shutdown.cancelled().await;
                Err(Stopped)
            }
        }
    }

    async fn pause(&self, d: Duration) -> Result<(), Stopped> {
        tokio::select! {
            () = self.shutdown.cancelled() => Err(Stopped),
            () = tokio::time::sleep(d) => Ok(()),
        }
    }

    fn poll(&self) -> Duration {
        ms(self.lane.timing.poll_ms)
    }

    /// Wait for the vehicle's time, the headway and a closed barrier; then arrive.
    async fn approach(&self, v: &Queued, first: bool) -> Result<Duration, Stopped> {
        let due = self.start + ms(v.spec.at_ms);
        tokio::select! {
            () = self.shutdown.cancelled() => return Err(Stopped),
            () = tokio::time::sleep_until(due) => {}
        }
        if !first {
            self.pause(ms(self.lane.timing.headway_ms)).await?;
        }
        let until = Instant::now() + ms(self.lane.timing.closed_wait_ms);
        while !self.lane.gate.status().inputs.closed {
            if Instant::now() >= until {
                warn!(
                    lane = self.lane.id,
                    plate = v.spec.plate,
                    "barrier still not closed; driving up anyway"
                );
                break;
            }
            self.pause(self.poll()).await?;
        }
        Ok(self.arrive(v))
    }

    /// The vehicle drives onto the first loop and the weighbridge; returns the gate time.
    fn arrive(&self, v: &Queued) -> Duration {
        let at = self.lane.gate.with(|d, now| {
            d.set_loop(now, false, true);
            now
        });
        if let Some(wb) = &self.lane.weighbridge {
            wb.set_target(v.spec.true_weight_kg);
        }
        let moment = self.ledger.moment(self.lane.gate_instant(at));
        self.ledger.update(v.id, |r| {
            r.arrived = Some(moment);
            r.state = VehicleState::Weighing;
        });
        debug!(
            lane = self.lane.id,
            plate = v.spec.plate,
            "vehicle on the loop"
        );
        at
    }

    fn see_led(&self, id: u64) {
        let text = self.lane.gate.led_text();
        if !text.is_empty() {
            self.ledger.update(id, |r| {
                if r.led_texts.last() != Some(&text) {
                    r.led_texts.push(text);
                }
            });
        }
    }

    async fn journey(&mut self, v: &Queued, arrived: Duration) -> Result<Option<Next>, Stopped> {
        if !v.spec.tailgate {
            self.weigh(v).await?;
        }
        self.shoot(v).await?;
        let deadline = Instant::now() + ms(self.lane.timing.patience_ms);
        loop {
            if !self.wait_open(v, deadline).await? {
                return Ok(self.back_off(v, arrived));
            }
            self.pause(ms(self.lane.timing.to_barrier_ms)).await?;
            // At the arm: it must still be fully open to drive under it.
            if self.lane.gate.status().inputs.open {
                break;
            }
        }
        self.pass(v, arrived).await
    }

    async fn weigh(&self, v: &Queued) -> Result<(), Stopped> {
        let Some(wb) = &self.lane.weighbridge else {
            return self.pause(ms(self.lane.timing.camera_delay_ms)).await;
        };
        let cap = Instant::now() + ms(self.lane.timing.settle_ms) * 3 + STABLE_GRACE;
        loop {
            self.see_led(v.id);
            if wb.status().flags.stable {
                let now = self.ledger.now();
                self.ledger.update(v.id, |r| r.weight_stable = Some(now));
                return Ok(());
            }
            if Instant::now() >= cap {
                warn!(
                    lane = self.lane.id,
                    plate = v.spec.plate,
                    "weight never stable; reading the plate anyway"
                );
                return Ok(());
            }
            self.pause(self.poll()).await?;
        }
    }

    async fn shoot(&self, v: &Queued) -> Result<(), Stopped> {
        self.ledger
            .update(v.id, |r| r.state = VehicleState::Reading);
        let color = v.spec.plate_color();
        for (i, planned) in v.shots.iter().enumerate() {
            if i > 0 {
                self.pause(ms(self.lane.timing.shot_gap_ms)).await?;
            }
            let sent = self.ledger.now();
            let n = self.ledger.update(v.id, |r| {
                r.shots.push(ShotRecord {
                    kind: planned.kind.clone(),
                    plate: planned.plate.clone(),
                    confidence: planned.confidence,
                    sent,
                    http_status: None,
                    error: None,
                });
                r.first_shot.get_or_insert(sent);
                r.last_shot = Some(sent);
                r.shots.len() - 1
            });
            let post = camera::post(
                self.lane.camera.as_ref(),
                planned,
                color,
                sent.at,
                self.lane.lane_no,
            );
            let outcome = tokio::select! {
                () = self.shutdown.cancelled() => return Err(Stopped),
                outcome = post => outcome,
            };
            if let Some(err) = &outcome.error {
                warn!(lane = self.lane.id, plate = v.spec.plate, %err, "camera event not delivered");
            }
            self.ledger.update(v.id, |r| {
                r.shots[n].http_status = outcome.http_status;
                r.shots[n].error = outcome.error;
            });
        }
        Ok(())
    }

    /// Wait for the barrier to be fully open until `deadline`; false if it did not open.
    async fn wait_open(&self, v: &Queued, deadline: Instant) -> Result<bool, Stopped> {
        self.ledger
            .update(v.id, |r| r.state = VehicleState::Waiting);
        loop {
            self.see_led(v.id);
            if self.lane.gate.status().inputs.open {
                let now = self.ledger.now();
                self.ledger.update(v.id, |r| r.opened = Some(now));
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            self.pause(self.poll()).await?;
        }
    }

    /// Record the first open command the gate obeyed between gate times `from` and `to`.
    fn record_open_command(&self, id: u64, from: Duration, to: Duration) {
        let events = self.lane.gate.events();
        let Some(open) = events
            .iter()
            .find(|e| e.kind == BarrierEventKind::OpenStarted && (from..=to).contains(&e.at))
        else {
            return;
        };
        let moment = self.ledger.moment(self.lane.gate_instant(open.at));
        self.ledger.update(id, |r| {
            r.open_command = Some(moment);
            // From the plate event that let the controller decide: the last one it had
            // received when it opened (later ones came too late to matter).
            r.latency_ms = r
                .shots
                .iter()
                .map(|s| s.sent.ms)
                .filter(|&sent| sent <= moment.ms)
                .reduce(f64::max)
                .map(|sent| round_us(moment.ms - sent));
        });
    }

    fn gate_now(&self) -> Duration {
        self.lane.gate.with(|_, now| now)
    }

    fn leave_weighbridge(&self) {
        if let Some(wb) = &self.lane.weighbridge {
            wb.set_target(0);
        }
    }

    fn back_off(&self, v: &Queued, arrived: Duration) -> Option<Next> {
        self.record_open_command(v.id, arrived, self.gate_now());
        self.lane.gate.vehicle_leaves_before_loop();
        self.leave_weighbridge();
        let now = self.ledger.now();
        self.ledger.update(v.id, |r| {
            r.held = true;
            r.held_at = Some(now);
            r.state = VehicleState::Held;
        });
        self.ledger.finish(v.id);
        info!(
            lane = self.lane.id,
            plate = v.spec.plate,
            entitled = v.spec.entitled,
            "vehicle held"
        );
        None
    }

    async fn pass(&mut self, v: &Queued, arrived: Duration) -> Result<Option<Next>, Stopped> {
        self.record_open_command(v.id, arrived, self.gate_now());
        self.ledger
            .update(v.id, |r| r.state = VehicleState::Passing);
        self.lane.gate.vehicle_enters_after_loop();
        self.pause(ms(self.lane.timing.both_loops_ms)).await?;
        self.lane.gate.vehicle_leaves_before_loop();
        self.leave_weighbridge();
        let next = match self.queue.try_recv() {
            Ok(n) if n.spec.tailgate => {
                let at = self.arrive(&n);
                info!(lane = self.lane.id, plate = n.spec.plate, "tailgating");
                Some(Next::OnLoop(n, at))
            }
            Ok(n) => Some(Next::Pending(n)),
            Err(_) => None,
        };
        self.pause(ms(self.lane.timing.clear_ms)).await?;
        self.lane.gate.vehicle_leaves_after_loop();
        let now = self.ledger.now();
        self.ledger.update(v.id, |r| {
            r.left = true;
            r.left_at = Some(now);
            r.state = VehicleState::Left;
        });
        self.ledger.finish(v.id);
        info!(
            lane = self.lane.id,
            plate = v.spec.plate,
            entitled = v.spec.entitled,
            "vehicle left"
        );
        Ok(next)
    }
}
