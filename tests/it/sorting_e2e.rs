//! The controller against the simulated line over real sockets: the simulator's ground
//! truth (which lane each parcel physically fell into) is what these tests assert.

use crate::common;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_sending_garbage_is_recorded_and_the_line_keeps_sorting() {
    use tokio::io::AsyncWriteExt;
    // A second "side" scanner that only ever sends junk: bytes outside any frame, a frame
    // with a non-ASCII byte, and a frame longer than any waybill.
    let junk = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let junk_addr = junk.local_addr().unwrap();
    let site = common::start_site_with(vec![list("SF3000000001", 800)], |config| {
        let mut side = config.lines[0].scanners[0].clone();
        side.name = "side".into();
        side.address = junk_addr.to_string();
        config.lines[0].scanners.push(side);
    })
    .await;
    let (mut socket, _) = junk.accept().await.unwrap();
    let long = format!("\x02{}\x03", "9".repeat(120));
    socket
        .write_all(b"garbage\x02SF\xff\xfe01\x03")
        .await
        .unwrap();
    socket.write_all(long.as_bytes()).await.unwrap();

    let released = site.inject(Some("SF3000000001")).await;
    let report = site.wait_dropped(&[released]).await;
    assert_eq!(
        report.parcel(released).unwrap().lane,
        Some(1),
        "the good scanner's read still releases it"
    );

    let rejected = common::wait_for(
        "the junk to be stored",
        std::time::Duration::from_secs(30),
        || async {
            let rows = site.rejected_inputs();
            (rows.len() >= 3).then_some(rows)
        },
    )
    .await;
    assert!(
        rejected
            .iter()
            .all(|(source, _)| source == "scanner:L1/side"),
        "{rejected:?}"
    );
    let reasons: Vec<&str> = rejected.iter().map(|(_, r)| r.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("outside an STX/ETX frame")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("0xff")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("longer than the maximum of 80")),
        "{reasons:?}"
    );
    site.stop().await;
}
