//! The server side of the bench: the seeded store, the gate lanes and the real router,
//! served on loopback as the daemon serves them.

use std::net::SocketAddr;
use std::path::Path;

use customs_edge::store::Store;
use customs_edge::store::parcels::ParcelView;
use customs_edge::supervisor::Supervisor;
use customs_edge::web::AppState;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::Load;
use crate::seed::seed;

/// The server side: what the daemon would own.
pub(super) struct Server {
    pub(super) web: SocketAddr,
    pub(super) events: broadcast::Sender<ParcelView>,
    pub(super) handle: tokio::runtime::Handle,
    pub(super) shutdown: CancellationToken,
    _tasks: Supervisor,
    _data: tempfile::TempDir,
}

/// Open the store, seed it, start the gate lanes and serve the router as the daemon does.
pub(super) async fn start_server(
    load: Load,
    plate_listen: SocketAddr,
    addrs: &[customs_edge_simulators::vehicles::GateLaneAddrs],
    shutdown: CancellationToken,
    handle: tokio::runtime::Handle,
) -> anyhow::Result<Server> {
    let data = tempfile::Builder::new().prefix("web-bench-").tempdir()?;
    let store = Store::open(data.path())?;
    seed(&store, load.parcels).await?;
    let password_file = data.path().join("camera-password");
    std::fs::write(&password_file, "bench-camera-secret")?;
    let text = format!(
        "[site]\ncode = \"3511W001\"\nname = \"三明陆地港监管作业场所\"\n[storage]\ndata_dir = {:?}\n\
         [web]\nlisten = \"127.0.0.1:0\"\n[plate_events]\nlisten = \"{plate_listen}\"\n",
        data.path().display().to_string()
    );
    let mut config = customs_edge::config::parse(&text, Path::new("web-bench.toml"))?;
    (config.gates, config.cameras) =
        customs_edge::demo::gate_lanes::controller_lanes(addrs, &password_file);
    let health = customs_edge::health::Health::default();
    let alarms = customs_edge::alarm_book::AlarmBook::default();
    let mut tasks = Supervisor::new(shutdown.clone(), health.clone(), alarms.clone());
    let plate_max = config.plate_events.limits.max_connections;
    let gates =
        customs_edge::gates::start(&config, &store, &health, None, plate_max, &mut tasks).await?;
    let (events, _) = broadcast::channel(1024);
    let state = AppState {
        store: store.clone(),
        health,
        alarms,
        events: events.clone(),
        site: config.site.clone(),
        sync: None,
        evidence: customs_edge::evidence::EvidenceStore::new(data.path()),
        gates,
        video: None,
        belts: vec![judging_belt(load.parcels)],
        trusted_proxies: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let router = customs_edge::web::router(state);
    // The daemon's accept loop and limits; 50 consoles plus the API sessions, each from
    // its own loopback address.
    let limits = &config.web.limits;
    let server = customs_edge::listen::Server::new("web", listener, router, limits, 1024);
    let web = server.local_addr()?;
    tasks.spawn("web", move |token| server.clone().run(token));
    Ok(Server {
        web,
        events,
        handle,
        shutdown,
        _tasks: tasks,
        _data: data,
    })
}

/// A line's belt as officers' judging strips read it: four undecided parcels with their
/// X-ray views in (seeded parcels by id), so that `GET /api/judging` does the strip's reads.
fn judging_belt(parcels: usize) -> tokio::sync::watch::Receiver<customs_edge::sorting::BeltView> {
    use customs_edge::sorting::belt::OnBelt;
    let lists = customs_edge::demo::sample_lists(parcels.clamp(1, 4));
    let on_belt = (0..parcels.min(4))
        .map(|i| OnBelt {
            parcel_id: i as i64 + 1,
            tracking_no: i as u16 + 1,
            position_mm: 2500.0 - 300.0 * i as f64,
            lane: None,
            code: lists.get(i).map(|l| l.logistics_no.clone()),
            xray_views: 2,
            tracking_lost: false,
            deadline_in_ms: Some(2000 + 2500 * i as u64),
        })
        .collect();
    let belt = customs_edge::sorting::BeltView {
        line_id: "L1".into(),
        link_up: true,
        running: true,
        speed_mm_s: 120,
        xray_running: true,
        scanner_at_mm: 600.0,
        xray_at_mm: Some(1200.0),
        diverter_at_mm: 3000.0,
        parcels: on_belt,
        ..customs_edge::sorting::BeltView::default()
    };
    // The receiver keeps the last value after the sender is gone.
    tokio::sync::watch::channel(belt).1
}
