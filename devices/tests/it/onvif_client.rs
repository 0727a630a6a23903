//! The ONVIF client against a tiny SOAP camera stub on loopback: WS-Security checked the
//! way a camera checks it (digest, and `Created` within 5 s of the camera's own clock,
//! which runs an hour ahead), a media service announced at an address the camera cannot
//! be reached at, a snapshot behind HTTP Digest, junk, slowness, and WS-Discovery over
//! unicast UDP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{TimeDelta, Utc};
use customs_edge_devices::http_auth::{AuthScheme, Authenticator};
use customs_edge_devices::onvif::soap::password_digest;
use customs_edge_devices::onvif::{Discovery, OnvifClient, discover};

const USER: &str = "admin";
const PASSWORD: &str = "Sanming-2025";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Junk,
    Html500,
    Slow,
    HtmlSnapshot,
}

struct Cam {
    addr: SocketAddr,
    /// Camera clock minus real time, in seconds.
    clock_offset_s: Mutex<i64>,
    mode: Mutex<Mode>,
    digest: Authenticator,
    /// Operations answered, and whether each carried a valid UsernameToken.
    seen: Mutex<Vec<(String, bool)>>,
}

async fn start() -> Arc<Cam> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cam = Arc::new(Cam {
        addr: listener.local_addr().unwrap(),
        clock_offset_s: Mutex::new(3600),
        mode: Mutex::new(Mode::Normal),
        digest: Authenticator::new("IP Camera(C1234)", [7; 32]),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/onvif/device_service", post(soap))
        .route("/onvif/Media", post(soap))
        .route("/snapshot.jpg", get(snapshot))
        .with_state(cam.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    cam
}

fn client(cam: &Cam, password: &str) -> OnvifClient {
    let url = format!("http://{}/onvif/device_service", cam.addr);
    OnvifClient::new(&url, USER, password, Duration::from_secs(2)).unwrap()
}

/// The text of the first element with this local name (good enough for our own client).
fn text<'a>(xml: &'a str, local: &str) -> Option<&'a str> {
    let tag = [format!(":{local}>"), format!(":{local} ")]
        .iter()
        .filter_map(|t| xml.find(t.as_str()))
        .min()?;
    let start = tag + xml[tag..].find('>')? + 1;
    Some(&xml[start..start + xml[start..].find('<')?])
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>{body}</env:Body></env:Envelope>"#
    )
}

fn token_ok(req: &str, camera_now: chrono::DateTime<Utc>) -> bool {
    let (Some(user), Some(digest), Some(nonce), Some(created)) = (
        text(req, "Username"),
        text(req, "Password"),
        text(req, "Nonce"),
        text(req, "Created"),
    ) else {
        return false;
    };
    let Ok(nonce) = BASE64.decode(nonce) else {
        return false;
    };
    let fresh = created
        .parse::<chrono::DateTime<Utc>>()
        .is_ok_and(|c| (c - camera_now).abs() <= TimeDelta::seconds(5));
    user == USER && fresh && digest == password_digest(&nonce, created, PASSWORD)
}

async fn soap(State(cam): State<Arc<Cam>>, req: String) -> Response {
    let mode = *cam.mode.lock().unwrap();
    match mode {
        Mode::Junk => return (StatusCode::OK, "<html><body>Welcome</body></html>").into_response(),
        Mode::Html500 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "<h1>oops</h1>").into_response();
        }
        Mode::Slow => tokio::time::sleep(Duration::from_secs(5)).await,
        Mode::Normal | Mode::HtmlSnapshot => {}
    }
    let body = &req[req.find("Body>").unwrap() + 5..];
    let op: String = body[body.find('<').unwrap() + 1..]
        .chars()
        .take_while(|c| !matches!(c, ' ' | '/' | '>'))
        .collect();
    let op = op.rsplit(':').next().unwrap().to_owned();
    let camera_now = Utc::now() + TimeDelta::seconds(*cam.clock_offset_s.lock().unwrap());
    let authorized = token_ok(&req, camera_now);
    cam.seen.lock().unwrap().push((op.clone(), authorized));
    if op != "GetSystemDateAndTime" && !authorized {
        let fault = "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode>\
            <env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason>\
            <env:Text xml:lang=\"en\">Sender not Authorized</env:Text></env:Reason></env:Fault>";
        return (StatusCode::BAD_REQUEST, envelope(fault)).into_response();
    }
    let answer = match op.as_str() {
        "GetSystemDateAndTime" => {
            use chrono::{Datelike as _, Timelike as _};
            let t = camera_now;
            format!(
                "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP\
                 </tt:DateTimeType><tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}\
                 </tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year>\
                 <tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime>\
                 </tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>",
                t.hour(),
                t.minute(),
                t.second(),
                t.year(),
                t.month(),
                t.day()
            )
        }
        // The media service is announced at a factory address: the client must use ours.
        "GetCapabilities" => "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media>\
            <tt:XAddr>http://192.0.2.10/onvif/Media</tt:XAddr></tt:Media></tds:Capabilities>\
            </tds:GetCapabilitiesResponse>"
            .to_owned(),
        "GetDeviceInformation" => "<tds:GetDeviceInformationResponse><tds:Manufacturer>Stub\
            </tds:Manufacturer><tds:Model>C1234</tds:Model></tds:GetDeviceInformationResponse>"
            .to_owned(),
        "GetProfiles" => "<trt:GetProfilesResponse><trt:Profiles token=\"P1\"><tt:Name>main\
            </tt:Name><tt:VideoEncoderConfiguration token=\"V1\"><tt:Encoding>H264</tt:Encoding>\
            <tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution>\
            <tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit></tt:RateControl>\
            </tt:VideoEncoderConfiguration></trt:Profiles></trt:GetProfilesResponse>"
            .to_owned(),
        "GetStreamUri" if req.contains(">RTSP<") => format!(
            "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://{}:554/ch1/main</tt:Uri>\
             </trt:MediaUri></trt:GetStreamUriResponse>",
            cam.addr.ip()
        ),
        "GetSnapshotUri" => format!(
            "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>http://{}/snapshot.jpg</tt:Uri>\
             </trt:MediaUri></trt:GetSnapshotUriResponse>",
            cam.addr
        ),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                envelope(
                    "<env:Fault><env:Code><env:Value>\
                env:Receiver</env:Value><env:Subcode><env:Value>ter:ActionNotSupported\
                </env:Value></env:Subcode></env:Code></env:Fault>",
                ),
            )
                .into_response();
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/soap+xml; charset=utf-8"),
    );
    (headers, envelope(&answer)).into_response()
}

async fn snapshot(State(cam): State<Arc<Cam>>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let verified = sent.map(|a| {
        cam.digest
            .verify(a, "GET", "/snapshot.jpg", USER, PASSWORD, now)
    });
    if !matches!(verified, Some(Ok(AuthScheme::Digest(_)))) {
        let mut out = StatusCode::UNAUTHORIZED.into_response();
        for challenge in cam.digest.challenges(false, now) {
            if matches!(
                challenge,
                customs_edge_devices::http_auth::Challenge::Digest(_)
            ) {
                let value = HeaderValue::from_str(&challenge.to_string()).unwrap();
                out.headers_mut().append(header::WWW_AUTHENTICATE, value);
            }
        }
        return out;
    }
    if *cam.mode.lock().unwrap() == Mode::HtmlSnapshot {
        return ([(header::CONTENT_TYPE, "text/html")], "<h1>login</h1>").into_response();
    }
    (
        [(header::CONTENT_TYPE, "image/jpeg")],
        Bytes::from_static(JPEG),
    )
        .into_response()
}

#[tokio::test]
async fn clock_is_read_without_credentials_and_its_offset_kept() {
    let cam = start().await;
    let url = format!("http://{}/onvif/device_service", cam.addr);
    let anonymous = OnvifClient::new(&url, "", "", Duration::from_secs(2)).unwrap();
    let sdt = anonymous.system_date_and_time().await.unwrap();
    assert_eq!(sdt.date_time_type, "NTP");
    let offset = anonymous.clock_offset().unwrap();
    assert!(
        (offset - TimeDelta::hours(1)).abs() <= TimeDelta::seconds(2),
        "{offset}"
    );
    let err = anonymous.device_information().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(
        cam.seen.lock().unwrap()[0],
        ("GetSystemDateAndTime".to_owned(), false)
    );
}

#[tokio::test]
async fn profiles_uris_and_a_digest_snapshot_with_the_right_password() {
    let cam = start().await;
    let client = client(&cam, PASSWORD);
    let info = client.device_information().await.unwrap();
    assert_eq!(
        (info.manufacturer.as_str(), info.model.as_str()),
        ("Stub", "C1234")
    );
    let profiles = client.profiles().await.unwrap();
    assert_eq!(profiles.len(), 1);
    let video = profiles[0].video.as_ref().unwrap();
    assert_eq!(
        (video.resolution, video.fps),
        (Some((1920, 1080)), Some(25.0))
    );
    let stream = client.stream_uri("P1").await.unwrap();
    assert_eq!(stream.uri, format!("rtsp://{}:554/ch1/main", cam.addr.ip()));
    let snap = client.snapshot("P1").await.unwrap();
    assert_eq!(snap.bytes.as_ref(), JPEG);
    assert_eq!(snap.content_type, "image/jpeg");
    // A second snapshot reuses the Digest challenge (nonce count 2) and still works.
    client.fetch_snapshot(&snap.uri).await.unwrap();
    let seen = cam.seen.lock().unwrap().clone();
    assert!(
        seen.iter().skip(1).all(|(_, ok)| *ok),
        "every call after the clock carried a valid token: {seen:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_names_the_operation_and_the_camera() {
    let cam = start().await;
    let err = client(&cam, "wrong")
        .device_information()
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let text = err.to_string();
    let expected = format!(
        "GetDeviceInformation on http://{}/onvif/device_service: not authorized",
        cam.addr
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains("check the user name and password"), "{text}");
}

#[tokio::test]
async fn a_camera_that_lost_its_clock_is_read_again_and_the_call_retried() {
    let cam = start().await;
    let client = client(&cam, PASSWORD);
    client.device_information().await.unwrap();
    // The camera reboots without NTP: back to the year 2000.
    *cam.clock_offset_s.lock().unwrap() = -25 * 365 * 86_400;
    client.device_information().await.unwrap();
    assert!(client.clock_offset().unwrap() < TimeDelta::days(-9000));
}

#[tokio::test]
async fn junk_slowness_and_a_login_page_instead_of_a_snapshot_are_typed_errors() {
    let cam = start().await;
    let client = client(&cam, PASSWORD);
    let snap_uri = client.snapshot_uri("P1").await.unwrap().uri;

    *cam.mode.lock().unwrap() = Mode::Junk;
    let err = client.device_information().await.unwrap_err();
    assert_eq!(err.kind.code(), "onvif_not_soap", "{err}");

    *cam.mode.lock().unwrap() = Mode::Html500;
    let err = client.device_information().await.unwrap_err();
    assert_eq!(err.kind.code(), "onvif_http_status", "{err}");
    assert!(err.to_string().contains("HTTP 500"), "{err}");

    *cam.mode.lock().unwrap() = Mode::HtmlSnapshot;
    let err = client.fetch_snapshot(&snap_uri).await.unwrap_err();
    assert_eq!(err.kind.code(), "onvif_not_an_image", "{err}");
    assert!(err.to_string().starts_with("snapshot on http://"), "{err}");

    *cam.mode.lock().unwrap() = Mode::Slow;
    let url = format!("http://{}/onvif/device_service", cam.addr);
    let quick = OnvifClient::new(&url, USER, PASSWORD, Duration::from_millis(300)).unwrap();
    let err = quick.device_information().await.unwrap_err();
    assert!(err.kind.is_transport(), "{err}");

    let err = OnvifClient::new(
        "http://127.0.0.1:1/onvif/device_service",
        "",
        "",
        Duration::from_secs(1),
    )
    .unwrap()
    .system_date_and_time()
    .await
    .unwrap_err();
    assert_eq!(err.kind.code(), "onvif_transport", "{err}");
}

#[tokio::test]
async fn unicast_discovery_merges_answers_and_counts_junk() {
    let responder = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = responder.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = responder.recv_from(&mut buf).await {
            let probe = String::from_utf8_lossy(&buf[..n]).into_owned();
            let id = text(&probe, "MessageID").unwrap_or_default().to_owned();
            let answer = format!(
                r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header><a:RelatesTo>{id}</a:RelatesTo></e:Header><e:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:stub-1</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/Gate%201 onvif://www.onvif.org/hardware/C1234</d:Scopes><d:XAddrs>http://{addr}/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>"#
            );
            let _ = responder.send_to(answer.as_bytes(), from).await;
            let _ = responder.send_to(b"\x00garbage", from).await;
        }
    });
    let report = discover(Duration::from_millis(500), &Discovery::Unicast(vec![addr]))
        .await
        .unwrap();
    assert_eq!(report.devices.len(), 1, "{report:?}");
    let device = &report.devices[0];
    assert_eq!(device.endpoint, "urn:uuid:stub-1");
    assert_eq!(device.name().as_deref(), Some("Gate 1"));
    assert_eq!(device.hardware().as_deref(), Some("C1234"));
    assert_eq!(
        device.xaddrs,
        [format!("http://{addr}/onvif/device_service")]
    );
    assert_eq!(report.malformed, 2, "one junk answer per probe: {report:?}");
    assert!(report.send_errors.is_empty(), "{report:?}");
}
