//! Random lanes: loops, the arm, plate reads, overrides, a failing store and a barrier
//! that refuses commands, in any order and at any pace, with the timer fired whenever a
//! deadline passes (as the lane task does). Whatever comes, the safety rules hold.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;

/// One thing that happens to the lane.
#[derive(Debug, Clone, Copy)]
enum Event {
    Poll {
        loops: (bool, bool),
        arm: Arm,
        manual: bool,
        io_ok: bool,
        weight_stable: bool,
    },
    Read {
        plate: &'static str,
        sure: bool,
    },
    Override,
    Faults {
        reads_fail: bool,
        writes_fail: bool,
        barrier_refuses: bool,
    },
}

fn event() -> impl Strategy<Value = Event> {
    let arm = prop_oneof![Just(Arm::Closed), Just(Arm::Moving), Just(Arm::Open)];
    let poll = (
        (any::<bool>(), any::<bool>()),
        arm,
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(loops, arm, manual, io_ok, weight_stable)| Event::Poll {
            loops,
            arm,
            manual,
            io_ok,
            weight_stable,
        });
    let read = (
        prop_oneof![
            Just(PLATE_A),
            Just(PLATE_B),
            Just(PLATE_C),
            Just("NOT-A-PLATE")
        ],
        prop::bool::weighted(0.7),
    )
        .prop_map(|(plate, sure)| Event::Read { plate, sure });
    let faults = (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(reads_fail, writes_fail, barrier_refuses)| Event::Faults {
            reads_fail,
            writes_fail,
            barrier_refuses,
        });
    prop_oneof![8 => poll, 3 => read, 1 => Just(Event::Override), 1 => faults]
}

/// What the checks remember between inputs.
#[derive(Default)]
struct Watch {
    /// The loops at the last good poll.
    inputs: GateInputs,
    /// Passes whose opening ended (the barrier came down, or the lane moved on).
    ended: HashSet<i64>,
    /// The opening in progress, by pass.
    opening: Option<i64>,
    /// Vehicles seen entering the exit loop during each pass's opening.
    vehicles: HashMap<i64, u32>,
    /// Passes whose opening raised the tailgate alarm.
    tailgate: HashSet<i64>,
}

fn serving(site: &Site) -> Option<i64> {
    let view = site.lane.view();
    matches!(view.phase, Phase::Open | Phase::Closing)
        .then_some(view.pass_id)
        .flatten()
}

impl Watch {
    /// Feed one input and check every rule on what the machine did.
    fn feed(&mut self, site: &mut Site, input: Input) -> Result<(), TestCaseError> {
        let polled = match &input {
            Input::Poll { io: Ok(status), .. } => Some(*status),
            _ => None,
        };
        let is_timer = matches!(input, Input::Timer);
        let before = serving(site);
        let done = site.feed(input);

        // Never a close command unless the poll that decided it read both loops clear.
        if closes(&done) > 0 {
            let status = polled.ok_or_else(|| TestCaseError::fail("closed without a poll"))?;
            prop_assert!(
                !status.inputs.any_loop(),
                "closed on an occupied loop: {status:?} {done:#?}"
            );
        }
        // Opens only for a committed pass that lets the truck through, and never again
        // once that pass's opening has ended.
        for pass in opens(&done) {
            let record = site.passes.iter().find(|(id, _)| *id == pass);
            let (_, record) = record.ok_or_else(|| {
                TestCaseError::fail(format!("opened for pass {pass}, never committed"))
            })?;
            prop_assert_ne!(record.verdict, PassVerdict::Refused, "opened for a refusal");
            prop_assert!(!self.ended.contains(&pass), "pass {pass} opened twice");
        }
        for action in &done {
            if let Action::Raise {
                kind: "gate_tailgate",
                detail,
                ..
            } = action
            {
                let pass = detail
                    .rsplit(' ')
                    .next()
                    .and_then(|p| p.parse::<i64>().ok());
                self.tailgate.extend(pass);
            }
        }
        // A second vehicle into the exit loop during one opening is a tailgate.
        if let Some(status) = polled {
            let entered = status.inputs.loop_after && !self.inputs.loop_after;
            if let Some(pass) = before
                && entered
                && !status.inputs.closed
            {
                *self.vehicles.entry(pass).or_default() += 1;
            }
            self.inputs = status.inputs;
        }
        for (pass, n) in &self.vehicles {
            prop_assert!(
                *n < 2 || self.tailgate.contains(pass),
                "{n} vehicles through the opening of pass {pass}, no tailgate alarm"
            );
        }
        let now = serving(site);
        if let Some(pass) = self.opening
            && now != Some(pass)
        {
            self.ended.insert(pass);
        }
        self.opening = now;
        Self::deadlines(site, is_timer)
    }

    /// Every armed timeout is scheduled; a timer that fired leaves none in the past.
    fn deadlines(site: &Site, fired: bool) -> Result<(), TestCaseError> {
        let s = &site.lane.settings;
        let next = site.lane.next_deadline();
        let armed = match &site.lane.step {
            Step::Idle | Step::Held { .. } => None,
            // Waits for reads and weight until its time is up, then for the store.
            Step::Present { .. } => {
                prop_assert!(next.is_some_and(|at| at > site.now), "{next:?}");
                return Ok(());
            }
            Step::Open(o) => {
                let stuck = (!o.opened && !o.stuck_alarmed).then(|| o.since + s.barrier_move());
                let pass = (o.vehicles == 0 && !o.pass_alarmed).then(|| o.since + s.pass_wait());
                stuck.into_iter().chain(pass).min()
            }
            Step::Closing(c) => (!c.alarmed).then(|| c.since + s.barrier_move()),
        };
        match (armed, next) {
            (None, None) => {}
            (Some(latest), Some(at)) => prop_assert!(at <= latest, "{at:?} after {latest:?}"),
            (armed, next) => {
                return Err(TestCaseError::fail(format!(
                    "armed {armed:?} but scheduled {next:?} in {:?}",
                    site.lane.step
                )));
            }
        }
        if fired && let Some(at) = next {
            prop_assert!(at > site.now, "a fired timer left a deadline in the past");
        }
        Ok(())
    }

    /// Let `dt` pass, firing the timer at each deadline on the way, then `event`.
    fn run(&mut self, site: &mut Site, dt: u64, event: Event) -> Result<(), TestCaseError> {
        let target = site.now + ms(dt);
        for _ in 0..16 {
            match site.lane.next_deadline() {
                Some(at) if at <= target => {
                    site.now = site.now.max(at);
                    self.feed(site, Input::Timer)?;
                }
                _ => break,
            }
        }
        site.now = target;
        match event {
            Event::Poll {
                loops,
                arm,
                manual,
                io_ok,
                weight_stable,
            } => {
                let mut io = status(loops, arm);
                io.inputs.manual = manual;
                let weighbridge = WeighbridgeStatus {
                    sequence: 1,
                    weight_kg: 30_000,
                    flags: WeighFlags {
                        stable: weight_stable,
                        ..WeighFlags::default()
                    },
                };
                let input = Input::Poll {
                    io: if io_ok {
                        Ok(io)
                    } else {
                        Err("timed out".into())
                    },
                    weighbridge: Some(Ok(weighbridge)),
                };
                self.feed(site, input)
            }
            Event::Read { plate, sure } => {
                let event = site.event(plate, if sure { 0.95 } else { 0.6 });
                self.feed(site, Input::Plate(event))
            }
            Event::Override => self.feed(
                site,
                Input::Override {
                    ticket: 1,
                    actor: "op.zhang".into(),
                    reason: "checked by hand".into(),
                },
            ),
            Event::Faults {
                reads_fail,
                writes_fail,
                barrier_refuses,
            } => {
                (site.reads_fail, site.writes_fail, site.barrier_refuses) =
                    (reads_fail, writes_fail, barrier_refuses);
                Ok(())
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_lane_keeps_its_safety_rules_whatever_comes(
        events in prop::collection::vec((0u64..2_500, event()), 1..300)
    ) {
        let mut site = Site::new();
        let mut watch = Watch::default();
        for (dt, event) in events {
            watch.run(&mut site, dt, event)?;
        }
    }
}
