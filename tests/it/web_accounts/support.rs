//! The test server (a controller with no devices, its administrator set up) and logged-in
//! browser sessions that call the API with their CSRF token.

use std::path::Path;

use customs_edge::audit_cli::{Verdict, verify_chain};
use customs_edge::daemon::Running;
use customs_edge::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::common;

pub(super) const ADMIN: &str = "site.admin";
const ADMIN_PW: &str = "admin-password-3511";

/// A controller with no devices: the store and the web server.
pub(super) struct Server {
    running: Running,
    shutdown: CancellationToken,
    data: tempfile::TempDir,
    pub(super) base: String,
}

impl Server {
    /// Start it and set up its administrator; returns the administrator's session too.
    pub(super) async fn start() -> (Self, Session) {
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n{}[web]\nlisten = \"127.0.0.1:0\"\n",
            data.path().display().to_string(),
            crate::common::NO_DISK_LEVELS,
        );
        let config = customs_edge::config::parse(&text, Path::new("accounts-test.toml")).unwrap();
        let store = Store::open(data.path()).unwrap();
        let shutdown = CancellationToken::new();
        let running = customs_edge::daemon::start(config, store, shutdown.clone())
            .await
            .unwrap();
        let server = Self {
            base: format!("http://{}", running.web_addr),
            running,
            shutdown,
            data,
        };
        let res = reqwest::Client::new()
            .post(format!("{}/api/setup", server.base))
            .json(&json!({ "username": ADMIN, "password": ADMIN_PW }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let admin = server.login(ADMIN, ADMIN_PW).await;
        (server, admin)
    }

    pub(super) async fn login(&self, username: &str, password: &str) -> Session {
        let (status, session) = self.try_login(username, password).await;
        assert_eq!(status, StatusCode::OK, "login as {username}");
        session.expect("a session")
    }

    /// A login's status, and its session when it succeeded.
    pub(super) async fn try_login(
        &self,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<Session>) {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = http
            .post(format!("{}/api/login", self.base))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        let status = res.status();
        if status != StatusCode::OK {
            return (status, None);
        }
        let body: Value = res.json().await.unwrap();
        let csrf = body["csrf"].as_str().unwrap().to_owned();
        let base = self.base.clone();
        (status, Some(Session { http, csrf, base }))
    }

    pub(super) fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        common::query_db(self.data.path(), sql)
    }

    /// Every audit entry about `account:{username}`, as (actor, action).
    pub(super) fn audit_of(&self, username: &str) -> Vec<(String, String)> {
        self.query(&format!(
            "SELECT actor, action FROM audit_log WHERE subject = 'account:{username}' ORDER BY id"
        ))
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect()
    }

    pub(super) fn assert_chain_intact(&self) {
        let conn = rusqlite::Connection::open_with_flags(
            self.data.path().join(customs_edge::store::DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let verdict = verify_chain(&conn).unwrap();
        assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    }

    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        self.running.wait().await.unwrap();
    }
}

/// A logged-in browser: a cookie store and the session's CSRF token.
pub(super) struct Session {
    pub(super) http: reqwest::Client,
    csrf: String,
    base: String,
}

impl Session {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        (res.status(), res.json().await.unwrap_or_default())
    }

    pub(super) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(super) async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Create `username` with `role` and the password `{username}-pass-2026`.
    pub(super) async fn create_account(&self, username: &str, role: &str) {
        let (status, body) = self
            .post(
                "/api/accounts",
                json!({ "username": username, "role": role, "password": password_of(username) }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    pub(super) async fn set_role(&self, username: &str, role: &str) -> (StatusCode, Value) {
        self.put(
            &format!("/api/accounts/{username}/role"),
            json!({ "role": role }),
        )
        .await
    }
}

pub(super) fn password_of(username: &str) -> String {
    format!("{username}-pass-2026")
}
