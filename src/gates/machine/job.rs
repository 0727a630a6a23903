//! What a lane's decision in progress waits for from the store: one request at a time
//! (the plates misreads resolve to, the plate's permits or arrivals, the permit's load,
//! the pass being written), each with its [`RequestId`], and the operator's override it
//! answers, if any. `decide` drives it.

use customs_edge_devices::plate::Verdict;

use super::messages::RequestId;
use super::reads::TruckReads;
use crate::gates::verdict::{GateVerdict, Weight};

/// Why the machine is deciding.
#[derive(Debug, Clone)]
pub(super) enum Purpose {
    /// The truck's own verdict, by the rules.
    Verdict,
    /// An operator's override.
    Override {
        ticket: u64,
        actor: String,
        reason: String,
    },
}

/// What the decision in progress waits for.
// One job at a time per lane: boxing the large variant would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(super) enum Job {
    /// The plates misreads resolve to.
    Plates { id: RequestId, purpose: Purpose },
    /// The permits or arrivals of `plate`, agreed (or read) from `truck`'s reads.
    Rules {
        id: RequestId,
        purpose: Purpose,
        plate: String,
        consensus: Verdict,
        truck: TruckReads,
    },
    /// What the approved permit's items name, for the load check (exit lanes).
    Load {
        id: RequestId,
        consensus: Verdict,
        truck: TruckReads,
        verdict: GateVerdict,
        weight: Weight,
    },
    /// The pass being written.
    Record {
        id: RequestId,
        opens: bool,
        led_text: String,
        ticket: Option<u64>,
    },
}

impl Job {
    pub(super) fn id(&self) -> RequestId {
        match self {
            Self::Plates { id, .. }
            | Self::Rules { id, .. }
            | Self::Load { id, .. }
            | Self::Record { id, .. } => *id,
        }
    }

    /// The override waiting on this job, if any.
    pub(super) fn ticket(&self) -> Option<u64> {
        match self {
            Self::Plates { purpose, .. } | Self::Rules { purpose, .. } => match purpose {
                Purpose::Override { ticket, .. } => Some(*ticket),
                Purpose::Verdict => None,
            },
            Self::Load { .. } => None,
            Self::Record { ticket, .. } => *ticket,
        }
    }
}
