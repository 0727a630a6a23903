//! A PLC that sends an out-of-range register value: the poll is rejected with the raw
//! words logged and kept, the rejection is counted, and the line keeps running.

use crate::common;

use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use customs_edge::store::Store;
use customs_edge_devices::line_plc::LineStatus;
use customs_edge_devices::line_plc::map::{BELT_SPEED, COMMAND_LEN, STATUS_LEN};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;

/// A PLC whose belt speed register reads 40000 mm/s for its first `garbled` polls.
#[derive(Clone)]
struct GarbledPlc {
    reads: Arc<AtomicU32>,
    garbled: u32,
}

impl Service for GarbledPlc {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Request<'static>) -> Self::Future {
        ready(match req {
            Request::ReadHoldingRegisters(0, n) if n == STATUS_LEN => {
                let read = self.reads.fetch_add(1, Ordering::Relaxed);
                let mut status = LineStatus {
                    plc_heartbeat: read as u16,
                    belt_speed_mm_s: 500,
                    ..LineStatus::default()
                };
                status.flags.running = true;
                let mut words = status.encode();
                if read < self.garbled {
                    words[BELT_SPEED as usize] = 40_000;
                }
                Ok(Response::ReadHoldingRegisters(words))
            }
            Request::ReadHoldingRegisters(100, n) if n <= COMMAND_LEN => {
                Ok(Response::ReadHoldingRegisters(vec![0; n as usize]))
            }
            Request::WriteSingleRegister(addr, value) => {
                Ok(Response::WriteSingleRegister(addr, value))
            }
            Request::WriteMultipleRegisters(addr, words) => {
                Ok(Response::WriteMultipleRegisters(addr, words.len() as u16))
            }
            _ => Err(ExceptionCode::IllegalDataAddress),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_range_register_is_rejected_with_its_raw_words_and_the_line_runs_on() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plc_addr = listener.local_addr().unwrap();
    let plc = GarbledPlc {
        reads: Arc::new(AtomicU32::new(0)),
        garbled: 20,
    };
    let shutdown = CancellationToken::new();
    let server_plc = plc.clone();
    let server_stop = shutdown.clone();
    tokio::spawn(async move {
        let on_connected = |stream, peer| {
            let plc = server_plc.clone();
            async move { accept_tcp_connection(stream, peer, |_| Ok(Some(plc.clone()))) }
        };
        let _ = Server::new(listener)
            .serve_until(&on_connected, |_| {}, server_stop.cancelled_owned())
            .await;
    });
    // Any scanner will do: the test is about the PLC.
    let scanner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scanner_addr = scanner.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = scanner.accept().await {
            held.push(socket);
        }
    });

    let data = tempfile::tempdir().unwrap();
    let mut config = common::test_config(data.path());
    config.lines[0].plc.address = plc_addr.to_string();
    config.lines[0].scanners[0].address = scanner_addr.to_string();
    let store = Store::open(data.path()).unwrap();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let url = format!("http://{}/healthz", running.web_addr);

    // The line comes up once the PLC's registers make sense again …
    common::wait_for("the line to run on", Duration::from_secs(30), || async {
        let body: serde_json::Value = reqwest::get(&url).await.ok()?.json().await.ok()?;
        (plc.reads.load(Ordering::Relaxed) > plc.garbled
            && body["subsystems"]["line:L1:plc"]["state"] == "ok")
            .then_some(())
    })
    .await;
    // … and the garbled polls were kept with the register named and the raw words.
    let conn = rusqlite::Connection::open(data.path().join("customs-edge.db")).unwrap();
    let (source, reason, payload): (String, String, String) = conn
        .query_row(
            "SELECT source, reason, payload FROM rejected_inputs ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(source, "line:L1:plc");
    assert!(
        reason.contains("BELT_SPEED") && reason.contains("40000"),
        "{reason}"
    );
    let raw: Vec<u16> = serde_json::from_str(&payload).unwrap();
    assert_eq!(raw.len(), STATUS_LEN as usize);
    assert_eq!(raw[BELT_SPEED as usize], 40_000);

    shutdown.cancel();
    running.wait().await.unwrap();
}
