//! Who may post: one scheme per camera (a Digest camera refuses Basic, even with the right
//! password), wrong passwords slowed down per camera and source address, counted and
//! logged without flooding the log.

use customs_edge::config::PlateAuthLimits;
use customs_edge_devices::http_auth::basic_authorization;
use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm, hikvision_xml};
use serde_json::Value;

use super::{Setup, auth_failures, client_from, next, offered, shot, start_with};

#[tokio::test]
async fn wrong_password_is_401_counted_and_nothing_reaches_the_lane() {
    let mut l = start_with(Setup::new("wrongpw")).await;
    let digest = l.camera(&l.hik, CameraForm::Hikvision, CameraAuth::Digest, "guess");
    let posted = digest.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!((posted.status, posted.challenged), (401, true));
    let basic = l.camera(&l.dahua, CameraForm::Dahua, CameraAuth::Basic, "guess");
    assert_eq!(
        basic.post(&shot(Some("闽G12345"))).await.unwrap().status,
        401
    );
    // Another camera's password is wrong here too: credentials are per camera.
    let swapped = l.camera(&l.dahua, CameraForm::Dahua, CameraAuth::Basic, "hik-pw");
    assert_eq!(
        swapped.post(&shot(Some("闽G12345"))).await.unwrap().status,
        401
    );

    let stats = l.stats.snapshot();
    assert_eq!(stats.auth_failures, 3);
    assert_eq!(stats.accepted, 0);
    assert_eq!(auth_failures(&l.hik, "wrong_credentials"), 1);
    assert_eq!(auth_failures(&l.dahua, "wrong_credentials"), 2);
    assert!(l.hik_lane.try_recv().is_err());
    assert!(l.dahua_lane.try_recv().is_err());
    assert_eq!(l.count("evidence").await, 0);
    l.stop().await;
}

#[tokio::test]
async fn a_digest_camera_refuses_basic_even_with_the_right_password_and_offers_digest_only() {
    let mut l = start_with(Setup::new("digestonly")).await;
    let anonymous = reqwest::Client::new()
        .post(l.url(&l.hik))
        .header("content-type", "application/xml")
        .body(hikvision_xml(&l.hik, &shot(Some("闽G12345"))))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenges = offered(&anonymous);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Digest ") && challenges[0].contains("algorithm=SHA-256"));
    assert!(challenges[1].starts_with("Digest ") && challenges[1].contains("algorithm=MD5"));

    let right_basic = l.camera(&l.hik, CameraForm::Hikvision, CameraAuth::Basic, "hik-pw");
    let posted = right_basic.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(posted.status, 401, "{}", posted.body);
    let answer: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(answer["code"], "auth_scheme_refused");
    assert!(answer["error"].as_str().unwrap().contains("Digest only"));
    let by_hand = reqwest::Client::new()
        .post(l.url(&l.hik))
        .header("authorization", basic_authorization("hik", "hik-pw"))
        .header("content-type", "application/xml")
        .body(hikvision_xml(&l.hik, &shot(Some("闽G12345"))))
        .send()
        .await
        .unwrap();
    assert_eq!(by_hand.status(), 401);
    assert!(
        offered(&by_hand).iter().all(|c| c.starts_with("Digest ")),
        "a refused Basic is offered Digest, never Basic again: {:?}",
        offered(&by_hand)
    );
    assert!(l.hik_lane.try_recv().is_err(), "nothing reached the lane");
    assert_eq!(auth_failures(&l.hik, "scheme_refused"), 2);

    let digest = l.hik_digest().post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(digest.status, 200, "{}", digest.body);
    assert_eq!(
        next(&mut l.hik_lane).await.read.plate.as_deref(),
        Some("闽G12345")
    );
    l.stop().await;
}

#[tokio::test]
async fn a_basic_camera_is_offered_basic_only_and_refuses_digest() {
    let mut l = start_with(Setup::new("basiconly")).await;
    let anonymous = reqwest::Client::new()
        .post(l.url(&l.dahua))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenges = offered(&anonymous);
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(challenges[0].starts_with("Basic "));
    let digest = l.camera(&l.dahua, CameraForm::Dahua, CameraAuth::Digest, "dahua-pw");
    assert!(
        digest.post(&shot(Some("闽G12345"))).await.is_err(),
        "no Digest challenge to answer"
    );
    let basic = l.dahua_basic().post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(basic.status, 200);
    assert_eq!(
        next(&mut l.dahua_lane).await.read.plate.as_deref(),
        Some("闽G12345")
    );
    l.stop().await;
}

/// A post with `password` as Basic from `client` to the Dahua camera: status, body, and
/// `Retry-After` in seconds.
async fn guess(
    l: &super::Listener,
    client: &reqwest::Client,
    password: &str,
) -> (u16, Value, Option<u64>) {
    let response = client
        .post(l.url(&l.dahua))
        .header("authorization", basic_authorization("dahua", password))
        .header("content-type", "application/json")
        .body(customs_edge_simulators::plate_camera::dahua_event(
            &l.dahua,
            &shot(Some("闽G12345")),
        ))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, retry)
}

#[tokio::test]
async fn wrong_passwords_from_one_address_are_slowed_and_the_camera_elsewhere_is_not() {
    let mut l = start_with(Setup::new("perip")).await;
    let intruder = client_from([127, 0, 0, 2]);
    for n in 1..=5 {
        let (status, body, _) = guess(&l, &intruder, &format!("guess-{n}")).await;
        assert_eq!(status, 401, "try {n}: {body}");
    }
    // Five wrong: the next try from there waits, unchecked, even with the right password.
    for password in ["guess-6", "dahua-pw"] {
        let (status, body, retry) = guess(&l, &intruder, password).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "source_throttled");
        assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
        assert_eq!(body["retry_after_s"].as_u64(), retry);
    }
    assert!(
        l.dahua_lane.try_recv().is_err(),
        "the right password was not checked"
    );

    let camera = l.camera_via(
        client_from([127, 0, 0, 1]),
        &l.dahua,
        CameraForm::Dahua,
        CameraAuth::Basic,
        "dahua-pw",
    );
    let posted = camera.post(&shot(Some("闽G54321"))).await.unwrap();
    assert_eq!(
        posted.status, 200,
        "the camera at its own address: {}",
        posted.body
    );
    assert_eq!(
        next(&mut l.dahua_lane).await.read.plate.as_deref(),
        Some("闽G54321")
    );
    let hik = l.camera_via(
        client_from([127, 0, 0, 2]),
        &l.hik,
        CameraForm::Hikvision,
        CameraAuth::Digest,
        "hik-pw",
    );
    assert_eq!(
        hik.post(&shot(Some("闽G11111"))).await.unwrap().status,
        200,
        "another camera from the same address"
    );

    let stats = l.stats.snapshot();
    assert_eq!((stats.auth_failures, stats.throttled), (5, 2));
    assert_eq!(auth_failures(&l.dahua, "wrong_credentials"), 5);
    assert_eq!(auth_failures(&l.dahua, "source_throttled"), 2);
    l.stop().await;
}

#[tokio::test]
async fn a_camera_guessed_at_from_many_addresses_is_still_served_at_its_own() {
    let setup = Setup {
        auth_limits: PlateAuthLimits {
            camera_failures_per_minute: 12,
            ..PlateAuthLimits::default()
        },
        ..Setup::new("manyip")
    };
    let mut l = start_with(setup).await;
    let camera = l.dahua_basic();
    assert_eq!(
        camera.post(&shot(Some("闽G12345"))).await.unwrap().status,
        200
    );
    next(&mut l.dahua_lane).await;
    // Three wrong tries from each of four addresses: none reaches its own delay.
    for last in 10..14 {
        let intruder = client_from([127, 0, 0, last]);
        for n in 0..3 {
            let (status, body, _) = guess(&l, &intruder, &format!("g{n}")).await;
            assert_eq!(status, 401, "{body}");
        }
    }
    let fresh = client_from([127, 0, 0, 20]);
    let (status, body, retry) = guess(&l, &fresh, "dahua-pw").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "camera_throttled");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    assert!(l.dahua_lane.try_recv().is_err());

    let posted = camera.post(&shot(Some("闽G54321"))).await.unwrap();
    assert_eq!(
        posted.status, 200,
        "the camera's own address: {}",
        posted.body
    );
    assert_eq!(
        next(&mut l.dahua_lane).await.read.plate.as_deref(),
        Some("闽G54321")
    );
    assert_eq!(auth_failures(&l.dahua, "camera_throttled"), 1);
    l.stop().await;
}

#[tokio::test]
async fn a_flood_of_wrong_passwords_is_logged_once_per_camera_not_per_try() {
    let l = start_with(Setup::new("logflood")).await;
    let intruder = client_from([127, 0, 0, 3]);
    let started = std::time::Instant::now();
    let mut answers = Vec::new();
    for n in 0..60 {
        answers.push(guess(&l, &intruder, &format!("g{n}")).await.0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let checked = answers.iter().filter(|s| **s == 401).count();
    let throttled = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + throttled, 60, "{answers:?}");
    // Five free wrong tries, then each checked one doubles the wait before the next (1 s,
    // 2 s, 4 s ...): however slow the machine, only a handful more are ever checked.
    let more = (elapsed + 1.0).log2().floor() as usize + 1;
    assert!(
        answers[..5].iter().all(|s| *s == 401) && checked <= 5 + more,
        "{checked} checked in {elapsed:.1} s: {answers:?}"
    );
    let log =
        String::from_utf8_lossy(&crate::common::logs::captured().lock().unwrap()).into_owned();
    let ours: Vec<_> = log.lines().filter(|line| line.contains(&l.dahua)).collect();
    let windows = (elapsed / 10.0).floor() as usize + 1;
    assert!(
        !ours.is_empty() && ours.len() <= windows + 1,
        "at most one warning per camera per 10 s, plus one if the 10 s passed: {ours:#?}"
    );
    assert!(
        ours[0].contains("peer=127.0.0.3") && ours[0].contains("authentication failed"),
        "{}",
        ours[0]
    );
    l.stop().await;
}
