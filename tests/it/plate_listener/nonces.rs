//! Challenges cost the listener nothing to hand out: anyone may ask for thousands, and a
//! camera's nonce stays good.

use customs_edge_simulators::plate_camera::hikvision_xml;

use super::{Setup, next, shot, start_with};

#[tokio::test]
async fn thousands_of_unauthenticated_requests_leave_the_cameras_nonce_good() {
    let mut l = start_with(Setup::new("nonceflood")).await;
    let camera = l.hik_digest();
    let first = camera.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(
        (first.status, first.challenged),
        (200, true),
        "{}",
        first.body
    );
    next(&mut l.hik_lane).await;

    // 3,000 challenges from four connections at once: nonces are signed, not stored, so
    // none of them pushes the camera's out.
    let url = l.url(&l.hik);
    let body = hikvision_xml(&l.hik, &shot(Some("闽G99999")));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (url, body) = (url.clone(), body.clone());
        flood.spawn(async move {
            let client = reqwest::Client::new();
            let mut challenged = 0;
            for _ in 0..750 {
                let response = client
                    .post(&url)
                    .header("content-type", "application/xml")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 401);
                challenged += usize::from(response.headers().contains_key("www-authenticate"));
            }
            challenged
        });
    }
    let challenged: usize = flood.join_all().await.into_iter().sum();
    assert_eq!(
        challenged, 3_000,
        "each unauthenticated request got a challenge"
    );

    let warm = camera.post(&shot(Some("闽G54321"))).await.unwrap();
    assert_eq!(warm.status, 200, "{}", warm.body);
    assert!(
        !warm.challenged,
        "the camera's nonce survived the flood: no extra round trip"
    );
    assert_eq!(
        next(&mut l.hik_lane).await.read.plate.as_deref(),
        Some("闽G54321")
    );
    let stats = l.stats.snapshot();
    assert_eq!(
        stats.auth_failures, 0,
        "asking for a challenge is not a failure"
    );
    assert_eq!(stats.accepted, 2);
    l.stop().await;
}
