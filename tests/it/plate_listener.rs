//! The plate-camera listener over real sockets: simulated Hikvision and Dahua cameras post
//! to it with Digest and Basic; reads reach their lane with their pictures kept as
//! evidence; bad credentials and malformed events are refused, counted, and disturb
//! nothing. Per concern: `auth` (one scheme per camera, wrong passwords slowed down),
//! `nonces` (challenges to anyone leave a camera's nonce good), `tls`, `limits` (text
//! fields), `events` (malformed events, unknown cameras, full lanes).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use customs_edge::config::{PlateAuth, PlateAuthLimits};
use customs_edge::evidence::EvidenceStore;
use customs_edge::gates::PlateEvent;
use customs_edge::gates::camera::{self, CameraEndpoint, CameraStats};
use customs_edge::store::{Store, StoreError};
use customs_edge_devices::plate::{PlateColor, PlateLimits, RawFormat};
use customs_edge_simulators::plate_camera::{
    CameraAuth, CameraForm, CameraSimConfig, PlateCameraSim, Shot, plate_jpeg,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod auth;
mod events;
mod limits;
mod nonces;
mod tls;

/// How the listener under test is set up.
struct Setup {
    /// Prefix of the two cameras' ids, so that each test's metrics and log lines are its own.
    tag: &'static str,
    /// Capacity of each lane's queue.
    lane_capacity: usize,
    /// How wrong credentials are slowed down.
    auth_limits: PlateAuthLimits,
    /// Serve TLS with this certificate and key.
    tls: Option<(PathBuf, PathBuf)>,
}

impl Setup {
    fn new(tag: &'static str) -> Self {
        Self {
            tag,
            lane_capacity: 8,
            auth_limits: PlateAuthLimits::default(),
            tls: None,
        }
    }
}

/// The listener on a free port with two cameras, each feeding its own lane: a Hikvision
/// camera with Digest and a Dahua camera with Basic.
struct Listener {
    base: String,
    hik: String,
    dahua: String,
    stats: Arc<CameraStats>,
    hik_lane: mpsc::Receiver<PlateEvent>,
    dahua_lane: mpsc::Receiver<PlateEvent>,
    store: Store,
    evidence: EvidenceStore,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

fn limits() -> PlateLimits {
    PlateLimits {
        max_body_bytes: 512 * 1024,
        max_image_bytes: 64 * 1024,
        ..PlateLimits::default()
    }
}

async fn start(lane_capacity: usize) -> Listener {
    start_with(Setup {
        lane_capacity,
        ..Setup::new("plain")
    })
    .await
}

async fn start_with(setup: Setup) -> Listener {
    crate::common::logs::init();
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let evidence = EvidenceStore::new(data.path());
    let (hik_tx, hik_lane) = mpsc::channel(setup.lane_capacity);
    let (dahua_tx, dahua_lane) = mpsc::channel(setup.lane_capacity);
    let (hik, dahua) = (format!("{}-hik", setup.tag), format!("{}-dahua", setup.tag));
    let cameras = vec![
        CameraEndpoint {
            id: hik.clone(),
            username: "hik".into(),
            password: "hik-pw".into(),
            auth: PlateAuth::Digest,
            lane: hik_tx,
        },
        CameraEndpoint {
            id: dahua.clone(),
            username: "dahua".into(),
            password: "dahua-pw".into(),
            auth: PlateAuth::Basic,
            lane: dahua_tx,
        },
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = setup
        .tls
        .as_ref()
        .map(|(cert, key)| customs_edge::listen::tls::load(cert, key).unwrap());
    let base = match tls {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    let stats = Arc::new(CameraStats::default());
    let shutdown = CancellationToken::new();
    let options = camera::Options {
        limits: limits(),
        auth_limits: setup.auth_limits,
        tls,
    };
    let served = tokio::spawn(camera::serve(
        listener,
        cameras,
        store.clone(),
        evidence.clone(),
        options,
        stats.clone(),
        shutdown.clone(),
    ));
    Listener {
        base,
        hik,
        dahua,
        stats,
        hik_lane,
        dahua_lane,
        store,
        evidence,
        shutdown,
        served,
        _data: data,
    }
}

impl Listener {
    fn url(&self, camera: &str) -> String {
        format!("{}/cameras/{camera}/events", self.base)
    }

    /// A simulated camera posting as `id` would, with `auth` and `password`.
    fn camera(
        &self,
        id: &str,
        form: CameraForm,
        auth: CameraAuth,
        password: &str,
    ) -> PlateCameraSim {
        self.camera_via(reqwest::Client::new(), id, form, auth, password)
    }

    /// The same, through `client` (bound to another source address, or trusting a CA).
    fn camera_via(
        &self,
        client: reqwest::Client,
        id: &str,
        form: CameraForm,
        auth: CameraAuth,
        password: &str,
    ) -> PlateCameraSim {
        let username = if id == self.hik { "hik" } else { "dahua" };
        let config = CameraSimConfig {
            camera_id: id.into(),
            url: self.url(id),
            form,
            auth,
            username: username.into(),
            password: password.into(),
            timeout: Duration::from_secs(20),
        };
        PlateCameraSim::with_client(config, client)
    }

    fn hik_digest(&self) -> PlateCameraSim {
        self.camera(
            &self.hik,
            CameraForm::Hikvision,
            CameraAuth::Digest,
            "hik-pw",
        )
    }

    fn dahua_basic(&self) -> PlateCameraSim {
        self.camera(
            &self.dahua,
            CameraForm::Dahua,
            CameraAuth::Basic,
            "dahua-pw",
        )
    }

    async fn count(&self, table: &'static str) -> i64 {
        self.store
            .reader
            .read(move |conn| {
                Ok::<_, StoreError>(conn.query_row(
                    &format!("SELECT count(*) FROM {table}"),
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.served.await.unwrap().unwrap();
    }
}

/// An HTTP client whose connections come from `ip` (every 127.x.y.z is this machine).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

/// The challenges of a `401`, as sent.
fn offered(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of counter `customs_edge_plate_auth_failures_total` for `camera` and
/// `outcome` (0 when never counted).
fn auth_failures(camera: &str, outcome: &str) -> u64 {
    let text = customs_edge::metrics::handle().render();
    let wanted = format!("camera=\"{camera}\"");
    let outcome = format!("outcome=\"{outcome}\"");
    text.lines()
        .filter(|l| l.starts_with("customs_edge_plate_auth_failures_total{"))
        .filter(|l| l.contains(&wanted) && l.contains(&outcome))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

async fn next(lane: &mut mpsc::Receiver<PlateEvent>) -> PlateEvent {
    tokio::time::timeout(Duration::from_secs(10), lane.recv())
        .await
        .expect("a plate event on the lane")
        .expect("lane open")
}

fn shot(plate: Option<&str>) -> Shot {
    Shot {
        plate: plate.map(str::to_owned),
        confidence: 0.93,
        color: PlateColor::Yellow,
        at: Utc::now(),
        lane: 1,
    }
}

#[tokio::test]
async fn hikvision_read_with_digest_reaches_its_lane_with_the_picture_kept_as_evidence() {
    let mut l = start(8).await;
    let cam = l.hik_digest();
    let before = Instant::now();
    let posted = cam.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert!(
        posted.challenged,
        "the first Digest post pays the 401 round trip"
    );
    assert!(posted.body.contains("<statusString>OK</statusString>"));

    let event = next(&mut l.hik_lane).await;
    assert!(event.received >= before);
    assert_eq!(event.read.camera, l.hik);
    assert_eq!(event.read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(event.read.raw_format, RawFormat::Hikvision);
    assert_eq!(event.read.color, Some(PlateColor::Yellow));
    assert!(event.read.images.is_empty(), "the images went to evidence");
    assert_eq!(event.evidence.len(), 1);

    let id = event.evidence[0].id;
    let (path, kind, sha256, source): (String, String, String, Option<String>) = l
        .store
        .reader
        .read(move |conn| {
            Ok::<_, StoreError>(conn.query_row(
                "SELECT path, kind, sha256, source_name FROM evidence WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(kind, "plate_snapshot");
    assert_eq!(sha256, event.evidence[0].sha256);
    assert_eq!(source.as_deref(), Some("licensePlatePicture.jpg"));
    let kept = std::fs::read(l.evidence.resolve(Path::new(&path))).unwrap();
    assert_eq!(kept, plate_jpeg(Some("闽G12345"), PlateColor::Yellow));

    let warm = cam.post(&shot(Some("闽G12345"))).await.unwrap();
    assert_eq!(
        (warm.status, warm.challenged),
        (200, false),
        "a warm camera reuses its nonce"
    );
    next(&mut l.hik_lane).await;
    let stats = l.stats.snapshot();
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.challenges, 1);
    assert_eq!(stats.auth_failures, 0);
    l.stop().await;
}

#[tokio::test]
async fn dahua_read_with_basic_is_acknowledged_with_result_true() {
    let mut l = start(8).await;
    let posted = l
        .dahua_basic()
        .post(&shot(Some("闽GD12345")))
        .await
        .unwrap();
    assert_eq!((posted.status, posted.challenged), (200, false));
    let ack: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(ack, serde_json::json!({"Result": true}));

    let event = next(&mut l.dahua_lane).await;
    assert_eq!(event.read.plate.as_deref(), Some("闽GD12345"));
    assert_eq!(event.read.raw_format, RawFormat::Dahua);
    assert_eq!(event.evidence.len(), 1);

    let no_read = l.dahua_basic().post(&shot(None)).await.unwrap();
    assert_eq!(no_read.status, 200);
    assert_eq!(next(&mut l.dahua_lane).await.read.plate, None);
    let stats = l.stats.snapshot();
    assert_eq!((stats.accepted, stats.no_reads), (2, 1));
    assert_eq!(l.count("evidence").await, 2);
    l.stop().await;
}
