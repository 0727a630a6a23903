//! The platform simulator from the outside: its HTTP API and its binary.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use customs_edge_protocol::downlink::Downlink;
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::platform::Ledger;
use serde_json::{Value, json};

use super::fake_site::FakeSite;
use super::{SITE, platform};

#[tokio::test]
async fn the_http_api_publishes_refuses_bad_bodies_and_serves_the_ledger() {
    let broker = Broker::start();
    let p = platform(&broker).await;
    let mut site = FakeSite::connect(&broker).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(platform::http::run(listener, p.handle(), stop.clone()));
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let r = http
        .post(url("/lists?batch=1"))
        .body(r#"{"lists":[{"logisticsNo":"SF1","returnStatus":800},{"logisticsNo":"SF2","returnStatus":120}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["seqs"], json!([1, 2]));
    for _ in 0..2 {
        assert!(matches!(site.next_down().await.2, Downlink::Lists(_)));
    }
    let r = http
        .post(url("/instructions"))
        .body(r#"[{"logisticsNo":"SF1","action":"shred","issuedAt":"2026-11-27T10:00:00Z"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("shred"), "{err}");
    let r = http
        .post(url("/acks"))
        .body(r#"{"paused":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ledger: Ledger = http
        .get(url("/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ledger.acks.paused);
    assert_eq!(ledger.downlink.kinds["lists"], 2);
    stop.cancel();
}

#[tokio::test]
async fn the_binary_prints_its_address_publishes_a_file_and_writes_its_ledger() {
    let broker = Broker::start();
    let mut site = FakeSite::connect(&broker).await;
    let scratch = tempfile::tempdir().unwrap();
    let report = scratch.path().join("ledger.json");
    let lists = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/manifests.example.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_platform-sim"))
        .args([
            "--broker",
            &broker.url(),
            "--site",
            SITE,
            "--http",
            "127.0.0.1:0",
        ])
        .args(["--origin", "bin", "--lists"])
        .arg(&lists)
        .arg("--report-file")
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let addr: std::net::SocketAddr = first.trim().parse().expect("the address first");
    let (_, env, message) = site.next_down().await;
    assert!(matches!(message, Downlink::Lists(_)));
    assert_eq!(env.id, "bin:down:1");
    let ledger_url = format!("http://{addr}/ledger");
    let ledger: Ledger = reqwest::get(&ledger_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ledger.downlink.published >= 1);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    let written: Ledger = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!(written.totals.applied_twice, 0);
}
