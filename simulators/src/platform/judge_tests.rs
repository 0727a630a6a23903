use chrono::TimeDelta;
use serde_json::json;

use super::*;

const SITE: &str = "3511W001";

fn sort_result(parcel_id: i64) -> Value {
    json!({
        "parcel_id": parcel_id, "line": "L1", "tracking_no": parcel_id,
        "entered_at": "2026-11-27T10:00:00.000Z", "logistics_no": "SF1", "read_status": "read",
        "lane": 1, "lane_kind": "release", "reasons": [], "decided_at": "2026-11-27T10:00:01.000Z",
        "weight_kg": 1.2, "readings": [], "evidence": [], "risk": {}
    })
}

fn payload(stream: &str, seq: u64, kind: &str, body: &Value) -> Vec<u8> {
    json!({
        "schema": 1, "id": envelope::message_id(SITE, stream, seq), "stream": stream, "seq": seq,
        "site": SITE, "created": "2026-11-27T10:00:00.000Z", "kind": kind, "body": body
    })
    .to_string()
    .into_bytes()
}

fn judge() -> Judge {
    Judge::new(&[SITE.to_owned()], usize::MAX, false)
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn send(j: &mut Judge, seq: u64, parcel_id: i64, at: DateTime<Utc>) -> Outcome {
    let topic = format!("customs-edge/{SITE}/up/decisions");
    let p = payload("decisions", seq, "sort_result", &sort_result(parcel_id));
    j.receive(&topic, SITE, "decisions", &p, at)
}

fn snapshot(j: &Judge) -> Ledger {
    let mut l = Ledger::default();
    j.fill(&mut l);
    l
}

#[test]
fn in_order_messages_apply_and_resends_and_gaps_are_ignored() {
    let mut j = judge();
    assert_eq!(send(&mut j, 1, 101, t0()), Outcome::Applied);
    assert_eq!(send(&mut j, 2, 102, t0()), Outcome::Applied);
    assert_eq!(send(&mut j, 2, 102, t0()), Outcome::Resent);
    assert_eq!(send(&mut j, 4, 104, t0()), Outcome::Gap);
    assert_eq!(send(&mut j, 3, 103, t0()), Outcome::Applied);
    assert_eq!(send(&mut j, 4, 104, t0()), Outcome::Applied);
    let l = snapshot(&j);
    let s = l.stream(SITE, "decisions").unwrap();
    assert_eq!(
        (s.applied, s.resent, s.gaps, s.applied_twice, s.last_applied),
        (4, 1, 1, 0, 4)
    );
    assert_eq!(s.kinds["sort_result"], 4);
    let seqs: Vec<u64> = j
        .applied(SITE, "decisions", 0, 10)
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(j.applied(SITE, "decisions", 2, 1)[0].seq, 3);
}

#[test]
fn a_record_reemitted_under_a_new_seq_is_a_double_effect() {
    let mut j = judge();
    send(&mut j, 1, 101, t0());
    send(&mut j, 2, 101, t0());
    let l = snapshot(&j);
    assert_eq!(l.totals.applied_twice, 1);
    assert_eq!(
        l.doubles[0],
        DoubleEffect {
            site: SITE.to_owned(),
            stream: "decisions".to_owned(),
            record: "sort_result 101".to_owned(),
            first_seq: 1,
            seq: 2,
        }
    );
}

#[test]
fn payloads_that_are_not_envelopes_are_counted_and_kept() {
    let mut j = judge();
    let topic = format!("customs-edge/{SITE}/up/decisions");
    j.receive(&topic, SITE, "decisions", b"{not json", t0());
    let wrong_stream = payload("gate", 1, "sort_result", &sort_result(1));
    j.receive(&topic, SITE, "decisions", &wrong_stream, t0());
    let l = snapshot(&j);
    assert_eq!(l.malformed_uplink, 2);
    let reasons: Vec<&str> = l
        .malformed_samples
        .iter()
        .map(|m| m.reason.as_str())
        .collect();
    assert_eq!(reasons, ["malformed", "stream_mismatch"]);
    assert_eq!(l.totals.applied, 0);
}

#[test]
fn acks_are_cumulative_and_repeated_after_a_resend() {
    let mut j = judge();
    assert!(j.acks_due().is_empty());
    for seq in 1..=3 {
        send(&mut j, seq, seq as i64, t0());
    }
    let due = j.acks_due();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].seq, 3);
    j.acked(&due[0], true);
    assert!(j.acks_due().is_empty());
    send(&mut j, 2, 2, t0());
    let again = j.acks_due();
    assert_eq!(again[0].seq, 3, "a resend means the site missed the ack");
    j.acked(&again[0], false);
    let s = snapshot(&j).stream(SITE, "decisions").unwrap().clone();
    assert_eq!((s.acked, s.acks_sent, s.acks_dropped), (3, 1, 1));
}

#[test]
fn drain_rate_is_measured_between_first_and_last_apply() {
    let mut j = judge();
    for seq in 1..=11 {
        send(
            &mut j,
            seq,
            seq as i64,
            t0() + TimeDelta::milliseconds(100 * (seq as i64 - 1)),
        );
    }
    let s = snapshot(&j).stream(SITE, "decisions").unwrap().clone();
    let rate = s.drain_rate_per_s.unwrap();
    assert!((rate - 10.0).abs() < 1e-9, "{rate}");
}

#[test]
fn a_restarted_platform_can_adopt_the_sites_position() {
    let mut j = Judge::new(&[SITE.to_owned()], 1, true);
    assert_eq!(send(&mut j, 41, 41, t0()), Outcome::Applied);
    assert_eq!(send(&mut j, 42, 42, t0()), Outcome::Applied);
    let s = snapshot(&j).stream(SITE, "decisions").unwrap().clone();
    assert_eq!((s.first_seq, s.last_applied), (Some(41), 42));
    let kept = j.applied(SITE, "decisions", 0, 10);
    assert_eq!(kept.len(), 1, "only keep_bodies bodies are kept");
}

#[test]
fn presence_reads_text_or_json() {
    let mut j = judge();
    j.presence(SITE, b"online", t0());
    assert_eq!(snapshot(&j).sites[SITE].presence.as_deref(), Some("online"));
    j.presence(SITE, br#"{"state":"offline","at":"x"}"#, t0());
    assert_eq!(
        snapshot(&j).sites[SITE].presence.as_deref(),
        Some("offline")
    );
    j.presence(SITE, b"", t0());
    let site = &snapshot(&j).sites[SITE];
    assert_eq!((site.presence.as_deref(), site.presence_changes), (None, 3));
}
