use customs_edge_protocol::downlink::{self as wire, Downlink};
use rusqlite::Connection;

use super::*;
use crate::store::parcels::{self, DecisionRow};
use crate::store::{bags, downlink};

/// A migrated in-memory store, foreign keys on as the real one.
fn conn() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    crate::store::migrations().to_latest(&mut conn).unwrap();
    write(&mut conn, |tx| {
        crate::store::outbox::configure(tx, true, 1 << 30).unwrap();
    });
    conn
}

fn write<R>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> R) -> R {
    let tx = conn.transaction().unwrap();
    let r = f(&tx);
    tx.commit().unwrap();
    r
}

fn list(conn: &mut Connection, waybill: &str, status: i32) {
    conn.execute(
        "INSERT INTO declaration_lists (logistics_no, gross_weight_kg, return_status, source, received_at, updated_at)
         VALUES (?1, 1.5, ?2, 'test', 'now', 'now')",
        params![waybill, status],
    )
    .unwrap();
}

/// A parcel on line L1 decided for lane `lane` of `kind`; returns its id.
fn decided(conn: &mut Connection, waybill: &str, lane: u16, kind: &str) -> i64 {
    write(conn, |tx| {
        let id = parcels::insert_entry(tx, "L1", 7, "2026-12-06T10:00:00.000Z", 300).unwrap();
        parcels::record_decision(
            tx,
            &DecisionRow {
                parcel_id: id,
                decided_at: "2026-12-06T10:00:03.000Z",
                logistics_no: Some(waybill),
                read_status: "read",
                lane,
                lane_kind: kind,
                reasons_json: "[]",
                inputs_json: "{}",
                risk_json: "{}",
                ebc_code: None,
                weight_mismatch: false,
            },
        )
        .unwrap();
        id
    })
}

fn drop_into(conn: &mut Connection, id: i64, lane: u16) {
    write(conn, |tx| {
        parcels::record_drop(
            tx,
            id,
            lane,
            "2026-12-06T10:00:06.000Z",
            "sorted",
            lane == 1,
        )
        .unwrap();
    });
}

fn status(conn: &mut Connection, waybill: &str, status: i32) {
    write(conn, |tx| {
        downlink::apply(
            tx,
            &format!("m-{waybill}-{status}"),
            &Downlink::ListStatus(wire::ListStatus {
                updates: vec![wire::StatusUpdate {
                    logistics_no: waybill.into(),
                    return_status: status,
                    return_info: None,
                }],
            }),
        )
        .unwrap();
    });
}

fn open_alarms(conn: &Connection, kind: &str) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM alarms WHERE kind = ?1 AND cleared_at IS NULL",
        [kind],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_status_change_for_a_released_parcel_in_flight_is_handed_to_its_line() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 1, "release");
    assert!(pending_for_line(&conn, "L1", 0).unwrap().is_empty());
    status(&mut conn, "W1", 500);
    let pending = pending_for_line(&conn, "L1", 0).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].parcel_id, id);
    assert_eq!(pending[0].cause, "status:500");
    assert!(pending_for_line(&conn, "L2", 0).unwrap().is_empty());
    assert!(
        pending_for_line(&conn, "L1", pending[0].id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(open_alarms(&conn, "interception"), 0);
}

#[test]
fn a_status_back_to_800_or_a_release_instruction_is_not_a_hold() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    decided(&mut conn, "W1", 1, "release");
    status(&mut conn, "W1", 800);
    write(&mut conn, |tx| {
        downlink::apply(
            tx,
            "m-rel",
            &Downlink::Instructions(wire::Instructions {
                instructions: vec![wire::Instruction {
                    logistics_no: "W1".into(),
                    action: "release".into(),
                    reason: None,
                    issued_at: "2026-12-06T10:00:00.000Z".into(),
                }],
            }),
        )
        .unwrap();
    });
    assert!(pending_for_line(&conn, "L1", 0).unwrap().is_empty());
}

#[test]
fn a_hold_after_the_drop_opens_an_interception_naming_the_bag_and_marks_it() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 1, "release");
    drop_into(&mut conn, id, 1);
    let bag: i64 = conn
        .query_row("SELECT bag_id FROM parcels WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        bags::get(&conn, bag).unwrap().unwrap().open_interceptions,
        0
    );
    let done = write(&mut conn, |tx| add_flag_on(tx, id));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].outcome, LateOutcome::Intercepted);
    let i = interceptions::get(&conn, done[0].interception_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!((i.parcel_id, i.lane, i.bag_id), (id, 1, Some(bag)));
    assert_eq!(i.logistics_no.as_deref(), Some("W1"));
    assert!(i.cause.starts_with("officer_flag:"), "{}", i.cause);
    assert_eq!(open_alarms(&conn, "interception"), 1);
    let detail: String = conn
        .query_row(
            "SELECT detail FROM alarms WHERE kind = 'interception'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        detail.contains("W1")
            && detail.contains("lane 1")
            && detail.contains("L1")
            && detail.contains(&format!("bag {bag}")),
        "{detail}"
    );
    assert_eq!(
        bags::get(&conn, bag).unwrap().unwrap().open_interceptions,
        1
    );
    let uplinked: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE kind = 'interception'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(uplinked, 1);
}

fn add_flag_on(tx: &Transaction<'_>, id: i64) -> Vec<LateHold> {
    instructions::add_flag_acting(
        tx,
        &instructions::OfficerFlag {
            parcel_id: Some(id),
            logistics_no: None,
            officer: "officer1",
            reason: "dense object",
        },
    )
    .unwrap()
    .1
}

#[test]
fn a_held_parcel_that_drops_into_the_release_lane_anyway_is_intercepted_at_the_drop() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 1, "release");
    status(&mut conn, "W1", 500);
    let hold = pending_for_line(&conn, "L1", 0).unwrap().remove(0);
    drop_into(&mut conn, id, 1);
    let now = get(&conn, hold.id).unwrap().unwrap();
    assert_eq!(now.outcome, LateOutcome::Intercepted);
    let i = interceptions::get(&conn, now.interception_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(i.cause, "status:500");
    assert!(pending_for_line(&conn, "L1", 0).unwrap().is_empty());
}

#[test]
fn a_held_parcel_that_drops_into_the_inspection_lane_settles_its_hold_as_recommanded() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 1, "release");
    status(&mut conn, "W1", 500);
    let hold = pending_for_line(&conn, "L1", 0).unwrap().remove(0);
    drop_into(&mut conn, id, 2);
    assert_eq!(
        get(&conn, hold.id).unwrap().unwrap().outcome,
        LateOutcome::Recommanded
    );
    assert_eq!(open_alarms(&conn, "interception"), 0);
}

#[test]
fn a_parcel_decided_for_inspection_that_falls_into_the_release_lane_is_intercepted() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 2, "inspection");
    drop_into(&mut conn, id, 1);
    let open = interceptions::list(&conn, true, 10).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].parcel_id, open[0].cause.as_str()),
        (id, "decided:inspection")
    );
}

#[test]
fn a_release_decision_committed_after_a_hold_is_handed_to_the_line() {
    let mut conn = conn();
    // The status changed while the line was deciding on facts read before.
    list(&mut conn, "W1", 500);
    let id = decided(&mut conn, "W1", 1, "release");
    let pending = pending_for_line(&conn, "L1", 0).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].parcel_id, id);
    assert!(pending[0].cause.starts_with("status:500"));
}

#[test]
fn a_retrieval_needs_the_right_label_or_a_reason_and_clears_the_alarm_and_the_mark() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    let id = decided(&mut conn, "W1", 1, "release");
    drop_into(&mut conn, id, 1);
    let i = write(&mut conn, |tx| add_flag_on(tx, id))[0]
        .interception_id
        .unwrap();
    let attempt = |conn: &mut Connection, r: Retrieval| {
        write(conn, |tx| interceptions::record_retrieval(tx, i, "op1", &r))
    };
    let wrong = attempt(
        &mut conn,
        Retrieval {
            scan: Some("W2".into()),
            reason: None,
        },
    );
    assert!(
        matches!(&wrong, Err(StoreError::Invalid(m)) if m.contains("W2") && m.contains("W1")),
        "{wrong:?}"
    );
    let nothing = attempt(&mut conn, Retrieval::default());
    assert!(
        matches!(&nothing, Err(StoreError::Invalid(m)) if m.contains("reason")),
        "{nothing:?}"
    );
    assert_eq!(open_alarms(&conn, "interception"), 1);
    let done = attempt(
        &mut conn,
        Retrieval {
            scan: Some("W1".into()),
            reason: None,
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(done.retrieved_by.as_deref(), Some("op1"));
    assert_eq!(open_alarms(&conn, "interception"), 0);
    assert_eq!(
        bags::get(&conn, done.bag_id.unwrap())
            .unwrap()
            .unwrap()
            .open_interceptions,
        0
    );
    let again = attempt(
        &mut conn,
        Retrieval {
            scan: None,
            reason: Some("again".into()),
        },
    );
    assert!(matches!(again, Err(StoreError::Invalid(_))));
    let audited: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'record_retrieval'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
}

#[test]
fn a_bag_closes_with_a_unique_number_and_goes_uplink_with_its_parcels() {
    let mut conn = conn();
    list(&mut conn, "W1", 800);
    list(&mut conn, "W2", 800);
    let a = decided(&mut conn, "W1", 1, "release");
    let b = decided(&mut conn, "W2", 1, "release");
    drop_into(&mut conn, a, 1);
    drop_into(&mut conn, b, 1);
    let closed = write(&mut conn, |tx| bags::close(tx, "L1", 1, "BAG-1", "op1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.parcels, closed.bag_no.as_deref()),
        (2, Some("BAG-1"))
    );
    let lines = bags::contents(&conn, closed.id).unwrap();
    assert_eq!(
        lines.iter().map(|l| l.parcel_id).collect::<Vec<_>>(),
        [a, b]
    );
    assert_eq!(lines[0].declared_kg, Some(1.5));
    // No open bag left on the lane; a number is used once.
    assert!(
        write(&mut conn, |tx| bags::close(tx, "L1", 1, "BAG-2", "op1"))
            .unwrap()
            .is_none()
    );
    let c = decided(&mut conn, "W1", 1, "release");
    drop_into(&mut conn, c, 1);
    let reused = write(&mut conn, |tx| bags::close(tx, "L1", 1, "BAG-1", "op1"));
    assert!(matches!(reused, Err(StoreError::Invalid(m)) if m.contains("BAG-1")));
    let uplinked: i64 = conn
        .query_row("SELECT count(*) FROM outbox WHERE kind = 'bag'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(uplinked, 1);
}
