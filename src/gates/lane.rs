//! One gate lane's loop: idle → truck on the loop → plate reads agree → weight stable →
//! verdict → barrier open → truck cleared the exit loop → barrier closed.
//!
//! Every step has a timeout and a way out: reads that never agree leave the truck waiting
//! for an operator; a weighbridge that never settles holds it; a barrier that does not move
//! raises an alarm; a truck that never passes is alarmed and the barrier closes once both
//! loops are clear. The barrier is never commanded closed while a loop is occupied, and a
//! second vehicle through one opening raises an alarm.
//!
//! The task reacts to plate events at once (the verdict does not wait for the next poll)
//! and polls the gate I/O and the weighbridge every `poll_interval_ms`.

use std::time::{Duration, Instant};

use customs_edge_devices::gate_io::{BarrierCommand, GateInputs, GateStatus};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::view::{LaneView, Phase};
use super::{LaneSettings, PlateEvent};
use crate::store::Store;

mod barrier;
mod decide;
mod devices;
mod operator;
mod pass;

pub use devices::DeviceLink;

/// What an operator asks of a lane.
#[derive(Debug)]
pub enum LaneCommand {
    /// Open the barrier for the truck at the lane, with a mandatory reason.
    Override {
        /// Who (as authorised by the API).
        actor: String,
        /// Why.
        reason: String,
        /// The override's gate pass id, or why it could not be done.
        reply: oneshot::Sender<Result<i64, String>>,
    },
}

/// Where the lane is in its cycle, with what that step needs.
#[derive(Debug)]
enum Step {
    /// No truck.
    Idle,
    /// A truck is on the loop; reads and weight are being gathered.
    Present { since: Instant },
    /// Refused (or undecidable): the barrier stays closed until the truck backs off or an
    /// operator overrides. `since` is when the truck arrived.
    Held { pass_id: i64, since: Instant },
    /// The barrier was commanded open for pass `pass_id`.
    Open(Opening),
    /// Commanded closed; reopened if a loop becomes occupied.
    Closing {
        opening: Opening,
        since: Instant,
        alarmed: bool,
    },
}

/// One opening of the barrier and what went through it.
#[derive(Debug, Clone)]
struct Opening {
    pass_id: i64,
    since: Instant,
    /// The open command is in the device (read back).
    commanded: bool,
    /// The barrier reported fully open at least once.
    opened: bool,
    /// Vehicles that entered the exit loop during this opening.
    vehicles: u32,
    tailgate_alarmed: bool,
    stuck_alarmed: bool,
    pass_alarmed: bool,
}

/// What a lane hears from and tells the rest of the controller.
#[derive(Debug)]
pub struct LaneChannels {
    /// Plate events from the camera listener.
    pub plates: mpsc::Receiver<PlateEvent>,
    /// Operator commands from the API.
    pub commands: mpsc::Receiver<LaneCommand>,
    /// The lane, live, for the API.
    pub view: watch::Sender<LaneView>,
    /// Cameras watching the lane, for evidence frames of its passes.
    pub video: Option<crate::video::VideoHub>,
}

/// One lane's task.
pub struct LaneTask {
    settings: LaneSettings,
    store: Store,
    link: DeviceLink,
    plates: mpsc::Receiver<PlateEvent>,
    commands: mpsc::Receiver<LaneCommand>,
    view: watch::Sender<LaneView>,
    video: Option<crate::video::VideoHub>,
    step: Step,
    /// Plate events not yet used for a pass, oldest first.
    reads: Vec<PlateEvent>,
    /// Reads received before this were used for (or belong to) an earlier truck.
    reads_after: Instant,
    inputs: GateInputs,
    open_plates: (Vec<String>, Option<Instant>),
    /// The barrier was found open with no opening of ours (after a restart, or moved by
    /// hand): when we last told it to close, and whether the alarm is raised.
    stray_close: Option<Instant>,
    stray_alarmed: bool,
}

impl LaneTask {
    /// A lane over its devices; plate events and operator commands arrive on the channels.
    pub fn new(
        settings: LaneSettings,
        link: DeviceLink,
        store: Store,
        channels: LaneChannels,
    ) -> Self {
        Self {
            settings,
            store,
            link,
            plates: channels.plates,
            commands: channels.commands,
            view: channels.view,
            video: channels.video,
            step: Step::Idle,
            reads: Vec::new(),
            reads_after: Instant::now(),
            inputs: GateInputs::default(),
            open_plates: (Vec::new(), None),
            stray_close: None,
            stray_alarmed: false,
        }
    }

    fn id(&self) -> &str {
        &self.settings.config.id
    }

    /// Run until `shutdown`. The barrier is left as it is: a truck under it stays safe.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let poll = Duration::from_millis(self.settings.config.poll_interval_ms);
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        info!(gate = %self.id(), direction = self.settings.config.direction().as_str(), "gate lane started");
        self.set_led(idle_text(&self.settings)).await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => self.poll().await,
                Some(event) = self.plates.recv() => {
                    self.reads.push(event);
                    if matches!(self.step, Step::Present { .. }) {
                        self.open_plates.1 = None;
                        self.evaluate().await;
                    }
                }
                Some(command) = self.commands.recv() => self.command(command).await,
            }
        }
        info!(gate = %self.id(), "gate lane stopped");
        Ok(())
    }

    /// Read the devices and move the lane on.
    async fn poll(&mut self) {
        let Some(status) = self.link.poll(&self.store).await else {
            self.publish(None);
            return;
        };
        let before = self.inputs;
        self.inputs = status.inputs;
        self.step_with(&status, before).await;
        self.publish(Some(&status));
    }

    async fn step_with(&mut self, status: &GateStatus, before: GateInputs) {
        let now = Instant::now();
        let inputs = status.inputs;
        if matches!(
            self.step,
            Step::Idle | Step::Present { .. } | Step::Held { .. }
        ) {
            self.keep_closed(status, now).await;
        }
        match &mut self.step {
            Step::Idle => {
                if inputs.loop_before {
                    info!(gate = %self.settings.config.id, "truck on the loop");
                    self.step = Step::Present { since: now };
                    self.open_plates.1 = None;
                    self.evaluate().await;
                }
            }
            Step::Present { .. } => {
                if inputs.loop_before {
                    self.evaluate().await;
                } else {
                    info!(gate = %self.settings.config.id, "truck left the loop before a verdict");
                    self.forget_truck(now).await;
                }
            }
            Step::Held { pass_id, .. } => {
                if !inputs.any_loop() {
                    info!(gate = %self.settings.config.id, pass = *pass_id, "held truck backed off");
                    self.forget_truck(now).await;
                }
            }
            Step::Open(_) => {
                let Step::Open(opening) = std::mem::replace(&mut self.step, Step::Idle) else {
                    unreachable!("matched Open above")
                };
                if let Some(opening) = self.watch_opening(opening, status, before, now).await {
                    self.step = Step::Open(opening);
                }
            }
            Step::Closing {
                opening,
                since,
                alarmed,
            } => {
                if status.is_closed() {
                    // Closed: a truck on the loop now is the next one, with its own verdict.
                    let opening = opening.clone();
                    self.closed(&opening, now).await;
                } else if inputs.any_loop() {
                    // Something is under the barrier: open again, never close on it.
                    let mut opening = opening.clone();
                    warn!(gate = %self.settings.config.id, "loop occupied while closing; opening again");
                    opening.commanded = self.link.command(BarrierCommand::Open).await;
                    self.step = Step::Open(opening);
                } else if now.duration_since(*since) > self.settings.barrier_move() && !*alarmed {
                    *alarmed = true;
                    let id = self.settings.config.id.clone();
                    self.link
                        .alarm(
                            &self.store,
                            "barrier_stuck",
                            &format!("gate {id}: barrier did not close in time"),
                        )
                        .await;
                }
            }
        }
    }

    /// Back to idle; reads so far belonged to the truck that went.
    async fn forget_truck(&mut self, now: Instant) {
        self.step = Step::Idle;
        self.reads.clear();
        self.reads_after = now;
        self.set_led(idle_text(&self.settings)).await;
    }

    async fn set_led(&mut self, text: String) {
        self.link.show_led(&text).await;
    }

    fn publish(&self, status: Option<&GateStatus>) {
        let phase = match &self.step {
            Step::Idle => Phase::Idle,
            Step::Present { .. } => Phase::Present,
            Step::Held { .. } => Phase::Held,
            Step::Open(_) => Phase::Open,
            Step::Closing { .. } => Phase::Closing,
        };
        self.view.send_modify(|v| {
            v.phase = phase;
            v.link_ok = self.link.is_ok();
            if let Some(status) = status {
                v.loop_before = status.inputs.loop_before;
                v.loop_after = status.inputs.loop_after;
                v.barrier_position_pct = status.position_pct;
            }
            v.weight = self.link.weight().kg();
            v.weight_stable = matches!(self.link.weight(), super::verdict::Weight::Stable(_));
            v.led_text.clone_from(self.link.led_text());
            v.pass_id = match &self.step {
                Step::Held { pass_id, .. } => Some(*pass_id),
                Step::Open(o) | Step::Closing { opening: o, .. } => Some(o.pass_id),
                _ => None,
            };
        });
    }
}

/// What the LED shows with no truck.
fn idle_text(settings: &LaneSettings) -> String {
    match settings.config.direction() {
        crate::config::GateDirection::Out => "出区卡口 请停车识别".to_owned(),
        crate::config::GateDirection::In => "入区卡口 请停车识别".to_owned(),
    }
}
