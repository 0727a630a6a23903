//! Shared harness of the integration tests: a simulated site on free loopback ports and
//! the controller's own drivers as clients.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, LineStatus, RegisterMap};
use customs_edge_devices::scanner::{
    Framing, ScanFrame, ScannerClient, ScannerCodec, ScannerEvent,
};
use customs_edge_simulators::report::{ParcelState, Report};
use customs_edge_simulators::{RunningSim, SimConfig};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

/// Bound on every wait: generous, for a busy 2-core CI machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Site {
    pub sim: RunningSim,
    pub shutdown: CancellationToken,
    pub http: reqwest::Client,
}

/// Poll `check` every 20 ms until it returns `Some`, or fail after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Site {
    pub async fn start(config: SimConfig) -> Self {
        let shutdown = CancellationToken::new();
        let sim = customs_edge_simulators::start(config, shutdown.clone())
            .await
            .expect("site starts");
        Self {
            sim,
            shutdown,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.sim.http)
    }

    /// POST `body` to `path`; returns the status and the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    pub async fn post_parcel(&self, body: Value) -> u64 {
        let (status, answer) = self.post("/parcels", &body).await;
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_u64().unwrap()
    }

    pub async fn report(&self) -> Report {
        let resp = self.http.get(self.url("/report")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Poll the report until `done` holds for it.
    pub async fn report_until(&self, what: &str, done: impl Fn(&Report) -> bool) -> Report {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let report = self.report().await;
            if done(&report) {
                return report;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {report:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A PLC driver for line `i`.
    pub fn plc(&self, i: usize, map: RegisterMap) -> LinePlc {
        LinePlc::new(self.sim.lines[i].plc, map, Duration::from_secs(5))
    }

    /// A scanner client of line `i`'s top (`side` = false) or side scanner.
    pub fn scanner(&self, i: usize, side: bool, framing: Framing) -> mpsc::Receiver<ScannerEvent> {
        let line = &self.sim.lines[i];
        let (name, addr) = if side {
            ("side", line.side)
        } else {
            ("top", line.top)
        };
        let (tx, rx) = mpsc::channel(64);
        let client = ScannerClient::new(name, addr, ScannerCodec::new(framing, "NoRead", 80));
        tokio::spawn(client.run(tx, self.shutdown.clone()));
        rx
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        timeout(PATIENCE, self.sim.wait())
            .await
            .expect("site stops in time")
            .expect("site stops cleanly");
    }
}

pub fn dropped(report: &Report, id: u64) -> bool {
    report
        .parcel(id)
        .is_some_and(|p| p.state == ParcelState::Dropped)
}

pub async fn next_frame(events: &mut mpsc::Receiver<ScannerEvent>) -> ScanFrame {
    loop {
        match timeout(PATIENCE, events.recv())
            .await
            .expect("scan in time")
            .expect("client runs")
        {
            ScannerEvent::Frame { frame, .. } => return frame,
            ScannerEvent::Connected { .. } => {}
            ScannerEvent::Disconnected { error, .. } => panic!("scanner disconnected: {error}"),
        }
    }
}

/// Read `plc`'s status every 20 ms until `check` returns `Some` (read errors are retried),
/// or fail after [`PATIENCE`].
pub async fn poll_status<T>(
    plc: &mut LinePlc,
    what: &str,
    mut check: impl FnMut(&LineStatus) -> Option<T>,
) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(status) = plc.read_status().await
            && let Some(found) = check(&status)
        {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
