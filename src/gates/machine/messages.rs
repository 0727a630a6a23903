//! What a lane's machine hears and what it asks for, as plain data: the lane task turns
//! device polls, plate events, store answers and operator commands into [`Input`]s, and
//! carries out the [`Action`]s in order. Unit tests and the property test play the task.

use std::time::Instant;

use customs_edge_devices::gate_io::{BarrierCommand, GateStatus};
use customs_edge_devices::weighbridge::WeighbridgeStatus;

use crate::gates::PlateEvent;
use crate::gates::arrival::ExpectedArrival;
use crate::gates::load::Load;
use crate::gates::permit::Permit;
use crate::gates::verdict::{PassVerdict, Weight};

/// Ties a store answer to the request it answers; an answer nobody waits for any more
/// (the truck left meanwhile) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// Something that happened to the lane.
#[derive(Debug, Clone)]
pub enum Input {
    /// One poll of the lane's devices: the gate I/O's status, or why it could not be
    /// read; on a lane with a weighbridge, its status or why not.
    Poll {
        /// The gate I/O.
        io: Result<GateStatus, String>,
        /// The weighbridge, when the lane has one.
        weighbridge: Option<Result<WeighbridgeStatus, String>>,
    },
    /// A plate read from the lane's camera; `received` on it says when it came.
    Plate(PlateEvent),
    /// The answer to [`Action::FetchPlates`].
    Plates {
        /// The request answered.
        id: RequestId,
        /// The plates misreads may resolve to, or why the store could not say.
        plates: Result<Vec<String>, String>,
    },
    /// The answer to [`Action::FetchRules`].
    Rules {
        /// The request answered.
        id: RequestId,
        /// The permits (exit) or announced arrivals (entry) of the plate.
        facts: Result<Facts, String>,
    },
    /// The answer to [`Action::FetchLoad`].
    Load {
        /// The request answered.
        id: RequestId,
        /// What the store knows of everything the permit names, or why it could not say.
        load: Result<Box<Load>, String>,
    },
    /// The answer to [`Action::Record`]: committed with this id, or not written.
    Recorded {
        /// The request answered.
        id: RequestId,
        /// The pass id once committed.
        pass_id: Result<i64, String>,
    },
    /// Whether the gate I/O holds a barrier command (written and read back).
    Commanded {
        /// The command written and read back.
        command: BarrierCommand,
        /// Held by the device.
        ok: bool,
    },
    /// An operator asks to open the barrier for the truck at the lane.
    Override {
        /// Returned in the [`Action::Reply`] that answers it.
        ticket: u64,
        /// Who (as authorised by the API).
        actor: String,
        /// Why, in the operator's words (written into the pass and the audit log).
        reason: String,
    },
    /// The time [`super::Lane::next_deadline`] named has come.
    Timer,
}

/// What the store knows about a plate that the rules need.
#[derive(Debug, Clone)]
pub enum Facts {
    /// Exit lanes: every permit issued for the plate.
    Permits(Vec<Permit>),
    /// Entry lanes: the bills announced for the plate.
    Arrivals(Vec<ExpectedArrival>),
}

/// One of the lane's two devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The gate I/O: loops, barrier, LED.
    Io,
    /// The weighbridge indicator.
    Weighbridge,
}

impl Device {
    /// Its health entry and alarm source, `gate:<lane>:io` or `gate:<lane>:weighbridge`.
    pub fn name(self, gate: &str) -> String {
        match self {
            Self::Io => format!("gate:{gate}:io"),
            Self::Weighbridge => format!("gate:{gate}:weighbridge"),
        }
    }

    /// The alarm raised while its link is lost.
    pub fn link_alarm(self) -> &'static str {
        match self {
            Self::Io => "gate_io_link",
            Self::Weighbridge => "weighbridge_link",
        }
    }
}

/// Who an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The lane itself (`gate:<lane>`): barrier, vehicles.
    Lane,
    /// One of its devices' links.
    Device(Device),
}

impl Source {
    /// As stored in `alarms.source`.
    pub fn name(self, gate: &str) -> String {
        match self {
            Self::Lane => format!("gate:{gate}"),
            Self::Device(d) => d.name(gate),
        }
    }
}

/// Something the lane task must do, in the order given.
#[derive(Debug, Clone)]
pub enum Action {
    /// Command the barrier and read it back; answer with [`Input::Commanded`]. `pass` is
    /// the pass the opening serves (always set for an open).
    Barrier {
        /// What to do.
        command: BarrierCommand,
        /// The pass served, if any.
        pass: Option<i64>,
    },
    /// Show this on the LED.
    Led(String),
    /// Raise an alarm.
    Raise {
        /// Who it is about.
        source: Source,
        /// The alarm's code (`barrier_stuck`, `gate_tailgate`, …).
        kind: &'static str,
        /// What happened, in words.
        detail: String,
    },
    /// Clear an alarm.
    Clear {
        /// Who it is about.
        source: Source,
        /// The alarm's code.
        kind: &'static str,
    },
    /// Report a device's health: up after each good poll, down when its link is lost.
    Health {
        /// Which device.
        device: Device,
        /// Whether it answers.
        up: bool,
        /// What it said, or why not.
        detail: String,
    },
    /// Read the plates misreads may resolve to (approved permits on exit, announced
    /// arrivals on entry); answer with [`Input::Plates`].
    FetchPlates {
        /// Echoed in the answer.
        id: RequestId,
    },
    /// Read the permits (exit) or announced arrivals (entry) of `plate`; answer with
    /// [`Input::Rules`].
    FetchRules {
        /// Echoed in the answer.
        id: RequestId,
        /// The plate whose permits (exit lanes) or announced arrivals (entry lanes) are asked for.
        plate: String,
    },
    /// Exit lanes, once the permit and the weight let the truck go: read what the
    /// permit's items name (bags, waybills, bills) for the load check; answer with
    /// [`Input::Load`].
    FetchLoad {
        /// Echoed in the answer.
        id: RequestId,
        /// The permit the verdict rests on.
        permit_no: String,
    },
    /// Write the pass and wait for the commit; answer with [`Input::Recorded`]. Nothing
    /// that depends on it (the barrier) is asked before the answer.
    Record {
        /// Echoed in the answer.
        id: RequestId,
        /// Everything the pass is recorded with.
        pass: Box<PassRecord>,
    },
    /// The truck of pass `pass_id` cleared the exit loop; `vehicles` went through the
    /// opening. Queued, not waited for.
    MarkCleared {
        /// The committed pass of the truck that cleared.
        pass_id: i64,
        /// Vehicles counted.
        vehicles: u32,
    },
    /// Answer the operator's [`Input::Override`] with the override's pass id or why not.
    Reply {
        /// The override's ticket.
        ticket: u64,
        /// The pass id, or why the barrier stays closed.
        result: Result<i64, String>,
    },
    /// Publish the lane's view ([`super::Lane::view`]).
    Publish,
}

/// A gate pass as the machine decided it: the task adds the site and the time.
#[derive(Debug, Clone)]
pub struct PassRecord {
    /// Released, refused or override.
    pub verdict: PassVerdict,
    /// The plate agreed (or, for an override or a truck gone before a verdict, the
    /// one read so far).
    pub plate: Option<String>,
    /// The permit the verdict rests on.
    pub permit_no: Option<String>,
    /// The weighbridge's word at the verdict.
    pub weight: Weight,
    /// Every reason, headline first, as `{code, zh, detail}`.
    pub reasons: Vec<serde_json::Value>,
    /// What the LED shows for it.
    pub led_text: String,
    /// Who overrode, and why.
    pub override_by: Option<(String, String)>,
    /// Entry: the bills announced for the truck, reported arrived if it goes in.
    pub arrivals: Vec<ExpectedArrival>,
    /// The truck's reads and their consensus, as JSON.
    pub consensus: serde_json::Value,
    /// Its plate snapshots (evidence row ids with their hashes).
    pub evidence: Vec<(i64, String)>,
    /// When its last read was received: the lane cameras' frame of the truck.
    pub last_read: Option<Instant>,
}
