use customs_edge_protocol::downlink::{Downlink, Lists};
use customs_edge_simulators::platform::synthetic_lists;

use super::*;

/// A migrated in-memory store, foreign keys on as the real one.
fn conn() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    crate::store::migrations().to_latest(&mut conn).unwrap();
    conn
}

fn lists(n: usize) -> Downlink {
    Downlink::Lists(Lists {
        lists: synthetic_lists("3511W001", 1, n as u64).collect(),
    })
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Apply `parts` as the downlink does, each in a transaction of its own (as when a line's
/// write splits the batch between every two), skipping the parts in `skip`.
fn apply_parts(
    conn: &mut Connection,
    id: &str,
    mut parts: Vec<Downlink>,
    skip: &[usize],
) -> Result<Applied, StoreError> {
    let last = parts.pop().unwrap();
    let early = parts.len();
    let mut records = 0;
    for (index, part) in parts.iter().enumerate() {
        if skip.contains(&index) {
            continue;
        }
        let tx = conn.transaction().unwrap();
        if let Applied::Now { records: n, .. } = apply_early_part(&tx, id, index, part)? {
            records += n;
        }
        tx.commit().unwrap();
    }
    let tx = conn.transaction().unwrap();
    let outcome = apply_last_part(&tx, id, early, &last)?;
    tx.commit().unwrap();
    Ok(match outcome {
        Applied::Now {
            records: n,
            refused,
        } => Applied::Now {
            records: records + n,
            refused,
        },
        Applied::Before => Applied::Before,
    })
}

#[test]
fn a_thousand_lists_are_applied_in_parts_of_a_hundred_and_small_messages_whole() {
    let parts = parts(lists(1000));
    assert_eq!(parts.len(), 10);
    let mut waybills = Vec::new();
    for part in &parts {
        let Downlink::Lists(Lists { lists }) = part else {
            panic!("a part of lists is lists");
        };
        assert_eq!(lists.len(), LISTS_PER_PART);
        waybills.extend(lists.iter().map(|l| l.logistics_no.clone()));
    }
    let whole: Vec<String> = synthetic_lists("3511W001", 1, 1000)
        .map(|l| l.logistics_no)
        .collect();
    assert_eq!(waybills, whole, "every list once, in order");
    assert_eq!(super::parts(lists(250)).len(), 3);
    assert_eq!(super::parts(lists(LISTS_PER_PART)).len(), 1);
    let status = Downlink::ListStatus(customs_edge_protocol::downlink::ListStatus {
        updates: Vec::new(),
    });
    assert_eq!(super::parts(status).len(), 1);
}

#[test]
fn a_message_applied_in_parts_is_applied_once_and_whole() {
    let mut conn = conn();
    let applied = apply_parts(&mut conn, "m1", parts(lists(250)), &[]).unwrap();
    assert_eq!(
        applied,
        Applied::Now {
            records: 250,
            refused: 0
        }
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM declaration_lists"), 250);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM downlink_applied WHERE message_id = 'm1'"
        ),
        1
    );
    // Delivered again: applied before, nothing written again.
    conn.execute(
        "UPDATE declaration_lists SET return_info = 'changed since'",
        [],
    )
    .unwrap();
    let again = apply_parts(&mut conn, "m1", parts(lists(250)), &[]).unwrap();
    assert_eq!(again, Applied::Before);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM declaration_lists WHERE return_info = 'changed since'"
        ),
        250
    );
}

#[test]
fn a_part_that_did_not_commit_leaves_the_message_unapplied_until_delivered_again() {
    let mut conn = conn();
    // The second of three parts never committed (its batch failed).
    let error = apply_parts(&mut conn, "m2", parts(lists(250)), &[1]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("part 3 of downlink message m2: 1 of the parts before it"),
        "{error}"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM downlink_applied"),
        0,
        "not recorded as applied, so the platform's redelivery is applied"
    );
    // The redelivery starts the chain again and applies the whole message.
    let applied = apply_parts(&mut conn, "m2", parts(lists(250)), &[]).unwrap();
    assert_eq!(
        applied,
        Applied::Now {
            records: 250,
            refused: 0
        }
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM declaration_lists"), 250);
}

#[test]
fn the_last_part_alone_is_refused_when_the_earlier_ones_are_missing() {
    let mut conn = conn();
    let mut parts = parts(lists(250));
    let last = parts.pop().unwrap();
    let tx = conn.transaction().unwrap();
    assert!(apply_last_part(&tx, "m3", 2, &last).is_err());
    drop(tx);
    assert_eq!(count(&conn, "SELECT count(*) FROM downlink_applied"), 0);
}
