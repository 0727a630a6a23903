//! Where the demo's parts listen, once everything runs: as the banner a person reads, or
//! as one JSON line a script reads (`--print-addresses-json`).

use std::net::SocketAddr;
use std::path::PathBuf;

use customs_edge_simulators::LineAddrs;
use customs_edge_simulators::vehicles::GateLaneAddrs;
use serde::Serialize;

/// The console accounts the demo created: one per role, one password.
#[derive(Debug, Clone, Serialize)]
pub struct Logins {
    /// User names (`admin`, `operator`, `officer`, `viewer`).
    pub users: Vec<&'static str>,
    /// Their password.
    pub password: String,
}

/// A simulated plate camera and where it posts.
#[derive(Debug, Clone, Serialize)]
pub struct PlateCamera {
    /// Camera id, as the controller's `[[cameras]]` names it.
    pub id: String,
    /// The gate lane it watches.
    pub lane: String,
    /// The controller's URL it posts its events to.
    pub posts_to: String,
}

/// How a client gets into the demo's broker: it is the site broker as shipped (TLS, a
/// client certificate of its test CA, the per-site ACL), so a tool connects as the platform.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerTls {
    /// The test CA (PEM) the broker's certificate chains to.
    pub ca: PathBuf,
    /// The platform's client certificate (CN `customs-edge-platform`: every site's topics).
    pub platform_cert: PathBuf,
    /// Its private key.
    pub platform_key: PathBuf,
    /// The public key (hex) the site trusts for downlink signatures; messages not signed
    /// with the platform simulator's key are dead-lettered.
    pub platform_public_key: String,
}

/// Every address of a running demo.
#[derive(Debug, Clone, Serialize)]
pub struct DemoAddresses {
    /// The console, `http://ADDR/`.
    pub console: String,
    /// `GET /healthz` of the controller.
    pub health: String,
    /// The controller's OpenAPI document.
    pub openapi: String,
    /// The simulated site's HTTP API (edge-sim's).
    pub simulator: String,
    /// Its ground truth of the sorting line.
    pub simulator_report: String,
    /// Its ground truth of the gate lanes.
    pub gates_report: String,
    /// The platform simulator's ledger, when a broker could be started.
    pub platform_ledger: Option<String>,
    /// The demo's own MQTT broker (`mqtts://127.0.0.1:PORT`), when Mosquitto runs here.
    pub broker: Option<String>,
    /// What a client needs to connect to it.
    pub broker_tls: Option<BrokerTls>,
    /// The simulated line: PLC, scanners, X-ray directory.
    pub lines: Vec<LineAddrs>,
    /// The simulated gate lanes: gate I/O, weighbridge, where their camera posts.
    pub gates: Vec<GateLaneAddrs>,
    /// The controller's plate-camera listener.
    pub plate_listener: SocketAddr,
    /// The simulated plate cameras.
    pub cameras: Vec<PlateCamera>,
    /// The operator token for `POST /api/gates/{id}/override`.
    pub operator_token: String,
    /// The console accounts; `null` with `--no-accounts`.
    pub logins: Option<Logins>,
    /// The demo's data directory.
    pub data: PathBuf,
}

impl DemoAddresses {
    /// The one JSON line `--print-addresses-json` prints.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("the addresses serialize")
    }

    /// The banner a person reads.
    pub fn banner(&self) -> String {
        let logins = self.logins.as_ref().map_or_else(
            || "none yet: open the console and create the administrator".to_owned(),
            |l| format!("{}; password {}", l.users.join(", "), l.password),
        );
        let platform = match (&self.platform_ledger, &self.broker) {
            (Some(ledger), Some(broker)) => {
                format!("  platform ledger:  {ledger}\n  MQTT broker:      {broker}\n")
            }
            _ => "  platform:         not started (no mosquitto; scripts/setup.sh installs it)\n"
                .to_owned(),
        };
        let console = self.console.trim_end_matches('/');
        format!(
            "customs-edge demo running\n  console:          {console}/\n  \
             logins:           {logins}\n  \
             health:           {health}\n  \
             gates:            {console}/api/gates\n  \
             plate events:     http://{plate}/cameras/CAM-K1/events (user {camera_user}, password in {data}/plate-camera-password)\n  \
             simulator report: {report}  (trucks: {gates})\n{platform}  \
             gate override:    curl -X POST -H 'Authorization: Bearer {token}' -H 'content-type: application/json' \\\n                      \
             -d '{{\"reason\": \"checked on site\"}}' {console}/api/gates/K1/override\n  \
             bag label scan:   curl -d '{{\"bag_no\": \"ZB0001\"}}' {sim}/bags/close   (closes the release lane's bag)\n  \
             data:             {data}\nPress Ctrl-C to stop.",
            health = self.health,
            report = self.simulator_report,
            sim = self.simulator_report.trim_end_matches("/report"),
            gates = self.gates_report,
            token = self.operator_token,
            data = self.data.display(),
            plate = self.plate_listener,
            camera_user = super::gate_lanes::CAMERA_USER,
        )
    }
}
