use customs_edge_protocol::downlink::{self as wire, Downlink};
use customs_edge_protocol::uplink;

use super::*;
use crate::store::downlink::{Applied, apply};

/// A migrated in-memory store, foreign keys on as the real one.
fn conn() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    crate::store::migrations().to_latest(&mut conn).unwrap();
    conn
}

fn notice(bill: &str, plate: &str, waybills: &[(&str, Option<&str>)]) -> wire::ExpectedArrival {
    wire::ExpectedArrival {
        bill_no: bill.into(),
        vehicle_no: plate.into(),
        items: waybills
            .iter()
            .map(|(w, bag)| wire::ExpectedArrivalItem {
                logistics_no: (*w).into(),
                total_package_no: bag.map(str::to_owned),
            })
            .collect(),
    }
}

/// Apply one `arrivals` message as the downlink does, in its own transaction.
fn receive(conn: &mut Connection, id: &str, notices: Vec<wire::ExpectedArrival>) -> Applied {
    let tx = conn.transaction().unwrap();
    let applied = apply(
        &tx,
        id,
        &Downlink::Arrivals(wire::Arrivals { arrivals: notices }),
    )
    .unwrap();
    tx.commit().unwrap();
    applied
}

fn arrive(conn: &mut Connection, bill: &str, gate_pass_id: i64) -> bool {
    let tx = conn.transaction().unwrap();
    let marked = mark_arrived(&tx, bill, gate_pass_id, "2026-11-27T10:05:00.000Z").unwrap();
    tx.commit().unwrap();
    marked
}

fn bills(conn: &Connection, plate: &str) -> Vec<String> {
    expected_for_plate(conn, plate)
        .unwrap()
        .into_iter()
        .map(|a| a.bill_no)
        .collect()
}

#[test]
fn a_notice_is_stored_with_its_waybills_and_found_by_its_plate() {
    let mut conn = conn();
    let applied = receive(
        &mut conn,
        "p:down:1",
        vec![notice(
            "MB1",
            "闽G12345",
            &[("SF1", Some("BAG1")), ("SF2", None), ("SF3", Some("BAG2"))],
        )],
    );
    assert_eq!(
        applied,
        Applied::Now {
            records: 1,
            refused: 0
        }
    );
    let found = expected_for_plate(&conn, "闽G12345").unwrap();
    assert_eq!(found.len(), 1);
    let bill = &found[0];
    assert_eq!(
        (bill.bill_no.as_str(), bill.vehicle_no.as_str()),
        ("MB1", "闽G12345")
    );
    let items: Vec<(&str, Option<&str>)> = bill
        .items
        .iter()
        .map(|i| (i.logistics_no.as_str(), i.total_package_no.as_deref()))
        .collect();
    assert_eq!(
        items,
        [("SF1", Some("BAG1")), ("SF2", None), ("SF3", Some("BAG2"))]
    );
    assert!(expected_for_plate(&conn, "闽G99999").unwrap().is_empty());
    // The same message delivered again is not applied twice.
    let again = receive(
        &mut conn,
        "p:down:1",
        vec![notice("MB9", "闽G12345", &[("SF9", None)])],
    );
    assert_eq!(again, Applied::Before);
    assert_eq!(bills(&conn, "闽G12345"), ["MB1"]);
}

#[test]
fn a_plates_bills_come_longest_expected_first_and_a_replacement_keeps_its_place() {
    let mut conn = conn();
    receive(
        &mut conn,
        "p:down:1",
        vec![
            notice("MB1", "闽G12345", &[("SF1", None)]),
            notice("MB2", "闽G12345", &[("SF2", None)]),
        ],
    );
    receive(
        &mut conn,
        "p:down:2",
        vec![notice("MB3", "闽G12345", &[("SF3", None)])],
    );
    assert_eq!(bills(&conn, "闽G12345"), ["MB1", "MB2", "MB3"]);
    // MB2 is corrected (its waybills and bags) and keeps its place ahead of MB3; MB1 moves
    // to another truck.
    receive(
        &mut conn,
        "p:down:3",
        vec![notice(
            "MB2",
            "闽G12345",
            &[("SF2", Some("BAG9")), ("SF4", None)],
        )],
    );
    receive(
        &mut conn,
        "p:down:4",
        vec![notice("MB1", "闽GD00001", &[("SF1", None)])],
    );
    let found = expected_for_plate(&conn, "闽G12345").unwrap();
    let order: Vec<&str> = found.iter().map(|a| a.bill_no.as_str()).collect();
    assert_eq!(order, ["MB2", "MB3"]);
    assert_eq!(found[0].items.len(), 2);
    assert_eq!(found[0].items[0].total_package_no.as_deref(), Some("BAG9"));
    assert_eq!(bills(&conn, "闽GD00001"), ["MB1"]);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM expected_arrival_items", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 4, "replaced items are gone, not added to");
}

#[test]
fn a_bill_is_marked_arrived_once_and_only_from_expected() {
    let mut conn = conn();
    receive(
        &mut conn,
        "p:down:1",
        vec![
            notice("MB1", "闽G12345", &[("SF1", None)]),
            notice("MB2", "闽G12345", &[("SF2", None)]),
        ],
    );
    assert!(arrive(&mut conn, "MB1", 31));
    assert!(!arrive(&mut conn, "MB1", 32), "arrived already");
    assert!(!arrive(&mut conn, "MB404", 33), "unknown bill");
    let (state, pass, at): (String, i64, String) = conn
        .query_row(
            "SELECT status, gate_pass_id, arrived_at FROM expected_arrivals WHERE bill_no = 'MB1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (state.as_str(), pass, at.as_str()),
        (status::ARRIVED, 31, "2026-11-27T10:05:00.000Z"),
        "the first gate pass is kept"
    );
    assert_eq!(bills(&conn, "闽G12345"), ["MB2"]);
}

#[test]
fn a_notice_for_an_arrived_bill_is_refused_with_its_reason_and_the_rest_applies() {
    let mut conn = conn();
    receive(
        &mut conn,
        "p:down:1",
        vec![notice("MB1", "闽G12345", &[("SF1", None)])],
    );
    assert!(arrive(&mut conn, "MB1", 31));
    let applied = receive(
        &mut conn,
        "p:down:2",
        vec![
            notice("MB1", "闽GD00001", &[("SF7", None)]),
            notice("MB2", "闽G12345", &[("SF2", None)]),
        ],
    );
    assert_eq!(
        applied,
        Applied::Now {
            records: 1,
            refused: 1
        }
    );
    let (source, reason, payload): (String, String, String) = conn
        .query_row(
            "SELECT source, reason, payload FROM rejected_inputs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(source, "platform:p:down:2");
    assert!(
        reason.contains("MB1") && reason.contains("already arrived") && reason.contains("31"),
        "{reason}"
    );
    assert!(payload.contains("SF7"), "{payload}");
    // The arrived bill is as it was: same plate, same waybill, still arrived.
    let (plate, status_now, items): (String, String, String) = conn
        .query_row(
            "SELECT vehicle_no, status, (SELECT group_concat(logistics_no)
                FROM expected_arrival_items WHERE bill_no = 'MB1')
             FROM expected_arrivals WHERE bill_no = 'MB1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (plate.as_str(), status_now.as_str(), items.as_str()),
        ("闽G12345", "arrived", "SF1")
    );
    assert!(bills(&conn, "闽GD00001").is_empty());
    assert_eq!(bills(&conn, "闽G12345"), ["MB2"]);
}

#[test]
fn the_arrival_report_carries_the_bill_the_plate_and_the_waybills() {
    let mut conn = conn();
    receive(
        &mut conn,
        "p:down:1",
        vec![notice(
            "MB1",
            "闽G12345",
            &[("SF1", Some("BAG1")), ("SF2", None)],
        )],
    );
    let bill = expected_for_plate(&conn, "闽G12345").unwrap().remove(0);
    let report = bill.arrival_report(31, "3511W001", "2026-11-27T10:05:00.000Z");
    assert_eq!(
        report,
        uplink::Arrival {
            gate_pass_id: 31,
            loct_no: "3511W001".into(),
            vehicle_no: "闽G12345".into(),
            bill_no: Some("MB1".into()),
            items: vec![
                uplink::ArrivalItem {
                    logistics_no: "SF1".into(),
                    total_package_no: Some("BAG1".into()),
                },
                uplink::ArrivalItem {
                    logistics_no: "SF2".into(),
                    total_package_no: None,
                },
            ],
            arrived_at: "2026-11-27T10:05:00.000Z".into(),
        }
    );
}
