//! `customs-edge demo` as a person runs it, from the built binary, without accounts: its
//! printed lines give the console's and the simulator's URLs. Its log goes to a file next
//! to the screenshots; it is stopped (SIGINT, then SIGKILL of its process group) when the
//! [`Demo`] is dropped, so a failing test leaves nothing running.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::browser::{has_exited, kill_group};

/// The running demo.
pub(crate) struct Demo {
    /// `None` once stopped.
    child: Option<Child>,
    /// The console, `http://127.0.0.1:PORT/` (with the trailing slash).
    pub(crate) console: String,
    /// The simulator's HTTP base, `http://127.0.0.1:PORT`.
    pub(crate) sim: String,
    /// What the banner said about logins.
    pub(crate) logins: String,
    /// A client with no session (the simulators need none).
    pub(crate) http: reqwest::Client,
    /// Its data directory, removed once it has stopped.
    _data: tempfile::TempDir,
}

impl Demo {
    /// Start the demo with no accounts, its log in `log_dir/demo.log`, and wait for its
    /// banner.
    pub(crate) async fn start_without_accounts(log_dir: &Path) -> Self {
        let data = tempfile::Builder::new()
            .prefix("console-browser-demo-")
            .tempdir()
            .expect("data dir");
        let log = File::create(log_dir.join("demo.log")).expect("demo log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
            .args(["demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .arg("--no-accounts")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .current_dir(data.path())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start the demo");
        let stdout = child.stdout.take().expect("stdout");
        // Keep reading stdout to its end, as a terminal would; hand over the banner.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut banner = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push(line.trim().to_owned());
                if line.contains("Press Ctrl-C to stop")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(std::mem::take(&mut banner));
                }
            }
        });
        let Ok(Ok(banner)) = tokio::time::timeout(Duration::from_secs(90), rx).await else {
            kill_group(&mut child, "-KILL");
            panic!(
                "the demo printed no banner in 90 s; see {}",
                log_dir.join("demo.log").display()
            );
        };
        let field = |name: &str| {
            banner
                .iter()
                .find_map(|l| l.strip_prefix(name))
                .map_or_else(
                    || panic!("no {name:?} in the demo's banner: {banner:#?}"),
                    |v| v.trim().to_owned(),
                )
        };
        let console = field("console:");
        let report = field("simulator report:");
        let sim = report
            .split_whitespace()
            .next()
            .and_then(|u| u.strip_suffix("/report"))
            .unwrap_or_else(|| panic!("simulator report URL in {report:?}"))
            .to_owned();
        let logins = field("logins:");
        Self {
            child: Some(child),
            console,
            sim,
            logins,
            http: reqwest::Client::new(),
            _data: data,
        }
    }

    /// `GET` a JSON document from the simulator (`/report`, `/gates/report`).
    pub(crate) async fn sim_json(&self, path: &str) -> Option<Value> {
        let res = self
            .http
            .get(format!("{}{path}", self.sim))
            .send()
            .await
            .ok()?;
        res.status().is_success().then_some(())?;
        res.json().await.ok()
    }

    /// Stop the demo with SIGINT, as Ctrl-C does, and wait for it (at most 30 s).
    pub(crate) fn stop(mut self) {
        self.interrupt();
    }

    fn interrupt(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        for _ in 0..300 {
            if has_exited(&child) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever is left of its group (its Mosquitto, a stuck demo) goes too.
        kill_group(&mut child, "-KILL");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.interrupt();
    }
}
