//! What an applied uplink message is about: its record key (to catch a record applied
//! twice under two sequence numbers) and whether its body fits its kind.

use std::fmt;
use std::hash::{Hash as _, Hasher as _};

use customs_edge_protocol::uplink::{self, Stream, kind};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The identity of a record whose effect at the platform must happen once.
///
/// Kept compact (no strings) because the judge holds one per applied record, a million
/// of them in a long bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RecordKey {
    /// The message kind (one of [`kind`]'s constants).
    kind: &'static str,
    /// The record id (`parcel_id`, `gate_pass_id`, ...).
    id: i64,
    /// An alarm's `state`: raising and clearing one alarm are two records.
    state: AlarmState,
    /// An arrival's `bill_no`, hashed (0 without one): a truck that brings two bills is
    /// reported once per bill under one gate pass, and those are two records.
    bill: u32,
}

/// The part of an alarm's key that says which transition it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AlarmState {
    /// Not an alarm.
    None,
    Raised,
    Cleared,
    /// An interception opened.
    Opened,
    /// An interception's retrieval recorded.
    Retrieved,
    /// Some other word (the body check reports it).
    Other,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)?;
        if self.bill != 0 {
            write!(f, " bill #{:08x}", self.bill)?;
        }
        match self.state {
            AlarmState::None => Ok(()),
            AlarmState::Raised => f.write_str(" raised"),
            AlarmState::Cleared => f.write_str(" cleared"),
            AlarmState::Opened => f.write_str(" opened"),
            AlarmState::Retrieved => f.write_str(" retrieved"),
            AlarmState::Other => f.write_str(" (other state)"),
        }
    }
}

/// The outcome of reading an applied message's body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    /// Its record key, when its kind has one and the body carries it.
    pub(crate) key: Option<RecordKey>,
    /// What does not fit the contract, if anything.
    pub(crate) problem: Option<String>,
}

/// The kind constant equal to `name`, with its stream.
fn known_kind(name: &str) -> Option<(&'static str, Stream)> {
    kind::ALL.into_iter().find(|(k, _)| *k == name)
}

/// The field that identifies a record of `kind`, if the kind has one.
fn key_field(kind: &str) -> Option<&'static str> {
    Some(match kind {
        kind::SORT_RESULT | kind::PARCEL_OUTCOME => "parcel_id",
        kind::ARRIVAL | kind::GATE_PASS => "gate_pass_id",
        kind::OFFICER_ACTION => "action_id",
        kind::INSPECTION_RESULT => "result_id",
        kind::ALARM => "alarm_id",
        kind::DEAD_LETTER => "dead_letter_id",
        kind::DECISION_REVISED => "revision_id",
        kind::INTERCEPTION => "interception_id",
        kind::BAG => "bag_id",
        _ => return None,
    })
}

fn fits<T: DeserializeOwned>(body: &Value) -> Result<(), String> {
    T::deserialize(body).map(drop).map_err(|e| e.to_string())
}

/// Check that `body` fits `kind` on `stream`, and find its record key.
pub(crate) fn check(stream: Stream, kind_name: &str, body: &Value) -> Checked {
    let Some((kind, kind_stream)) = known_kind(kind_name) else {
        return Checked {
            key: None,
            problem: Some(format!("unknown uplink kind {kind_name:?}")),
        };
    };
    let mut problem = (kind_stream != stream).then(|| {
        format!(
            "kind {kind} belongs on stream {}, not {}",
            kind_stream.as_str(),
            stream.as_str()
        )
    });
    let fit = match kind {
        kind::SORT_RESULT => fits::<uplink::SortResult>(body),
        kind::PARCEL_OUTCOME => fits::<uplink::ParcelOutcome>(body),
        kind::ARRIVAL => fits::<uplink::Arrival>(body),
        kind::GATE_PASS => fits::<uplink::GatePass>(body),
        kind::OFFICER_ACTION => fits::<uplink::OfficerAction>(body),
        kind::INSPECTION_RESULT => fits::<uplink::InspectionResult>(body),
        kind::AUDIT_ANCHOR => fits::<uplink::AuditAnchor>(body),
        kind::ALARM => fits::<uplink::Alarm>(body),
        kind::DEVICE_HEALTH => fits::<uplink::DeviceHealth>(body),
        kind::DEAD_LETTER => fits::<uplink::DeadLetter>(body),
        kind::DECISION_REVISED => fits::<uplink::DecisionRevised>(body),
        kind::INTERCEPTION => fits::<uplink::Interception>(body),
        kind::BAG => fits::<uplink::Bag>(body),
        kind::TELEMETRY => fits::<uplink::Telemetry>(body),
        _ => fits::<uplink::Statistics>(body),
    };
    if let Err(e) = fit {
        problem.get_or_insert(format!("{kind} body does not fit: {e}"));
    }
    let state = if kind == kind::ALARM {
        match body.get("state").and_then(Value::as_str) {
            Some("raised") => AlarmState::Raised,
            Some("cleared") => AlarmState::Cleared,
            other => {
                problem.get_or_insert(format!(
                    "alarm state {other:?} is not \"raised\" or \"cleared\""
                ));
                AlarmState::Other
            }
        }
    } else if kind == kind::INTERCEPTION {
        // Opening and retrieving one interception are two records.
        match body.get("state").and_then(Value::as_str) {
            Some("opened") => AlarmState::Opened,
            Some("retrieved") => AlarmState::Retrieved,
            other => {
                problem.get_or_insert(format!(
                    "interception state {other:?} is not \"opened\" or \"retrieved\""
                ));
                AlarmState::Other
            }
        }
    } else {
        AlarmState::None
    };
    let bill = if kind == kind::ARRIVAL {
        body.get("bill_no")
            .and_then(Value::as_str)
            .map_or(0, bill_hash)
    } else {
        0
    };
    let key = key_field(kind)
        .and_then(|field| body.get(field))
        .and_then(Value::as_i64)
        .map(|id| RecordKey {
            kind,
            id,
            state,
            bill,
        });
    Checked { key, problem }
}

/// A bill number in 32 bits, never 0 (which stands for no bill).
fn bill_hash(bill_no: &str) -> u32 {
    let mut h = std::hash::DefaultHasher::new();
    bill_no.hash(&mut h);
    (h.finish() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alarm(id: i64, state: &str) -> Value {
        json!({"alarm_id": id, "state": state, "source": "line:L1:plc", "alarm": "tracking_lost",
               "detail": "x", "parcel_id": null, "at": "2026-11-27T10:00:00.000Z"})
    }

    #[test]
    fn raising_and_clearing_an_alarm_are_two_records() {
        let raised = check(Stream::Health, kind::ALARM, &alarm(5, "raised"));
        let cleared = check(Stream::Health, kind::ALARM, &alarm(5, "cleared"));
        assert_eq!(raised.problem, None);
        assert_ne!(raised.key, cleared.key);
        assert_eq!(raised.key.unwrap().to_string(), "alarm 5 raised");
    }

    #[test]
    fn opening_and_retrieving_an_interception_are_two_records() {
        let body = |state: &str| {
            json!({"interception_id": 4, "state": state, "parcel_id": 9, "logistics_no": "SF1",
                   "line": "L1", "lane": 1, "bag_id": 2, "bag_no": null,
                   "dropped_at": "2026-11-27T10:00:00.000Z", "cause": "status:500",
                   "at": "2026-11-27T10:00:01.000Z"})
        };
        let opened = check(Stream::Decisions, kind::INTERCEPTION, &body("opened"));
        let retrieved = check(Stream::Decisions, kind::INTERCEPTION, &body("retrieved"));
        assert_eq!(
            (opened.problem.as_deref(), retrieved.problem.as_deref()),
            (None, None)
        );
        assert_ne!(opened.key, retrieved.key);
        assert_eq!(opened.key.unwrap().to_string(), "interception 4 opened");
        let odd = check(Stream::Decisions, kind::INTERCEPTION, &body("lost"));
        assert!(odd.problem.unwrap().contains("\"lost\""));
    }

    #[test]
    fn kinds_of_one_id_are_different_records() {
        let outcome = json!({"parcel_id": 7, "line": "L1", "outcome": "sorted",
                             "dropped_lane": 1, "at": "2026-11-27T10:00:00.000Z"});
        let checked = check(Stream::Decisions, kind::PARCEL_OUTCOME, &outcome);
        assert_eq!(checked.problem, None);
        assert_eq!(checked.key.unwrap().to_string(), "parcel_outcome 7");
        let as_sort = RecordKey {
            kind: kind::SORT_RESULT,
            id: 7,
            state: AlarmState::None,
            bill: 0,
        };
        assert_ne!(checked.key.unwrap(), as_sort);
    }

    fn arrival(gate_pass_id: i64, bill_no: Option<&str>) -> Value {
        let mut body = json!({"gate_pass_id": gate_pass_id, "loct_no": "3511W001",
            "vehicle_no": "闽G56789", "items": [{"logistics_no": "SF1", "total_package_no": null}],
            "arrived_at": "2026-11-27T10:00:00.000Z"});
        if let Some(bill) = bill_no {
            body["bill_no"] = json!(bill);
        }
        body
    }

    #[test]
    fn an_arrival_with_or_without_a_bill_fits_and_each_bill_of_a_pass_is_its_own_record() {
        let plain = check(Stream::Gate, kind::ARRIVAL, &arrival(31, None));
        let first = check(Stream::Gate, kind::ARRIVAL, &arrival(31, Some("MB1")));
        let second = check(Stream::Gate, kind::ARRIVAL, &arrival(31, Some("MB2")));
        for c in [&plain, &first, &second] {
            assert_eq!(c.problem, None);
        }
        assert_eq!(plain.key.unwrap().to_string(), "arrival 31");
        assert!(
            first
                .key
                .unwrap()
                .to_string()
                .starts_with("arrival 31 bill #"),
            "{}",
            first.key.unwrap()
        );
        assert_ne!(first.key, second.key);
        assert_ne!(first.key, plain.key);
        let again = check(Stream::Gate, kind::ARRIVAL, &arrival(31, Some("MB1")));
        assert_eq!(
            again.key, first.key,
            "the same report again is the same record"
        );
        let mut bad = arrival(31, None);
        bad["bill_no"] = json!(7);
        let c = check(Stream::Gate, kind::ARRIVAL, &bad);
        assert!(
            c.problem.unwrap().contains("arrival body"),
            "a bill_no that is not text"
        );
    }

    #[test]
    fn contract_breaks_are_named_but_keys_still_found() {
        let c = check(Stream::Gate, kind::ALARM, &alarm(1, "raised"));
        assert!(c.problem.unwrap().contains("belongs on stream health"));
        let c = check(
            Stream::Decisions,
            kind::SORT_RESULT,
            &json!({"parcel_id": 3}),
        );
        assert!(c.problem.unwrap().contains("sort_result body"));
        assert_eq!(c.key.unwrap().to_string(), "sort_result 3");
        let c = check(Stream::Stats, "weather", &json!({}));
        assert!(c.problem.unwrap().contains("weather"));
        let c = check(
            Stream::Telemetry,
            kind::TELEMETRY,
            &json!({"device": "d", "tags": []}),
        );
        assert_eq!(
            c,
            Checked {
                key: None,
                problem: None
            }
        );
    }
}
