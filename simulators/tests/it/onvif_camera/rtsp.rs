//! RTSP: GStreamer's RTSP server as the camera's child, found through `GetStreamUri`,
//! spoken to in RTSP itself (DESCRIBE with Digest), following the password; and a camera
//! without GStreamer carrying on with MJPEG over HTTP.
//!
//! Needs `python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,ugly}`
//! (`scripts/setup.sh`); `CUSTOMS_EDGE_SKIP_RTSP=1` skips the tests that need them.

use std::path::PathBuf;

use customs_edge_devices::http_auth::Challenge;
use customs_edge_simulators::onvif::OnvifCameraConfig;
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use super::Cam;
use super::client::{PATIENCE, TDS, TRT, texts};

fn skipped() -> bool {
    let skip = std::env::var("CUSTOMS_EDGE_SKIP_RTSP").as_deref() == Ok("1");
    if skip {
        eprintln!("SKIPPED: CUSTOMS_EDGE_SKIP_RTSP=1: the camera's RTSP server is not tested");
    }
    skip
}

/// One RTSP answer: status, headers (lower-case names), body.
struct RtspAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RtspAnswer {
    fn header(&self, name: &str) -> Vec<&str> {
        (self.headers.iter())
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One RTSP connection, as a client keeps it: requests one after the other.
struct RtspConn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    cseq: u32,
}

impl RtspConn {
    async fn connect(url: &str) -> std::io::Result<Self> {
        let authority = url.trim_start_matches("rtsp://");
        let host = &authority[..authority.find('/').unwrap()];
        let stream = TcpStream::connect(host).await?;
        let (read, writer) = stream.into_split();
        Ok(Self {
            reader: BufReader::new(read),
            writer,
            cseq: 0,
        })
    }

    /// Sends one request and reads its answer; `Err` when the connection failed.
    async fn request(
        &mut self,
        url: &str,
        method: &str,
        auth: Option<String>,
    ) -> std::io::Result<RtspAnswer> {
        self.cseq += 1;
        let login = auth.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
        let request = format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {}\r\nAccept: application/sdp\r\n{login}\r\n",
            self.cseq
        );
        self.writer.write_all(request.as_bytes()).await?;
        let reader = &mut self.reader;
        let read_all = async {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let status: u16 = (line.split(' ').nth(1))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("not an RTSP answer: {line:?}")))?;
            let mut headers = Vec::new();
            loop {
                line.clear();
                reader.read_line(&mut line).await?;
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length = (headers.iter())
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).await?;
            Ok(RtspAnswer {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(PATIENCE, read_all)
            .await
            .expect("an RTSP answer in time")
    }
}

/// DESCRIBE with Digest, as a client does it on one connection: challenged first, then
/// answered with `password`.
async fn describe(url: &str, password: &str) -> RtspAnswer {
    try_describe(url, password)
        .await
        .expect("the RTSP server answers")
}

/// [`describe`]; `Err` when the connection failed (a server going away or not up yet).
async fn try_describe(url: &str, password: &str) -> std::io::Result<RtspAnswer> {
    let mut conn = RtspConn::connect(url).await?;
    let first = conn.request(url, "DESCRIBE", None).await?;
    assert_eq!(first.status, 401, "DESCRIBE without credentials");
    let challenges = Challenge::parse_all(&first.header("www-authenticate").join(", ")).unwrap();
    let digest = (challenges.iter())
        .find(|c| matches!(c, Challenge::Digest(_)))
        .expect("an RTSP Digest challenge");
    let authorization = digest
        .authorization("DESCRIBE", url, "admin", password, "c0ffee", 1)
        .unwrap();
    conn.request(url, "DESCRIBE", Some(authorization)).await
}

fn stream_uri(protocol: &str) -> String {
    format!(
        r#"<GetStreamUri xmlns="{TRT}"><StreamSetup><Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream><Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>{protocol}</Protocol></Transport></StreamSetup><ProfileToken>main</ProfileToken></GetStreamUri>"#
    )
}

#[tokio::test]
async fn rtsp_stream_uri_leads_to_an_h264_stream_behind_rtsp_digest() {
    if skipped() {
        return;
    }
    let cam = Cam::start(OnvifCameraConfig {
        rtsp: true,
        ..OnvifCameraConfig::default()
    })
    .await;
    let port = cam
        .camera
        .rtsp_port()
        .expect("the RTSP server runs (scripts/setup.sh installs GStreamer's)");
    let (status, body) = cam.signed("admin123", &stream_uri("RTSP")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = texts(&body, "Uri").remove(0);
    assert_eq!(url, format!("rtsp://127.0.0.1:{port}/main"));
    assert_eq!(Some(&url), cam.camera.rtsp_url_for("main").as_ref());
    let (_, http) = cam.signed("admin123", &stream_uri("HTTP")).await;
    assert_eq!(texts(&http, "Uri"), [cam.camera.stream_url()]);
    let caps =
        format!(r#"<GetCapabilities xmlns="{TDS}"><Category>Media</Category></GetCapabilities>"#);
    let (_, caps) = cam.signed("admin123", &caps).await;
    assert_eq!(texts(&caps, "RTP_RTSP_TCP"), ["true"]);

    let described = describe(&url, "admin123").await;
    assert_eq!(described.status, 200, "{}", described.body);
    assert!(described.body.contains("H264"), "SDP: {}", described.body);
    assert!(
        described.body.contains("sprop-parameter-sets") || described.body.contains("a=rtpmap:96"),
        "SDP: {}",
        described.body
    );

    // A client coming straight back gets a pipeline of its own (a shared one could still be
    // shutting down from the last client, and GStreamer's RTSP server would answer 503).
    for _ in 0..3 {
        assert_eq!(describe(&url, "admin123").await.status, 200);
    }

    cam.camera.set_password("n3w-pw");
    super::eventually("the old password refused over RTSP", || async {
        describe(&url, "admin123").await.status == 401
    })
    .await;
    assert_eq!(describe(&url, "n3w-pw").await.status, 200);

    // A reboot stops the RTSP server with everything else; it comes back on its port.
    cam.camera.reboot(std::time::Duration::from_millis(300));
    super::eventually("the RTSP server back after the reboot", || async {
        try_describe(&url, "n3w-pw")
            .await
            .is_ok_and(|a| a.status == 200)
    })
    .await;
    assert_eq!(cam.camera.rtsp_port(), Some(port));
}

#[tokio::test]
async fn without_gstreamer_the_camera_serves_mjpeg_only_and_says_so() {
    let cam = Cam::start(OnvifCameraConfig {
        rtsp: true,
        rtsp_python: Some(PathBuf::from("/nonexistent/python3")),
        ..OnvifCameraConfig::default()
    })
    .await;
    assert_eq!(cam.camera.rtsp_port(), None);
    let (status, body) = cam.signed("admin123", &stream_uri("RTSP")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(texts(&body, "Uri"), [cam.camera.stream_url()]);
    let services = format!(
        r#"<GetServices xmlns="{TDS}"><IncludeCapability>true</IncludeCapability></GetServices>"#
    );
    let (_, services) = cam.signed("admin123", &services).await;
    assert!(services.contains(r#"NoRTSPStreaming="true""#), "{services}");
}
