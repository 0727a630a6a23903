//! From an agreed plate (or none) to a recorded gate pass: the verdict by the rules, the
//! truck held for an operator, or an operator's override; then the pass written with its
//! reads, snapshots, permit, weight and reasons before the barrier is told anything.

use customs_edge_devices::plate::{Agreement, PlateRead, Verdict};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::gates::LaneSettings;
use crate::gates::verdict::{
    GateReason, GateReasonCode, GateVerdict, Weight, entry_verdict, exit_verdict,
};
use crate::store::arrivals::{self, ExpectedArrival};
use crate::store::gates::{self, NewPass, PassVerdict};
use crate::store::{Store, StoreError};

/// A verdict ready to be recorded.
#[derive(Debug)]
pub(crate) struct Outcome {
    verdict: PassVerdict,
    plate: Option<String>,
    permit_no: Option<String>,
    weight: Weight,
    reasons: Vec<Value>,
    led_text: String,
    override_by: Option<(String, String)>,
    /// Entry: the bills announced for this truck, reported as arrived if it goes in.
    arrivals: Vec<ExpectedArrival>,
}

/// A recorded pass: what the lane does next.
#[derive(Debug)]
pub(super) struct Recorded {
    pub(super) pass_id: i64,
    pub(super) verdict: PassVerdict,
    pub(super) led_text: String,
}

fn to_values<T: serde::Serialize>(items: &[T]) -> impl Iterator<Item = Value> + '_ {
    items
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
}

/// Read what the rules need about `plate`; a store that cannot answer refuses (fail closed).
async fn read<T: Send + 'static>(
    store: &Store,
    plate: &str,
    what: &'static str,
    f: fn(&rusqlite::Connection, &str) -> Result<T, StoreError>,
) -> Result<T, GateReason> {
    let owned = plate.to_owned();
    store
        .reader
        .read(move |conn| f(conn, &owned))
        .await
        .map_err(|e| {
            warn!(plate, error = %e, what, "could not read the store");
            GateReason::new(
                GateReasonCode::ManualDecisionNeeded,
                format!("the {what} could not be read: {e}"),
            )
        })
}

/// The rules' verdict for `plate`, with the arrivals announced for it (entry lanes).
async fn rules(
    settings: &LaneSettings,
    store: &Store,
    plate: &str,
    weight: Weight,
) -> (GateVerdict, Vec<ExpectedArrival>) {
    let refused = |reason| GateVerdict {
        open: false,
        permit_no: None,
        reasons: vec![reason],
    };
    if settings.is_exit() {
        let verdict = match read(store, plate, "exit permits", gates::permits_for_plate).await {
            Ok(permits) => exit_verdict(plate, &permits, weight, settings.tolerance()),
            Err(reason) => refused(reason),
        };
        return (verdict, Vec::new());
    }
    match read(
        store,
        plate,
        "expected arrivals",
        arrivals::expected_for_plate,
    )
    .await
    {
        Ok(expected) => {
            let bills: Vec<String> = expected.iter().map(|a| a.bill_no.clone()).collect();
            let verdict = entry_verdict(plate, &bills, settings.config.require_expected);
            (verdict, expected)
        }
        Err(reason) => (refused(reason), Vec::new()),
    }
}

/// The verdict for an agreed plate.
pub(super) async fn decide(
    settings: &LaneSettings,
    store: &Store,
    agreement: &Agreement,
    weight: Weight,
) -> Outcome {
    let plate = &agreement.plate;
    let (verdict, arrivals) = rules(settings, store, plate, weight).await;
    info!(gate = %settings.config.id, plate = %plate, open = verdict.open, reason = verdict.reasons[0].code.as_str(), "gate verdict");
    Outcome {
        verdict: if verdict.open {
            PassVerdict::Released
        } else {
            PassVerdict::Refused
        },
        plate: Some(plate.clone()),
        permit_no: verdict.permit_no.clone(),
        weight,
        reasons: to_values(&verdict.reasons)
            .chain(to_values(&agreement.reasons))
            .collect(),
        led_text: verdict.led_text(plate),
        override_by: None,
        arrivals,
    }
}

/// The reads did not agree in time: the truck waits for an operator.
pub(super) fn undecided(settings: &LaneSettings, consensus: &Verdict, weight: Weight) -> Outcome {
    let headline = consensus.reasons().first().map_or_else(
        || "no plate agreed".to_owned(),
        |r| format!("{}: {}", r.code.as_str(), r.detail),
    );
    warn!(gate = %settings.config.id, %headline, "plate not agreed in time; waiting for a manual decision");
    let wait = GateReason::new(
        GateReasonCode::ManualDecisionNeeded,
        format!(
            "no plate agreed within {} s ({headline})",
            settings.config.plate_wait_s
        ),
    );
    Outcome {
        verdict: PassVerdict::Refused,
        plate: None,
        permit_no: None,
        weight,
        reasons: std::iter::once(serde_json::to_value(&wait).unwrap_or(Value::Null))
            .chain(to_values(consensus.reasons()))
            .collect(),
        led_text: format!(
            "{} {}",
            consensus.led_text(),
            GateReasonCode::ManualDecisionNeeded.zh()
        ),
        override_by: None,
        arrivals: Vec::new(),
    }
}

/// An operator opens the barrier: the pass records who, why, and what the rules said.
pub(super) async fn overridden(
    settings: &LaneSettings,
    store: &Store,
    consensus: &Verdict,
    weight: Weight,
    actor: String,
    reason: String,
) -> Outcome {
    let plate = match consensus {
        Verdict::Agreed(a) => Some(a.plate.clone()),
        Verdict::Unconfirmed { candidate, .. } => Some(candidate.plate.clone()),
        _ => None,
    };
    let manual = GateReason::new(GateReasonCode::ManualOverride, format!("{actor}: {reason}"));
    let (permit_no, rules_said, arrivals) = match &plate {
        Some(plate) => {
            let (v, arrivals) = rules(settings, store, plate, weight).await;
            let said: Vec<Value> = to_values(&v.reasons).collect();
            (v.permit_no, said, arrivals)
        }
        None => (None, to_values(consensus.reasons()).collect(), Vec::new()),
    };
    warn!(gate = %settings.config.id, %actor, %reason, plate = ?plate, "manual override");
    let led_text = match &plate {
        Some(p) => format!("{p} {}", GateReasonCode::ManualOverride.zh()),
        None => GateReasonCode::ManualOverride.zh().to_owned(),
    };
    Outcome {
        verdict: PassVerdict::Override,
        plate,
        permit_no,
        weight,
        reasons: std::iter::once(serde_json::to_value(&manual).unwrap_or(Value::Null))
            .chain(rules_said)
            .collect(),
        led_text,
        override_by: Some((actor, reason)),
        arrivals,
    }
}

/// Write the pass (and everything that goes with it) and wait for the commit.
pub(super) async fn record(
    settings: &LaneSettings,
    store: &Store,
    outcome: Outcome,
    consensus: &Verdict,
    reads: &[PlateRead],
    evidence: Vec<(i64, String)>,
) -> Result<Recorded, StoreError> {
    let reads_json: Vec<Value> = reads
        .iter()
        .map(|r| {
            json!({
                "camera": r.camera,
                "plate": r.plate,
                "raw_plate": r.raw_plate,
                "confidence": r.confidence,
                "color": r.color,
                "at": r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "format": r.raw_format,
            })
        })
        .collect();
    let pass = NewPass {
        site: settings.site.clone(),
        gate_id: settings.config.id.clone(),
        direction: settings.config.direction().as_str(),
        plate: outcome.plate,
        permit_no: outcome.permit_no,
        weight_kg: outcome.weight.kg(),
        weight_stable: matches!(outcome.weight, Weight::Stable(_)),
        verdict: outcome.verdict,
        reasons: outcome.reasons,
        led_text: outcome.led_text.clone(),
        override_by: outcome.override_by,
        arrivals: outcome.arrivals,
        consensus: json!({ "verdict": consensus, "reads": reads_json }),
        evidence,
        at: crate::store::now(),
    };
    let verdict = pass.verdict;
    let pass_id = store
        .writer
        .write(move |tx| gates::record_pass(tx, &pass))
        .await?;
    crate::metrics::record_gate_verdict(&settings.config.id, verdict.as_str());
    Ok(Recorded {
        pass_id,
        verdict,
        led_text: outcome.led_text,
    })
}
