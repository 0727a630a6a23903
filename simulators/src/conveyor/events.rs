//! What the line reports back: events of a tick and outcomes of a lane command.

/// The scanner read a parcel's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    /// Sim id of the parcel.
    pub parcel_id: u64,
    /// The code read, or `None` for a no-read.
    pub code: Option<String>,
}

/// Something that happened on the line during a tick.
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
    /// A parcel passed the scanner.
    Scanned(ScanEvent),
    /// A parcel fell into a lane.
    Dropped {
        /// Sim id.
        parcel_id: u64,
        /// PLC tracking number.
        tracking_no: u16,
        /// The lane.
        lane: u16,
        /// True when it went to the exception lane for want of a command.
        defaulted: bool,
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
