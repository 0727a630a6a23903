//! The seeded store: declaration lists, parcels with their decisions and weighings, and
//! gate passes, whose statistics the tests work out by hand.

use customs_edge::gates::verdict::PassVerdict;
use customs_edge::manifest::DeclarationList;
use customs_edge::store::parcels::{self, DecisionRow};
use customs_edge::store::passes::{NewPass, record_pass};
use customs_edge::store::{Store, manifests};
use serde_json::{Value, json};

fn list(json: &Value) -> DeclarationList {
    DeclarationList::from_json_line(&json.to_string()).unwrap()
}

/// One parcel to seed: when it entered, the waybill read, and its decision if any.
pub(super) struct Parcel {
    at: &'static str,
    waybill: Option<&'static str>,
    decision: Option<(&'static str, &'static str)>,
    /// Weighed: (stable, mismatch).
    weight: Option<(bool, bool)>,
}

pub(super) const fn p(
    at: &'static str,
    waybill: Option<&'static str>,
    decision: Option<(&'static str, &'static str)>,
    weight: Option<(bool, bool)>,
) -> Parcel {
    Parcel {
        at,
        waybill,
        decision,
        weight,
    }
}

pub(super) async fn seed_parcels(store: &Store, parcels: Vec<Parcel>) {
    store
        .writer
        .write(move |tx| {
            for (n, p) in parcels.iter().enumerate() {
                let id = parcels::insert_entry(tx, "L1", n as u16, p.at, 300)?;
                if let Some((stable, _)) = p.weight {
                    parcels::record_weight(tx, id, 1.5, stable, p.at)?;
                }
                if let Some((kind, reasons)) = p.decision {
                    parcels::record_decision(
                        tx,
                        &DecisionRow {
                            parcel_id: id,
                            decided_at: p.at,
                            logistics_no: p.waybill,
                            read_status: if p.waybill.is_some() {
                                "read"
                            } else {
                                "no_read"
                            },
                            lane: 2,
                            lane_kind: kind,
                            reasons_json: reasons,
                            inputs_json: "{}",
                            risk_json: "{}",
                            ebc_code: None,
                            weight_mismatch: p.weight.is_some_and(|(_, m)| m),
                        },
                    )?;
                } else if let Some(waybill) = p.waybill {
                    tx.execute(
                        "UPDATE parcels SET logistics_no = ?2 WHERE id = ?1",
                        rusqlite::params![id, waybill],
                    )?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
}

fn pass(plate: &str, direction: &'static str, verdict: PassVerdict, at: &str) -> NewPass {
    NewPass {
        site: "3511W001".into(),
        gate_id: if direction == "in" { "K1" } else { "K2" }.into(),
        direction,
        plate: Some(plate.into()),
        permit_no: None,
        weight_kg: Some(30_000.0),
        weight_stable: true,
        verdict,
        reasons: vec![json!({"code": "test", "zh": "测试", "detail": "seeded"})],
        led_text: String::new(),
        override_by: (verdict == PassVerdict::Override)
            .then(|| ("op1".to_owned(), "barrier test".to_owned())),
        consensus: json!({}),
        evidence: Vec::new(),
        arrivals: Vec::new(),
        at: at.into(),
    }
}

/// Four lists, nine parcels (seven in the range) and eleven gate passes whose statistics
/// are worked out by hand in `statistics_count_exactly_what_was_seeded`.
pub(super) async fn seed(store: &Store) {
    let lists = vec![
        list(
            &json!({"logisticsNo": "A1", "returnStatus": 800, "tradeMode": "9610", "country": "US",
            "goods": [
                {"gnum": 1, "itemName": "T恤", "gcode": "6109100021"},
                {"gnum": 2, "itemName": "背心", "gcode": "6109200000"},
                {"gnum": 3, "itemName": "手机", "gcode": "8517120000"}]}),
        ),
        list(
            &json!({"logisticsNo": "A2", "returnStatus": 800, "tradeMode": "9710", "country": "DE",
            "goods": [{"gnum": 1, "itemName": "路由器", "gcode": "8517620000"}]}),
        ),
        list(
            &json!({"logisticsNo": "A3", "returnStatus": 300, "tradeMode": "9810", "country": "US"}),
        ),
        list(
            &json!({"logisticsNo": "A4", "returnStatus": 800, "tradeMode": "1210", "country": "JP",
            "goods": [{"gnum": 1, "itemName": "样品"}]}),
        ),
    ];
    store
        .writer
        .write(move |tx| {
            for l in &lists {
                manifests::upsert(tx, l, "test", "2026-11-26T00:00:00.000Z")?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let weighed = Some((true, false));
    let mismatch = Some((true, true));
    seed_parcels(
        store,
        vec![
            // Just before the range, and exactly at its (excluded) end.
            p(
                "2026-11-27T13:59:59.999Z",
                Some("A1"),
                Some(("release", r#"["released"]"#)),
                weighed,
            ),
            p(
                "2026-11-27T18:00:00.000Z",
                Some("A1"),
                Some(("release", r#"["released"]"#)),
                weighed,
            ),
            // 22:00 Beijing.
            p(
                "2026-11-27T14:10:00.000Z",
                Some("A1"),
                Some(("release", r#"["released"]"#)),
                weighed,
            ),
            p(
                "2026-11-27T14:50:00.000Z",
                Some("A2"),
                Some(("inspection", r#"["weight_out_of_tolerance:1500/1000"]"#)),
                mismatch,
            ),
            // 23:00 Beijing.
            p(
                "2026-11-27T15:59:59.999Z",
                Some("A3"),
                Some(("exception", r#"["status_not_released:300"]"#)),
                weighed,
            ),
            // Midnight Beijing: the 28th.
            p(
                "2026-11-27T16:00:00.000Z",
                Some("A4"),
                Some((
                    "inspection",
                    r#"["officer_flag","weight_out_of_tolerance:900/500"]"#,
                )),
                mismatch,
            ),
            p(
                "2026-11-27T16:30:00.000Z",
                None,
                Some(("exception", r#"["no_read"]"#)),
                None,
            ),
            // 01:00 Beijing: one not decided yet, one weighed without settling.
            p("2026-11-27T17:20:00.000Z", Some("UNLISTED1"), None, None),
            p(
                "2026-11-27T17:40:00.000Z",
                Some("A1"),
                Some(("exception", r#"["duplicate_waybill:3"]"#)),
                Some((false, false)),
            ),
        ],
    )
    .await;
    let passes = vec![
        pass(
            "闽A11111",
            "in",
            PassVerdict::Released,
            "2026-11-27T14:05:00.000Z",
        ),
        pass(
            "闽A11111",
            "out",
            PassVerdict::Released,
            "2026-11-27T15:35:00.000Z",
        ),
        pass(
            "闽B22222",
            "in",
            PassVerdict::Override,
            "2026-11-27T13:00:00.000Z",
        ),
        pass(
            "闽B22222",
            "out",
            PassVerdict::Released,
            "2026-11-27T16:20:00.000Z",
        ),
        pass(
            "闽C33333",
            "in",
            PassVerdict::Released,
            "2026-11-27T15:10:00.000Z",
        ),
        pass(
            "闽C33333",
            "out",
            PassVerdict::Refused,
            "2026-11-27T16:40:00.000Z",
        ),
        pass(
            "闽C33333",
            "out",
            PassVerdict::Override,
            "2026-11-27T17:10:00.000Z",
        ),
        pass(
            "闽D44444",
            "in",
            PassVerdict::Released,
            "2026-11-27T17:50:00.000Z",
        ),
        pass(
            "闽E55555",
            "in",
            PassVerdict::Released,
            "2026-11-27T12:00:00.000Z",
        ),
        pass(
            "闽E55555",
            "in",
            PassVerdict::Released,
            "2026-11-27T14:20:00.000Z",
        ),
        pass(
            "闽E55555",
            "out",
            PassVerdict::Released,
            "2026-11-27T14:30:00.000Z",
        ),
    ];
    store
        .writer
        .write(move |tx| {
            for p in &passes {
                record_pass(tx, p)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}
