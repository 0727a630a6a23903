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
    /// The load check of the truck at the lane (exit lanes, an approved permit), item by
    /// item; `None` when no truck is there or its permit was not checked.
    pub load_check: Option<LoadCheckView>,
}

/// Most items of a load check a lane's view lists (failures first); the counts cover all.
pub const MAX_LISTED_ITEMS: usize = 50;

/// The load check of the truck at the lane: what its permit names, item by item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadCheckView {
    /// The permit checked.
    pub permit_no: String,
    /// Items judged (bags, waybills, bills named).
    pub items: usize,
    /// Items that failed: the truck is held while above 0.
    pub failed: usize,
    /// Up to [`MAX_LISTED_ITEMS`] of them, the failed first, in the permit's order.
    pub listed: Vec<LoadItemView>,
}

/// One item of a load check.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadItemView {
    /// `bag B7`, `waybill SF1001`, `bill 3511…`, `permit P1`.
    pub item: String,
    /// It may leave.
    pub ok: bool,
    /// Why not: the gate reason code (`load_held`, `load_not_sorted`, `bag_open`, …).
    pub code: Option<String>,
    /// That reason in Chinese (含未放行包裹, 包裹未过机, …).
    pub zh: Option<String>,
    /// In English, with the parcel or bag that failed.
    pub detail: Option<String>,
}

impl LoadCheckView {
    /// The view of a permit's judged items.
    pub fn new(permit_no: &str, checks: &[crate::gates::load::ItemCheck]) -> Self {
        let failed = checks.iter().filter(|c| c.failure.is_some()).count();
        let (bad, good): (Vec<_>, Vec<_>) = checks.iter().partition(|c| c.failure.is_some());
        let listed = bad
            .into_iter()
            .chain(good)
            .take(MAX_LISTED_ITEMS)
            .map(|c| LoadItemView {
                item: c.item.clone(),
                ok: c.failure.is_none(),
                code: c.failure.as_ref().map(|(code, _)| code.as_str().to_owned()),
                zh: c.failure.as_ref().map(|(code, _)| code.zh().to_owned()),
                detail: c.failure.as_ref().map(|(_, d)| d.clone()),
            })
            .collect();
        Self {
            permit_no: permit_no.to_owned(),
            items: checks.len(),
            failed,
            listed,
        }
    }
}
