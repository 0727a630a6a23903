//! The listener over TLS: a camera that trusts the site CA posts over HTTPS; plain HTTP to
//! the same port gets no answer; the certificate is checked by the client.

use std::path::Path;

use customs_edge_simulators::broker::tls::{TlsFiles, generate_tls};
use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm};

use super::{Setup, next, shot, start_with};

fn tls_files(dir: &Path) -> TlsFiles {
    generate_tls(dir, &[])
}

fn trusting(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn events_over_tls_are_accepted_and_plain_http_to_the_tls_listener_fails() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls_files(dir.path());
    let setup = Setup {
        tls: Some((files.server_cert.clone(), files.server_key.clone())),
        ..Setup::new("tls")
    };
    let mut l = start_with(setup).await;
    assert!(l.base.starts_with("https://localhost:"), "{}", l.base);

    let hik = l.camera_via(
        trusting(&files.ca),
        &l.hik,
        CameraForm::Hikvision,
        CameraAuth::Digest,
        "hik-pw",
    );
    let posted = hik.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(
        (posted.status, posted.challenged),
        (200, true),
        "{}",
        posted.body
    );
    assert_eq!(
        next(&mut l.hik_lane).await.read.plate.as_deref(),
        Some("闽G12345")
    );
    let dahua = l.camera_via(
        trusting(&files.ca),
        &l.dahua,
        CameraForm::Dahua,
        CameraAuth::Basic,
        "dahua-pw",
    );
    let posted = dahua.post(&shot(Some("闽GD12345"))).await.unwrap();
    assert_eq!(posted.status, 200, "Basic inside TLS: {}", posted.body);
    assert_eq!(
        next(&mut l.dahua_lane).await.read.plate.as_deref(),
        Some("闽GD12345")
    );

    let plain = l.base.replace("https://localhost", "http://127.0.0.1");
    let url = format!("{plain}/cameras/{}/events", l.dahua);
    let refused = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await;
    assert!(refused.is_err(), "plain HTTP got an answer: {refused:?}");

    let untrusting = l.camera_via(
        reqwest::Client::new(),
        &l.dahua,
        CameraForm::Dahua,
        CameraAuth::Basic,
        "dahua-pw",
    );
    assert!(
        untrusting.post(&shot(Some("闽G12345"))).await.is_err(),
        "a client that does not trust the site CA does not send its password"
    );
    assert!(l.dahua_lane.try_recv().is_err());
    assert_eq!(l.stats.snapshot().accepted, 2);
    l.stop().await;
}
