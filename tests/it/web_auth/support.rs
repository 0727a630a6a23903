//! The test server (a controller with no devices) and a logged-in browser session.

use std::path::Path;

use customs_edge::daemon::Running;
use customs_edge::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub(crate) const ADMIN: &str = "site.admin";
pub(crate) const ADMIN_PW: &str = "admin-password-3511";

/// A controller with no devices: just the store and the web server.
pub(crate) struct Server {
    pub(crate) running: Running,
    pub(crate) shutdown: CancellationToken,
    pub(crate) data: tempfile::TempDir,
    pub(crate) base: String,
}

pub(crate) async fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let text = format!(
        "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n{}[web]\nlisten = \"127.0.0.1:0\"\n",
        data.path().display().to_string(),
        crate::common::NO_DISK_LEVELS,
    );
    let config = customs_edge::config::parse(&text, Path::new("auth-test.toml")).unwrap();
    let store = Store::open(data.path()).unwrap();
    let shutdown = CancellationToken::new();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://{}", running.web_addr);
    Server {
        running,
        shutdown,
        data,
        base,
    }
}

impl Server {
    pub(crate) async fn set_up(&self) -> Session {
        let res = anon()
            .post(format!("{}/api/setup", self.base))
            .json(&json!({ "username": ADMIN, "password": ADMIN_PW }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        Session::login(&self.base, ADMIN, ADMIN_PW).await
    }

    pub(crate) fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        super::common::query_db(self.data.path(), sql)
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.running.wait().await.unwrap();
    }
}

pub(crate) fn anon() -> reqwest::Client {
    reqwest::Client::new()
}

/// A logged-in browser: a cookie store and the CSRF token the login returned.
pub(crate) struct Session {
    pub(crate) http: reqwest::Client,
    pub(crate) csrf: String,
    pub(crate) base: String,
}

impl Session {
    pub(crate) async fn login(base: &str, username: &str, password: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = http
            .post(format!("{base}/api/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login as {username}");
        let body: Value = res.json().await.unwrap();
        let csrf = body["csrf"].as_str().unwrap().to_owned();
        Self {
            http,
            csrf,
            base: base.to_owned(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> StatusCode {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .status()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap_or_default())
    }

    pub(crate) async fn create_account(&self, username: &str, role: &str) -> i64 {
        let (status, body) = self
            .post(
                "/api/accounts",
                json!({ "username": username, "role": role, "password": format!("{username}-pass-2026") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }
}
