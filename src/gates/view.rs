//! A lane as the consoles and the API see it, updated by its loop on every poll.

use serde::Serialize;

/// Where a lane is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No truck.
    #[default]
    Idle,
    /// A truck is on the loop; plate reads and weight are being gathered.
    Present,
    /// Refused, or waiting for a manual decision: the barrier stays closed.
    Held,
    /// The barrier is open (or opening) for a truck.
    Open,
    /// The truck cleared; the barrier is closing.
    Closing,
}

/// One lane, live.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LaneView {
    /// Lane id.
    pub gate: String,
    /// `in` or `out`.
    pub direction: String,
    /// Where it is in its cycle.
    pub phase: Phase,
    /// Whether the gate I/O answered the last poll.
    pub link_ok: bool,
    /// Loop before the barrier occupied.
    pub loop_before: bool,
    /// Loop after the barrier occupied.
    pub loop_after: bool,
    /// Barrier position, 0 closed … 100 open.
    pub barrier_position_pct: u16,
    /// Weighbridge reading, kg.
    pub weight: Option<f64>,
    /// Whether that reading is stable.
    pub weight_stable: bool,
    /// What the LED shows.
    pub led_text: String,
    /// The pass being served (held, open or closing).
    pub pass_id: Option<i64>,
}
