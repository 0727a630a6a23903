//! The sorting line as the consoles see it: `GET /api/lines` (belt and lane counts), the
//! officer's judging view (`GET /api/judging`) and the live event stream (`/api/events`).
//! The lane a parcel really fell into is the simulator's word, not the controller's.

use crate::common;

use std::time::Duration;

use common::{login_client, start_full_site, wait_for};
use customs_edge::manifest::DeclarationList;
use serde_json::{Value, json};

/// A released list with goods: left alone, its parcel goes to the release lane.
fn list_with_goods(waybill: &str) -> DeclarationList {
    DeclarationList::from_json_line(&format!(
        r#"{{"logisticsNo":"{waybill}","returnStatus":800,"grossWeight":1.0,"ebcCode":"3511900001",
        "ebcName":"三明跨境电商有限公司","tradeMode":"9610","country":"MYS","orderNo":"ORD-77","invtNo":"35112026E000000777",
        "goods":[{{"gnum":1,"itemName":"蓝牙耳机","gcode":"8518300000","qty":2,"unit":"011","totalPrice":59.8,"currency":"142"}}]}}"#
    ))
    .expect("valid test list")
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let res = http.get(url).send().await.expect("GET");
    assert!(res.status().is_success(), "GET {url}: {}", res.status());
    res.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_judges_the_parcel_the_console_shows_and_the_flag_sends_it_to_inspection() {
    let site = start_full_site(vec![list_with_goods("SF7100000001")]).await;
    let web = site.controller.web_addr;
    let created = site
        .http
        .post(format!("http://{web}/api/accounts"))
        .json(&json!({"username": "officer.lin", "role": "officer", "password": "officer-lin-pass-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let officer = login_client(web, "officer.lin", "officer-lin-pass-2026").await;

    let sim_id = site
        .inject_json(json!({"code": "SF7100000001", "weight_kg": 1.0}))
        .await;
    // The judging view shows the parcel once its X-ray views are in, with time left.
    let judging_url = format!("http://{web}/api/judging?line=L1");
    let judged = wait_for(
        "the parcel in the judging view",
        Duration::from_secs(30),
        || async {
            let j = get_json(&officer, &judging_url).await;
            let p = &j["parcel"];
            (p["logistics_no"] == "SF7100000001"
                && p["xray_views"].as_array().is_some_and(|v| v.len() == 2))
            .then(|| j.clone())
        },
    )
    .await;
    let parcel = &judged["parcel"];
    assert_eq!(judged["line_id"], "L1");
    assert!(
        parcel["deadline_in_ms"].as_u64().is_some(),
        "a countdown: {parcel}"
    );
    assert!(
        parcel["deadline_at"]
            .as_str()
            .is_some_and(|t| t > judged["now"].as_str().unwrap())
    );
    assert_eq!(parcel["flagged"], false);
    assert_eq!(parcel["declared_weight_kg"], 1.0);
    assert_eq!(parcel["declaration"]["trade_mode"], "9610");
    assert_eq!(parcel["declaration"]["country"], "MYS");
    assert_eq!(parcel["declaration"]["goods"][0]["item_name"], "蓝牙耳机");
    assert_eq!(parcel["declaration"]["goods"][0]["gcode"], "8518300000");
    // Each X-ray view shown is served.
    for sha in parcel["xray_views"].as_array().unwrap() {
        let res = officer
            .get(format!(
                "http://{web}/api/evidence/{}",
                sha.as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    let id = parcel["id"].as_i64().unwrap();
    let flagged = officer
        .post(format!("http://{web}/api/parcels/{id}/flag"))
        .json(&json!({"reason": "图像可疑"}))
        .send()
        .await
        .unwrap();
    assert_eq!(flagged.status(), 200);
    let report = site.wait_dropped(&[sim_id]).await;
    assert_eq!(
        report.parcel(sim_id).unwrap().lane,
        Some(2),
        "flagged from the judging view before its deadline: the inspection lane; judged {judged}, parcel {:?}, flags {:?}",
        site.query(&format!(
            "SELECT decided_at, reasons, lane FROM parcels WHERE id = {id}"
        )),
        site.query("SELECT parcel_id, at FROM officer_flags"),
    );
    // The line's counts since midnight Beijing time count it.
    let lines = get_json(&officer, &format!("http://{web}/api/lines")).await;
    assert_eq!(lines[0]["line_id"], "L1");
    assert_eq!(lines[0]["counts"]["inspection"], 1);
    assert_eq!(lines[0]["counts"]["release"], 0);
    site.stop().await;
}

/// Read server-sent events from `res` until `want` accepts one; returns (name, data).
async fn next_event(
    res: &mut reqwest::Response,
    buf: &mut String,
    want: impl Fn(&str, &Value) -> bool,
) -> (String, Value) {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut name = "message".to_owned();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    n.trim().clone_into(&mut name);
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            if want(&name, &value) {
                return (name, value);
            }
        }
        let chunk = res
            .chunk()
            .await
            .expect("the stream reads")
            .expect("the stream stays open");
        buf.push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_sends_the_belt_at_once_then_the_parcel_moving_and_its_decision() {
    let site = start_full_site(vec![list_with_goods("SF7100000002")]).await;
    let url = format!("http://{}/api/events", site.controller.web_addr);
    let mut res = site.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let limit = Duration::from_secs(30);

    // A console that just connected gets the belt without waiting for a change.
    let (_, belt) = tokio::time::timeout(
        limit,
        next_event(&mut res, &mut buf, |name, _| name == "line"),
    )
    .await
    .expect("a line event at connect");
    assert_eq!(belt["line_id"], "L1");
    assert_eq!(belt["diverter_at_mm"], 3000.0);

    let sim_id = site
        .inject_json(json!({"code": "SF7100000002", "weight_kg": 1.0}))
        .await;
    // The parcel shows on the belt, moving, with its time left.
    let (_, moving) = tokio::time::timeout(
        limit,
        next_event(&mut res, &mut buf, |name, v| {
            name == "line"
                && v["parcels"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["position_mm"].as_f64() > Some(100.0)))
        }),
    )
    .await
    .expect("the parcel on the belt");
    let on_belt = &moving["parcels"][0];
    assert!(on_belt["deadline_in_ms"].as_u64().is_some(), "{on_belt}");
    // Its decision arrives as a parcel event, as committed.
    let (_, decided) = tokio::time::timeout(
        limit,
        next_event(&mut res, &mut buf, |name, v| {
            name == "parcel" && v["logistics_no"] == "SF7100000002" && v["lane_kind"].is_string()
        }),
    )
    .await
    .expect("the parcel's decision");
    assert_eq!(decided["lane_kind"], "release");
    assert_eq!(decided["reasons"], json!(["released"]));
    let report = site.wait_dropped(&[sim_id]).await;
    assert_eq!(report.parcel(sim_id).unwrap().lane, Some(1));
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judging_an_unknown_line_is_a_clear_404() {
    let site = start_full_site(Vec::new()).await;
    let res = site
        .http
        .get(format!(
            "http://{}/api/judging?line=NOPE",
            site.controller.web_addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "no sorting line \"NOPE\"");
    // With nothing on the belt there is nothing to judge, and that is not an error.
    let idle = get_json(
        &site.http,
        &format!("http://{}/api/judging", site.controller.web_addr),
    )
    .await;
    assert_eq!(idle["parcel"], Value::Null);
    assert_eq!(idle["waiting"], json!([]));
    site.stop().await;
}
