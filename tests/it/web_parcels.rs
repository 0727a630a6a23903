//! The parcel API against the real server and the simulated line: search by every number,
//! by time and page by page; bad parameters named; one parcel's timeline from entry to
//! drop; an officer's inspection result in the detail and the audit log, and nobody else's.

use crate::common;
mod support;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use common::{start_full_site, start_site, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    account, count, get, invt_no, numbered_list, order_no, post, sorted, waybill, waybills,
};

const SEARCH: &str = "/api/parcels/search";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parcels_are_found_by_every_number_by_entry_time_and_page_by_page() {
    let site = start_site((1..=5).map(numbered_list).collect()).await;
    let admin = &site.http;

    // The first parcel, then a moment, then four more.
    site.inject(Some(&waybill(1))).await;
    let first = sorted(&site, &waybill(1)).await;
    let entered: DateTime<Utc> = first["entered_at"].as_str().unwrap().parse().unwrap();
    let between = entered + TimeDelta::milliseconds(1);
    wait_for(
        "the clock to pass the first entry",
        Duration::from_secs(5),
        || async { (Utc::now() > between).then_some(()) },
    )
    .await;
    for n in 2..=5 {
        site.inject(Some(&waybill(n))).await;
    }
    for n in 2..=5 {
        sorted(&site, &waybill(n)).await;
    }
    let on = &site;
    let search = |query: Vec<(&'static str, String)>| async move {
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, page) = get(admin, on, SEARCH, &query).await;
        assert_eq!(status, StatusCode::OK, "{query:?}: {page}");
        page
    };

    // By waybill: the hit carries the head of its declaration list.
    let page = search(vec![("waybill", waybill(3))]).await;
    assert_eq!(waybills(&page), [waybill(3)]);
    let hit = &page["parcels"][0];
    assert_eq!(hit["order_no"], order_no(3));
    assert_eq!(hit["invt_no"], invt_no(3));
    assert_eq!(hit["trade_mode"], "9610");
    assert_eq!(hit["country"], "MYS");
    assert_eq!(hit["lane_kind"], "release");
    assert_eq!(page["next_before_id"], Value::Null);
    // By order number and by list number, in their own parameters or in `q`.
    assert_eq!(
        waybills(&search(vec![("order_no", order_no(4))]).await),
        [waybill(4)]
    );
    assert_eq!(
        waybills(&search(vec![("q", order_no(4))]).await),
        [waybill(4)]
    );
    assert_eq!(
        waybills(&search(vec![("invt_no", invt_no(2))]).await),
        [waybill(2)]
    );
    assert_eq!(
        waybills(&search(vec![("q", invt_no(2))]).await),
        [waybill(2)]
    );
    assert_eq!(
        waybills(&search(vec![("q", waybill(5))]).await),
        [waybill(5)]
    );
    // A prefix finds them all, newest first; an exact parameter does not take prefixes.
    let all: Vec<String> = (1..=5).rev().map(waybill).collect();
    assert_eq!(
        waybills(&search(vec![("q", "SF3500000001".into())]).await),
        all
    );
    assert!(waybills(&search(vec![("waybill", "SF3500000001".into())]).await).is_empty());
    assert!(waybills(&search(vec![("q", "YT".into())]).await).is_empty());

    // By entry time, in Beijing time: from is inclusive, to exclusive.
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    let cut = between.with_timezone(&beijing).to_rfc3339();
    assert!(cut.ends_with("+08:00"), "{cut}");
    let later = search(vec![("from", cut.clone())]).await;
    assert_eq!(waybills(&later), all[..4]);
    let earlier = search(vec![("to", cut.clone())]).await;
    assert_eq!(waybills(&earlier), [waybill(1)]);
    let none = search(vec![("from", cut.clone()), ("to", cut)]).await;
    assert!(waybills(&none).is_empty());

    // Page by page: two at a time, no gaps, no repeats, the last page says so.
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    for page_no in 1.. {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(b) = before {
            query.push(("before_id", b.to_string()));
        }
        let page = search(query).await;
        seen.extend(waybills(&page));
        let Some(next) = page["next_before_id"].as_i64() else {
            assert_eq!(page_no, 3, "2 + 2 + 1");
            break;
        };
        before = Some(next);
    }
    assert_eq!(seen, all);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_that_cannot_be_read_is_refused_by_name() {
    let site = start_site(Vec::new()).await;
    for (query, parameter) in [
        (vec![("from", "yesterday")], "from"),
        (vec![("to", "2026-11-27 08:00")], "to"),
        (
            vec![
                ("from", "2026-11-27T10:00:00Z"),
                ("to", "2026-11-27T09:00:00Z"),
            ],
            "from",
        ),
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "501")], "limit"),
        (vec![("before_id", "newest")], "before_id"),
        (vec![("lane_kind", "chute")], "lane_kind"),
        (vec![("waybil", "SF1")], "waybil"),
    ] {
        let (status, body) = get(&site.http, &site, SEARCH, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}: {body}");
        assert_eq!(body["parameter"], parameter, "{query:?}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(parameter),
            "the message names {parameter}: {body}"
        );
    }
    let (status, body) = get(&site.http, &site, "/api/parcels/424242", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "no parcel 424242");

    // The three routes are in the served API document, with their parameters.
    let (_, doc) = get(&site.http, &site, "/api/openapi.json", &[]).await;
    let paths = &doc["paths"];
    let params: Vec<&str> = paths[SEARCH]["get"]["parameters"]
        .as_array()
        .expect("the search's parameters")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "q",
        "waybill",
        "order_no",
        "invt_no",
        "from",
        "to",
        "lane_kind",
        "limit",
        "before_id",
    ] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
    assert!(paths["/api/parcels/{id}"]["get"].is_object(), "{paths}");
    assert!(
        paths["/api/parcels/{id}/inspection"]["post"].is_object(),
        "{paths}"
    );
    site.stop().await;
}

/// The kinds of a timeline, in its order.
fn kinds(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_reads_the_whole_story_and_records_what_the_inspection_found() {
    let site = start_full_site(vec![numbered_list(1)]).await;
    site.inject_json(json!({ "code": waybill(1), "weight_kg": 1.0 }))
        .await;
    let hit = sorted(&site, &waybill(1)).await;
    let id = hit["id"].as_i64().unwrap();
    let path = format!("/api/parcels/{id}");

    // The detail: the parcel, its list and goods, the weight, the views, every event.
    let officer = account(&site, "officer.lin", "officer").await;
    let (status, detail) = get(&officer, &site, &path, &[]).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["parcel"]["logistics_no"], waybill(1));
    assert_eq!(detail["declaration"]["order_no"], order_no(1));
    assert_eq!(detail["declaration"]["return_status"], 800);
    assert_eq!(detail["declaration"]["goods"][0]["item_name"], "棉制T恤");
    assert!(detail["measured_weight_kg"].as_f64().is_some(), "{detail}");
    let views = detail["evidence"].as_array().unwrap();
    assert!(
        views.iter().any(|e| e["kind"] == "xray_view"),
        "the X-ray views: {views:?}"
    );
    let order = kinds(&detail);
    let at = |kind: &str| {
        order
            .iter()
            .position(|k| k == kind)
            .unwrap_or_else(|| panic!("no {kind} in {order:?}"))
    };
    assert!(at("entered") < at("scan"), "{order:?}");
    assert!(at("scan") < at("decision"), "{order:?}");
    assert!(at("reading") < at("decision"), "{order:?}");
    assert!(at("evidence") < at("drop"), "{order:?}");
    assert!(at("decision") < at("command_written"), "{order:?}");
    assert!(at("command_written") < at("drop"), "{order:?}");
    let times: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(times.is_sorted(), "in time order: {times:?}");
    let drop = &detail["timeline"][at("drop")];
    assert_eq!(drop["detail"]["outcome"], "sorted");
    assert_eq!(drop["detail"]["dropped_lane"], 1);

    // Refused input writes nothing.
    let inspection = format!("{path}/inspection");
    for (body, parameter) in [
        (
            json!({ "result": "fine", "findings": "as declared" }),
            "result",
        ),
        (
            json!({ "result": "conform", "findings": " x " }),
            "findings",
        ),
        (json!({ "result": "conform" }), "findings"),
        (
            json!({ "result": "conform", "findings": "查".repeat(2001) }),
            "findings",
        ),
    ] {
        let (status, answer) = post(&officer, &site, &inspection, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["parameter"], parameter, "{answer}");
    }
    let (status, _) = post(
        &officer,
        &site,
        "/api/parcels/424242/inspection",
        &json!({ "result": "conform", "findings": "as declared" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(count(&site, "SELECT count(*) FROM inspection_results"), 0);

    // The result, kept and shown.
    let findings = "3 件T恤，申报 2 件 (three shirts, two declared)";
    let (status, kept) = post(
        &officer,
        &site,
        &inspection,
        &json!({ "result": "discrepancy", "findings": format!("  {findings} ") }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    assert_eq!(kept["result"], "discrepancy");
    assert_eq!(kept["findings"], findings);
    assert_eq!(kept["officer"], "officer.lin");
    let (_, detail) = get(&site.http, &site, &path, &[]).await;
    assert_eq!(detail["inspections"], json!([kept]));
    let last = detail["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "inspection", "{last}");
    assert_eq!(last["detail"]["result"], "discrepancy");

    // In the audit log, whose chain still verifies.
    let audited = site
        .query("SELECT actor, subject, detail FROM audit_log WHERE action = 'inspection_result'");
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0][0], "officer.lin");
    assert_eq!(audited[0][1], format!("parcel:{id}"));
    assert!(audited[0][2].as_str().unwrap().contains("discrepancy"));
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["audit", "verify", "--data"])
        .arg(site.data.path())
        .output()
        .expect("run customs-edge audit verify");
    assert!(
        verify.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_officer_with_the_csrf_token_records_a_result() {
    let site = start_site(vec![numbered_list(1)]).await;
    site.inject(Some(&waybill(1))).await;
    let id = sorted(&site, &waybill(1)).await["id"].as_i64().unwrap();
    let inspection = format!("/api/parcels/{id}/inspection");
    let body = json!({ "result": "conform", "findings": "as declared" });

    let operator = account(&site, "op.wu", "operator").await;
    let viewer = account(&site, "screen.1", "viewer").await;
    for (who, http) in [
        ("an operator", &operator),
        ("a viewer", &viewer),
        ("an administrator", &site.http),
    ] {
        let (status, answer) = post(http, &site, &inspection, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {answer}");
        // Everyone may read the parcel.
        assert_eq!(
            get(http, &site, &format!("/api/parcels/{id}"), &[]).await.0,
            StatusCode::OK
        );
    }

    // An officer's own session, without its CSRF token.
    account(&site, "officer.lin", "officer").await;
    let cookies = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = post(
        &cookies,
        &site,
        "/api/login",
        &json!({ "username": "officer.lin", "password": "officer.lin-pass-2026" }),
    )
    .await;
    assert_eq!(login.0, StatusCode::OK, "{}", login.1);
    let (status, answer) = post(&cookies, &site, &inspection, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["csrf"], "missing");

    assert_eq!(count(&site, "SELECT count(*) FROM inspection_results"), 0);
    assert_eq!(
        count(
            &site,
            "SELECT count(*) FROM audit_log WHERE action = 'inspection_result'"
        ),
        0
    );
    // With the token, the same officer may.
    let csrf = login.1["csrf"].as_str().unwrap();
    let res = cookies
        .post(format!("{}{inspection}", support::base(&site)))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(count(&site, "SELECT count(*) FROM inspection_results"), 1);
    site.stop().await;
}
