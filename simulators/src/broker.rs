//! A real Mosquitto broker on a free loopback port, for tests (one per test) and for the
//! demo, which needs a broker of its own.
//!
//! - [`Broker::start`] — plain MQTT, with persistence, so [`Broker::stop`] then
//!   [`Broker::start_again`] (same port) keeps sessions, subscriptions and queued messages
//!   the way a broker restart does in the field.
//! - [`Broker::start_tls`] — a TLS listener with a test CA, a server certificate and a
//!   client certificate generated in process (`rcgen`) in the broker's temp dir.
//! - [`Broker::start_with`] — either, with [`BrokerOptions`]; optionally admitting only
//!   clients that log in with a user name and password (`mosquitto_passwd`).
//! - [`Broker::start_site`] — the site broker as shipped in `config/mosquitto/` (TLS only,
//!   no anonymous client, identity from the client certificate, a per-site ACL), with a
//!   client certificate per site code and one for the platform ([`PLATFORM_IDENTITY`]).
//!
//! The server certificate is issued to `CN=localhost` with `subjectAltName =
//! DNS:localhost, IP:127.0.0.1`, so a client verifies it with either name as the host in
//! its `MqttOptions`; [`Broker::url`] says `127.0.0.1`.
//!
//! Every call blocks the calling thread for as long as the broker takes to start or stop
//! (milliseconds); each wait polls for its condition under a generous deadline and panics
//! with the broker's log if it is not met. Mosquitto's output goes to a log file in the
//! temp dir ([`Broker::log`]). Dropping the broker kills the process.

mod conf;
mod site;
pub mod tls;

pub use site::{PLATFORM_IDENTITY, SHIPPED_ACL, SHIPPED_CONF};

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tls::{TlsFiles, generate_tls};

/// The broker binary (Debian's `mosquitto` package; `scripts/setup.sh` installs it).
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";
/// The names the test server certificate is issued to.
pub const CERT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// How long a start, a stop or a port may take before the harness gives up: generous, for
/// a loaded 2-core CI machine.
const DEADLINE: Duration = Duration::from_secs(30);
/// How often a wait looks at its condition again.
const POLL: Duration = Duration::from_millis(5);
/// Attempts at a fresh free port when another process takes the one picked.
const PORT_ATTEMPTS: usize = 5;

/// How to run the broker.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// Keep sessions and queued messages in a file across [`Broker::stop`] and
    /// [`Broker::start_again`]. On by default.
    pub persistence: bool,
    /// Serve MQTT over TLS instead of plain TCP.
    pub tls: Option<TlsOptions>,
    /// Admit only clients that log in as this user with this password (MQTT user name and
    /// password); `None` admits anyone.
    pub login: Option<(String, String)>,
    /// Run the shipped site broker configuration (`config/mosquitto/`) instead, with a
    /// client certificate for each of these site codes and one for the platform. `tls`,
    /// `login` and `persistence` do not apply: the shipped file says.
    pub site: Option<Vec<String>>,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            persistence: true,
            tls: None,
            login: None,
            site: None,
        }
    }
}

/// Debian's tool that writes Mosquitto's password file (hashed passwords).
pub const MOSQUITTO_PASSWD: &str = "/usr/bin/mosquitto_passwd";

/// The TLS listener. A CA, a server certificate and a client certificate are always
/// generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsOptions {
    /// Refuse clients that present no certificate signed by the test CA.
    pub require_certificate: bool,
}

/// A Mosquitto process and its files; killed on drop.
#[derive(Debug)]
pub struct Broker {
    /// Config, log, persistence and certificates; removed after the process is gone
    /// (`Drop` kills it before the fields drop).
    dir: tempfile::TempDir,
    port: u16,
    options: BrokerOptions,
    tls: Option<TlsFiles>,
    child: Option<Child>,
}

impl Broker {
    /// A plain MQTT broker with persistence.
    pub fn start() -> Self {
        Self::start_with(BrokerOptions::default())
    }

    /// A TLS broker with persistence that does not require client certificates.
    pub fn start_tls() -> Self {
        Self::start_with(BrokerOptions {
            tls: Some(TlsOptions::default()),
            ..BrokerOptions::default()
        })
    }

    /// The site broker as shipped (`config/mosquitto/`), with a client certificate issued
    /// to each site code in `sites` ([`Broker::identity_cert_path`]) and one to
    /// [`PLATFORM_IDENTITY`] (also [`Broker::client_cert_path`]).
    pub fn start_site(sites: &[&str]) -> Self {
        Self::start_with(BrokerOptions {
            site: Some(sites.iter().map(|s| (*s).to_owned()).collect()),
            ..BrokerOptions::default()
        })
    }

    /// A broker as `options` say, on a free port; panics with the broker's log when it
    /// cannot start (tests).
    pub fn start_with(options: BrokerOptions) -> Self {
        Self::try_start(options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A broker as `options` say, on a free port; `Err` says why it could not start.
    pub fn try_start(options: BrokerOptions) -> Result<Self, String> {
        if !Path::new(MOSQUITTO).exists() {
            return Err(format!(
                "{MOSQUITTO} not found: scripts/setup.sh installs Debian's mosquitto"
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("mosquitto-")
            .tempdir()
            .map_err(|e| format!("temp dir for the broker: {e}"))?;
        fs::create_dir(dir.path().join("data")).map_err(|e| format!("persistence dir: {e}"))?;
        let tls = match (&options.site, options.tls) {
            (Some(sites), _) => {
                let mut ids = sites.clone();
                ids.push(PLATFORM_IDENTITY.to_owned());
                Some(generate_tls(&dir.path().join("tls"), &ids))
            }
            (None, Some(_)) => Some(generate_tls(&dir.path().join("tls"), &[])),
            (None, None) => None,
        };
        if let Some((user, password)) = &options.login {
            let status = Command::new(MOSQUITTO_PASSWD)
                .args(["-b", "-c"])
                .arg(dir.path().join("passwd"))
                .args([user, password])
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run {MOSQUITTO_PASSWD}: {e}"))?;
            if !status.success() {
                return Err(format!("{MOSQUITTO_PASSWD} failed: {status}"));
            }
        }
        let mut broker = Self {
            dir,
            port: 0,
            options,
            tls,
            child: None,
        };
        for _ in 0..PORT_ATTEMPTS {
            broker.port = free_port();
            if broker.spawn_and_wait().is_ok() {
                return Ok(broker);
            }
        }
        Err(format!(
            "mosquitto did not start on any of {PORT_ATTEMPTS} free ports; log:\n{}",
            broker.log()
        ))
    }

    /// `mqtt://127.0.0.1:PORT`, or `mqtts://127.0.0.1:PORT` for a TLS broker.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "mqtts" } else { "mqtt" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (on 127.0.0.1); the same after [`Broker::start_again`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process is up.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The test CA certificate (PEM) the server certificate chains to.
    pub fn ca_path(&self) -> &Path {
        &self.tls_files().ca
    }

    /// A client certificate (PEM) signed by the test CA; for the site broker, the
    /// platform's ([`PLATFORM_IDENTITY`]).
    pub fn client_cert_path(&self) -> &Path {
        if self.options.site.is_some() {
            return self.identity_cert_path(PLATFORM_IDENTITY);
        }
        &self.tls_files().client_cert
    }

    /// The client certificate's private key (PEM, PKCS#8, EC P-256).
    pub fn client_key_path(&self) -> &Path {
        if self.options.site.is_some() {
            return self.identity_key_path(PLATFORM_IDENTITY);
        }
        &self.tls_files().client_key
    }

    /// The site broker's client certificate issued to `cn` (a site code, or
    /// [`PLATFORM_IDENTITY`]); panics for a name it was not started with.
    pub fn identity_cert_path(&self, cn: &str) -> &Path {
        &self.identity(cn).0
    }

    /// The private key of [`Broker::identity_cert_path`].
    pub fn identity_key_path(&self, cn: &str) -> &Path {
        &self.identity(cn).1
    }

    fn identity(&self, cn: &str) -> &(PathBuf, PathBuf) {
        self.tls_files()
            .identities
            .get(cn)
            .unwrap_or_else(|| panic!("the broker has no client certificate for {cn:?}"))
    }

    /// Options for a rumqttc client of this TLS broker presenting the certificate issued
    /// to `identity` ([`Broker::identity_cert_path`]), or no certificate at all (`None`).
    pub fn client_options_as(
        &self,
        client_id: &str,
        identity: Option<&str>,
    ) -> rumqttc::MqttOptions {
        let mut options = rumqttc::MqttOptions::new(client_id, "127.0.0.1", self.port);
        let read = |p: &Path| fs::read(p).expect("test TLS file");
        options.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Simple {
                ca: read(&self.tls_files().ca),
                alpn: None,
                client_auth: identity.map(|cn| {
                    let (cert, key) = self.identity(cn);
                    (read(cert), read(key))
                }),
            },
        ));
        options
    }

    /// Mosquitto's output so far, across restarts: for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_else(|e| format!("(no broker log: {e})"))
    }

    /// Options for a rumqttc client of this broker: host, port and, for a TLS broker, the
    /// test CA and the client certificate.
    pub fn client_options(&self, client_id: &str) -> rumqttc::MqttOptions {
        self.client_options_via(client_id, "127.0.0.1")
    }

    /// [`Broker::client_options`] reaching the broker by `host` (one of [`CERT_NAMES`] for
    /// TLS: the name the client verifies the certificate against).
    pub fn client_options_via(&self, client_id: &str, host: &str) -> rumqttc::MqttOptions {
        let mut options = rumqttc::MqttOptions::new(client_id, host, self.port);
        if let Some(tls) = &self.tls {
            let read = |p: &Path| fs::read(p).expect("test TLS file");
            options.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Simple {
                    ca: read(&tls.ca),
                    alpn: None,
                    client_auth: Some((
                        read(self.client_cert_path()),
                        read(self.client_key_path()),
                    )),
                },
            ));
        }
        options
    }

    /// Stop it the way a service manager does (SIGTERM; a persistent broker saves its
    /// sessions), wait for the process to exit and for the port to be free.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", child.id());
        let deadline = Instant::now() + DEADLINE;
        loop {
            if child.try_wait().expect("wait for mosquitto").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "mosquitto did not exit within {DEADLINE:?} of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(POLL);
        }
        self.wait_for_free_port();
    }

    /// Kill it without letting it save anything (SIGKILL): a broker crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.wait_for_free_port();
    }

    /// Start it again after [`Broker::stop`] or [`Broker::kill`], on the same port, with the
    /// same files.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the broker is still running");
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.wait_for_free_port();
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(why) if Instant::now() > deadline => {
                    panic!(
                        "mosquitto did not start again on port {}: {why}; log:\n{}",
                        self.port,
                        self.log()
                    );
                }
                // Something held the port for a moment (a lingering bind): try again.
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    fn tls_files(&self) -> &TlsFiles {
        self.tls
            .as_ref()
            .expect("the broker was started without TLS")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// Write the config, spawn mosquitto and wait until it accepts TCP connections. `Err`
    /// when the process exits first (typically: the port was taken).
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let conf = self.dir.path().join("mosquitto.conf");
        fs::write(&conf, self.config()).expect("write mosquitto.conf");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the broker log");
        let err_log: File = log.try_clone().expect("clone the log handle");
        let mut child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {MOSQUITTO} (scripts/setup.sh installs it): {e}")
            });
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("wait for mosquitto") {
                return Err(format!("mosquitto exited with {status}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "port {} not accepting within {DEADLINE:?}",
                    self.port
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_for_free_port(&self) {
        let deadline = Instant::now() + DEADLINE;
        while TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                Instant::now() <= deadline,
                "port {} still taken {DEADLINE:?} after the broker stopped",
                self.port
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
