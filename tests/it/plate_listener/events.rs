//! Events the listener refuses or drops: malformed bodies, unknown cameras, heartbeats,
//! full and stopped lanes.

use customs_edge_simulators::plate_camera::{PlateCameraSim, Shot, hikvision_xml};
use serde_json::Value;

use super::{next, shot, start};

/// A multipart body with the XML of `s` and one picture of `picture` bytes.
fn hikvision_with_picture(camera: &str, s: &Shot, picture: &[u8]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    let xml = hikvision_xml(camera, s);
    for (name, content_type, data) in [
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("licensePlatePicture.jpg", "image/jpeg", picture),
    ] {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--B--\r\n");
    ("multipart/form-data; boundary=B".to_owned(), body)
}

#[tokio::test]
async fn malformed_events_are_400_with_a_reason_counted_by_code_and_disturb_nothing() {
    let mut l = start(8).await;
    let hik = l.hik_digest();
    let dahua = l.dahua_basic();
    let mut big_picture = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big_picture.resize(100 * 1024, 0x55);
    let (multipart, oversized_image) =
        hikvision_with_picture(&l.hik, &shot(Some("闽G12345")), &big_picture);
    let cases: Vec<(&PlateCameraSim, String, Vec<u8>, &str)> = vec![
        (
            &hik,
            "application/xml".into(),
            b"<EventNotificationAlert><eventType>ANPR</eventType".to_vec(),
            "plate_event_bad_xml",
        ),
        (
            &dahua,
            "application/json".into(),
            br#"{"Picture": {"Plate": "#.to_vec(),
            "plate_event_bad_json",
        ),
        (
            &hik,
            "text/plain".into(),
            b"hello".to_vec(),
            "plate_event_content_type",
        ),
        (&hik, multipart, oversized_image, "plate_event_too_large"),
        (
            &dahua,
            "application/json".into(),
            vec![b' '; 600 * 1024],
            "plate_event_too_large",
        ),
    ];
    for (cam, content_type, body, code) in cases {
        let posted = cam.post_body(&content_type, body).await.unwrap();
        assert_eq!(posted.status, 400, "{code}: {}", posted.body);
        let answer: Value = serde_json::from_str(&posted.body).unwrap();
        assert_eq!(answer["code"], code);
        let reason = answer["error"].as_str().unwrap();
        assert!(!reason.is_empty(), "{code}");
        match code {
            "plate_event_content_type" => assert!(reason.contains("text/plain"), "{reason}"),
            "plate_event_bad_xml" => assert!(reason.contains("XML"), "{reason}"),
            "plate_event_bad_json" => assert!(reason.contains("JSON"), "{reason}"),
            _ => assert!(reason.contains("limit"), "{reason}"),
        }
    }
    let rejected = l.stats.snapshot().rejected;
    assert_eq!(rejected["plate_event_bad_xml"], 1);
    assert_eq!(rejected["plate_event_bad_json"], 1);
    assert_eq!(rejected["plate_event_content_type"], 1);
    assert_eq!(rejected["plate_event_too_large"], 2);
    assert!(l.hik_lane.try_recv().is_err());
    assert!(l.dahua_lane.try_recv().is_err());
    assert_eq!(l.count("evidence").await, 0);
    assert_eq!(
        l.count("rejected_inputs").await,
        4,
        "each kept once, the oversized body not at all"
    );

    let good = l.hik_digest().post(&shot(Some("闽G54321"))).await.unwrap();
    assert_eq!(good.status, 200);
    assert_eq!(
        next(&mut l.hik_lane).await.read.plate.as_deref(),
        Some("闽G54321")
    );
    assert_eq!(l.count("evidence").await, 1);
    l.stop().await;
}

#[tokio::test]
async fn unknown_camera_is_404_and_a_heartbeat_is_acknowledged_and_dropped() {
    let mut l = start(8).await;
    let response = reqwest::Client::new()
        .post(l.url("nobody"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "unknown_camera");

    let heartbeat = hikvision_xml(&l.hik, &shot(Some("闽G12345")))
        .replace(">ANPR</eventType>", ">videoloss</eventType>");
    let hik = l.hik_digest();
    assert_eq!(
        hik.post_body("application/xml", heartbeat)
            .await
            .unwrap()
            .status,
        200
    );
    assert!(l.hik_lane.try_recv().is_err());
    let stats = l.stats.snapshot();
    assert_eq!(
        (stats.not_plate_events, stats.rejected["unknown_camera"]),
        (1, 1)
    );
    l.stop().await;
}

#[tokio::test]
async fn a_full_or_stopped_lane_is_503_and_the_camera_is_not_kept_waiting() {
    let mut l = start(1).await;
    let cam = l.dahua_basic();
    assert_eq!(cam.post(&shot(Some("闽G12345"))).await.unwrap().status, 200);
    let busy = cam.post(&shot(Some("闽G12346"))).await.unwrap();
    assert_eq!(busy.status, 503);
    let answer: Value = serde_json::from_str(&busy.body).unwrap();
    assert_eq!(answer["code"], "lane_busy");
    assert_eq!(
        l.count("evidence").await,
        1,
        "a refused event keeps nothing"
    );
    assert_eq!(
        next(&mut l.dahua_lane).await.read.plate.as_deref(),
        Some("闽G12345")
    );

    drop(l.dahua_lane);
    let closed = cam.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(closed.status, 503);
    let answer: Value = serde_json::from_str(&closed.body).unwrap();
    assert_eq!(answer["code"], "lane_closed");
    let rejected = l.stats.snapshot().rejected;
    assert_eq!((rejected["lane_busy"], rejected["lane_closed"]), (1, 1));
    l.shutdown.cancel();
    l.served.await.unwrap().unwrap();
}
