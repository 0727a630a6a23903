//! Several lines: each its own PLC and scanners; the report by line.

use crate::common;

use common::{Site, next_frame, poll_status};
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::{Framing, ScanFrame};
use customs_edge_simulators::SimConfig;
use serde_json::json;

#[tokio::test]
async fn each_line_has_its_own_plc_and_scanners_and_the_report_filters_by_line() {
    let site = Site::start(SimConfig::with_lines(2)).await;
    assert_eq!(site.sim.lines[1].id, "L2");
    let mut top_frames = site.scanner(1, false, Framing::StxEtx);
    let mut side_frames = site.scanner(1, true, Framing::StxEtx);
    site.report_until("both L2 scanners attached", |r| {
        let c = r.line("L2").unwrap().connections;
        (c.top_clients, c.side_clients) == (1, 1)
    })
    .await;
    let (status, answer) = site
        .post(
            "/parcels",
            &json!({"line": "L2", "code": "SF1", "double_read": true, "conflict": "SF2",
                    "expect": "exception"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(answer["line"], "L2");
    let id = answer["id"].as_u64().unwrap();

    let mut l2 = site.plc(1, RegisterMap::default());
    let entry = poll_status(&mut l2, "the L2 entry", |s| {
        s.entries_since(0).0.first().copied()
    })
    .await;
    l2.write_lane(entry.tracking_no, 3).await.unwrap();
    let mut l1 = site.plc(0, RegisterMap::default());
    assert_eq!(
        l1.read_status().await.unwrap().entry_count,
        0,
        "L1 saw nothing"
    );

    let code = |c: &str| ScanFrame::Code(c.to_owned());
    assert_eq!(next_frame(&mut top_frames).await, code("SF1"));
    assert_eq!(next_frame(&mut top_frames).await, code("SF1"));
    assert_eq!(next_frame(&mut side_frames).await, code("SF2"));

    let report = site
        .report_until("the drop", |r| common::dropped(r, id))
        .await;
    let p = report.parcel(id).unwrap();
    assert_eq!(
        (p.line.as_str(), p.lane, p.wrong_lane),
        ("L2", Some(3), false)
    );
    assert_eq!(p.scans.len(), 3);

    let l2_only: customs_edge_simulators::Report = site
        .http
        .get(site.url("/report?line=L2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(l2_only.lines.len(), 1);
    assert_eq!(l2_only.summary.injected, 1);
    let l1_only: customs_edge_simulators::Report = site
        .http
        .get(site.url("/summary?line=L1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((l1_only.summary.injected, l1_only.parcels.len()), (0, 0));
    let missing = site
        .http
        .get(site.url("/report?line=L9"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let (status, answer) = site
        .post("/parcels", &json!({"line": "L9", "code": "SF1"}))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("L1, L2"),
        "{answer}"
    );
    site.stop().await;
}
