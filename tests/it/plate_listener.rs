//! The plate-camera listener over real sockets: simulated Hikvision and Dahua cameras post
//! to it with Digest and Basic; reads reach their lane with their pictures kept as
//! evidence; bad credentials and malformed events are refused, counted, and disturb
//! nothing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use customs_edge::evidence::EvidenceStore;
use customs_edge::gates::PlateEvent;
use customs_edge::gates::camera::{self, CameraEndpoint, CameraStats};
use customs_edge::store::{Store, StoreError};
use customs_edge_devices::plate::{PlateColor, PlateLimits, RawFormat};
use customs_edge_simulators::plate_camera::{
    CameraAuth, CameraForm, CameraSimConfig, PlateCameraSim, Shot, hikvision_xml, plate_jpeg,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const HIK: &str = "gate1-in-hik";
const DAHUA: &str = "gate2-out-dahua";

/// The listener on a free port with two cameras, each feeding its own lane.
struct Listener {
    base: String,
    stats: Arc<CameraStats>,
    hik_lane: mpsc::Receiver<PlateEvent>,
    dahua_lane: mpsc::Receiver<PlateEvent>,
    store: Store,
    evidence: EvidenceStore,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

fn limits() -> PlateLimits {
    PlateLimits {
        max_body_bytes: 512 * 1024,
        max_image_bytes: 64 * 1024,
        ..PlateLimits::default()
    }
}

async fn start(lane_capacity: usize) -> Listener {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let evidence = EvidenceStore::new(data.path());
    let (hik_tx, hik_lane) = mpsc::channel(lane_capacity);
    let (dahua_tx, dahua_lane) = mpsc::channel(lane_capacity);
    let cameras = vec![
        CameraEndpoint {
            id: HIK.into(),
            username: "hik".into(),
            password: "hik-pw".into(),
            lane: hik_tx,
        },
        CameraEndpoint {
            id: DAHUA.into(),
            username: "dahua".into(),
            password: "dahua-pw".into(),
            lane: dahua_tx,
        },
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stats = Arc::new(CameraStats::default());
    let shutdown = CancellationToken::new();
    let served = tokio::spawn(camera::serve(
        listener,
        cameras,
        store.clone(),
        evidence.clone(),
        limits(),
        stats.clone(),
        shutdown.clone(),
    ));
    Listener {
        base,
        stats,
        hik_lane,
        dahua_lane,
        store,
        evidence,
        shutdown,
        served,
        _data: data,
    }
}

impl Listener {
    fn url(&self, camera: &str) -> String {
        format!("{}/cameras/{camera}/events", self.base)
    }

    fn camera(
        &self,
        id: &str,
        form: CameraForm,
        auth: CameraAuth,
        password: &str,
    ) -> PlateCameraSim {
        let username = if id == HIK { "hik" } else { "dahua" };
        PlateCameraSim::new(CameraSimConfig {
            camera_id: id.into(),
            url: self.url(id),
            form,
            auth,
            username: username.into(),
            password: password.into(),
            timeout: Duration::from_secs(10),
        })
    }

    fn hik_digest(&self) -> PlateCameraSim {
        self.camera(HIK, CameraForm::Hikvision, CameraAuth::Digest, "hik-pw")
    }

    fn dahua_basic(&self) -> PlateCameraSim {
        self.camera(DAHUA, CameraForm::Dahua, CameraAuth::Basic, "dahua-pw")
    }

    async fn count(&self, table: &'static str) -> i64 {
        self.store
            .reader
            .read(move |conn| {
                Ok::<_, StoreError>(conn.query_row(
                    &format!("SELECT count(*) FROM {table}"),
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.served.await.unwrap().unwrap();
    }
}

async fn next(lane: &mut mpsc::Receiver<PlateEvent>) -> PlateEvent {
    tokio::time::timeout(Duration::from_secs(10), lane.recv())
        .await
        .expect("a plate event on the lane")
        .expect("lane open")
}

fn shot(plate: Option<&str>) -> Shot {
    Shot {
        plate: plate.map(str::to_owned),
        confidence: 0.93,
        color: PlateColor::Yellow,
        at: Utc::now(),
        lane: 1,
    }
}

#[tokio::test]
async fn hikvision_read_with_digest_reaches_its_lane_with_the_picture_kept_as_evidence() {
    let mut l = start(8).await;
    let cam = l.hik_digest();
    let before = Instant::now();
    let posted = cam.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert!(
        posted.challenged,
        "the first Digest post pays the 401 round trip"
    );
    assert!(posted.body.contains("<statusString>OK</statusString>"));

    let event = next(&mut l.hik_lane).await;
    assert!(event.received >= before);
    assert_eq!(event.read.camera, HIK);
    assert_eq!(event.read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(event.read.raw_format, RawFormat::Hikvision);
    assert_eq!(event.read.color, Some(PlateColor::Yellow));
    assert!(event.read.images.is_empty(), "the images went to evidence");
    assert_eq!(event.evidence.len(), 1);

    let id = event.evidence[0].id;
    let (path, kind, sha256, source): (String, String, String, Option<String>) = l
        .store
        .reader
        .read(move |conn| {
            Ok::<_, StoreError>(conn.query_row(
                "SELECT path, kind, sha256, source_name FROM evidence WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(kind, "plate_snapshot");
    assert_eq!(sha256, event.evidence[0].sha256);
    assert_eq!(source.as_deref(), Some("licensePlatePicture.jpg"));
    let kept = std::fs::read(l.evidence.resolve(Path::new(&path))).unwrap();
    assert_eq!(kept, plate_jpeg(Some("闽G12345"), PlateColor::Yellow));

    let warm = cam.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(
        (warm.status, warm.challenged),
        (200, false),
        "a warm camera reuses its nonce"
    );
    next(&mut l.hik_lane).await;
    let stats = l.stats.snapshot();
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.challenges, 1);
    assert_eq!(stats.auth_failures, 0);
    l.stop().await;
}

#[tokio::test]
async fn dahua_read_with_basic_is_acknowledged_with_result_true() {
    let mut l = start(8).await;
    let posted = l
        .dahua_basic()
        .post(&shot(Some("闽GD12345")))
        .await
        .unwrap();
    assert_eq!((posted.status, posted.challenged), (200, false));
    let ack: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(ack, serde_json::json!({"Result": true}));

    let event = next(&mut l.dahua_lane).await;
    assert_eq!(event.read.plate.as_deref(), Some("闽GD12345"));
    assert_eq!(event.read.raw_format, RawFormat::Dahua);
    assert_eq!(event.evidence.len(), 1);

    let no_read = l.dahua_basic().post(&shot(None)).await.unwrap();
    assert_eq!(no_read.status, 200);
    assert_eq!(next(&mut l.dahua_lane).await.read.plate, None);
    let stats = l.stats.snapshot();
    assert_eq!((stats.accepted, stats.no_reads), (2, 1));
    assert_eq!(l.count("evidence").await, 2);
    l.stop().await;
}

#[tokio::test]
async fn wrong_password_is_401_counted_and_nothing_reaches_the_lane() {
    let mut l = start(8).await;
    let digest = l.camera(HIK, CameraForm::Hikvision, CameraAuth::Digest, "guess");
    let posted = digest.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!((posted.status, posted.challenged), (401, true));
    let basic = l.camera(DAHUA, CameraForm::Dahua, CameraAuth::Basic, "guess");
    assert_eq!(
        basic.post(&shot(Some("闽G12345"))).await.unwrap().status,
        401
    );
    // Another camera's password is wrong here too: credentials are per camera.
    let swapped = l.camera(HIK, CameraForm::Hikvision, CameraAuth::Basic, "dahua-pw");
    assert_eq!(
        swapped.post(&shot(Some("闽G12345"))).await.unwrap().status,
        401
    );

    let anonymous = reqwest::Client::new()
        .post(l.url(HIK))
        .header("content-type", "application/xml")
        .body(hikvision_xml(HIK, &shot(Some("闽G12345"))))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let offered: Vec<_> = anonymous
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(offered.len(), 3, "{offered:?}");
    assert!(offered[0].starts_with("Digest ") && offered[0].contains("algorithm=SHA-256"));
    assert!(offered[1].starts_with("Digest ") && offered[1].contains("algorithm=MD5"));
    assert!(offered[2].starts_with("Basic "));

    let stats = l.stats.snapshot();
    assert_eq!(stats.auth_failures, 3);
    assert_eq!(stats.accepted, 0);
    assert!(l.hik_lane.try_recv().is_err());
    assert!(l.dahua_lane.try_recv().is_err());
    assert_eq!(l.count("evidence").await, 0);
    l.stop().await;
}

/// A multipart body with the XML of `s` and one picture of `picture` bytes.
fn hikvision_with_picture(s: &Shot, picture: &[u8]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    let xml = hikvision_xml(HIK, s);
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
    let hik = l.camera(HIK, CameraForm::Hikvision, CameraAuth::Basic, "hik-pw");
    let dahua = l.dahua_basic();
    let mut big_picture = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big_picture.resize(100 * 1024, 0x55);
    let (multipart, oversized_image) =
        hikvision_with_picture(&shot(Some("闽G12345")), &big_picture);
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

    let heartbeat = hikvision_xml(HIK, &shot(Some("闽G12345")))
        .replace(">ANPR</eventType>", ">videoloss</eventType>");
    let hik = l.camera(HIK, CameraForm::Hikvision, CameraAuth::Basic, "hik-pw");
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
