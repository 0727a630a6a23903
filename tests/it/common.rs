//! Shared test harness: the controller and the simulated site, in-process, over real
//! loopback sockets, each test with its own ports and its own data directory.

#![allow(dead_code, unreachable_pub)]

pub mod bags;
pub mod gate_site;
mod line_sim;
mod login;
pub mod logs;
pub mod platform;
pub mod process;
pub mod signing;

pub use line_sim::feed_parcels;
pub use login::{ADMIN_PASSWORD, ADMIN_USER, admin_client, login_client};

use std::path::Path;
use std::time::Duration;

use customs_edge::config::{self, Config};
use customs_edge::daemon::{self, Running};
use customs_edge::manifest::DeclarationList;
use customs_edge::store::{Store, manifests, now};
use customs_edge_simulators::{RunningSim, SimConfig};
use tokio_util::sync::CancellationToken;

/// A running site: simulator, controller, and what the test needs to talk to them.
pub struct Site {
    pub sim: RunningSim,
    pub controller: Running,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    pub data: tempfile::TempDir,
}

/// `[storage]` keys that turn the free-space watch's levels off: the test machine's own
/// disk is no test's business (the disk tests set levels of their own).
pub const NO_DISK_LEVELS: &str =
    "disk.warn_free_pct = 0.0\ndisk.shed_bulk_free_pct = 0.0\ndisk.shed_evidence_free_pct = 0.0\n";

/// The text of a one-line site config for tests: one PLC, one scanner, its data in `data_dir`.
pub fn test_config_toml(data_dir: &Path, plc: &str, scanner: &str) -> String {
    format!(
        r#"
        [site]
        code = "3511W001"
        [storage]
        data_dir = {data:?}
        {NO_DISK_LEVELS}
        [web]
        listen = "127.0.0.1:0"
        [[lines]]
        id = "L1"
        plc.address = "{plc}"
        plc.timeout_ms = 1000
        [[lines.scanners]]
        name = "top"
        address = "{scanner}"
        "#,
        data = data_dir.display().to_string()
    )
}

/// The line config a test site uses; the addresses are filled in once the simulator runs.
pub fn test_config(data_dir: &Path) -> Config {
    let text = test_config_toml(data_dir, "127.0.0.1:1", "127.0.0.1:1");
    config::parse(&text, Path::new("test.toml")).expect("test config is valid")
}

/// A declaration list with just what the decision reads.
pub fn list(logistics_no: &str, status: i32) -> DeclarationList {
    list_weighing(logistics_no, status, 1.0)
}

/// A declaration list declaring `kg` gross weight.
pub fn list_weighing(logistics_no: &str, status: i32, kg: f64) -> DeclarationList {
    DeclarationList::from_json_line(&format!(
        r#"{{"logisticsNo":"{logistics_no}","returnStatus":{status},"grossWeight":{kg},"ebcCode":"3511900001"}}"#
    ))
    .expect("valid test list")
}

/// Put `lists` in the store.
pub async fn store_lists(store: &Store, lists: Vec<DeclarationList>) {
    store
        .writer
        .write(move |tx| {
            for l in &lists {
                manifests::upsert(tx, l, "test", &now())?;
            }
            Ok(())
        })
        .await
        .expect("lists stored");
}

/// Start the simulator and the controller with `lists` in the store.
///
/// The belt is the simulator's default 500 mm/s with the diverter 3 m from the photo-eye:
/// a parcel is decided 1 m in and has 4 s of belt left before the diverter, far more than
/// a loaded machine needs for a store write and one Modbus request.
pub async fn start_site(lists: Vec<DeclarationList>) -> Site {
    start_site_with(lists, |_| {}).await
}

/// [`start_site`] with a last change to the controller's config (after the simulator's
/// addresses are filled in).
pub async fn start_site_with(lists: Vec<DeclarationList>, tweak: impl FnOnce(&mut Config)) -> Site {
    start_sim_and_controller(SimConfig::default(), lists, |_, config| tweak(config)).await
}

/// The whole line: two scanners, the dynamic scale and the X-ray feed, deciding at the
/// deadline. The simulator's default geometry (500 mm/s, scale at 300 mm, scanners at
/// 600 mm, X-ray at 1200 mm, diverter at 3000 mm) leaves the controller 4 s between the
/// X-ray views and the diverter.
pub async fn start_full_site(lists: Vec<DeclarationList>) -> Site {
    let xray_root = tempfile::tempdir().expect("temp dir").keep();
    let sim_config = SimConfig {
        xray_root: Some(xray_root),
        ..SimConfig::default()
    };
    start_sim_and_controller(sim_config, lists, |sim, config| {
        let line = &mut config.lines[0];
        line.geometry.scale_at_mm = Some(300);
        line.geometry.xray_at_mm = Some(1200);
        let mut side = line.scanners[0].clone();
        side.name = "side".into();
        side.address = sim.lines[0].side.to_string();
        line.scanners.push(side);
        line.xray = Some(customs_edge::config::XrayConfig {
            dir: sim.lines[0]
                .xray_dir
                .clone()
                .expect("the simulator has an X-ray"),
            window_s: 10.0,
            views: 2,
        });
    })
    .await
}

/// [`start_site_with`] keeping its data in `data` (a test that mounts a file system there).
pub async fn start_site_in(
    data: tempfile::TempDir,
    lists: Vec<DeclarationList>,
    tweak: impl FnOnce(&mut Config),
) -> Site {
    start_in(data, SimConfig::default(), lists, |_, config| tweak(config)).await
}

/// [`start_site_with`] for a controller that is not meant to be healthy (its disk below a
/// level on purpose): waits only for the line's PLC and scanner.
pub async fn start_site_degraded(
    lists: Vec<DeclarationList>,
    tweak: impl FnOnce(&mut Config),
) -> Site {
    let data = tempfile::tempdir().expect("temp dir");
    let site = start_unchecked(data, SimConfig::default(), lists, |_, config| tweak(config)).await;
    let url = format!("http://{}/healthz", site.controller.web_addr);
    wait_for("the line's devices", Duration::from_secs(30), || async {
        let body: serde_json::Value = reqwest::get(&url).await.ok()?.json().await.ok()?;
        let up = |name: &str| body["subsystems"][name]["state"] == "ok";
        (up("line:L1:plc") && up("line:L1:scanner:top")).then_some(())
    })
    .await;
    site
}

async fn start_sim_and_controller(
    sim_config: SimConfig,
    lists: Vec<DeclarationList>,
    tweak: impl FnOnce(&RunningSim, &mut Config),
) -> Site {
    let data = tempfile::tempdir().expect("temp dir");
    start_in(data, sim_config, lists, tweak).await
}

async fn start_in(
    data: tempfile::TempDir,
    sim_config: SimConfig,
    lists: Vec<DeclarationList>,
    tweak: impl FnOnce(&RunningSim, &mut Config),
) -> Site {
    let site = start_unchecked(data, sim_config, lists, tweak).await;
    site.wait_until_healthy().await;
    site
}

async fn start_unchecked(
    data: tempfile::TempDir,
    sim_config: SimConfig,
    lists: Vec<DeclarationList>,
    tweak: impl FnOnce(&RunningSim, &mut Config),
) -> Site {
    logs::init();
    let shutdown = CancellationToken::new();
    let sim = customs_edge_simulators::start(sim_config, shutdown.clone())
        .await
        .expect("simulator starts");
    let mut config = test_config(data.path());
    config.lines[0].plc.address = sim.lines[0].plc.to_string();
    config.lines[0].scanners[0].address = sim.lines[0].top.to_string();
    tweak(&sim, &mut config);
    let store = Store::open(data.path()).expect("store opens");
    store_lists(&store, lists).await;
    let controller = daemon::start(config, store, shutdown.clone())
        .await
        .expect("controller starts");
    let http = admin_client(controller.web_addr).await;
    Site {
        sim,
        controller,
        http,
        shutdown,
        data,
    }
}

impl Site {
    /// Wait until `/healthz` says every subsystem is ok (PLC and scanner connected).
    pub async fn wait_until_healthy(&self) {
        let url = format!("http://{}/healthz", self.controller.web_addr);
        let http = self.http.clone();
        wait_for(
            "the controller to be healthy",
            Duration::from_secs(30),
            || {
                let http = http.clone();
                let url = url.clone();
                async move {
                    let res = http.get(&url).send().await.ok()?;
                    res.status().is_success().then_some(())
                }
            },
        )
        .await;
    }

    /// Record a platform instruction for a waybill.
    pub async fn instruct(
        &self,
        logistics_no: &str,
        kind: customs_edge::sorting::waybill::InstructionKind,
    ) {
        let ln = logistics_no.to_owned();
        self.controller
            .store
            .writer
            .write(move |tx| {
                customs_edge::store::instructions::add_instruction(
                    tx,
                    &ln,
                    kind,
                    None,
                    "test",
                    &now(),
                )
            })
            .await
            .expect("instruction stored");
    }

    /// Run a read-only query on the controller's database; rows of JSON values.
    pub fn query(&self, sql: &str) -> Vec<Vec<serde_json::Value>> {
        query_db(self.data.path(), sql)
    }

    /// The controller's recent parcels as its API serves them.
    pub async fn controller_parcels(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!(
                "http://{}/api/parcels?limit=100",
                self.controller.web_addr
            ))
            .send()
            .await
            .expect("api request")
            .json()
            .await
            .expect("api JSON")
    }

    /// Wait until the controller has `n` parcels with this outcome; returns them.
    pub async fn wait_for_outcome(&self, outcome: &str, n: usize) -> Vec<serde_json::Value> {
        wait_for(
            "the controller's outcomes",
            std::time::Duration::from_secs(30),
            || async {
                let parcels: Vec<_> = self
                    .controller_parcels()
                    .await
                    .into_iter()
                    .filter(|p| p["outcome"] == outcome)
                    .collect();
                (parcels.len() >= n).then_some(parcels)
            },
        )
        .await
    }

    /// Rows of the controller's `rejected_inputs` table: (source, reason).
    pub fn rejected_inputs(&self) -> Vec<(String, String)> {
        let conn = rusqlite::Connection::open(self.data.path().join("customs-edge.db"))
            .expect("open the store");
        let mut stmt = conn
            .prepare("SELECT source, reason FROM rejected_inputs ORDER BY id")
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Stop everything and wait for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.controller
            .wait()
            .await
            .expect("controller stops cleanly");
        self.sim.wait().await.expect("simulator stops cleanly");
    }
}

/// Poll `check` every 50 ms until it returns `Some`, or fail after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Run a read-only query on the database in `data_dir`; rows of JSON values.
pub fn query_db(data_dir: &Path, sql: &str) -> Vec<Vec<serde_json::Value>> {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("customs-edge.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the store");
    let mut stmt = conn.prepare(sql).expect("query");
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => n.into(),
                    rusqlite::types::ValueRef::Real(x) => x.into(),
                    rusqlite::types::ValueRef::Text(t) => {
                        String::from_utf8_lossy(t).into_owned().into()
                    }
                    rusqlite::types::ValueRef::Blob(_) => "<blob>".into(),
                })
            })
            .collect()
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}
