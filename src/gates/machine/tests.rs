//! The lane machine driven the way the lane task drives it, with the store and the
//! devices played by [`Site`]: every request is answered at once and what the answer asks
//! for is done before the next action. Time is whatever the test says.

mod barrier;
mod links;
mod load;
mod operator;
mod props;
mod reads;
mod timeouts;
mod verdicts;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use customs_edge_devices::gate_io::{BarrierCommand, GateInputs, GateStatus};
use customs_edge_devices::plate::{PlateRead, RawFormat};
use customs_edge_devices::weighbridge::{WeighFlags, WeighbridgeStatus};

use super::*;
use crate::config::{GateConfig, GateDirection};
use crate::gates::permit::{Permit, permit_status};
use crate::gates::verdict::PassVerdict;
use crate::gates::view::Phase;
use crate::gates::{EvidenceRef, PlateEvent};

/// Plates without an OCR-confusable character after the authority letter.
const PLATE_A: &str = "闽G3K7H6";
const PLATE_B: &str = "闽G4M7X9";
const PLATE_C: &str = "闽G6N4W3";

fn settings() -> LaneSettings {
    let mut config = GateConfig::new("K1", GateDirection::Out, "127.0.0.1:1502");
    config.weighbridge_address = Some("127.0.0.1:1503".into());
    config.plate_wait_s = 6.0;
    config.weight_wait_s = 10.0;
    config.barrier_move_s = 10.0;
    config.pass_wait_s = 120.0;
    LaneSettings {
        config,
        site: "3511W001".into(),
    }
}

/// Where the barrier is, as its limit switches say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arm {
    Closed,
    Moving,
    Open,
}

fn status((loop_before, loop_after): (bool, bool), arm: Arm) -> GateStatus {
    GateStatus {
        inputs: GateInputs {
            loop_before,
            loop_after,
            open: arm == Arm::Open,
            closed: arm == Arm::Closed,
            ..GateInputs::default()
        },
        position_pct: match arm {
            Arm::Closed => 0,
            Arm::Moving => 50,
            Arm::Open => 100,
        },
        ..GateStatus::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The store and the devices around one lane machine.
struct Site {
    lane: Lane,
    start: Instant,
    now: Instant,
    /// Plates with an approved permit, at 30 t.
    approved: Vec<&'static str>,
    /// Store reads fail.
    reads_fail: bool,
    /// Store writes fail.
    writes_fail: bool,
    /// The gate I/O does not hold barrier commands.
    barrier_refuses: bool,
    /// The weighbridge: kg and whether stable.
    weight: (i32, bool),
    /// Passes committed, in order, with their ids.
    passes: Vec<(i64, PassRecord)>,
    /// Every action, in order.
    log: Vec<Action>,
    /// Evidence ids handed out to reads.
    snapshots: i64,
    /// What each permit's items name: a clean load (one closed bag of one released
    /// parcel) unless set here.
    loads: std::collections::HashMap<String, crate::gates::load::Load>,
    /// The load read fails.
    load_fails: bool,
}

impl Site {
    fn new() -> Self {
        Self::with_settings(settings())
    }

    fn with_settings(settings: LaneSettings) -> Self {
        let start = Instant::now();
        let mut site = Self {
            lane: Lane::new(settings, start),
            start,
            now: start,
            approved: vec![PLATE_A, PLATE_B],
            reads_fail: false,
            writes_fail: false,
            barrier_refuses: false,
            weight: (30_000, true),
            passes: Vec::new(),
            log: Vec::new(),
            snapshots: 0,
            loads: std::collections::HashMap::new(),
            load_fails: false,
        };
        let started = site.lane.start();
        site.log.extend(started);
        site
    }

    /// Move the clock to `n` ms after the start.
    fn at(&mut self, n: u64) -> &mut Self {
        self.now = self.start + ms(n);
        self
    }

    /// Feed `input`, answering every request as the lane task would; every action taken.
    fn feed(&mut self, input: Input) -> Vec<Action> {
        let mut done = Vec::new();
        let mut queue: std::collections::VecDeque<Action> = self.lane.step(input, self.now).into();
        while let Some(action) = queue.pop_front() {
            let answer = self.answer(&action);
            done.push(action);
            if let Some(answer) = answer {
                for a in self.lane.step(answer, self.now).into_iter().rev() {
                    queue.push_front(a);
                }
            }
        }
        self.log.extend(done.iter().cloned());
        done
    }

    fn answer(&mut self, action: &Action) -> Option<Input> {
        let failed = |what: &str| format!("store unavailable ({what})");
        Some(match action {
            Action::Barrier { command, .. } => Input::Commanded {
                command: *command,
                ok: !self.barrier_refuses,
            },
            Action::FetchPlates { id } => Input::Plates {
                id: *id,
                plates: if self.reads_fail {
                    Err(failed("plates"))
                } else {
                    Ok(self.approved.iter().map(|p| (*p).to_owned()).collect())
                },
            },
            Action::FetchRules { id, plate } => Input::Rules {
                id: *id,
                facts: if self.reads_fail {
                    Err(failed("permits"))
                } else {
                    Ok(Facts::Permits(self.permits_for(plate)))
                },
            },
            Action::FetchLoad { id, permit_no } => Input::Load {
                id: *id,
                load: if self.reads_fail || self.load_fails {
                    Err(failed("load"))
                } else {
                    Ok(Box::new(
                        self.loads
                            .get(permit_no)
                            .cloned()
                            .unwrap_or_else(|| load::clean(permit_no)),
                    ))
                },
            },
            Action::Record { id, pass } => Input::Recorded {
                id: *id,
                pass_id: if self.writes_fail {
                    Err(failed("write"))
                } else {
                    let pass_id = self.passes.len() as i64 + 1;
                    self.passes.push((pass_id, (**pass).clone()));
                    Ok(pass_id)
                },
            },
            _ => return None,
        })
    }

    fn permits_for(&self, plate: &str) -> Vec<Permit> {
        let approved = self.approved.iter().position(|p| *p == plate);
        approved
            .map(|i| Permit {
                permit_no: format!("HF{i}"),
                vehicle_no: plate.to_owned(),
                status: permit_status::APPROVED,
                total_gross_weight_kg: Some(30_000.0),
                updated_at: String::new(),
            })
            .into_iter()
            .collect()
    }

    /// One poll: the loops and the arm as the gate I/O reads them.
    fn poll(&mut self, loops: (bool, bool), arm: Arm) -> Vec<Action> {
        let (kg, stable) = self.weight;
        let weighbridge = WeighbridgeStatus {
            sequence: 1,
            weight_kg: kg,
            flags: WeighFlags {
                stable,
                ..WeighFlags::default()
            },
        };
        self.feed(Input::Poll {
            io: Ok(status(loops, arm)),
            weighbridge: Some(Ok(weighbridge)),
        })
    }

    /// A read of `plate` with `confidence`, received now.
    fn read_with(&mut self, plate: &str, confidence: f32) -> Vec<Action> {
        let event = self.event(plate, confidence);
        self.feed(Input::Plate(event))
    }

    /// A plate event of `plate` with `confidence`, received now (fed when the test says).
    fn event(&mut self, plate: &str, confidence: f32) -> PlateEvent {
        self.snapshots += 1;
        let wall: DateTime<Utc> = DateTime::UNIX_EPOCH
            + chrono::TimeDelta::from_std(
                self.now - self.start + Duration::from_secs(1_800_000_000),
            )
            .unwrap_or_default();
        PlateEvent {
            read: PlateRead {
                camera: "CAM-K1".into(),
                plate: Some(plate.into()),
                raw_plate: plate.into(),
                confidence: Some(confidence),
                color: None,
                at: wall,
                lane_hint: None,
                images: Vec::new(),
                raw_format: RawFormat::Hikvision,
            },
            evidence: vec![EvidenceRef {
                id: self.snapshots,
                sha256: format!("{:064x}", self.snapshots),
            }],
            received: self.now,
        }
    }

    /// A sure read of `plate`: enough alone to agree on it.
    fn read(&mut self, plate: &str) -> Vec<Action> {
        self.read_with(plate, 0.95)
    }

    fn timer(&mut self) -> Vec<Action> {
        self.feed(Input::Timer)
    }

    /// An operator's override: every action taken, and the answer.
    fn override_open(&mut self, reason: &str) -> (Vec<Action>, Result<i64, String>) {
        let done = self.feed(Input::Override {
            ticket: 7,
            actor: "op.zhang".into(),
            reason: reason.into(),
        });
        let answer = done.iter().find_map(|a| match a {
            Action::Reply { ticket: 7, result } => Some(result.clone()),
            _ => None,
        });
        (done, answer.expect("the override is answered"))
    }

    fn phase(&self) -> Phase {
        self.lane.view().phase
    }

    /// A truck with an approved permit drives up at `t` ms and is read: it is open for
    /// its pass, whose id is returned.
    fn approved_truck(&mut self, t: u64, plate: &str) -> i64 {
        self.at(t).poll((true, false), Arm::Closed);
        let done = self.at(t + 100).read(plate);
        let opened = opens(&done);
        assert_eq!(opened.len(), 1, "{done:#?}");
        assert_eq!(self.phase(), Phase::Open);
        opened[0]
    }
}

/// The passes of the open commands in `actions`.
fn opens(actions: &[Action]) -> Vec<i64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Barrier {
                command: BarrierCommand::Open,
                pass,
            } => Some(pass.expect("an open serves a pass")),
            _ => None,
        })
        .collect()
}

/// How many close commands `actions` hold.
fn closes(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Barrier {
                    command: BarrierCommand::Close,
                    ..
                }
            )
        })
        .count()
}

/// The alarms raised in `actions`.
fn alarms(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Raise { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

/// The passes `actions` asked to record.
fn records(actions: &[Action]) -> Vec<&PassRecord> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Record { pass, .. } => Some(pass.as_ref()),
            _ => None,
        })
        .collect()
}

/// The reason codes of a pass, headline first.
fn codes(pass: &PassRecord) -> Vec<&str> {
    pass.reasons
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect()
}

fn leds(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Led(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}
