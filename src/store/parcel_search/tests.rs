//! The search and the detail on a real store: what each filter finds, that the searches
//! read through indexes, and that the timeline holds every event in order.

use rusqlite::Transaction;

use super::*;
use crate::manifest::DeclarationList;
use crate::store::instructions::{self, OfficerFlag};
use crate::store::parcels::DecisionRow;
use crate::store::{Store, alarms, manifests, parcels};

/// Parcel `n` (1-based) entered `n` seconds after [`BASE`], was decided half a second
/// later and carries waybill `SF00n`; lists are held for the first three, with order
/// `ORD-n` and list number `35112026E00000000n`.
const PARCELS: i64 = 5;

/// A day ago, whole seconds: the events the store stamps with the clock come after.
static BASE: std::sync::LazyLock<chrono::DateTime<chrono::Utc>> = std::sync::LazyLock::new(|| {
    let t = chrono::Utc::now() - chrono::TimeDelta::days(1);
    t - chrono::TimeDelta::nanoseconds(i64::from(chrono::Timelike::nanosecond(&t)))
});

/// [`BASE`] plus `ms` milliseconds, as stored.
fn at(ms: i64) -> String {
    crate::store::timestamp(*BASE + chrono::TimeDelta::milliseconds(ms))
}

fn entered(n: i64) -> String {
    at(n * 1000)
}

fn seed(tx: &Transaction<'_>) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for n in 1..=PARCELS {
        if n <= 3 {
            let list = DeclarationList::from_json_line(&format!(
                r#"{{"logisticsNo":"SF00{n}","invtNo":"35112026E00000000{n}","orderNo":"ORD-{n}",
                   "tradeMode":"9610","country":"MYS","grossWeight":1.0,"returnStatus":800,
                   "goods":[{{"gnum":1,"itemName":"棉制T恤","gcode":"6109100021","qty":2,"unit":"011",
                   "price":35.0,"totalPrice":70.0,"currency":"142"}}]}}"#
            ))
            .map_err(StoreError::Invalid)?;
            manifests::upsert(tx, &list, "test", &entered(0))?;
        }
        let id =
            parcels::insert_entry(tx, "L1", u16::try_from(100 + n).unwrap(), &entered(n), 300)?;
        let waybill = format!("SF00{n}");
        parcels::record_decision(
            tx,
            &DecisionRow {
                parcel_id: id,
                decided_at: &at(n * 1000 + 500),
                logistics_no: Some(&waybill),
                read_status: "read",
                lane: if n % 2 == 0 { 2 } else { 1 },
                lane_kind: if n % 2 == 0 { "inspection" } else { "release" },
                reasons_json: "[]",
                inputs_json: "{}",
                risk_json: "{}",
                ebc_code: None,
                weight_mismatch: false,
            },
        )?;
        ids.push(id);
    }
    Ok(ids)
}

async fn seeded() -> (tempfile::TempDir, Store, Vec<i64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = store.writer.write(seed).await.unwrap();
    (dir, store, ids)
}

async fn found(store: &Store, s: Search) -> Vec<String> {
    let page = store.reader.read(move |c| search(c, &s)).await.unwrap();
    page.parcels
        .into_iter()
        .map(|h| h.parcel.logistics_no.unwrap_or_default())
        .collect()
}

fn q(text: &str) -> Search {
    Search {
        q: Some(text.into()),
        ..Search::default()
    }
}

#[tokio::test]
async fn each_number_finds_its_parcel_exactly_or_by_prefix() {
    let (_dir, store, _) = seeded().await;
    assert_eq!(found(&store, q("SF002")).await, ["SF002"], "a waybill");
    assert_eq!(
        found(&store, q("SF00")).await,
        ["SF005", "SF004", "SF003", "SF002", "SF001"],
        "a waybill prefix, newest first"
    );
    assert_eq!(
        found(&store, q("ORD-3")).await,
        ["SF003"],
        "an order number"
    );
    assert_eq!(
        found(&store, q("35112026E000000001")).await,
        ["SF001"],
        "a list number"
    );
    assert_eq!(
        found(&store, q("35112026E")).await.len(),
        3,
        "a list prefix"
    );
    assert_eq!(
        found(&store, q("104")).await,
        ["SF004"],
        "a tracking number"
    );
    assert!(found(&store, q("sf002")).await.is_empty(), "case as typed");
    assert!(found(&store, q("XX")).await.is_empty());

    let exact = |f: fn(&mut Search, String), v: &str| {
        let mut s = Search::default();
        f(&mut s, v.to_owned());
        s
    };
    assert_eq!(
        found(&store, exact(|s, v| s.waybill = Some(v), "SF004")).await,
        ["SF004"]
    );
    assert!(
        found(&store, exact(|s, v| s.waybill = Some(v), "SF00"))
            .await
            .is_empty(),
        "the waybill filter is exact"
    );
    assert_eq!(
        found(&store, exact(|s, v| s.order_no = Some(v), "ORD-1")).await,
        ["SF001"]
    );
    assert_eq!(
        found(
            &store,
            exact(|s, v| s.invt_no = Some(v), "35112026E000000002")
        )
        .await,
        ["SF002"]
    );
    assert_eq!(
        found(&store, exact(|s, v| s.lane_kind = Some(v), "inspection")).await,
        ["SF004", "SF002"]
    );
}

#[tokio::test]
async fn a_time_range_is_from_inclusive_to_exclusive_and_combines_with_the_rest() {
    let (_dir, store, _) = seeded().await;
    let range = Search {
        from: Some(entered(2)),
        to: Some(entered(4)),
        ..Search::default()
    };
    assert_eq!(found(&store, range.clone()).await, ["SF003", "SF002"]);
    let with_lane = Search {
        lane_kind: Some("release".into()),
        ..range
    };
    assert_eq!(found(&store, with_lane).await, ["SF003"]);
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let (_dir, store, ids) = seeded().await;
    let mut seen = Vec::new();
    let mut before_id = None;
    let mut pages = 0;
    loop {
        let s = Search {
            limit: 2,
            before_id,
            ..Search::default()
        };
        let page = store.reader.read(move |c| search(c, &s)).await.unwrap();
        pages += 1;
        assert!(page.parcels.len() <= 2);
        seen.extend(page.parcels.iter().map(|h| h.parcel.id));
        match page.next_before_id {
            Some(next) => before_id = Some(next),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    assert_eq!(pages, 3, "2 + 2 + 1, and no empty page after the last");
}

#[tokio::test]
async fn a_hit_carries_the_head_of_its_declaration_list() {
    let (_dir, store, _) = seeded().await;
    let s = q("SF001");
    let page = store.reader.read(move |c| search(c, &s)).await.unwrap();
    let hit = &page.parcels[0];
    assert_eq!(hit.trade_mode.as_deref(), Some("9610"));
    assert_eq!(hit.invt_no.as_deref(), Some("35112026E000000001"));
    assert_eq!(hit.order_no.as_deref(), Some("ORD-1"));
    assert_eq!(hit.country.as_deref(), Some("MYS"));
    let json = serde_json::to_value(hit).unwrap();
    assert_eq!(
        json["logistics_no"], "SF001",
        "the parcel's fields are flat: {json}"
    );
}

/// The query plan of `s`, one line per step.
async fn plan(store: &Store, s: Search) -> String {
    store
        .reader
        .read(move |c| {
            let (sql, args) = search_sql(&s);
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let steps: Vec<String> = stmt
                .query_map(params_from_iter(args), |r| r.get::<_, String>(3))?
                .collect::<Result<_, _>>()?;
            Ok(steps.join("\n"))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn searches_read_indexes_not_the_whole_table() {
    let (_dir, store, _) = seeded().await;
    let searches = [
        Search {
            waybill: Some("SF001".into()),
            ..Search::default()
        },
        Search {
            order_no: Some("ORD-1".into()),
            ..Search::default()
        },
        Search {
            invt_no: Some("35112026E000000001".into()),
            ..Search::default()
        },
        q("SF00"),
        q("104"),
        Search {
            from: Some(entered(2)),
            to: Some(entered(4)),
            ..Search::default()
        },
        Search {
            from: Some(entered(2)),
            lane_kind: Some("release".into()),
            before_id: Some(3),
            ..Search::default()
        },
    ];
    for s in searches {
        let plan = plan(&store, s.clone()).await;
        assert!(
            !plan.lines().any(|l| l.starts_with("SCAN")),
            "{s:?} scans a table:\n{plan}"
        );
    }
    let waybill = plan(
        &store,
        Search {
            waybill: Some("SF001".into()),
            ..Search::default()
        },
    )
    .await;
    assert!(waybill.contains("parcels_logistics_no"), "{waybill}");
}

async fn events(store: &Store, id: i64) -> Vec<(String, &'static str)> {
    let d = store
        .reader
        .read(move |c| detail(c, id))
        .await
        .unwrap()
        .unwrap();
    d.timeline.into_iter().map(|e| (e.at, e.kind)).collect()
}

#[tokio::test]
async fn the_detail_has_every_event_of_the_parcel_in_time_order() {
    let (_dir, store, ids) = seeded().await;
    let id = ids[1]; // SF002, entered at 2 s, decided at 2.5 s
    store
        .writer
        .write(move |tx| {
            // Received before the parcel came (add_instruction stamps the clock: now).
            tx.execute(
                "INSERT INTO customs_instructions (logistics_no, kind, reason, source, issued_at, received_at)
                 VALUES ('SF002', 'inspect', 'risk', 'test', ?1, ?1)",
                [entered(0)],
            )?;
            let scanned_at = at(2200);
            let scan = parcels::ScanRow {
                line_id: "L1",
                scanner: "top",
                parcel_id: Some(id),
                at: &scanned_at,
                kind: "code",
                code: Some("SF002"),
                detail: None,
            };
            parcels::insert_scan(tx, &scan)?;
            parcels::record_weight(tx, id, 1.25, true, &at(2100))?;
            parcels::record_command(tx, id, &at(2600), false)?;
            parcels::record_command(tx, id, &at(2650), true)?;
            parcels::record_drop(tx, id, 3, &at(8000), "lane_mismatch", false)?;
            alarms::raise(tx, "line:L1", "lane_mismatch", "decided 2, fell into 3", Some(id))?;
            instructions::add_flag(
                tx,
                &OfficerFlag {
                    parcel_id: Some(id),
                    logistics_no: None,
                    officer: "officer.li",
                    reason: "dense object",
                },
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let timeline = events(&store, id).await;
    let times: Vec<&str> = timeline.iter().map(|(at, _)| at.as_str()).collect();
    assert!(times.is_sorted(), "{timeline:?}");
    let mut kinds: Vec<&str> = timeline.iter().map(|(_, k)| *k).collect();
    // The alarm and the flag are stamped with the clock, after the rest, maybe at one instant.
    kinds[8..].sort_unstable();
    assert_eq!(
        kinds,
        [
            "instruction",
            "entered",
            "reading",
            "scan",
            "decision",
            "command_written",
            "command_acked",
            "drop",
            "alarm",
            "flag"
        ]
    );
    let d = store
        .reader
        .read(move |c| detail(c, id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.measured_weight_kg, Some(1.25));
    assert_eq!(d.weight_stable, Some(true));
    let list = d.declaration.expect("the list of SF002");
    assert_eq!(list.order_no.as_deref(), Some("ORD-2"));
    assert_eq!(list.goods.len(), 1);
    assert_eq!(list.goods[0].item_name, "棉制T恤");
    assert_eq!(d.instructions.len(), 1);
    assert!(d.instructions[0].standing);
    assert_eq!(d.flags.len(), 1);
    let drop = d.timeline.iter().find(|e| e.kind == "drop").unwrap();
    assert_eq!(drop.detail["mismatch"], true);
    assert_eq!(drop.detail["dropped_lane"], 3);
    assert_eq!(drop.detail["decided_lane"], 2);
    let decision = d.timeline.iter().find(|e| e.kind == "decision").unwrap();
    assert_eq!(decision.detail["lane_kind"], "inspection");
    // Another parcel's events stay out of it.
    let other: Vec<&str> = events(&store, ids[0])
        .await
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(other, ["entered", "decision"]);
}

#[tokio::test]
async fn an_unknown_parcel_has_no_detail() {
    let (_dir, store, _) = seeded().await;
    assert!(
        store
            .reader
            .read(|c| detail(c, 9999))
            .await
            .unwrap()
            .is_none()
    );
}
