//! The simulated plate camera: its bodies parse with the controller's parsers, and its
//! Digest client keeps a nonce warm, takes a stale one's replacement and stops on a
//! wrong password, against a real HTTP server on loopback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use customs_edge_devices::http_auth::{Authenticator, Credentials};
use customs_edge_devices::plate::{PlateColor, PlateRead, RawFormat, parse_dahua, parse_hikvision};
use customs_edge_simulators::plate_camera::{
    CameraAuth, CameraForm, CameraPostError, CameraSimConfig, PlateCameraSim, Shot, plate_jpeg,
};

fn at() -> DateTime<Utc> {
    "2026-11-27T02:00:00.250Z".parse().unwrap()
}

fn shot(plate: Option<&str>, confidence: f32, color: PlateColor) -> Shot {
    Shot {
        plate: plate.map(str::to_owned),
        confidence,
        color,
        at: at(),
        lane: 3,
    }
}

fn camera(form: CameraForm, auth: CameraAuth, url: &str, password: &str) -> PlateCameraSim {
    PlateCameraSim::new(CameraSimConfig {
        camera_id: "gate1-exit".into(),
        url: url.into(),
        form,
        auth,
        username: "cam".into(),
        password: password.into(),
        timeout: Duration::from_secs(5),
    })
}

fn parse(form: CameraForm, s: &Shot) -> PlateRead {
    let cam = camera(form, CameraAuth::None, "http://127.0.0.1:1/", "");
    let (content_type, body) = cam.body(s);
    match form {
        CameraForm::Hikvision => parse_hikvision(&content_type, &body, "gate1-exit").unwrap(),
        CameraForm::Dahua => {
            assert_eq!(content_type, "application/json");
            parse_dahua(&body, "gate1-exit").unwrap()
        }
    }
}

#[test]
fn plate_camera_bodies_parse_to_the_same_plate_confidence_and_colour() {
    let shots = [
        shot(Some("闽G12345"), 0.96, PlateColor::Blue),
        shot(Some("闽GD12345"), 0.5, PlateColor::Green),
        shot(Some("闽G1234挂"), 1.0, PlateColor::Yellow),
        shot(Some("粤Z1234港"), 0.0, PlateColor::Black),
        shot(Some("闽G12345"), 0.874, PlateColor::YellowGreen),
        shot(Some("WJ12345"), 0.7, PlateColor::White),
    ];
    for form in [CameraForm::Hikvision, CameraForm::Dahua] {
        for s in &shots {
            let read = parse(form, s);
            assert_eq!(read.plate, s.plate, "{form:?}");
            let confidence = read.confidence.unwrap();
            assert!(
                (confidence - s.confidence).abs() <= 0.005,
                "{form:?} {s:?}: {confidence}"
            );
            assert_eq!(read.color, Some(s.color), "{form:?}");
            assert_eq!(read.at, s.at, "{form:?}: camera time keeps milliseconds");
            assert_eq!(read.lane_hint, Some(3));
            assert_eq!(read.images.len(), 1);
            assert_eq!(
                &read.images[0].bytes[..],
                &plate_jpeg(s.plate.as_deref(), s.color)[..]
            );
            let expected_format = match form {
                CameraForm::Hikvision => RawFormat::Hikvision,
                CameraForm::Dahua => RawFormat::Dahua,
            };
            assert_eq!(read.raw_format, expected_format);
        }
    }
}

#[test]
fn plate_camera_no_read_parses_as_a_no_read() {
    let s = shot(None, 0.0, PlateColor::Blue);
    let hik = parse(CameraForm::Hikvision, &s);
    assert_eq!(hik.plate, None);
    assert_eq!(hik.raw_plate, "unknown");
    let dahua = parse(CameraForm::Dahua, &s);
    assert_eq!(dahua.plate, None);
    assert_eq!(dahua.raw_plate, "");
}

#[test]
fn plate_jpeg_is_a_plate_sized_jpeg_that_differs_by_plate() {
    let a = plate_jpeg(Some("闽G12345"), PlateColor::Blue);
    let b = plate_jpeg(Some("闽G12346"), PlateColor::Blue);
    let c = plate_jpeg(Some("闽G12345"), PlateColor::Yellow);
    let none = plate_jpeg(None, PlateColor::Blue);
    assert!(a.starts_with(&[0xFF, 0xD8]));
    assert_eq!(a, plate_jpeg(Some("闽G12345"), PlateColor::Blue));
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, none);
    let img = image::load_from_memory_with_format(&a, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (320, 100));
}

/// A server that answers like the controller: Digest challenges, verification, and
/// on demand a stale nonce.
struct Server {
    auth: Authenticator,
    /// The Authorization header of every request, in order.
    seen: Mutex<Vec<Option<String>>>,
    /// Answer the next authorised request with `stale=true`.
    stale_next: AtomicBool,
}

async fn handler(
    State(server): State<Arc<Server>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    server.seen.lock().unwrap().push(authorization.clone());
    let now = Instant::now();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let verdict = match &authorization {
        None => Err(false),
        Some(_) if server.stale_next.swap(false, Ordering::SeqCst) => Err(true),
        Some(a) => server
            .auth
            .verify(a, "POST", &path, "cam", "pw", now)
            .map_err(|e| e.is_stale()),
    };
    match verdict {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(stale) => {
            let mut response = (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
            for c in server.auth.challenges(stale, now) {
                response
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, c.to_string().parse().unwrap());
            }
            response
        }
    }
}

async fn start_server() -> (Arc<Server>, String) {
    let server = Arc::new(Server {
        auth: Authenticator::new("test", [1; 32]),
        seen: Mutex::new(Vec::new()),
        stale_next: AtomicBool::new(false),
    });
    let app = axum::Router::new()
        .route("/cameras/{id}/events", axum::routing::post(handler))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cameras/gate1-exit/events?x=1",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, url)
}

fn nc_of(header: Option<&String>) -> Option<u32> {
    match Credentials::parse(header?).ok()? {
        Credentials::Digest(d) => d.nc,
        Credentials::Basic { .. } => None,
    }
}

#[tokio::test]
async fn digest_camera_pays_the_challenge_once_then_reuses_the_nonce() {
    let (server, url) = start_server().await;
    let cam = camera(CameraForm::Hikvision, CameraAuth::Digest, &url, "pw");
    let s = shot(Some("闽G12345"), 0.9, PlateColor::Blue);

    let first = cam.post(&s).await.unwrap();
    assert_eq!((first.status, first.challenged), (200, true));
    let clone = cam.clone();
    for _ in 0..3 {
        let warm = clone.post(&s).await.unwrap();
        assert_eq!((warm.status, warm.challenged), (200, false));
    }
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        5,
        "one 401 round trip, then one request per post"
    );
    assert_eq!(seen[0], None);
    let counts: Vec<_> = seen[1..].iter().map(|h| nc_of(h.as_ref())).collect();
    assert_eq!(counts, [Some(1), Some(2), Some(3), Some(4)]);
    assert!(seen[1].as_deref().unwrap().contains("algorithm=SHA-256"));
    assert!(
        seen[1]
            .as_deref()
            .unwrap()
            .contains(r#"uri="/cameras/gate1-exit/events?x=1""#)
    );
}

#[tokio::test]
async fn digest_camera_takes_the_new_nonce_when_told_it_is_stale() {
    let (server, url) = start_server().await;
    let cam = camera(CameraForm::Dahua, CameraAuth::Digest, &url, "pw");
    let s = shot(Some("闽G12345"), 0.9, PlateColor::Blue);
    assert_eq!(cam.post(&s).await.unwrap().status, 200);
    server.stale_next.store(true, Ordering::SeqCst);
    let after = cam.post(&s).await.unwrap();
    assert_eq!((after.status, after.challenged), (200, true));
    let seen = server.seen.lock().unwrap().clone();
    let counts: Vec<_> = seen.iter().map(|h| nc_of(h.as_ref())).collect();
    assert_eq!(
        counts,
        [None, Some(1), Some(2), Some(1)],
        "a new nonce starts at 1"
    );
}

#[tokio::test]
async fn digest_camera_with_a_wrong_password_gets_401_after_one_try() {
    let (server, url) = start_server().await;
    let cam = camera(CameraForm::Hikvision, CameraAuth::Digest, &url, "wrong");
    let s = shot(Some("闽G12345"), 0.9, PlateColor::Blue);
    let posted = cam.post(&s).await.unwrap();
    assert_eq!((posted.status, posted.challenged), (401, true));
    assert_eq!(server.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn basic_camera_sends_credentials_up_front() {
    let (server, url) = start_server().await;
    let cam = camera(CameraForm::Dahua, CameraAuth::Basic, &url, "pw");
    let posted = cam
        .post(&shot(Some("闽G12345"), 0.9, PlateColor::Blue))
        .await
        .unwrap();
    assert_eq!((posted.status, posted.challenged), (200, false));
    assert_eq!(posted.body, "ok");
    let seen = server.seen.lock().unwrap().clone();
    assert!(seen[0].as_deref().unwrap().starts_with("Basic "));
}

#[tokio::test]
async fn camera_reports_a_bad_url_and_a_dead_controller() {
    let s = shot(Some("闽G12345"), 0.9, PlateColor::Blue);
    let bad = camera(CameraForm::Dahua, CameraAuth::None, "not a url", "");
    assert!(matches!(
        bad.post(&s).await,
        Err(CameraPostError::BadUrl { .. })
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/cameras/x/events", listener.local_addr().unwrap());
    drop(listener);
    let cam = camera(CameraForm::Dahua, CameraAuth::None, &dead, "");
    assert!(matches!(cam.post(&s).await, Err(CameraPostError::Http(_))));
}
