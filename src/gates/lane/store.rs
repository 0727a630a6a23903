//! What a lane asks of the store on its machine's behalf: the plates misreads resolve
//! to, a plate's permits or announced arrivals, the pass (written in one transaction with
//! everything it rests on, see [`passes::record_pass`]), the truck cleared, alarms.

use tracing::warn;

use crate::gates::LaneSettings;
use crate::gates::machine::{Facts, PassRecord};
use crate::gates::verdict::Weight;
use crate::store::passes::{self, NewPass};
use crate::store::{Store, alarms, arrivals};

/// The plates misreads may resolve to: approved permits' (exit) or announced arrivals'
/// (entry).
pub(super) async fn open_plates(store: &Store, exit: bool) -> Result<Vec<String>, String> {
    let read = if exit {
        passes::approved_plates
    } else {
        arrivals::expected_plates
    };
    store.reader.read(read).await.map_err(|e| e.to_string())
}

/// What the rules need about `plate`.
pub(super) async fn facts(store: &Store, exit: bool, plate: &str) -> Result<Facts, String> {
    let plate = plate.to_owned();
    let facts = if exit {
        store
            .reader
            .read(move |c| passes::permits_for_plate(c, &plate))
            .await
            .map(Facts::Permits)
    } else {
        store
            .reader
            .read(move |c| arrivals::expected_for_plate(c, &plate))
            .await
            .map(Facts::Arrivals)
    };
    facts.map_err(|e| e.to_string())
}

/// What the permit's items name, for the load check.
pub(super) async fn load(
    store: &Store,
    permit_no: &str,
) -> Result<Box<crate::gates::load::Load>, String> {
    let permit_no = permit_no.to_owned();
    store
        .reader
        .read(move |c| crate::store::permit_load::load(c, &permit_no))
        .await
        .map(Box::new)
        .map_err(|e| e.to_string())
}

/// The row to write for a pass decided at `at`.
pub(super) fn new_pass(settings: &LaneSettings, pass: PassRecord, at: String) -> NewPass {
    NewPass {
        site: settings.site.clone(),
        gate_id: settings.config.id.clone(),
        direction: settings.config.direction().as_str(),
        plate: pass.plate,
        permit_no: pass.permit_no,
        weight_kg: pass.weight.kg(),
        weight_stable: matches!(pass.weight, Weight::Stable(_)),
        verdict: pass.verdict,
        reasons: pass.reasons,
        led_text: pass.led_text,
        override_by: pass.override_by,
        arrivals: pass.arrivals,
        consensus: pass.consensus,
        evidence: pass.evidence,
        at,
    }
}

/// Write `pass` and wait for the commit; its id.
pub(super) async fn record(store: &Store, pass: NewPass) -> Result<i64, String> {
    store
        .writer
        .write(move |tx| passes::record_pass(tx, &pass))
        .await
        .map_err(|e| e.to_string())
}

/// Queue that the truck of pass `id` cleared; `vehicles` went through the opening.
pub(super) async fn mark_cleared(store: &Store, gate: &str, id: i64, vehicles: u32) {
    let at = crate::store::now();
    let written = store
        .writer
        .submit(move |tx| passes::mark_cleared(tx, id, vehicles, &at))
        .await;
    if let Err(e) = written {
        warn!(gate, error = %e, "could not record that the truck cleared");
    }
}

/// Raise alarm `kind` of `source`.
pub(super) async fn raise(store: &Store, source: String, kind: &'static str, detail: String) {
    let written = store
        .writer
        .write(move |tx| alarms::raise(tx, &source, kind, &detail, None))
        .await;
    if let Err(e) = written {
        warn!(alarm = kind, error = %e, "could not record the alarm");
    }
}

/// Clear alarm `kind` of `source`.
pub(super) async fn clear(store: &Store, source: String, kind: &'static str) {
    let written = store
        .writer
        .write(move |tx| alarms::clear(tx, &source, kind))
        .await;
    if let Err(e) = written {
        warn!(alarm = kind, error = %e, "could not clear the alarm");
    }
}
