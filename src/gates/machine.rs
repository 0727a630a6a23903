//! One gate lane as a state machine without I/O: idle → truck on the loop → plate reads
//! agree and the weight is in → verdict recorded → barrier open → truck cleared the exit
//! loop → barrier closed. The lane task ([`super::lane`]) feeds it [`Input`]s with the
//! time and carries out the [`Action`]s it returns, in order; tests do the same.
//!
//! The rules it keeps, whatever comes in:
//! - the barrier is never commanded closed unless the poll that decides it read both
//!   loops clear;
//! - it opens only for a pass the store has committed;
//! - a second vehicle through one opening raises `gate_tailgate`;
//! - every wait on the devices or the truck ends: reads that never agree hold the truck
//!   for an operator after `plate_wait_s`, a weight that never settles is decided on
//!   after `weight_wait_s`, a barrier that does not move and a truck that does not pass
//!   raise alarms ([`Lane::next_deadline`] says when);
//! - a plate read belongs to the truck at the loop when it was received (`reads`);
//! - a truck that leaves before a verdict leaves a pass that says so.
//!
//! Parts: `reads` (which truck a read is of), `decide` (the verdict as a conversation
//! with the store), `job` (what that conversation waits for), `outcome` (the pass as
//! recorded), `barrier` (an opening, the close, the barrier kept down), `links` (device
//! links and the weight).

mod barrier;
mod decide;
mod job;
mod links;
mod messages;
mod outcome;
mod reads;

use std::time::{Duration, Instant};

use customs_edge_devices::gate_io::{BarrierCommand, GateInputs, GateStatus};
use customs_edge_devices::weighbridge::WeighbridgeStatus;
use tracing::info;

use super::LaneSettings;
use super::verdict::Weight;
use super::view::{LaneView, Phase};
use barrier::{AfterClosing, Closing, KeepClosed, Opening};
use decide::Decider;
use links::LinkWatch;
pub use messages::{Action, Device, Facts, Input, PassRecord, RequestId, Source};
use reads::{Reads, Truck};

/// How soon a truck whose verdict is due but could not be recorded is tried again,
/// besides every poll.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Where the lane is in its cycle, with what that step needs.
#[derive(Debug)]
enum Step {
    /// No truck.
    Idle,
    /// A truck is on the loop since `since`; reads and weight are being gathered.
    Present { since: Instant },
    /// Refused (or undecidable): the barrier stays closed until the truck backs off or an
    /// operator overrides. `since` is when the truck arrived.
    Held { pass_id: i64, since: Instant },
    /// The barrier was commanded open for a pass.
    Open(Opening),
    /// Commanded closed; opened again if a loop becomes occupied before it is down.
    Closing(Closing),
}

/// One gate lane's state.
#[derive(Debug)]
pub struct Lane {
    settings: LaneSettings,
    step: Step,
    reads: Reads,
    decider: Decider,
    /// The loops and limit switches at the last good poll (edges are counted against it).
    inputs: GateInputs,
    status: Option<GateStatus>,
    weight: Weight,
    io: LinkWatch,
    weighbridge: LinkWatch,
    keep_closed: KeepClosed,
    /// What the LED was last told to show.
    led: String,
    /// The latest time an input came with.
    now: Instant,
}

impl Lane {
    /// A lane with no truck, as the task starts at `now`.
    pub fn new(settings: LaneSettings, now: Instant) -> Self {
        Self {
            settings,
            step: Step::Idle,
            reads: Reads::new(now),
            decider: Decider::default(),
            inputs: GateInputs::default(),
            status: None,
            weight: Weight::Missing,
            io: LinkWatch::default(),
            weighbridge: LinkWatch::default(),
            keep_closed: KeepClosed::default(),
            led: String::new(),
            now,
        }
    }

    /// What the task does before the first input: the LED shows the lane is ready.
    pub fn start(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.set_led(idle_text(&self.settings), &mut out);
        out
    }

    /// Take one input at `now`; the actions to carry out, in order.
    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Action> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        let gate = self.settings.config.id.clone();
        match input {
            Input::Poll { io, weighbridge } => {
                self.poll(&io, weighbridge.as_ref(), now, &mut out);
            }
            Input::Plate(event) => {
                self.reads.push(event);
                if matches!(self.step, Step::Present { .. }) {
                    self.decider.invalidate_plates();
                    self.evaluate(now, true, &mut out);
                }
            }
            Input::Plates { id, plates } => {
                if let Some(resume) = self.decider.on_plates(id, plates, now, &gate)
                    && let Some(truck) = self.truck()
                {
                    self.decider
                        .resume(resume, &self.settings, truck, now, &mut out);
                }
            }
            Input::Rules { id, facts } => {
                self.decider
                    .on_rules(id, facts, &self.settings, self.weight, &mut out);
            }
            Input::Load { id, load } => {
                self.decider.on_load(id, load, &self.settings, &mut out);
            }
            Input::Recorded { id, pass_id } => {
                if let Some(committed) = self.decider.on_recorded(id, pass_id, &gate, &mut out) {
                    self.act(committed, now, &mut out);
                }
            }
            Input::Commanded { command, ok } => {
                if command == BarrierCommand::Open
                    && let Step::Open(opening) = &mut self.step
                {
                    opening.commanded = ok;
                }
            }
            Input::Override {
                ticket,
                actor,
                reason,
            } => self.override_open((ticket, actor, reason), now, &mut out),
            Input::Timer => self.timer(now, &mut out),
        }
        let arrival = match self.step {
            Step::Present { since } | Step::Held { since, .. } => since,
            _ => now,
        };
        self.reads.prune(arrival);
        out
    }

    /// When to feed [`Input::Timer`]: the next timeout of the step the lane is in. `None`
    /// when idle, when a refused truck waits for an operator (that wait is theirs), and
    /// once an opening's timeouts have fired.
    pub fn next_deadline(&self) -> Option<Instant> {
        let s = &self.settings;
        match &self.step {
            Step::Idle | Step::Held { .. } => None,
            Step::Present { since } => {
                let weight = (s.is_exit() && s.has_weighbridge()).then(|| *since + s.weight_wait());
                std::iter::once(*since + s.plate_wait())
                    .chain(weight)
                    .filter(|d| *d > self.now)
                    .min()
                    // The verdict is due but could not be recorded: try again.
                    .or(Some(self.now + RETRY_AFTER))
            }
            Step::Open(opening) => opening.deadline(s),
            Step::Closing(closing) => closing.deadline(s),
        }
    }

    /// The lane as the consoles see it (`led_text` as last asked for).
    pub fn view(&self) -> LaneView {
        let status = self.status.unwrap_or_default();
        let (phase, pass_id) = match &self.step {
            Step::Idle => (Phase::Idle, None),
            Step::Present { .. } => (Phase::Present, None),
            Step::Held { pass_id, .. } => (Phase::Held, Some(*pass_id)),
            Step::Open(o) => (Phase::Open, Some(o.pass_id)),
            Step::Closing(c) => (Phase::Closing, Some(c.opening.pass_id)),
        };
        LaneView {
            gate: self.settings.config.id.clone(),
            direction: self.settings.config.direction().as_str().to_owned(),
            phase,
            link_ok: self.io.is_ok(),
            loop_before: status.inputs.loop_before,
            loop_after: status.inputs.loop_after,
            barrier_position_pct: status.position_pct,
            weight: self.weight.kg(),
            weight_stable: matches!(self.weight, Weight::Stable(_)),
            led_text: self.led.clone(),
            pass_id,
            load_check: if phase == Phase::Idle {
                None
            } else {
                self.decider.load_check.clone()
            },
        }
    }

    fn poll(
        &mut self,
        io: &Result<GateStatus, String>,
        weighbridge: Option<&Result<WeighbridgeStatus, String>>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let gate = &self.settings.config.id;
        if let Some(read) = weighbridge {
            self.weight = links::weight(read);
            let error = read.as_ref().err().map(String::as_str);
            self.weighbridge
                .report(gate, Device::Weighbridge, error, out);
        }
        let error = io.as_ref().err().map(String::as_str);
        self.io.report(gate, Device::Io, error, out);
        if let Ok(status) = *io {
            let before = std::mem::replace(&mut self.inputs, status.inputs);
            self.status = Some(status);
            self.on_status(&status, before, now, out);
            if before.loop_before && !status.inputs.loop_before {
                self.reads.departed(now);
            }
        }
        out.push(Action::Publish);
    }

    /// Move the lane on by a good poll's status.
    fn on_status(
        &mut self,
        status: &GateStatus,
        before: GateInputs,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let inputs = status.inputs;
        let s = &self.settings;
        let gate = s.config.id.clone();
        if matches!(
            self.step,
            Step::Idle | Step::Present { .. } | Step::Held { .. }
        ) {
            self.keep_closed.check(status, now, s, out);
        }
        match &mut self.step {
            Step::Idle => {
                if inputs.loop_before {
                    info!(gate = %gate, "truck on the loop");
                    self.step = Step::Present { since: now };
                    self.decider.load_check = None;
                    self.decider.invalidate_plates();
                    self.evaluate(now, true, out);
                }
            }
            Step::Present { .. } => {
                if inputs.loop_before {
                    self.evaluate(now, true, out);
                } else if let Some(truck) = self.truck() {
                    self.decider
                        .left(&self.settings, truck, now, &self.led, out);
                    self.forget_truck(out);
                }
            }
            Step::Held { pass_id, .. } => {
                if !inputs.any_loop() {
                    info!(gate = %gate, pass = *pass_id, "held truck backed off");
                    self.decider.abandon(&gate, out);
                    self.forget_truck(out);
                }
            }
            Step::Open(opening) => {
                if opening.watch(status, before, now, s, out) {
                    self.close(now, out);
                }
            }
            Step::Closing(closing) => match closing.watch(status, before, now, s, out) {
                // Down: a truck on the loop now is the next one, with its own verdict.
                AfterClosing::Down => self.forget_truck(out),
                AfterClosing::Reopened(opening) => self.step = Step::Open(opening),
                AfterClosing::Moving => {}
            },
        }
    }

    /// The truck went through and the loops are clear.
    fn close(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Step::Open(opening) = std::mem::replace(&mut self.step, Step::Idle) {
            self.step = Step::Closing(opening.close(now, out));
        }
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let s = &self.settings;
        match &mut self.step {
            Step::Present { .. } => self.evaluate(now, true, out),
            Step::Open(opening) => opening.on_timer(now, s, out),
            Step::Closing(closing) => closing.timeout(now, s, out),
            Step::Idle | Step::Held { .. } => {}
        }
    }

    /// The truck on the loop, if any, as the decision sees it.
    fn truck(&self) -> Option<Truck> {
        let (Step::Present { since } | Step::Held { since, .. }) = self.step else {
            return None;
        };
        Some(Truck {
            since,
            reads: self.reads.of_truck(since),
            weight: self.weight,
        })
    }

    fn evaluate(&mut self, now: Instant, fetch: bool, out: &mut Vec<Action>) {
        if let Step::Present { .. } = self.step
            && let Some(truck) = self.truck()
        {
            self.decider
                .evaluate(&self.settings, truck, now, fetch, out);
        }
    }

    fn override_open(
        &mut self,
        (ticket, actor, reason): (u64, String, String),
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let gate = &self.settings.config.id;
        let refused = match self.step {
            Step::Idle => format!("gate {gate}: no truck on the loop"),
            Step::Open(_) | Step::Closing(_) => format!("gate {gate}: the barrier is already open"),
            Step::Present { .. } | Step::Held { .. } => {
                if let Some(truck) = self.truck() {
                    let request = (ticket, actor, reason);
                    self.decider
                        .override_open(&self.settings, truck, request, now, out);
                }
                return;
            }
        };
        out.push(Action::Reply {
            ticket,
            result: Err(refused),
        });
    }

    /// Carry out a committed pass: the barrier first (a truck must not wait on the LED),
    /// then the LED.
    fn act(&mut self, committed: decide::Committed, now: Instant, out: &mut Vec<Action>) {
        let (Step::Present { since } | Step::Held { since, .. }) = self.step else {
            // The truck is gone (the decision was dropped with it): nothing to carry out.
            return;
        };
        if committed.opens {
            let opening = Opening::new(committed.pass_id, now);
            out.push(opening.open());
            self.step = Step::Open(opening);
        } else {
            self.step = Step::Held {
                pass_id: committed.pass_id,
                since,
            };
        }
        self.set_led(committed.led_text, out);
        if let Some(ticket) = committed.ticket {
            out.push(Action::Reply {
                ticket,
                result: Ok(committed.pass_id),
            });
        }
        out.push(Action::Publish);
    }

    /// Back to idle.
    fn forget_truck(&mut self, out: &mut Vec<Action>) {
        self.step = Step::Idle;
        self.set_led(idle_text(&self.settings), out);
    }

    fn set_led(&mut self, text: String, out: &mut Vec<Action>) {
        self.led.clone_from(&text);
        out.push(Action::Led(text));
    }
}

/// What the LED shows with no truck.
fn idle_text(settings: &LaneSettings) -> String {
    match settings.config.direction() {
        crate::config::GateDirection::Out => "出区卡口 请停车识别".to_owned(),
        crate::config::GateDirection::In => "入区卡口 请停车识别".to_owned(),
    }
}

#[cfg(test)]
mod tests;
