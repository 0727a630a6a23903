//! The controller against the simulated line over real sockets: the simulator's ground
//! truth (which lane each parcel physically fell into) is what these tests assert.

mod common;

use common::{list, start_site};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_unknown_and_held_waybills_land_in_the_right_lanes() {
    let site = start_site(vec![list("SF1000000001", 800), list("SF1000000002", 120)]).await;

    let released = site.inject(Some("SF1000000001")).await;
    let held = site.inject(Some("SF1000000002")).await;
    let unknown = site.inject(Some("SF9999999999")).await;
    let unreadable = site.inject(None).await;
    let report = site
        .wait_dropped(&[released, held, unknown, unreadable])
        .await;

    let lane = |id| report.parcel(id).unwrap().lane.unwrap();
    assert_eq!(
        lane(released),
        1,
        "a released waybill goes to the release lane"
    );
    assert_eq!(lane(held), 3, "status 120 is not released: exception lane");
    assert_eq!(lane(unknown), 3, "no declaration list: exception lane");
    assert_eq!(lane(unreadable), 3, "no read: exception lane");
    for id in [released, held, unknown, unreadable] {
        let p = report.parcel(id).unwrap();
        assert!(
            !p.defaulted,
            "parcel {id} was commanded in time, not left to the PLC default: {p:?}"
        );
    }
    assert!(
        report.late_commands.is_empty() && report.unknown_commands.is_empty(),
        "{report:?}"
    );

    // The controller's own records say why, and agree with the ground truth.
    let parcels = site.controller_parcels().await;
    let by_waybill = |code: &str| {
        parcels
            .iter()
            .find(|p| p["logistics_no"] == code)
            .unwrap_or_else(|| panic!("{code} not in {parcels:?}"))
    };
    assert_eq!(
        by_waybill("SF1000000001")["reasons"],
        serde_json::json!(["released"])
    );
    assert_eq!(
        by_waybill("SF1000000002")["reasons"],
        serde_json::json!(["status_not_released:120"])
    );
    assert_eq!(
        by_waybill("SF9999999999")["reasons"],
        serde_json::json!(["manifest_not_found"])
    );
    let no_read = parcels
        .iter()
        .find(|p| p["read_status"] == "no_read")
        .expect("the unreadable parcel is recorded");
    assert_eq!(no_read["reasons"], serde_json::json!(["no_read"]));
    // ... and the controller saw each drop confirmed in the lane it decided.
    let sorted = site.wait_for_outcome("sorted", 4).await;
    assert_eq!(sorted.len(), 4, "{sorted:?}");
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_update_to_released_is_used_for_the_next_parcel() {
    let site = start_site(vec![list("YT2000000001", 300)]).await;
    let first = site.inject(Some("YT2000000001")).await;
    let report = site.wait_dropped(&[first]).await;
    assert_eq!(report.parcel(first).unwrap().lane, Some(3));

    let store = site.controller.store.clone();
    store
        .writer
        .write(|tx| {
            customs_edge::store::manifests::upsert(
                tx,
                &list("YT2000000001", 800),
                "test",
                &customs_edge::store::now(),
            )
        })
        .await
        .unwrap();
    let second = site.inject(Some("YT2000000001")).await;
    let report = site.wait_dropped(&[second]).await;
    assert_eq!(report.parcel(second).unwrap().lane, Some(1));
    site.stop().await;
}
