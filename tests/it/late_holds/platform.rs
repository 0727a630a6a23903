//! Holds from the platform over a real Mosquitto, and what goes back up.

use super::*;

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
