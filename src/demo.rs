//! `customs-edge demo`: the simulated site and the controller together, nothing to configure.
//!
//! The config is `config/demo.toml`, built into the binary. The simulators bind free ports
//! and the line is pointed at them; the store is seeded with generated declaration lists
//! (most released, some held by customs, some parcels with no list at all) so every lane
//! and reason shows up within a few minutes. The belt runs at a pace an officer can judge
//! X-ray views at ([`pace`]). A Mosquitto of its own and the platform simulator stand in
//! for the central platform: every decision goes uplink, and the simulator's ledger (its
//! URL is printed) shows what arrived.
//!
//! The console has one account per role sharing a printed password, or none with
//! `--no-accounts` ([`DemoOptions`]): the console then asks for the administrator first.
//!
//! The console's address is bound before anything else, so a busy port fails at once,
//! naming the address, with nothing started. Once everything runs the demo prints its
//! addresses ([`DemoAddresses`]): the banner, or with `--print-addresses-json` one JSON
//! line on stdout (the banner then goes to stderr).

mod addresses;
pub mod gate_lanes;
mod lists;
mod options;
pub mod pace;

pub use addresses::DemoAddresses;
pub use lists::sample_lists;
pub use options::{DemoOptions, NO_ACCOUNTS_ENV};

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_simulators::broker::{Broker, BrokerOptions};
use customs_edge_simulators::platform::{PlatformConfig as SimPlatformConfig, RunningPlatform};
use customs_edge_simulators::vehicles::{LaneTiming, TrafficOptions};
use customs_edge_simulators::{CodeSpec, LineSetup, SimConfig};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::store::{Store, manifests, now};

/// The demo config as built into the binary.
pub const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// How long a demo truck held at a closed barrier waits before it backs off, ms.
pub const DEMO_PATIENCE_MS: u64 = 90_000;

/// The built-in demo config.
pub fn demo_config() -> Config {
    config::parse(DEMO_TOML, Path::new("config/demo.toml (built in)"))
        .expect("the built-in demo config is valid")
}

/// Run the demo with `options` until `shutdown`.
pub async fn run(
    listen: SocketAddr,
    data: Option<PathBuf>,
    options: DemoOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The console first: on a busy port nothing else is started.
    let web = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "the demo's console cannot listen on {listen}: is another demo or controller \
                 running there? Pick another address with --listen (127.0.0.1:0 takes a free port)"
            )
        })?;
    let listen = web.local_addr()?;
    let temp;
    let data_dir = if let Some(dir) = data {
        dir
    } else {
        temp = tempfile::Builder::new()
            .prefix("customs-edge-demo-")
            .tempdir()?;
        temp.path().to_owned()
    };
    let mut config = demo_config();
    config.web.listen = listen.to_string();
    config.storage.data_dir.clone_from(&data_dir);

    let store = Store::open(&data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let lists = sample_lists(400);
    // Parcels weigh what their lists declare, but one in ten is a fifth heavier.
    let mut codes: Vec<CodeSpec> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let declared = l.gross_weight.unwrap_or(1.0);
            let weight_kg = if i % 10 == 7 {
                declared * 1.2
            } else {
                declared
            };
            CodeSpec {
                code: l.logistics_no.clone(),
                expect: None,
                weight_kg: Some(weight_kg),
            }
        })
        .collect();
    codes.extend((0..40).map(|i| CodeSpec::from(format!("UNK{:010}", 7_000_000 + i * 37))));
    store
        .writer
        .write(move |tx| {
            let at = now();
            for list in &lists {
                manifests::upsert(tx, list, "demo", &at)?;
            }
            Ok(())
        })
        .await?;

    let line = &config.lines[0];
    let sim_config = SimConfig {
        lines: vec![LineSetup {
            id: line.id.clone(),
            map: RegisterMap {
                unit_id: line.plc.unit_id,
                status_base: line.plc.status_base,
                command_base: line.plc.command_base,
            },
            line: pace::sim_line(line),
            framing: line.scanners[0].framing,
            no_read: line.scanners[0].no_read.clone(),
            ..LineSetup::default()
        }],
        xray_root: Some(data_dir.join("xray-machine")),
        generator: Some(pace::generator(codes)),
        ..SimConfig::default()
    };
    // Two exit lanes with plate cameras posting to the controller, trucks every 20 s.
    // Held open until the simulators have bound theirs, so none of them is given this port.
    let plate_reservation = std::net::TcpListener::bind("127.0.0.1:0")?;
    let plate_listen = plate_reservation.local_addr()?;
    let camera_password = format!("{:032x}", rand::random::<u128>());
    // A truck held at the barrier waits a minute and a half for the operator before it
    // backs off: time to look at the pass and override it from the console.
    let timing = LaneTiming {
        patience_ms: DEMO_PATIENCE_MS,
        ..LaneTiming::default()
    };
    let lanes = gate_lanes::sim_lanes(2, plate_listen, &camera_password, timing);
    let fleet = gate_lanes::fleet(&lanes, 1_000, 20_000, 2026);
    let permits = gate_lanes::permits_for(&fleet);
    let sim_config = SimConfig {
        gates: lanes,
        traffic: TrafficOptions {
            wait_for_controller: true,
            ..TrafficOptions::default()
        },
        ..sim_config
    };
    // The simulated devices stand in for other machines, so they run on a runtime of their
    // own at the process's priority: on the main runtime's background threads a busy box
    // starved them, the PLC's answers took longer than its 200 ms timeout and the line lost
    // its tracking.
    let devices = crate::cpu_priority::ForegroundRuntime::start("demo-devices");
    let site = devices
        .handle()
        .spawn(customs_edge_simulators::start(sim_config, shutdown.clone()))
        .await
        .context("the simulated site's start did not finish")?
        .context("starting the simulated site")?;
    drop(plate_reservation);
    let addrs = &site.lines[0];
    let line = &mut config.lines[0];
    line.plc.address = addrs.plc.to_string();
    for scanner in &mut line.scanners {
        scanner.address = if scanner.name == "side" {
            addrs.side
        } else {
            addrs.top
        }
        .to_string();
    }
    for scanner in &mut line.bag_scanners {
        scanner.address = addrs.bag.to_string();
    }
    if let (Some(xray), Some(dir)) = (line.xray.as_mut(), addrs.xray_dir.as_ref()) {
        xray.dir.clone_from(dir);
    }
    let password_file = data_dir.join("plate-camera-password");
    crate::store::files::write_private(&password_file, camera_password.as_bytes())
        .with_context(|| format!("writing {}", password_file.display()))?;
    let (gate_configs, cameras) = gate_lanes::controller_lanes(&site.gates, &password_file);
    config.gates = gate_configs;
    config.cameras.extend(cameras);
    config.plate_events.listen = plate_listen.to_string();
    let operator_token = format!("{:032x}", rand::random::<u128>());
    config.operators.push(config::OperatorConfig::with_token(
        "demo-operator",
        &operator_token,
    ));
    store
        .writer
        .write(move |tx| {
            let at = now();
            for permit in &permits {
                crate::store::downlink::upsert_permit(tx, permit, &at)?;
            }
            Ok(())
        })
        .await?;

    // Console accounts, one per role, sharing a password the banner prints; with
    // `--no-accounts` none, and the console walks through the first-start setup.
    let logins = if options.no_accounts {
        None
    } else {
        let password = format!("demo-{:012x}", rand::random::<u64>() >> 16);
        crate::web::auth::bootstrap::demo_accounts(&store, &password).await?;
        Some(addresses::Logins {
            users: vec!["admin", "operator", "officer", "viewer"],
            password,
        })
    };

    // The central platform: a Mosquitto of the demo's own and the platform simulator, so
    // every decision goes uplink and the simulator's ledger shows it arrived.
    let platform = start_platform(&mut config, &shutdown).await;
    let cameras = (site.gates.iter())
        .filter_map(|g| {
            let posts_to = g.camera_url.clone()?;
            Some(addresses::PlateCamera {
                id: format!("CAM-{}", g.id),
                lane: g.id.clone(),
                posts_to,
            })
        })
        .collect();
    let running = crate::daemon::start_on(config, store, web, shutdown.clone()).await?;
    if let Some(traffic) = site.traffic() {
        traffic.queue_all(fleet)?;
    }
    let web = running.web_addr;
    let addresses = DemoAddresses {
        console: format!("http://{web}/"),
        health: format!("http://{web}/healthz"),
        openapi: format!("http://{web}/api/openapi.json"),
        simulator: format!("http://{}", site.http),
        simulator_report: format!("http://{}/report", site.http),
        gates_report: format!("http://{}/gates/report", site.http),
        platform_ledger: platform
            .as_ref()
            .map(|p| format!("http://{}/ledger", p.http)),
        broker: platform.as_ref().map(|p| p.broker.url()),
        broker_tls: platform.as_ref().map(|p| addresses::BrokerTls {
            ca: p.broker.ca_path().to_owned(),
            platform_cert: p.broker.client_cert_path().to_owned(),
            platform_key: p.broker.client_key_path().to_owned(),
            platform_public_key: p.platform_public_key.clone(),
        }),
        lines: site.lines.clone(),
        gates: site.gates.clone(),
        plate_listener: plate_listen,
        cameras,
        operator_token,
        logins,
        data: data_dir.clone(),
    };
    // One write each, and a closed stdout (the reader went away) is no reason to stop
    // the site.
    if options.print_addresses_json {
        let _ = writeln!(std::io::stdout().lock(), "{}", addresses.json_line());
        let _ = writeln!(std::io::stderr().lock(), "{}", addresses.banner());
    } else {
        let _ = writeln!(std::io::stdout().lock(), "{}", addresses.banner());
    }
    let result = running.wait().await;
    site.stop();
    site.wait().await?;
    drop(devices);
    result
}

/// The demo's platform side, kept alive for the run.
struct DemoPlatform {
    broker: Broker,
    http: SocketAddr,
    _platform: RunningPlatform,
    /// The key the site trusts for downlink signatures (hex).
    platform_public_key: String,
    /// Holds the site's signing key file.
    _keys: tempfile::TempDir,
}

/// Start the site broker as shipped (mTLS, per-site ACL) and the platform simulator, both
/// sides signing with keys made for this run, and point `config` at them; `None` (with a
/// warning) when Mosquitto cannot run here: the demo then runs without a platform.
async fn start_platform(config: &mut Config, shutdown: &CancellationToken) -> Option<DemoPlatform> {
    let site = config.site.code.clone();
    let broker = match Broker::try_start(BrokerOptions {
        site: Some(vec![site.clone()]),
        ..BrokerOptions::default()
    }) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "no MQTT broker for the demo; running without the platform link");
            return None;
        }
    };
    let (platform_key, site_key) = (crate::keys_cli::generate(), crate::keys_cli::generate());
    let keys = tempfile::tempdir().ok()?;
    let site_key_file = keys.path().join("link.key");
    if let Err(e) = crate::keys_cli::write_new(&site_key_file, &site_key) {
        tracing::warn!(error = %e, "cannot write the demo's site key; running without the platform link");
        return None;
    }
    let started = async {
        let mut sim = SimPlatformConfig::new(broker.url(), &[site.as_str()]);
        sim.ca_file = Some(broker.ca_path().to_owned());
        sim.client_cert = Some(broker.client_cert_path().to_owned());
        sim.client_key = Some(broker.client_key_path().to_owned());
        sim.signing = Some(customs_edge_simulators::platform::Signing::new(
            platform_key.clone(),
            &[(site.as_str(), &site_key)],
        ));
        let platform = customs_edge_simulators::platform::start(sim).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let http = listener.local_addr()?;
        tokio::spawn(customs_edge_simulators::platform::http::run(
            listener,
            platform.handle(),
            shutdown.clone(),
        ));
        anyhow::Ok((platform, http))
    };
    match started.await {
        Ok((platform, http)) => {
            let path = |p: &std::path::Path| toml::Value::from(p.display().to_string());
            let text = format!(
                "broker = \"{}\"\nstats_interval_s = 60\nca_file = {}\n\
                 client_cert_file = {}\nclient_key_file = {}\n\
                 [signing]\nsite_key_file = {}\nplatform_keys = [\"{}\"]\n",
                broker.url(),
                path(broker.ca_path()),
                path(broker.identity_cert_path(&site)),
                path(broker.identity_key_path(&site)),
                path(&site_key_file),
                platform_key.public_hex(),
            );
            config.platform = Some(toml::from_str(&text).expect("demo platform config"));
            Some(DemoPlatform {
                broker,
                http,
                _platform: platform,
                platform_public_key: platform_key.public_hex(),
                _keys: keys,
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "platform simulator did not start; running without the platform link");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_demo_config_is_valid() {
        let config = demo_config();
        assert_eq!(config.lines.len(), 1);
    }
}
