//! Every text field from a camera has a limit: over it, `400` naming the field and the
//! limit, and nothing is kept or handed on.

use serde_json::Value;

use super::{next, shot, start};

#[tokio::test]
async fn a_ten_thousand_character_plate_is_400_naming_the_field_and_nothing_is_kept() {
    let mut l = start(8).await;
    let long = "闽".repeat(10_000);
    let hik = l.hik_digest();
    let (content_type, body) = hik.body(&shot(Some(&long)));
    let posted = hik.post_body(&content_type, body).await.unwrap();
    assert_eq!(posted.status, 400, "{}", posted.body);
    let answer: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(answer["code"], "plate_event_field_too_long");
    let reason = answer["error"].as_str().unwrap();
    assert!(
        reason.contains("ANPR/licensePlate") && reason.contains("16-character limit"),
        "{reason}"
    );

    let dahua = l.dahua_basic();
    let posted = dahua.post(&shot(Some(&long))).await.unwrap();
    assert_eq!(posted.status, 400, "{}", posted.body);
    let answer: Value = serde_json::from_str(&posted.body).unwrap();
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("Picture.Plate.PlateNumber"),
        "{answer}"
    );

    assert!(l.hik_lane.try_recv().is_err());
    assert!(l.dahua_lane.try_recv().is_err());
    assert_eq!(l.count("evidence").await, 0, "no picture of it kept");
    assert_eq!(l.stats.snapshot().rejected["plate_event_field_too_long"], 2);

    let fits = hik.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(fits.status, 200);
    assert_eq!(
        next(&mut l.hik_lane).await.read.plate.as_deref(),
        Some("闽G12345")
    );
    l.stop().await;
}
