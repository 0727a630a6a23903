//! Careless and hostile peers on both listeners, over real sockets: connections that send
//! nothing, half a request head or half a body, and more of them than the caps allow, from
//! several source addresses (every 127.x.y.z is this machine). Established consoles, the
//! live event stream and the plate cameras keep working through it.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use customs_edge::config::ListenLimits;
use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::gate_site::{self, GateSite, Lane, PLATE_A, permit, truck};

/// What a peer sends before it goes quiet.
#[derive(Debug, Clone, Copy)]
enum Quiet {
    /// Nothing at all.
    Idle,
    /// Half a request head.
    HalfHead,
}

/// Connect from `from` to `to` and send what `quiet` says; `None` when the connection
/// itself failed.
///
/// With TCP keepalive after 2 s idle: a burst of connections can leave one that this side
/// thinks is established while the listener's kernel dropped its last handshake packet
/// (seen a few in 600 on a busy machine) and never handed it to the controller. Its first
/// keepalive probe is answered with a reset, so it counts as closed; one the controller
/// holds answers the probes and stays open.
async fn quiet_peer(from: IpAddr, to: SocketAddr, quiet: Quiet) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket2::SockRef::from(&socket)
        .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(Duration::from_secs(2)))
        .ok()?;
    socket.bind(SocketAddr::new(from, 0)).ok()?;
    let mut stream = socket.connect(to).await.ok()?;
    if let Quiet::HalfHead = quiet {
        let _ = stream
            .write_all(b"POST /cameras/CAM-K1/events HTTP/1.1\r\nHost: gate\r\nContent-Type: app")
            .await;
    }
    Some(stream)
}

/// How long until the server closed `stream` (EOF or reset); `None` if it is still open
/// after `limit`.
async fn closed_after(mut stream: TcpStream, opened: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .ok()
        .map(|()| opened.elapsed())
}

/// `per_ip` quiet connections (half idle, half with half a head) from each of `sources`
/// to `to`, each watched until the server closes it; the times it took.
async fn attack(sources: &[IpAddr], to: SocketAddr, per_ip: usize) -> Vec<Option<Duration>> {
    let mut watching = tokio::task::JoinSet::new();
    for &from in sources {
        for i in 0..per_ip {
            let quiet = if i % 2 == 0 {
                Quiet::Idle
            } else {
                Quiet::HalfHead
            };
            watching.spawn(async move {
                let opened = Instant::now();
                match quiet_peer(from, to, quiet).await {
                    Some(stream) => closed_after(stream, opened, Duration::from_secs(30)).await,
                    None => Some(opened.elapsed()),
                }
            });
        }
    }
    watching.join_all().await
}

fn sources(n: u8) -> Vec<IpAddr> {
    (2..2 + n).map(|i| IpAddr::from([127, 0, 0, i])).collect()
}

fn limits(head_s: f64, idle_s: f64, max: u32, per_ip: u32) -> ListenLimits {
    ListenLimits {
        head_timeout_s: head_s,
        body_timeout_s: 3.0,
        idle_timeout_s: idle_s,
        max_connections: max,
        max_per_ip: per_ip,
    }
}

async fn start(web: ListenLimits, plates: ListenLimits) -> GateSite {
    let lanes = [Lane::exit("K1", CameraForm::Hikvision, CameraAuth::Digest)];
    let permits = vec![permit("HF0001", PLATE_A, 1, 30_000.0)];
    gate_site::start_gate_site(&lanes, gate_site::relaxed_timing(), permits, |config| {
        config.web.limits = web;
        config.plate_events.limits = plates;
    })
    .await
}

/// Split close times into those refused at once (< `refused_within`) and those closed
/// later by a time limit.
fn split(times: &[Option<Duration>], refused_within: Duration) -> (usize, Vec<Duration>) {
    let refused = times
        .iter()
        .filter(|t| t.is_some_and(|t| t < refused_within))
        .count();
    let later = times
        .iter()
        .filter_map(|t| *t)
        .filter(|t| *t >= refused_within)
        .collect();
    (refused, later)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_connections_over_the_caps_are_refused_at_once_and_the_rest_closed_at_the_head_timeout()
 {
    let head = 4.0;
    let site = start(limits(head, 60.0, 40, 12), limits(head, 60.0, 48, 6)).await;
    let web = site.controller.web_addr;
    let plates = site.controller.gates.as_ref().unwrap().camera_addr;
    let base = format!("http://{web}");

    // A console already watching: its live stream, and its kept-alive API connection.
    let mut events = site
        .http
        .get(format!("{base}/api/events"))
        .send()
        .await
        .expect("the event stream opens");
    assert_eq!(events.status(), 200);
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = received.clone();
    let watcher = tokio::spawn(async move {
        while let Ok(Some(_)) = events.chunk().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let health = site
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success() || health.status() == 503);

    // 4 addresses × 20 quiet connections to each listener.
    let attackers = sources(4);
    let web_attack = tokio::spawn({
        let attackers = attackers.clone();
        async move { attack(&attackers, web, 20).await }
    });
    let plate_attack = tokio::spawn({
        let attackers = attackers.clone();
        async move { attack(&attackers, plates, 20).await }
    });

    // Meanwhile the console is answered on its connection, the stream flows, and a truck
    // is let out on its camera's reads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = received.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        let started = Instant::now();
        let res = site
            .http
            .get(format!("{base}/api/lines"))
            .send()
            .await
            .expect("an established console is answered during the attack");
        assert_eq!(res.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let record = site.drive(truck(PLATE_A, 30_000, "K1")).await;
    assert!(
        record.left,
        "the plate camera's events still decide: {record:#?}"
    );
    assert!(
        received.load(std::sync::atomic::Ordering::Relaxed) > before,
        "the live stream kept flowing"
    );

    let web_times = web_attack.await.unwrap();
    let plate_times = plate_attack.await.unwrap();
    let quick = Duration::from_millis(1500);
    let (web_refused, web_closed_later) = split(&web_times, quick);
    let (plate_refused, plate_closed_later) = split(&plate_times, quick);
    assert!(
        web_times.iter().chain(&plate_times).all(Option::is_some),
        "every quiet connection was closed"
    );
    // Web: 40 in all, the console's own among them; plates: 6 per address (24 < 48).
    assert!(
        web_refused >= 80 - 40,
        "web refused {web_refused}: {web_times:?}"
    );
    assert_eq!(plate_refused, 80 - 4 * 6, "{plate_times:?}");
    for t in web_closed_later.iter().chain(&plate_closed_later) {
        assert!(
            *t >= Duration::from_secs_f64(head - 1.0) && *t < Duration::from_secs_f64(head + 6.0),
            "closed at the head timeout, not at {t:?}"
        );
    }
    assert_eq!(plate_closed_later.len(), 4 * 6);

    // After the attack the listeners take new connections again.
    let fresh = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert!(fresh.status().is_success() || fresh.status() == 503);
    let res = site
        .http
        .get(format!("{base}/api/lines"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    watcher.abort();
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_and_a_slow_body_are_cut_but_a_live_stream_runs_on() {
    let site = start(limits(2.0, 2.0, 64, 16), limits(2.0, 2.0, 64, 16)).await;
    let web = site.controller.web_addr;
    let plates = site.controller.gates.as_ref().unwrap().camera_addr;

    let mut events = site
        .http
        .get(format!("http://{web}/api/events"))
        .send()
        .await
        .unwrap();

    // One request answered, then nothing: closed after the idle timeout.
    let mut idle = TcpStream::connect(web).await.unwrap();
    let opened = Instant::now();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: console\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert!(head.starts_with(b"HTTP/1.1 "), "{head:?}");
    let closed = closed_after(idle, opened, Duration::from_secs(20))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(closed >= Duration::from_secs(1), "{closed:?}");

    // A body that never finishes: the camera gets an answer (or the door) within the
    // body timeout, not never.
    let mut slow = TcpStream::connect(plates).await.unwrap();
    let opened = Instant::now();
    slow.write_all(
        b"POST /cameras/CAM-K1/events HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Plate",
    )
    .await
    .unwrap();
    let cut = closed_after(slow, opened, Duration::from_secs(20))
        .await
        .expect("a slow body is cut");
    assert!(
        cut >= Duration::from_secs(2) && cut < Duration::from_secs(15),
        "cut at the body timeout, not at {cut:?}"
    );

    // The live stream has run well past every limit and still delivers.
    let started = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(20), events.chunk())
        .await
        .expect("the stream still delivers");
    assert!(matches!(next, Ok(Some(_))), "{next:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_connections_beyond_the_open_file_limit_leave_the_controller_sorting() {
    use crate::common::process::Controller;

    let shutdown = tokio_util::sync::CancellationToken::new();
    let sim = customs_edge_simulators::start(
        customs_edge_simulators::SimConfig::default(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let config_file = data.path().join("site.toml");
    let (plc, scanner) = (sim.lines[0].plc.to_string(), sim.lines[0].top.to_string());
    let config = format!(
        "{}\n[web.limits]\nhead_timeout_s = 3\n",
        crate::common::test_config_toml(data.path(), &plc, &scanner),
    );
    std::fs::write(&config_file, config).unwrap();
    let codes = ["SFN000000001", "SFN000000002"];
    let store = customs_edge::store::Store::open(data.path()).unwrap();
    crate::common::store_lists(
        &store,
        codes.iter().map(|c| crate::common::list(c, 800)).collect(),
    )
    .await;
    drop(store);
    // A file limit far below what 600 connections would need.
    let mut controller = Controller::start_with(&config_file, Some(320)).await;
    let web: SocketAddr = controller.web.parse().unwrap();
    let console = controller.http.clone();
    // The console's keep-alive connection is open, and every subsystem up (a controller
    // under load may still be connecting to its PLC when it logs "started"), before the
    // quiet connections take every other place.
    let healthz = |console: reqwest::Client| async move {
        let res = console.get(format!("http://{web}/healthz")).send().await?;
        let status = res.status();
        Ok::<_, reqwest::Error>((status, res.text().await?))
    };
    crate::common::wait_for("every subsystem ok", Duration::from_secs(60), || async {
        let (status, _) = healthz(console.clone()).await.ok()?;
        (status == 200).then_some(())
    })
    .await;

    let attack = tokio::spawn(async move { attack(&sources(6), web, 100).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..5 {
        let (status, body) = healthz(console.clone())
            .await
            .expect("the console is answered with every file handle contended");
        assert_eq!(status, 200, "every subsystem still ok: {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let http = reqwest::Client::new();
    let sim_url = format!("http://{}/parcels", sim.http);
    for code in codes {
        http.post(&sim_url)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap();
    }
    controller.wait_sorted(codes.len()).await;
    let times = attack.await.unwrap();
    let open = times.iter().filter(|t| t.is_none()).count();
    let slowest = times.iter().flatten().max();
    assert_eq!(
        open,
        0,
        "every quiet connection closed ({open} of {} open after 30 s; the slowest closed after {slowest:?})",
        times.len()
    );
    assert!(controller.alive(), "the controller runs on");
    let released = controller
        .parcels()
        .await
        .into_iter()
        .filter(|p| p["lane_kind"] == "release")
        .count();
    assert_eq!(released, codes.len());
    drop(controller);
    shutdown.cancel();
}
