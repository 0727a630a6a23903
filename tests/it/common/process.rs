//! The controller as a child process (for SIGKILL tests), its web address read from its
//! JSON log. Its administrator comes from the environment, as in an unattended install.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The controller binary, with its web address read from its JSON log.
pub struct Controller {
    pub child: Child,
    pub web: String,
    /// Logged in as the administrator.
    pub http: reqwest::Client,
}

impl Controller {
    pub async fn start(config: &std::path::Path) -> Self {
        Self::start_with(config, None).await
    }

    /// [`Controller::start`] under an open-file limit of `nofile` (soft and hard).
    pub async fn start_with(config: &std::path::Path, nofile: Option<u64>) -> Self {
        let bin = env!("CARGO_BIN_EXE_customs-edge");
        let mut command = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args([
                "--log-format",
                "json",
                "run",
                "--config",
                config.to_str().unwrap(),
            ])
            .env(
                customs_edge::web::auth::bootstrap::ENV_USER,
                super::ADMIN_USER,
            )
            .env(
                customs_edge::web::auth::bootstrap::ENV_PASSWORD,
                super::ADMIN_PASSWORD,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the controller");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if event["message"] == "controller started"
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(event["web_addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        });
        let web = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("controller starts")
            .unwrap();
        let addr = web.parse().expect("the logged web address");
        let http = super::login_client(addr, super::ADMIN_USER, super::ADMIN_PASSWORD).await;
        Self { child, web, http }
    }

    pub async fn parcels(&self) -> Vec<Value> {
        let url = format!("http://{}/api/parcels?limit=500", self.web);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn wait_sorted(&self, n: usize) -> Vec<Value> {
        super::wait_for("parcels to be sorted", Duration::from_secs(90), || async {
            let parcels = self.parcels().await;
            (parcels.iter().filter(|p| p["outcome"] == "sorted").count() >= n).then_some(parcels)
        })
        .await
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn kill9(mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
    }
}

impl Drop for Controller {
    /// A test that ends (or fails) never leaves a controller running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
