//! One gate lane's task: the I/O around its [`Lane`] machine.
//!
//! It polls the gate I/O and the weighbridge every `poll_interval_ms`, hears plate events
//! at once (a verdict does not wait for the next poll) and operator commands, and wakes
//! at the machine's next deadline. Each of these is an [`Input`]; the [`Action`]s the
//! machine returns are carried out in order, and an action that gets an answer (a store
//! read, the pass written, a barrier command read back) is answered, and what the answer
//! asks for done, before the next one. So a pass is committed before the barrier is
//! commanded, and the LED follows the barrier.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::machine::{Action, Input, Lane, PassRecord};
use super::view::LaneView;
use super::{LaneSettings, PlateEvent};
use crate::store::Store;

mod devices;
mod store;

pub use devices::DeviceLink;

/// What an operator asks of a lane.
#[derive(Debug)]
pub enum LaneCommand {
    /// Open the barrier for the truck at the lane, with a mandatory reason.
    Override {
        /// Who (as authorised by the API).
        actor: String,
        /// Why, in the operator's words (written into the pass and the audit log).
        reason: String,
        /// The override's gate pass id, or why it could not be done.
        reply: oneshot::Sender<Result<i64, String>>,
    },
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
    machine: Lane,
    store: Store,
    link: DeviceLink,
    plates: mpsc::Receiver<PlateEvent>,
    commands: mpsc::Receiver<LaneCommand>,
    view: watch::Sender<LaneView>,
    video: Option<crate::video::VideoHub>,
    /// The override being decided, by ticket: the machine answers it within the same
    /// input (its store requests are answered in line).
    reply: Option<(u64, oneshot::Sender<Result<i64, String>>)>,
    tickets: u64,
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
            machine: Lane::new(settings.clone(), Instant::now()),
            settings,
            store,
            link,
            plates: channels.plates,
            commands: channels.commands,
            view: channels.view,
            video: channels.video,
            reply: None,
            tickets: 0,
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
        let start = self.machine.start();
        self.carry_out(start).await;
        loop {
            let deadline = self.machine.next_deadline();
            let timer = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let polled = self.link.poll().await;
                    self.feed(polled).await;
                }
                Some(event) = self.plates.recv() => self.feed(Input::Plate(event)).await,
                Some(command) = self.commands.recv() => self.command(command).await,
                () = timer => self.feed(Input::Timer).await,
            }
        }
        info!(gate = %self.id(), "gate lane stopped");
        Ok(())
    }

    async fn command(&mut self, command: LaneCommand) {
        let LaneCommand::Override {
            actor,
            reason,
            reply,
        } = command;
        self.tickets += 1;
        let ticket = self.tickets;
        self.reply = Some((ticket, reply));
        self.feed(Input::Override {
            ticket,
            actor,
            reason,
        })
        .await;
        if let Some((_, reply)) = self.reply.take() {
            let _ = reply.send(Err(format!(
                "gate {}: no answer to the override",
                self.id()
            )));
        }
    }

    async fn feed(&mut self, input: Input) {
        let actions = self.machine.step(input, Instant::now());
        self.carry_out(actions).await;
    }

    /// Carry out `actions` in order; what an answer asks for comes before the rest.
    async fn carry_out(&mut self, actions: Vec<Action>) {
        let mut queue = VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            if let Some(answer) = self.perform(action).await {
                let next = self.machine.step(answer, Instant::now());
                for action in next.into_iter().rev() {
                    queue.push_front(action);
                }
            }
        }
    }

    /// Do one action; the machine's input it answers with, if any.
    async fn perform(&mut self, action: Action) -> Option<Input> {
        let exit = self.settings.is_exit();
        match action {
            Action::Barrier { command, .. } => {
                let ok = self.link.command(command).await;
                return Some(Input::Commanded { command, ok });
            }
            Action::Led(text) => self.link.show_led(&text).await,
            Action::Raise {
                source,
                kind,
                detail,
            } => store::raise(&self.store, source.name(self.id()), kind, detail).await,
            Action::Clear { source, kind } => {
                store::clear(&self.store, source.name(self.id()), kind).await;
            }
            Action::Health { device, up, detail } => self.link.report(device, up, detail),
            Action::FetchPlates { id } => {
                let plates = store::open_plates(&self.store, exit).await;
                return Some(Input::Plates { id, plates });
            }
            Action::FetchRules { id, plate } => {
                let facts = store::facts(&self.store, exit, &plate).await;
                return Some(Input::Rules { id, facts });
            }
            Action::FetchLoad { id, permit_no } => {
                let load = store::load(&self.store, &permit_no).await;
                return Some(Input::Load { id, load });
            }
            Action::Record { id, pass } => {
                let pass_id = self.record(*pass).await;
                return Some(Input::Recorded { id, pass_id });
            }
            Action::MarkCleared { pass_id, vehicles } => {
                store::mark_cleared(&self.store, self.id(), pass_id, vehicles).await;
            }
            Action::Reply { ticket, result } => {
                if let Some((waiting, reply)) = self.reply.take() {
                    if waiting == ticket {
                        let _ = reply.send(result);
                    } else {
                        self.reply = Some((waiting, reply));
                    }
                }
            }
            Action::Publish => self.publish(),
        }
        None
    }

    /// Write a pass and wait for the commit; then ask the lane's cameras for their frames.
    async fn record(&mut self, pass: PassRecord) -> Result<i64, String> {
        let (verdict, last_read) = (pass.verdict, pass.last_read);
        let row = store::new_pass(&self.settings, pass, crate::store::now());
        let id = store::record(&self.store, row).await.inspect_err(|e| {
            warn!(gate = %self.id(), error = %e, "could not write the gate pass");
        })?;
        crate::metrics::record_gate_verdict(self.id(), verdict.as_str());
        self.moments(id, last_read);
        Ok(id)
    }

    /// Ask the cameras watching the lane for their frames of pass `id`: when its plate was
    /// last read (as received here: camera clocks drift) and now, at the verdict.
    fn moments(&self, id: i64, last_read: Option<Instant>) {
        let Some(video) = &self.video else {
            return;
        };
        let point = crate::video::Point::Gate {
            gate: self.id().to_owned(),
        };
        let now = chrono::Utc::now();
        let moment = |at| {
            video.moment(crate::video::Moment {
                record_kind: crate::store::evidence_rows::RECORD_GATE_PASS,
                record_id: id,
                point: point.clone(),
                at,
            });
        };
        if let Some(read) = last_read {
            moment(now - chrono::TimeDelta::from_std(read.elapsed()).unwrap_or_default());
        }
        moment(now);
    }

    fn publish(&self) {
        let mut view = self.machine.view();
        view.led_text.clone_from(self.link.led_text());
        self.view.send_replace(view);
    }
}
