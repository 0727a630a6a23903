//! The simulated ONVIF camera over real sockets: SOAP with WS-Security, Digest snapshots,
//! the MJPEG stream, every fault switch, and a directed WS-Discovery probe; the Profile S
//! reads and SOAP with HTTP Digest (`profile_s`), RTSP (`rtsp`), multicast discovery on
//! the listening interface only (`discovery`).

mod client;
mod discovery;
mod profile_s;
mod rtsp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use client::{Mjpeg, PATIENCE, TDS, TRT, digest_get, security_header, soap, texts};
use customs_edge_simulators::onvif::{self, OnvifCameraConfig, RunningCamera};
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

const PROFILES: &str = r#"<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>"#;
const CLOCK: &str = r#"<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>"#;

/// A camera that stops when the test ends.
struct Cam {
    camera: RunningCamera,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

impl Drop for Cam {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cam {
    async fn start(cfg: OnvifCameraConfig) -> Self {
        let shutdown = CancellationToken::new();
        let camera = onvif::start(cfg, shutdown.clone())
            .await
            .expect("the camera starts");
        Self {
            camera,
            shutdown,
            http: reqwest::Client::new(),
        }
    }

    async fn default() -> Self {
        Self::start(OnvifCameraConfig::default()).await
    }

    /// A SOAP request signed with `password` at the camera's own clock.
    async fn signed(&self, password: &str, operation: &str) -> (StatusCode, String) {
        let token = security_header("admin", password, self.camera.camera_now());
        soap(
            &self.http,
            &self.camera.device_service_url(),
            Some(token),
            operation,
        )
        .await
    }

    async fn stream(&self, profile: &str) -> Mjpeg {
        let url = self.camera.stream_url_for(profile);
        let response = digest_get(&self.http, &url, "admin", "admin123").await;
        assert_eq!(response.status(), StatusCode::OK);
        Mjpeg::new(response)
    }
}

/// Poll `check` every 20 ms until it is true, or fail after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_not_authorized(status: StatusCode, body: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        texts(body, "Value")
            .iter()
            .any(|v| v == "ter:NotAuthorized"),
        "{body}"
    );
}

fn decode_jpeg(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .expect("a decodable JPEG")
        .to_rgb8()
}

#[tokio::test]
async fn system_date_and_time_is_open_and_shows_the_cameras_skewed_clock() {
    let cam = Cam::start(OnvifCameraConfig {
        clock_skew_s: 3600,
        ..OnvifCameraConfig::default()
    })
    .await;
    let (status, body) = soap(&cam.http, &cam.camera.device_service_url(), None, CLOCK).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let n = |name: &str| -> u32 { texts(&body, name)[0].parse().expect("a number") };
    let utc: DateTime<Utc> = NaiveDate::from_ymd_opt(n("Year") as i32, n("Month"), n("Day"))
        .and_then(|d| d.and_hms_opt(n("Hour"), n("Minute"), n("Second")))
        .expect("a date")
        .and_utc();
    let ahead = (utc - Utc::now()).num_seconds();
    assert!(
        (3595..=3601).contains(&ahead),
        "the camera is {ahead} s ahead"
    );
    assert_eq!(texts(&body, "TZ"), ["CST-8"]);
}

#[tokio::test]
async fn profiles_need_a_fresh_username_token_with_the_right_password() {
    let cam = Cam::start(OnvifCameraConfig {
        clock_skew_s: 3600,
        ..OnvifCameraConfig::default()
    })
    .await;
    let url = cam.camera.device_service_url();
    // No credentials at all: challenged for HTTP Digest (the alternative to a token).
    let (status, body) = soap(&cam.http, &url, None, PROFILES).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(texts(&body, "Value").contains(&"ter:NotAuthorized".to_owned()));
    let (status, body) = cam.signed("wrong", PROFILES).await;
    assert_not_authorized(status, &body);
    // Right password, but Created from our clock: an hour off the camera's.
    let uncorrected = security_header("admin", "admin123", Utc::now());
    let (status, body) = soap(&cam.http, &url, Some(uncorrected), PROFILES).await;
    assert_not_authorized(status, &body);

    let (status, body) = cam.signed("admin123", PROFILES).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        texts(&body, "Name")
            .iter()
            .filter(|n| *n == "main" || *n == "sub")
            .count(),
        2
    );
    assert_eq!(texts(&body, "Width"), ["1280", "640"]);
    assert_eq!(texts(&body, "Height"), ["720", "360"]);
    assert_eq!(texts(&body, "Encoding"), ["JPEG", "JPEG"]);

    let counted = cam.camera.stats();
    // The challenge is no failure: the wrong password and the uncorrected clock are.
    assert_eq!(counted.auth_failures, 2);
    assert_eq!(counted.soap_requests.get("GetProfiles"), Some(&4));
}

#[tokio::test]
async fn capabilities_and_services_advertise_the_media_service() {
    let cam = Cam::default().await;
    let media = cam.camera.media_service_url();
    let caps =
        format!(r#"<GetCapabilities xmlns="{TDS}"><Category>All</Category></GetCapabilities>"#);
    let (status, body) = cam.signed("admin123", &caps).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(texts(&body, "XAddr").contains(&media), "{body}");
    let services = format!(
        r#"<GetServices xmlns="{TDS}"><IncludeCapability>false</IncludeCapability></GetServices>"#
    );
    let (_, body) = cam.signed("admin123", &services).await;
    assert_eq!(texts(&body, "Namespace"), [TDS, TRT]);
    let (status, body) = cam
        .signed("admin123", &format!(r#"<GetRecordings xmlns="{TDS}"/>"#))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        texts(&body, "Value").contains(&"ter:ActionNotSupported".to_owned()),
        "{body}"
    );
    let (status, body) = soap(&cam.http, &cam.camera.device_service_url(), None, "<oops").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        texts(&body, "Value").contains(&"ter:WellFormed".to_owned()),
        "{body}"
    );
}

#[tokio::test]
async fn snapshot_uri_leads_to_a_digest_protected_jpeg_of_the_profile_size() {
    let cam = Cam::default().await;
    let op = format!(
        r#"<GetSnapshotUri xmlns="{TRT}"><ProfileToken>sub</ProfileToken></GetSnapshotUri>"#
    );
    let (status, body) = cam.signed("admin123", &op).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uri = texts(&body, "Uri").remove(0);
    assert_eq!(uri, cam.camera.snapshot_url_for("sub"));

    let before = cam.camera.camera_now().timestamp_millis();
    let response = digest_get(&cam.http, &uri, "admin", "admin123").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let picture = decode_jpeg(&response.bytes().await.expect("a body"));
    assert_eq!(picture.dimensions(), (640, 360));
    let shown = onvif::decode_capture_ms(&picture).expect("the picture shows its time");
    assert!(
        (before - 1000..=before + 5000).contains(&shown),
        "{shown} vs {before}"
    );
    assert_eq!(cam.camera.stats().snapshots_served, 1);
}

#[tokio::test]
async fn stream_delivers_frames_at_the_frame_rate_with_increasing_timestamps() {
    let cam = Cam::default().await;
    let mut stream = cam.stream("sub").await;
    let first = stream.next_part().await.expect("a first frame");
    let started = Instant::now();
    let mut last = first.headers["x-timestamp"]
        .parse::<DateTime<Utc>>()
        .expect("RFC 3339");
    for _ in 0..20 {
        let part = stream.next_part().await.expect("a frame");
        assert_eq!(part.headers["content-type"], "image/jpeg");
        let stamp = part.headers["x-timestamp"]
            .parse::<DateTime<Utc>>()
            .expect("RFC 3339");
        assert!(stamp > last, "{stamp} after {last}");
        let picture = decode_jpeg(&part.body);
        assert_eq!(picture.dimensions(), (640, 360));
        assert_eq!(
            onvif::decode_capture_ms(&picture),
            Some(stamp.timestamp_millis())
        );
        last = stamp;
    }
    // 20 frames at 10 fps: about 2 s (frames may be skipped on a busy machine, never hurried).
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1800),
        "20 frames in {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(8),
        "20 frames in {elapsed:?}"
    );
    assert!(cam.camera.stats().frames_sent >= 21);
}

#[tokio::test]
async fn stopped_stream_sends_nothing_until_resumed() {
    let cam = Cam::default().await;
    let mut stream = cam.stream("sub").await;
    stream.next_part().await.expect("a frame");
    cam.camera.set_stream_stopped(true);
    // A frame already on its way may still arrive; after that, silence.
    let sent = cam.camera.stats().frames_sent;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        while stream.next_part().await.is_ok() {}
    })
    .await;
    assert!(quiet.is_err(), "the stream ended instead of going quiet");
    assert!(cam.camera.stats().frames_sent <= sent + 1);
    cam.camera.set_stream_stopped(false);
    let part = stream
        .next_part()
        .await
        .expect("frames again after resuming");
    decode_jpeg(&part.body);
}

#[tokio::test]
async fn reboot_cuts_the_stream_refuses_connections_and_comes_back() {
    let cam = Cam::default().await;
    let addr = cam.camera.http_addr();
    let mut stream = cam.stream("sub").await;
    stream.next_part().await.expect("a frame");
    cam.camera.reboot(Duration::from_secs(3));
    assert!(!cam.camera.is_up());
    let cut = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Err(e) = stream.next_part().await {
                return e;
            }
        }
    })
    .await
    .expect("the stream is cut");
    assert!(cut.contains("broke") || cut.contains("ended"), "{cut}");
    eventually("connections are refused while rebooting", || async {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;

    eventually("the camera is back", || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    let (status, _) = soap(&cam.http, &cam.camera.device_service_url(), None, CLOCK).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cam.camera.stats().boots, 2);
    let mut again = cam.stream("sub").await;
    again.next_part().await.expect("frames after the reboot");
}

#[tokio::test]
async fn junk_replaces_the_jpeg_parts_with_garbage_until_switched_off() {
    let cam = Cam::default().await;
    let mut stream = cam.stream("sub").await;
    stream.next_part().await.expect("a frame");
    cam.camera.set_junk(true);
    let junk = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Err(e) = stream.next_part().await {
                return e;
            }
        }
    })
    .await
    .expect("junk within the patience");
    assert!(junk.starts_with("not a part"), "{junk}");
    let snapshot = digest_get(&cam.http, &cam.camera.snapshot_url(), "admin", "admin123").await;
    let bytes = snapshot.bytes().await.expect("a body");
    assert!(
        image::load_from_memory(&bytes).is_err(),
        "a junk snapshot does not decode"
    );

    cam.camera.set_junk(false);
    stream.resync().await.expect("parts again");
    let part = stream.next_part().await.expect("a part after the junk");
    decode_jpeg(&part.body);
}

#[tokio::test]
async fn slow_camera_answers_late() {
    let cam = Cam::default().await;
    cam.camera.set_slow(Some(Duration::from_millis(700)));
    let started = Instant::now();
    let (status, _) = soap(&cam.http, &cam.camera.device_service_url(), None, CLOCK).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    cam.camera.set_slow(None);
    let started = Instant::now();
    soap(&cam.http, &cam.camera.device_service_url(), None, CLOCK).await;
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn changed_password_refuses_the_old_one() {
    let cam = Cam::default().await;
    cam.camera.set_password("n3w-secret");
    let (status, body) = cam.signed("admin123", PROFILES).await;
    assert_not_authorized(status, &body);
    let (status, _) = cam.signed("n3w-secret", PROFILES).await;
    assert_eq!(status, StatusCode::OK);
    let old = digest_get(&cam.http, &cam.camera.snapshot_url(), "admin", "admin123").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = digest_get(&cam.http, &cam.camera.snapshot_url(), "admin", "n3w-secret").await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn directed_probe_gets_a_probe_match_with_the_device_xaddr() {
    let cam = Cam::start(OnvifCameraConfig {
        discovery: true,
        ..OnvifCameraConfig::default()
    })
    .await;
    let to: SocketAddr = cam.camera.discovery_addr().expect("a unicast responder");
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a UDP socket");
    // A probe for printers first: ignored, so the first answer is to the camera probe.
    let printers = client::probe("urn:uuid:0000-printers", "x:Printer");
    socket.send_to(printers.as_bytes(), to).await.expect("sent");
    let answer = client::ask(
        &socket,
        to,
        &client::probe("urn:uuid:1234-cams", "dn:NetworkVideoTransmitter"),
    )
    .await;
    assert_eq!(
        texts(&answer, "RelatesTo"),
        ["urn:uuid:1234-cams"],
        "{answer}"
    );
    assert_eq!(
        texts(&answer, "Action"),
        ["http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"]
    );
    assert_eq!(texts(&answer, "XAddrs"), [cam.camera.device_service_url()]);
    assert_eq!(texts(&answer, "Address"), [cam.camera.endpoint_reference()]);
    let scopes = texts(&answer, "Scopes").remove(0);
    assert!(
        scopes
            .split(' ')
            .any(|s| s == "onvif://www.onvif.org/name/sim-camera"),
        "{scopes}"
    );
    assert!(cam.camera.stats().probes_answered >= 1);
}
