//! The harness of the vehicle tests: a camera event receiver that records posts, a fake
//! controller that drives the barrier over Modbus TCP with the real gate I/O driver, and
//! one gate lane started with fast timings.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use customs_edge_devices::gate_io::{BarrierCommand, GateIo, GateStatus};
use customs_edge_devices::plate::{DAHUA_ACK, parse_dahua};
use customs_edge_simulators::plate_camera::CameraForm;
use customs_edge_simulators::vehicles::{
    CameraSetup, Direction, GateLaneSetup, GateReport, LaneTiming, Tasks, Traffic, TrafficOptions,
};
use tokio::net::TcpListener;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

/// Bound on every wait: generous, for a busy 2-core machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);
/// How often the fake controller polls the gate.
pub(crate) const CONTROLLER_POLL: Duration = Duration::from_millis(30);

/// One post the camera server received.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    /// The plate as sent; `None` = no read.
    pub(crate) plate: Option<String>,
    at: Instant,
}

pub(crate) type Posts = Arc<Mutex<Vec<Post>>>;

async fn record_post(State(posts): State<Posts>, body: Bytes) -> &'static str {
    let read = parse_dahua(&body, "test").expect("a Dahua event");
    let plate = read.plate.map(|_| read.raw_plate);
    posts.lock().unwrap().push(Post {
        plate,
        at: Instant::now(),
    });
    DAHUA_ACK
}

/// A camera event receiver on a free port; returns its URL and what it received.
async fn camera_server(shutdown: CancellationToken) -> (String, Posts) {
    let posts = Posts::default();
    let app = Router::new()
        .route("/dahua", post(record_post))
        .with_state(posts.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    });
    (format!("http://{addr}/dahua"), posts)
}

/// How the fake controller decides.
#[derive(Clone)]
pub(crate) struct Policy {
    /// Plates it opens for.
    pub(crate) allow: HashSet<String>,
    /// Posts it waits for after a vehicle is on the loop.
    pub(crate) reads: usize,
    /// Time from the last of those posts to the open command.
    pub(crate) open_delay: Duration,
    /// While false, it does not open.
    pub(crate) release: Arc<AtomicBool>,
}

impl Policy {
    pub(crate) fn allowing(plates: &[&str]) -> Self {
        Self {
            allow: plates.iter().map(|p| (*p).to_owned()).collect(),
            reads: 2,
            open_delay: Duration::ZERO,
            release: Arc::new(AtomicBool::new(true)),
        }
    }
}

/// What the fake controller saw and did.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) statuses: Vec<GateStatus>,
    pub(crate) opens: Vec<Instant>,
}

/// Poll the gate; open for an allowed plate once `reads` posts came after the vehicle
/// drove up, close once both loops are clear.
async fn controller(addr: SocketAddr, posts: Posts, policy: Policy, seen: Arc<Mutex<Seen>>) {
    let map = GateLaneSetup::new("X", Direction::In).io_map();
    let mut io = GateIo::new(addr, map, Duration::from_secs(1));
    let (mut present_since, mut decided, mut last_free) = (None, false, Instant::now());
    loop {
        sleep(CONTROLLER_POLL).await;
        let polled_at = Instant::now();
        let Ok(s) = io.read_status().await else {
            continue;
        };
        seen.lock().unwrap().statuses.push(s);
        if !s.inputs.loop_before {
            last_free = polled_at;
        } else if present_since.is_none() {
            (present_since, decided) = (Some(last_free), false);
        }
        if !s.inputs.any_loop() {
            present_since = None;
            if s.inputs.open {
                let _ = io.command_barrier(BarrierCommand::Close).await;
                let _ = io.show_led("").await;
            }
            continue;
        }
        let Some(since) = present_since.filter(|_| !decided && s.inputs.closed) else {
            continue;
        };
        let mine: Vec<Post> = posts
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.at >= since)
            .cloned()
            .collect();
        if mine.len() < policy.reads {
            let _ = io.show_led("请稍候").await;
            continue;
        }
        let allowed = mine
            .iter()
            .any(|p| p.plate.as_ref().is_some_and(|p| policy.allow.contains(p)));
        if !allowed {
            let _ = io.show_led("禁止通行").await;
            decided = true;
            continue;
        }
        let last = mine.iter().map(|p| p.at).max().unwrap();
        if policy.release.load(Ordering::SeqCst) && Instant::now() >= last + policy.open_delay {
            let _ = io.show_led("请通行").await;
            io.command_barrier(BarrierCommand::Open).await.unwrap();
            seen.lock().unwrap().opens.push(Instant::now());
            decided = true;
        }
    }
}

/// Fast lane timings, still generous enough for a busy machine.
fn timing(patience_ms: u64) -> LaneTiming {
    LaneTiming {
        barrier_travel_ms: 300,
        settle_ms: 300,
        camera_delay_ms: 100,
        shot_gap_ms: 30,
        patience_ms,
        to_barrier_ms: 100,
        both_loops_ms: 150,
        clear_ms: 150,
        headway_ms: 100,
        closed_wait_ms: 5_000,
        poll_ms: 10,
    }
}

pub(crate) struct Harness {
    pub(crate) traffic: Traffic,
    pub(crate) posts: Posts,
    pub(crate) seen: Arc<Mutex<Seen>>,
    shutdown: CancellationToken,
    _tasks: Tasks,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One lane `G1` with a weighbridge and a Dahua camera, a camera server and a controller.
pub(crate) async fn harness(policy: Policy, patience_ms: u64) -> Harness {
    let shutdown = CancellationToken::new();
    let (url, posts) = camera_server(shutdown.clone()).await;
    let mut lane = GateLaneSetup::new("G1", Direction::Out);
    lane.lane_no = 3;
    lane.camera = Some(CameraSetup::new(url, CameraForm::Dahua));
    lane.timing = timing(patience_ms);
    let mut tasks = Tasks::new();
    let options = TrafficOptions {
        seed: 11,
        ..TrafficOptions::default()
    };
    let (traffic, addrs) = Traffic::start(&[lane], &[], &options, &shutdown, &mut tasks)
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    tokio::spawn(controller(addrs[0].io, posts.clone(), policy, seen.clone()));
    Harness {
        traffic,
        posts,
        seen,
        shutdown,
        _tasks: tasks,
    }
}

impl Harness {
    pub(crate) async fn done(&self) -> GateReport {
        assert!(
            self.traffic.wait_done(PATIENCE).await,
            "vehicles not done: {:#?}",
            self.traffic.report().vehicles
        );
        self.traffic.report()
    }
}
