//! The console serving TLS itself (`[web.tls]`), over real sockets with a test CA: a
//! browser-like client logs in and reads the API and the live stream; HSTS and the
//! `Secure` cookie come with it; a peer that never starts its handshake, one that speaks
//! plain HTTP, and one over the per-address cap are closed as the limits say; and
//! `check-config` names the field and the file that do not load.

use std::path::Path;
use std::time::{Duration, Instant};

use customs_edge::config::WebTls;
use customs_edge::daemon::Running;
use customs_edge::store::Store;
use customs_edge_simulators::broker::tls::{TlsFiles, generate_tls};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::common::{ADMIN_PASSWORD, ADMIN_USER};

/// The handshake limit the tests configure: far below the head timeout, so a close on
/// time is the handshake limit's doing.
const HANDSHAKE_S: f64 = 1.0;
const HEAD_TIMEOUT_S: f64 = 60.0;

struct TlsServer {
    running: Running,
    shutdown: CancellationToken,
    certs: TlsFiles,
    _dir: tempfile::TempDir,
    /// `https://localhost:<port>` (the certificate's name).
    base: String,
}

/// A controller with one line (its PLC unreachable: the live stream still sends its belt)
/// serving TLS with a test CA's certificate.
async fn start_tls(handshake_s: f64, max_per_ip: u32) -> TlsServer {
    crate::common::logs::init();
    let dir = tempfile::tempdir().unwrap();
    let certs = generate_tls(&dir.path().join("tls"), &[]);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut config = crate::common::test_config(&data);
    config.web.tls = Some(WebTls {
        cert_file: certs.server_cert.clone(),
        key_file: certs.server_key.clone(),
        handshake_timeout_s: handshake_s,
        hsts_max_age_s: 600,
    });
    config.web.limits.head_timeout_s = HEAD_TIMEOUT_S;
    config.web.limits.max_per_ip = max_per_ip;
    let store = Store::open(&data).unwrap();
    let shutdown = CancellationToken::new();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let base = format!("https://localhost:{}", running.web_addr.port());
    TlsServer {
        running,
        shutdown,
        certs,
        _dir: dir,
        base,
    }
}

impl TlsServer {
    /// A client that trusts the test CA only, with a cookie store.
    fn client(&self) -> reqwest::Client {
        let ca = std::fs::read(&self.certs.ca).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .cookie_store(true)
            .build()
            .unwrap()
    }

    /// Set the administrator up over TLS and log in; the client and its CSRF token.
    async fn admin(&self) -> (reqwest::Client, String, reqwest::Response) {
        let http = self.client();
        let res = http
            .post(format!("{}/api/setup", self.base))
            .json(&json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = http
            .post(format!("{}/api/login", self.base))
            .json(&json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let headers = res.headers().clone();
        let body: Value = res.json().await.unwrap();
        let csrf = body["csrf"].as_str().unwrap().to_owned();
        let check = http
            .get(format!("{}/api/me", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(check.status(), StatusCode::OK);
        let cookie = headers[reqwest::header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("; Secure"),
            "served over TLS, the session cookie is Secure: {cookie}"
        );
        (http, csrf, check)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.running.wait().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_logs_in_reads_the_api_and_the_live_stream() {
    let server = start_tls(HANDSHAKE_S, 32).await;
    let (http, _csrf, me) = server.admin().await;
    assert_eq!(
        me.headers()["strict-transport-security"],
        "max-age=600; includeSubDomains",
        "HSTS on every response served over TLS"
    );
    assert!(me.headers().contains_key("content-security-policy"));
    let site: Value = http
        .get(format!("{}/api/site", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(site["code"], "3511W001");

    let mut events = http
        .get(format!("{}/api/events", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains("event: line") {
        let chunk = tokio::time::timeout_at(deadline.into(), events.chunk())
            .await
            .expect("the belt's event comes over TLS within 20 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"line_id\":\"L1\""), "{seen}");
    drop(events);
    server.stop().await;
}

/// Read from `stream` until it closes; what came, and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(limit, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("the connection is still open after {limit:?}"));
        match read {
            Ok(0) | Err(_) => return (got, started.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_at_the_handshake_limit_and_plain_http_gets_nothing() {
    let server = start_tls(HANDSHAKE_S, 32).await;
    let addr = server.running.web_addr;

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (got, after) = read_until_closed(&mut silent, Duration::from_secs(30)).await;
    assert!(got.is_empty(), "nothing was sent to a silent peer: {got:?}");
    assert!(
        after >= Duration::from_secs_f64(HANDSHAKE_S * 0.9),
        "closed before the handshake limit: {after:?}"
    );
    assert!(
        after < Duration::from_secs(20),
        "the handshake limit ({HANDSHAKE_S} s), not the head timeout ({HEAD_TIMEOUT_S} s), \
         closes it: {after:?}"
    );

    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = read_until_closed(&mut plain, Duration::from_secs(30)).await;
    assert!(
        !got.windows(5).any(|w| w == b"HTTP/") && !got.windows(6).any(|w| w == b"status"),
        "plain HTTP gets no HTTP answer: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        got.is_empty() || got[0] == 0x15,
        "at most a TLS alert record: {got:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_listener_keeps_the_per_address_cap() {
    // A handshake limit far above the test: only the cap can close a connection at once.
    let server = start_tls(60.0, 2).await;
    let addr = server.running.web_addr;
    let _held = [
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    let mut third = TcpStream::connect(addr).await.unwrap();
    let (got, after) = read_until_closed(&mut third, Duration::from_secs(30)).await;
    assert!(got.is_empty(), "{got:?}");
    assert!(
        after < Duration::from_secs(20),
        "the third connection from one address is closed at once: {after:?}"
    );
    server.stop().await;
}

fn problems(text: &str) -> String {
    match customs_edge::config::parse(text, Path::new("check.toml")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn check_config_names_the_tls_field_and_file_and_allows_any_address_with_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certs = generate_tls(&dir.path().join("tls"), &[]);
    let base = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n",
        dir.path().join("data").display().to_string()
    );
    let with_tls = |cert: &Path, key: &Path| {
        format!(
            "{base}[web]\nlisten = \"0.0.0.0:8443\"\n[web.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        )
    };
    assert_eq!(
        problems(&with_tls(&certs.server_cert, &certs.server_key)),
        "",
        "with TLS, an address reachable from other hosts is allowed"
    );
    let missing = dir.path().join("nope.crt");
    let p = problems(&with_tls(&missing, &certs.server_key));
    assert!(
        p.contains("web.tls: cert_file") && p.contains("nope.crt"),
        "{p}"
    );
    let p = problems(&with_tls(&certs.server_cert, &certs.ca));
    assert!(
        p.contains("web.tls: key_file") && p.contains("ca.crt"),
        "a certificate is not a key: {p}"
    );
    // The CA's key is a key, but not the server certificate's.
    let ca_key = certs.ca.with_file_name("ca.key");
    let p = problems(&with_tls(&certs.server_cert, &ca_key));
    assert!(
        p.contains("web.tls: key_file") && p.contains("ca.key"),
        "{p}"
    );
    let open = format!("{base}[web]\nlisten = \"0.0.0.0:8080\"\n");
    let p = problems(&open);
    assert!(
        p.contains("web.listen") && p.contains("[web.tls]") && p.contains("trusted_proxies"),
        "without TLS or a proxy it is still refused: {p}"
    );
}
