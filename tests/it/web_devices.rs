//! The devices overview and the camera views through the real server: a running site's
//! PLC, scanners, scale and X-ray feed with their states (and a PLC link drop showing), gate
//! lanes' devices, the platform link (and its broker going away), a simulated camera's
//! newest frame and its MJPEG live view, and a camera with no frame yet.

use crate::common;
use crate::video_rig as rig;

use std::path::Path;
use std::time::{Duration, Instant};

use customs_edge::config::CameraConfig;
use reqwest::StatusCode;
use rig::{PASSWORD, XRAY_CAM};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

async fn devices(http: &reqwest::Client, web: std::net::SocketAddr) -> Vec<Value> {
    let res = http
        .get(format!("http://{web}/api/devices"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn device<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no device {id} in {list:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devices_list_names_the_lines_plc_scanners_scale_and_xray_feed_with_their_states() {
    let site = common::start_full_site(Vec::new()).await;
    let web = site.controller.web_addr;
    // Healthy already; on a loaded machine one slow poll may show for a moment.
    let list = common::wait_for("every device ok", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        list.iter().all(|d| d["state"] == "ok").then_some(list)
    })
    .await;
    let plc = device(&list, "line:L1:plc");
    assert_eq!(plc["kind"], "line_plc");
    assert_eq!(plc["line_or_gate"], "L1");
    assert_eq!(plc["state"], "ok", "{plc}");
    assert!(
        plc["since"].is_string() && plc["last_seen"].is_string(),
        "{plc}"
    );
    assert!(
        plc["reconnects"].is_u64() && plc["errors"].is_u64(),
        "counted: {plc}"
    );
    for name in ["top", "side"] {
        let scanner = device(&list, &format!("line:L1:scanner:{name}"));
        assert_eq!(
            (
                &scanner["kind"],
                &scanner["name"],
                &scanner["line_or_gate"],
                &scanner["state"]
            ),
            (&json!("scanner"), &json!(name), &json!("L1"), &json!("ok")),
            "{scanner}"
        );
    }
    let xray = device(&list, "line:L1:xray");
    assert_eq!(
        (&xray["kind"], &xray["state"]),
        (&json!("xray_feed"), &json!("ok"))
    );
    let scale = device(&list, "line:L1:scale");
    assert_eq!(
        (&scale["kind"], &scale["line_or_gate"], &scale["state"]),
        (&json!("scale"), &json!("L1"), &json!("ok"))
    );
    let kinds: Vec<&str> = list.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["line_plc", "scanner", "scanner", "scale", "xray_feed"],
        "{list:#?}"
    );

    // The scale reports a fault through the PLC: its row goes down, then comes back.
    site.fault("scale_fault", 3000).await;
    let scale = common::wait_for("the scale shown down", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        let scale = device(&list, "line:L1:scale").clone();
        (scale["state"] == "down").then_some(scale)
    })
    .await;
    assert_eq!(scale["detail"], "the PLC reports a scale fault");
    let scale = common::wait_for("the scale back", Duration::from_secs(20), || async {
        let list = devices(&site.http, web).await;
        let scale = device(&list, "line:L1:scale").clone();
        (scale["state"] == "ok").then_some(scale)
    })
    .await;
    assert_eq!(
        (&scale["errors"], &scale["reconnects"]),
        (&json!(1), &json!(1)),
        "{scale}"
    );

    // The PLC's link drops: the list says so, with the reason.
    site.fault("plc_link_drop", 4000).await;
    let plc = common::wait_for("the PLC shown down", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        let plc = device(&list, "line:L1:plc").clone();
        (plc["state"] != "ok").then_some(plc)
    })
    .await;
    assert!(
        ["down", "degraded"].contains(&plc["state"].as_str().unwrap()),
        "{plc}"
    );
    assert!(!plc["detail"].as_str().unwrap().is_empty(), "{plc}");
    let plc = common::wait_for("the PLC back", Duration::from_secs(20), || async {
        let list = devices(&site.http, web).await;
        let plc = device(&list, "line:L1:plc").clone();
        (plc["state"] == "ok").then_some(plc)
    })
    .await;
    assert!(plc["reconnects"].as_u64().unwrap() >= 1, "{plc}");
    assert!(
        plc["errors"].as_u64().unwrap() >= 1,
        "the drop counted: {plc}"
    );

    // A viewer (the big screen) reads it too.
    let res = site
        .http
        .post(format!("http://{web}/api/accounts"))
        .json(&json!({"username": "wall", "role": "viewer", "password": "wall-screen-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let viewer = common::login_client(web, "wall", "wall-screen-pass-1").await;
    assert_eq!(devices(&viewer, web).await.len(), 5);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_lanes_list_their_io_weighbridge_and_plate_cameras() {
    use common::gate_site::{hik_digest, relaxed_timing, start_gate_site};
    let site = start_gate_site(&[hik_digest()], relaxed_timing(), Vec::new(), |_| {}).await;
    let web = site.controller.web_addr;
    let list = common::wait_for("the gate I/O polled", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        let ready = ["gate:K1:io", "gate:K1:weighbridge"]
            .iter()
            .all(|id| list.iter().any(|d| d["id"] == *id && d["state"] == "ok"));
        ready.then_some(list)
    })
    .await;
    eprintln!("{list:#?}");
    let io = device(&list, "gate:K1:io");
    assert_eq!(
        (&io["kind"], &io["line_or_gate"]),
        (&json!("gate_io"), &json!("K1"))
    );
    assert!(io["detail"].as_str().unwrap().contains("out lane"), "{io}");
    assert_eq!(device(&list, "gate:K1:weighbridge")["kind"], "weighbridge");
    let plates = device(&list, "plate_cameras");
    assert_eq!(plates["kind"], "plate_camera");
    assert_eq!(plates["errors"], 0, "{plates}");
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_link_is_listed_and_shows_the_broker_going_away() {
    let mut broker = customs_edge_simulators::broker::Broker::start();
    let platform = common::platform::platform_config(&broker, "");
    // Healthy means connected to the broker: the harness waits for it.
    let site = common::start_site_with(Vec::new(), |c| c.platform = Some(platform)).await;
    let web = site.controller.web_addr;
    let list = common::wait_for("the link ok", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        (device(&list, "platform")["state"] == "ok").then_some(list)
    })
    .await;
    let link = device(&list, "platform");
    assert_eq!(
        (&link["kind"], &link["state"], &link["reconnects"]),
        (&json!("platform_link"), &json!("ok"), &json!(0)),
        "{link}"
    );
    assert!(link["last_seen"].is_string(), "{link}");
    assert_eq!(
        list.last().unwrap()["id"],
        "platform",
        "the platform comes last"
    );
    broker.stop();
    let link = common::wait_for("the link shown lost", Duration::from_secs(20), || async {
        let list = devices(&site.http, web).await;
        let link = device(&list, "platform").clone();
        (link["state"] != "ok").then_some(link)
    })
    .await;
    assert!(
        link["detail"].as_str().unwrap().contains("not connected"),
        "{link}"
    );
    site.stop().await;
}

/// The parts of a `multipart/x-mixed-replace` body read so far: (headers, body) each.
fn parts(buf: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}\r\n");
    let mut out = Vec::new();
    let mut rest = buf;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        let after = &rest[start + delimiter.len()..];
        let Some(end) = find(after, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&after[..end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("each part has a Content-Length")
            .trim()
            .parse()
            .unwrap();
        let body = &after[end + 4..];
        if body.len() < length + 2 {
            break;
        }
        assert_eq!(&body[length..length + 2], b"\r\n", "a part ends with CRLF");
        out.push((head, body[..length].to_vec()));
        rest = &body[length + 2..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cameras_newest_frame_and_live_view() {
    let shutdown = CancellationToken::new();
    let sim = rig::sim(&shutdown).await;
    let files = tempfile::tempdir().unwrap();
    let cam = rig::camera(&sim, files.path(), PASSWORD);
    // Healthy means streaming: the harness waits for it.
    let site = common::start_site_with(Vec::new(), |c| c.cameras.push(cam)).await;
    let web = site.controller.web_addr;
    let id = format!("camera:{XRAY_CAM}");
    let row = common::wait_for("the camera ok", Duration::from_secs(15), || async {
        let list = devices(&site.http, web).await;
        let row = device(&list, &id).clone();
        (row["state"] == "ok").then_some(row)
    })
    .await;
    assert_eq!(
        (&row["kind"], &row["name"]),
        (&json!("camera"), &json!("X光机出口")),
        "{row}"
    );
    assert!(row["detail"].as_str().unwrap().contains("640×360"), "{row}");
    assert!(row["last_seen"].is_string(), "{row}");
    assert!(
        row["reconnects"].is_u64() && row["errors"].is_u64(),
        "{row}"
    );

    let res = site
        .http
        .get(format!("http://{web}/api/cameras/{XRAY_CAM}/frame.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let at = res.headers()["x-frame-at"].to_str().unwrap().to_owned();
    chrono::DateTime::parse_from_rfc3339(&at).expect("X-Frame-At is RFC 3339");
    let jpeg = res.bytes().await.unwrap();
    let image = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .expect("the frame decodes as JPEG");
    assert_eq!((image.width(), image.height()), (640, 360));

    let res = site
        .http
        .get(format!(
            "http://{web}/api/cameras/00000000000000000000/frame.jpg"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("00000000000000000000"),
        "{body}"
    );

    let asked = Instant::now();
    let mut res = site
        .http
        .get(format!("http://{web}/api/cameras/{XRAY_CAM}/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/x-mixed-replace; boundary=")
        .unwrap_or_else(|| panic!("{content_type}"))
        .to_owned();
    let mut buf = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let chunk = res.chunk().await.unwrap().expect("the stream goes on");
            buf.extend_from_slice(&chunk);
            let got = parts(&buf, &boundary);
            if got.len() >= 3 && asked.elapsed() >= Duration::from_secs(1) {
                return got;
            }
        }
    })
    .await
    .expect("three parts within 20 s");
    let elapsed = asked.elapsed().as_secs_f64();
    // The camera sends 10 a second; the live view passes on at most 5.
    assert!(
        got.len() as f64 <= elapsed * 5.0 + 2.0,
        "{} parts in {elapsed:.2} s",
        got.len()
    );
    for (head, body) in &got {
        assert!(head.contains("Content-Type: image/jpeg"), "{head}");
        let image = image::load_from_memory_with_format(body, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((image.width(), image.height()), (640, 360));
    }
    // The viewer goes away; the site still stops cleanly.
    drop(res);
    site.stop().await;
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_with_no_frame_yet_answers_503_and_shows_in_the_list() {
    let data = tempfile::tempdir().unwrap();
    // Nothing listens there: the camera never gives a frame.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/video.mjpg", dead.local_addr().unwrap());
    drop(dead);
    let text = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n{}[web]\nlisten = \"127.0.0.1:0\"\n",
        data.path().display().to_string(),
        crate::common::NO_DISK_LEVELS,
    );
    let mut config = customs_edge::config::parse(&text, Path::new("camera-test.toml")).unwrap();
    config.cameras.push(CameraConfig {
        points: vec!["line:L1:xray_exit".into()],
        ..CameraConfig::with_stream("35000011101320502099", "无信号", &url)
    });
    let store = customs_edge::store::Store::open(data.path()).unwrap();
    let shutdown = CancellationToken::new();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let web = running.web_addr;
    let http = common::admin_client(web).await;
    let res = http
        .get(format!(
            "http://{web}/api/cameras/35000011101320502099/frame.jpg"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("no frame yet"),
        "{body}"
    );
    let list = devices(&http, web).await;
    let row = device(&list, "camera:35000011101320502099");
    assert!(
        ["starting", "down"].contains(&row["state"].as_str().unwrap()),
        "{row}"
    );
    assert!(row["last_seen"].is_null(), "{row}");
    shutdown.cancel();
    running.wait().await.unwrap();
}
