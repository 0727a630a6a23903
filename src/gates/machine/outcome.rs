//! A truck's pass as recorded: the rules' verdict on the store's answer (the pure
//! [`exit_verdict`] and [`entry_verdict`]), and the pass by the rules, held for an
//! operator, overridden by one, or the truck gone before a verdict — each with every
//! reason, the LED text and the reads it rests on.

use std::time::Duration;

use customs_edge_devices::plate::{Agreement, Verdict};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::messages::{Facts, PassRecord};
use super::reads::TruckReads;
use crate::gates::LaneSettings;
use crate::gates::arrival::ExpectedArrival;
use crate::gates::verdict::{
    GateReason, GateReasonCode, GateVerdict, PassVerdict, Weight, entry_verdict, exit_verdict,
};

/// A pass before its reads are attached.
#[derive(Debug)]
pub(super) struct Outcome {
    verdict: PassVerdict,
    plate: Option<String>,
    permit_no: Option<String>,
    weight: Weight,
    reasons: Vec<Value>,
    led_text: String,
    override_by: Option<(String, String)>,
    arrivals: Vec<ExpectedArrival>,
}

impl Outcome {
    /// Whether the barrier opens for it.
    pub(super) fn opens(&self) -> bool {
        self.verdict != PassVerdict::Refused
    }

    /// What the LED shows for it.
    pub(super) fn led_text(&self) -> &str {
        &self.led_text
    }

    /// The pass, with the reads and consensus it rests on.
    pub(super) fn into_pass(self, consensus: &Verdict, truck: TruckReads) -> PassRecord {
        let reads: Vec<Value> = truck
            .reads
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
        PassRecord {
            verdict: self.verdict,
            plate: self.plate,
            permit_no: self.permit_no,
            weight: self.weight,
            reasons: self.reasons,
            led_text: self.led_text,
            override_by: self.override_by,
            arrivals: self.arrivals,
            consensus: json!({ "verdict": consensus, "reads": reads }),
            evidence: truck.snapshots,
            last_read: truck.last,
        }
    }
}

fn to_values<T: serde::Serialize>(items: &[T]) -> impl Iterator<Item = Value> + '_ {
    items
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
}

/// The plate the reads point at: agreed, or the one candidate read so far.
pub(super) fn plate_read(consensus: &Verdict) -> Option<String> {
    match consensus {
        Verdict::Agreed(a) => Some(a.plate.clone()),
        Verdict::Unconfirmed { candidate, .. } => Some(candidate.plate.clone()),
        _ => None,
    }
}

/// The rules' verdict for `plate` on the store's answer, with the arrivals announced for
/// it (entry lanes). A store that could not answer refuses (fail closed).
pub(super) fn rules(
    s: &LaneSettings,
    plate: &str,
    weight: Weight,
    facts: Result<Facts, String>,
) -> (GateVerdict, Vec<ExpectedArrival>) {
    let what = if s.is_exit() {
        "exit permits"
    } else {
        "expected arrivals"
    };
    let refused = |e: &str| GateVerdict {
        open: false,
        permit_no: None,
        reasons: vec![GateReason::new(
            GateReasonCode::ManualDecisionNeeded,
            format!("the {what} could not be read: {e}"),
        )],
    };
    match facts {
        Ok(Facts::Permits(permits)) if s.is_exit() => (
            exit_verdict(plate, &permits, weight, s.tolerance()),
            Vec::new(),
        ),
        Ok(Facts::Arrivals(expected)) if !s.is_exit() => {
            let bills: Vec<String> = expected.iter().map(|a| a.bill_no.clone()).collect();
            let verdict = entry_verdict(plate, &bills, s.config.require_expected);
            (verdict, expected)
        }
        Ok(_) => (
            refused("the answer was for the other direction"),
            Vec::new(),
        ),
        Err(e) => {
            warn!(plate, error = %e, what, "could not read the store");
            (refused(&e), Vec::new())
        }
    }
}

/// The rules decided for an agreed plate.
pub(super) fn decided(
    s: &LaneSettings,
    agreement: &Agreement,
    weight: Weight,
    (verdict, arrivals): (GateVerdict, Vec<ExpectedArrival>),
) -> Outcome {
    let plate = &agreement.plate;
    info!(gate = %s.config.id, plate = %plate, open = verdict.open, reason = verdict.reasons[0].code.as_str(), "gate verdict");
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
pub(super) fn undecided(s: &LaneSettings, consensus: &Verdict, weight: Weight) -> Outcome {
    let headline = consensus.reasons().first().map_or_else(
        || "no plate agreed".to_owned(),
        |r| format!("{}: {}", r.code.as_str(), r.detail),
    );
    warn!(gate = %s.config.id, %headline, "plate not agreed in time; waiting for a manual decision");
    let wait = GateReason::new(
        GateReasonCode::ManualDecisionNeeded,
        format!(
            "no plate agreed within {} s ({headline})",
            s.config.plate_wait_s
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

/// An operator opens the barrier: the pass records who, why, and what the rules said
/// (`rules`, when a plate was read).
pub(super) fn overridden(
    s: &LaneSettings,
    consensus: &Verdict,
    weight: Weight,
    (actor, reason): (String, String),
    rules: Option<(GateVerdict, Vec<ExpectedArrival>)>,
) -> Outcome {
    let plate = plate_read(consensus);
    let manual = GateReason::new(GateReasonCode::ManualOverride, format!("{actor}: {reason}"));
    let (permit_no, rules_said, arrivals) = match rules {
        Some((v, arrivals)) => {
            let said: Vec<Value> = to_values(&v.reasons).collect();
            (v.permit_no, said, arrivals)
        }
        None => (None, to_values(consensus.reasons()).collect(), Vec::new()),
    };
    warn!(gate = %s.config.id, %actor, %reason, plate = ?plate, "manual override");
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

/// The truck left the loop `waited` after it arrived, before any verdict: the pass says
/// so, with what was read of it; the barrier never moved.
pub(super) fn left(
    s: &LaneSettings,
    consensus: &Verdict,
    weight: Weight,
    waited: Duration,
    led_text: &str,
) -> Outcome {
    let plate = plate_read(consensus);
    info!(gate = %s.config.id, plate = ?plate, waited_s = waited.as_secs_f64(), "truck left the loop before a verdict");
    let gone = GateReason::new(
        GateReasonCode::LeftBeforeVerdict,
        format!(
            "the truck left the loop {:.1} s after it arrived, before a verdict",
            waited.as_secs_f64()
        ),
    );
    Outcome {
        verdict: PassVerdict::Refused,
        plate,
        permit_no: None,
        weight,
        reasons: std::iter::once(serde_json::to_value(&gone).unwrap_or(Value::Null))
            .chain(to_values(consensus.reasons()))
            .collect(),
        led_text: led_text.to_owned(),
        override_by: None,
        arrivals: Vec::new(),
    }
}
