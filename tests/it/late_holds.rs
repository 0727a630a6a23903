//! A hold wins whenever it comes (brief, rule 5), against the simulated line's ground
//! truth: the lane each parcel physically fell into, and whether its lane was changed by a
//! later command. The line decides at its deadline, 500 ms of belt before the diverter (the
//! issue's case: a status change 11 ms after the release command, 486 ms before the
//! diverter); each test sends a hold at one edge of that window.

use crate::common;

use std::time::Duration;

use common::{Site, list, start_site};
use customs_edge::store::downlink::apply;
use customs_edge_protocol::downlink::{self as wire, Downlink};
use serde_json::{Value, json};

const RELEASE: u16 = 1;
const INSPECTION: u16 = 2;
const EXCEPTION: u16 = 3;
/// Photo-eye to diverter at the simulator's belt speed (3000 mm at 500 mm/s).
const TO_DIVERTER: Duration = Duration::from_secs(6);

/// The controller's record id of the parcel the simulator calls `sim_id`, once it entered.
async fn record_of(site: &Site, sim_id: u64) -> i64 {
    let tracking_no = common::wait_for("the parcel to enter", Duration::from_secs(30), || async {
        site.report().await.parcel(sim_id)?.tracking_no
    })
    .await;
    common::wait_for(
        "the controller's record",
        Duration::from_secs(30),
        || async {
            site.query(&format!(
                "SELECT id FROM parcels WHERE tracking_no = {tracking_no} ORDER BY id DESC LIMIT 1"
            ))
            .first()
            .and_then(|r| r[0].as_i64())
        },
    )
    .await
}

/// Wait, looking every 2 ms, until parcel `id` is decided: as close to the decision as
/// a test can be.
async fn decided(site: &Site, id: i64) -> String {
    let started = std::time::Instant::now();
    loop {
        let row = site.query(&format!(
            "SELECT lane_kind, command_written_at FROM parcels WHERE id = {id}"
        ));
        if let (Some(kind), true) = (row[0][0].as_str(), row[0][1].is_string()) {
            return kind.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "parcel {id} never decided"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Apply a downlink message as the platform link does (one transaction, once per id).
async fn downlink(site: &Site, id: &str, message: Downlink) {
    let id = id.to_owned();
    site.controller
        .store
        .writer
        .write(move |tx| apply(tx, &id, &message))
        .await
        .expect("applied");
}

fn status(waybill: &str, status: i32) -> Downlink {
    Downlink::ListStatus(wire::ListStatus {
        updates: vec![wire::StatusUpdate {
            logistics_no: waybill.into(),
            return_status: status,
            return_info: Some("查验".into()),
        }],
    })
}

fn instruction(waybill: &str, action: &str) -> Downlink {
    Downlink::Instructions(wire::Instructions {
        instructions: vec![wire::Instruction {
            logistics_no: waybill.into(),
            action: action.into(),
            reason: Some("布控".into()),
            issued_at: customs_edge::store::now(),
        }],
    })
}

/// A client logged in as a customs officer (created by the site's administrator).
async fn officer(site: &Site) -> reqwest::Client {
    let res = site
        .http
        .post(format!("http://{}/api/accounts", site.controller.web_addr))
        .json(&json!({"username": "officer.li", "role": "officer", "password": "officer.li-pass-2026"}))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "{}",
        res.text().await.unwrap_or_default()
    );
    common::login_client(
        site.controller.web_addr,
        "officer.li",
        "officer.li-pass-2026",
    )
    .await
}

async fn flag(site: &Site, officer: &reqwest::Client, id: i64) -> Value {
    let res = officer
        .post(format!(
            "http://{}/api/parcels/{id}/flag",
            site.controller.web_addr
        ))
        .json(&json!({"reason": "X光图像可疑：疑似电池"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn one(site: &Site, sql: &str) -> Value {
    site.query(sql)
        .first()
        .map_or(Value::Null, |r| r[0].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_10_ms_after_the_release_decision_sends_the_parcel_to_inspection() {
    let site = start_site(vec![list("SF8100000001", 800)]).await;
    let sim_id = site.inject(Some("SF8100000001")).await;
    let id = record_of(&site, sim_id).await;
    assert_eq!(
        decided(&site, id).await,
        "release",
        "the premise: released first"
    );
    downlink(&site, "m-status-1", status("SF8100000001", 500)).await;

    let report = site.wait_dropped(&[sim_id]).await;
    let truth = report.parcel(sim_id).unwrap();
    assert_eq!(truth.lane, Some(INSPECTION), "ground truth: {truth:?}");
    assert_eq!(
        (truth.first_commanded_lane, truth.lane_changes),
        (Some(RELEASE), 1),
        "commanded again for the same tracking number"
    );
    // The hold came within a few polls of the decision, well before the diverter.
    let gap = site.query(&format!(
        "SELECT (julianday(h.at) - julianday(p.decided_at)) * 86400000 FROM late_holds h
         JOIN parcels p ON p.id = h.parcel_id WHERE h.parcel_id = {id}"
    ));
    let gap_ms = gap[0][0].as_f64().unwrap();
    assert!(
        gap_ms < 250.0,
        "the hold came {gap_ms} ms after the decision"
    );
    // The decision is revised, both versions and the reason kept.
    let revision = site.query(&format!(
        "SELECT cause, old_lane_kind, new_lane_kind, new_reasons FROM decision_revisions WHERE parcel_id = {id}"
    ));
    assert_eq!(revision[0][0], "status:500");
    assert_eq!(
        (&revision[0][1], &revision[0][2]),
        (&json!("release"), &json!("inspection"))
    );
    assert!(
        revision[0][3]
            .as_str()
            .unwrap()
            .contains("status_inspection"),
        "{revision:?}"
    );
    assert_eq!(
        one(
            &site,
            &format!("SELECT lane_kind FROM parcels WHERE id = {id}")
        ),
        "inspection"
    );
    common::wait_for("the hold settled", Duration::from_secs(10), || async {
        (one(
            &site,
            &format!("SELECT outcome FROM late_holds WHERE parcel_id = {id}"),
        ) == "recommanded")
            .then_some(())
    })
    .await;
    assert_eq!(one(&site, "SELECT count(*) FROM interceptions"), 0);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_flag_right_after_the_decision_is_answered_as_commanded_again() {
    let site = start_site(vec![list("SF8100000002", 800)]).await;
    let officer = officer(&site).await;
    let sim_id = site.inject(Some("SF8100000002")).await;
    let id = record_of(&site, sim_id).await;
    assert_eq!(decided(&site, id).await, "release");
    let answer = flag(&site, &officer, id).await;
    assert_eq!(answer["late"]["outcome"], "recommanded", "{answer}");
    assert!(
        answer["late"]["message"]
            .as_str()
            .unwrap()
            .contains("inspection lane"),
        "{answer}"
    );
    let report = site.wait_dropped(&[sim_id]).await;
    let truth = report.parcel(sim_id).unwrap();
    assert_eq!((truth.lane, truth.lane_changes), (Some(INSPECTION), 1));
    let audited = site.query("SELECT count(*) FROM audit_log WHERE action = 'flag_for_inspection'");
    assert_eq!(audited[0][0], 1);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_instruction_just_before_the_diverter_is_either_commanded_again_or_intercepted() {
    let site = start_site(vec![list("SF8100000003", 800)]).await;
    let sim_id = site.inject(Some("SF8100000003")).await;
    let id = record_of(&site, sim_id).await;
    assert_eq!(decided(&site, id).await, "release");
    // 150 ms of belt before the diverter, by the simulator's own clock of its entry.
    let entered = site
        .report()
        .await
        .parcel(sim_id)
        .unwrap()
        .entered_at
        .unwrap();
    let at = entered
        + chrono::Duration::from_std(TO_DIVERTER.saturating_sub(Duration::from_millis(150)))
            .unwrap();
    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    downlink(&site, "m-hold-3", instruction("SF8100000003", "hold")).await;

    let report = site.wait_dropped(&[sim_id]).await;
    let truth = report.parcel(sim_id).unwrap();
    let outcome = common::wait_for("the hold settled", Duration::from_secs(10), || async {
        let o = one(
            &site,
            &format!("SELECT outcome FROM late_holds WHERE parcel_id = {id}"),
        );
        o.as_str().map(str::to_owned)
    })
    .await;
    // Whichever the timing allowed, the records agree with where it physically fell.
    match truth.lane {
        Some(EXCEPTION) => {
            assert_eq!(outcome, "recommanded");
            assert_eq!(truth.lane_changes, 1);
            assert_eq!(one(&site, "SELECT count(*) FROM interceptions"), 0);
        }
        Some(RELEASE) => {
            assert_eq!(outcome, "intercepted");
            let cause = one(
                &site,
                &format!("SELECT cause FROM interceptions WHERE parcel_id = {id}"),
            );
            assert_eq!(cause, "instruction:hold");
        }
        other => panic!("fell into {other:?}"),
    }
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_just_after_the_drop_opens_an_interception_until_the_retrieval_is_recorded() {
    let site = start_site(vec![list("SF8100000004", 800)]).await;
    let officer = officer(&site).await;
    let sim_id = site.inject(Some("SF8100000004")).await;
    let id = record_of(&site, sim_id).await;
    // Just after it fell (the simulator says so; the controller may not have polled yet).
    let report = site.wait_dropped(&[sim_id]).await;
    assert_eq!(report.parcel(sim_id).unwrap().lane, Some(RELEASE));
    let answer = flag(&site, &officer, id).await;
    let late = &answer["late"];
    assert_eq!(late["outcome"], "intercepted", "{answer}");
    let message = late["message"].as_str().unwrap();
    assert!(
        message.contains("too late") && message.contains("release lane 1"),
        "{message}"
    );
    let interception = &late["interception"];
    assert_eq!(interception["parcel_id"], id);
    assert_eq!(interception["logistics_no"], "SF8100000004");
    assert_eq!(
        (&interception["line_id"], &interception["lane"]),
        (&json!("L1"), &json!(1))
    );
    let bag = interception["bag_id"]
        .as_i64()
        .expect("the bag it went into");
    assert!(interception["dropped_at"].is_string());

    // An alarm on the line, the list of open interceptions, the bag marked.
    let web = site.controller.web_addr;
    let alarms = site.query(&format!(
        "SELECT source, detail FROM alarms WHERE kind = 'interception' AND parcel_id = {id} AND cleared_at IS NULL"
    ));
    assert_eq!(alarms[0][0], "line:L1");
    assert!(alarms[0][1].as_str().unwrap().contains("SF8100000004"));
    let open: Value = site
        .http
        .get(format!("http://{web}/api/interceptions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    let bags: Value = site
        .http
        .get(format!("http://{web}/api/bags"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let marked = bags
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == bag)
        .unwrap();
    assert_eq!(marked["open_interceptions"], 1);

    // A retrieval with another parcel's label is refused, nothing changes; the right one
    // clears the alarm and the mark.
    let retrieval = format!(
        "http://{web}/api/interceptions/{}/retrieval",
        interception["id"]
    );
    let wrong = site
        .http
        .post(&retrieval)
        .json(&json!({"scan": "SF0000000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 409);
    let body: Value = wrong.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("SF0000000000"),
        "{body}"
    );
    assert_eq!(
        one(
            &site,
            "SELECT count(*) FROM interceptions WHERE retrieved_at IS NULL"
        ),
        1
    );
    let right = site
        .http
        .post(&retrieval)
        .json(&json!({"scan": "SF8100000004"}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert_eq!(
        one(
            &site,
            &format!(
                "SELECT count(*) FROM alarms WHERE kind = 'interception' AND parcel_id = {id} AND cleared_at IS NULL"
            )
        ),
        0
    );
    let bag_now: Value = site
        .http
        .get(format!("http://{web}/api/bags/{bag}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bag_now["bag"]["open_interceptions"], 0);
    assert_eq!(
        one(
            &site,
            "SELECT count(*) FROM audit_log WHERE action = 'record_retrieval'"
        ),
        1
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_after_the_drop_intercepts_the_parcel_in_its_bag() {
    let site = start_site(vec![list("SF8100000005", 800), list("SF8100000006", 800)]).await;
    let a = site.inject(Some("SF8100000005")).await;
    let b = site.inject(Some("SF8100000006")).await;
    let report = site.wait_dropped(&[a, b]).await;
    assert_eq!(report.parcel(a).unwrap().lane, Some(RELEASE));
    let id = record_of(&site, a).await;
    common::wait_for("both in the bag", Duration::from_secs(10), || async {
        (one(
            &site,
            "SELECT count(*) FROM parcels WHERE bag_id IS NOT NULL",
        ) == 2)
            .then_some(())
    })
    .await;
    downlink(&site, "m-status-5", status("SF8100000005", 500)).await;
    let row = site.query(&format!(
        "SELECT i.cause, i.lane, b.id FROM interceptions i JOIN bags b ON b.id = i.bag_id WHERE i.parcel_id = {id}"
    ));
    assert_eq!(row[0][0], "status:500");
    assert_eq!(row[0][1], 1);
    // The bag closes with its number and both parcels; it stays marked.
    let web = site.controller.web_addr;
    let closed = site
        .http
        .post(format!("http://{web}/api/bags/close"))
        .json(&json!({"line": "L1", "lane": 1, "bag_no": "ZB3511000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(
        (&closed["parcels"], &closed["open_interceptions"]),
        (&json!(2), &json!(1))
    );
    let again = site
        .http
        .post(format!("http://{web}/api/bags/close"))
        .json(&json!({"line": "L1", "lane": 1, "bag_no": "ZB3511000002"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "no open bag left on the lane");
    site.stop().await;
}

/// The platform's side, over a real Mosquitto: status changes come down as `list_status`,
/// and the revised decision, the interception (opened, retrieved), its alarm and the bag
/// go up, each once, in order, fitting their schemas (the platform simulator checks them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_come_down_from_the_platform_and_their_effects_go_up_valid() {
    use common::platform::{
        SITE, platform_config, start_platform, validate_everything_applied, wait_ledger,
    };
    use customs_edge_protocol::downlink::StatusUpdate;
    use customs_edge_simulators::broker::Broker;

    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let cfg = platform_config(&broker, "");
    let site = common::start_site_with(
        vec![list("SF8300000001", 800), list("SF8300000002", 800)],
        |c| c.platform = Some(cfg),
    )
    .await;
    let hold = |waybill: &str| {
        vec![StatusUpdate {
            logistics_no: waybill.into(),
            return_status: 500,
            return_info: Some("查验".into()),
        }]
    };
    // One held right after its decision (commanded again), one after its drop
    // (intercepted).
    let first = site.inject(Some("SF8300000001")).await;
    let id = record_of(&site, first).await;
    assert_eq!(decided(&site, id).await, "release");
    platform
        .publish_list_status(SITE, hold("SF8300000001"))
        .await
        .unwrap();
    let second = site.inject(Some("SF8300000002")).await;
    let report = site.wait_dropped(&[first, second]).await;
    assert_eq!(report.parcel(first).unwrap().lane, Some(INSPECTION));
    assert_eq!(report.parcel(second).unwrap().lane, Some(RELEASE));
    platform
        .publish_list_status(SITE, hold("SF8300000002"))
        .await
        .unwrap();
    let interception = common::wait_for("the interception", Duration::from_secs(30), || async {
        site.query("SELECT id FROM interceptions")
            .first()
            .and_then(|r| r[0].as_i64())
    })
    .await;
    let web = site.controller.web_addr;
    let res = site
        .http
        .post(format!(
            "http://{web}/api/interceptions/{interception}/retrieval"
        ))
        .json(&json!({"scan": "SF8300000002"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = site
        .http
        .post(format!("http://{web}/api/bags/close"))
        .json(&json!({"line": "L1", "lane": 1, "bag_no": "ZB8300000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let kinds = |l: &customs_edge_simulators::platform::Ledger| {
        l.stream(SITE, "decisions")
            .map(|s| s.kinds.clone())
            .unwrap_or_default()
    };
    let l = wait_ledger(
        &platform,
        "the revision, the interception and the bag",
        Duration::from_secs(60),
        |l| {
            let k = kinds(l);
            k.get("decision_revised") == Some(&1)
                && k.get("interception") == Some(&2)
                && k.get("bag") == Some(&1)
        },
    )
    .await;
    assert_eq!(l.totals.invalid, 0, "{:?}", l.problems);
    assert_eq!(l.totals.applied_twice, 0, "{:?}", l.doubles);
    validate_everything_applied(&platform);
    let applied = platform.applied(SITE, "decisions");
    let states: Vec<&str> = applied
        .iter()
        .filter(|m| m.kind == "interception")
        .map(|m| m.body["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["opened", "retrieved"]);
    let revised = applied
        .iter()
        .find(|m| m.kind == "decision_revised")
        .unwrap();
    assert_eq!(
        (
            &revised.body["old_lane_kind"],
            &revised.body["new_lane_kind"]
        ),
        (&json!("release"), &json!("inspection"))
    );
    let bag = applied.iter().find(|m| m.kind == "bag").unwrap();
    assert_eq!(bag.body["parcels"].as_array().unwrap().len(), 1);
    let alarms: Vec<(String, String)> = platform
        .applied(SITE, "health")
        .iter()
        .filter(|m| m.kind == "alarm" && m.body["alarm"] == "interception")
        .map(|m| {
            (
                m.body["state"].as_str().unwrap().to_owned(),
                m.body["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(alarms.len(), 2, "raised and cleared: {alarms:?}");
    assert!(alarms[0].1.contains("SF8300000002"));

    // The platform applies them: its view of the site's holds and bags, and the permit it
    // issues for a truck carrying the bag names the bag and what is still in it.
    let custody = platform.custody(SITE);
    assert!(custody.revised.contains("SF8300000001"), "{custody:?}");
    assert!(custody.retrieved.contains("SF8300000002"), "{custody:?}");
    assert!(custody.intercepted.is_empty(), "{custody:?}");
    assert_eq!(custody.bags["ZB8300000001"], Vec::<String>::new());
    assert!(
        platform
            .permit_for_bags(SITE, "HF8301", "闽G83001", 20_000.0, &["ZB-NOT-HERE"])
            .is_err(),
        "no permit for a bag the site never closed"
    );
    let permit = platform
        .issue_permit_for_bags(SITE, "HF8300", "闽G83000", 20_000.0, &["ZB8300000001"])
        .await
        .unwrap();
    assert_eq!(permit.items.len(), 1);
    common::wait_for(
        "the issued permit with its items at the site",
        Duration::from_secs(30),
        || async {
            (one(
                &site,
                "SELECT count(*) FROM exit_permit_items WHERE total_package_no = 'ZB8300000001'",
            ) == 1)
                .then_some(())
        },
    )
    .await;
    site.stop().await;
}
