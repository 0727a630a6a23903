//! What the line reports back: events of a tick and outcomes of a lane command.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::FaultKind;

/// One of the barcode scanners of a line: two over the belt, one at the release lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScannerId {
    /// Reads labels from above.
    Top,
    /// Reads labels from the side.
    Side,
    /// At the release lane: bag labels when a bag is closed, parcel labels when an
    /// intercepted parcel is taken back out.
    Bag,
}

impl std::fmt::Display for ScannerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Top => "top",
            Self::Side => "side",
            Self::Bag => "bag",
        })
    }
}

/// A scanner sent one frame for a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    /// Sim id of the parcel.
    pub parcel_id: u64,
    /// Which scanner.
    pub scanner: ScannerId,
    /// The code sent, or `None` for the no-read string.
    pub code: Option<String>,
}

/// A parcel entered the X-ray tunnel: its images are due `xray_delay_ms` later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrayJob {
    /// Sim id of the parcel.
    pub parcel_id: u64,
    /// The line's X-ray sequence number of this parcel (1, 2, …), in the file names.
    pub seq: u64,
    /// Views to write.
    pub views: u8,
    /// Parcel length, drawn as the box width.
    pub length_mm: u16,
    /// Whether to draw a dense object.
    pub dense_object: bool,
    /// Sim time the images are due.
    pub due: Duration,
}

/// Something that happened on the line during a tick, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A parcel passed the entry photo-eye and got a tracking number.
    Entered {
        /// Sim id.
        parcel_id: u64,
        /// PLC tracking number.
        tracking_no: u16,
        /// Length in mm.
        length_mm: u16,
    },
    /// The dynamic scale pushed a weighing into the weight ring.
    Weighed {
        /// Sim id.
        parcel_id: u64,
        /// PLC tracking number.
        tracking_no: u16,
        /// Weight pushed, in g.
        weight_g: u16,
        /// Whether it was pushed as stable.
        stable: bool,
    },
    /// A scanner sent a frame.
    Scanned(ScanEvent),
    /// A parcel entered the X-ray tunnel and the X-ray works: images are due.
    XrayEntered(XrayJob),
    /// A parcel fell into a lane.
    Dropped {
        /// Sim id.
        parcel_id: u64,
        /// PLC tracking number.
        tracking_no: u16,
        /// The lane it fell into.
        lane: u16,
        /// True when it went to the exception lane for want of a command.
        defaulted: bool,
    },
    /// The PLC's own watch raised or cleared a fault.
    Fault {
        /// Which fault.
        kind: FaultKind,
        /// Raised (`true`) or cleared.
        active: bool,
    },
}

/// What the PLC made of a valid lane command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    /// The parcel is on the belt before the diverter: it will take this lane.
    Accepted {
        /// Sim id of the parcel.
        parcel_id: u64,
    },
    /// The parcel already passed the diverter.
    Late {
        /// Sim id of the parcel.
        parcel_id: u64,
    },
    /// No parcel on the line has this tracking number.
    Unknown,
}

/// A lane command the PLC refused (answered with a Modbus exception).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lane {lane} is outside 1..={lanes}")]
pub struct LaneOutOfRange {
    /// The lane asked for.
    pub lane: u16,
    /// Number of lanes.
    pub lanes: u16,
}
