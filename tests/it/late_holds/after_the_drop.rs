//! Holds that come after the parcel dropped into the release lane: an interception, its
//! alarm and bag, until the retrieval is recorded.

use super::*;

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
