//! The test server (a controller with no devices, with an administrator's client) and
//! helpers to read its JSON answers.

use std::path::Path;

use customs_edge::daemon::Running;
use customs_edge::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::common;

/// A controller with no devices, its store seeded, and an administrator's client.
pub(super) struct Server {
    pub(super) running: Running,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
    pub(super) base: String,
    pub(super) http: reqwest::Client,
}

impl Server {
    pub(super) async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            "[site]\ncode = \"3511W001\"\n[storage]\ndata_dir = {:?}\n{}[web]\nlisten = \"127.0.0.1:0\"\n",
            data.path().display().to_string(),
            crate::common::NO_DISK_LEVELS,
        );
        let config = customs_edge::config::parse(&text, Path::new("stats-test.toml")).unwrap();
        let store = Store::open(data.path()).unwrap();
        let shutdown = CancellationToken::new();
        let running = customs_edge::daemon::start(config, store, shutdown.clone())
            .await
            .unwrap();
        let http = common::admin_client(running.web_addr).await;
        Self {
            base: format!("http://{}", running.web_addr),
            running,
            shutdown,
            _data: data,
            http,
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.running.store
    }

    pub(super) async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub(super) async fn json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        self.running.wait().await.unwrap();
    }
}

pub(super) fn keys(list: &Value) -> Vec<(String, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["key"].as_str().unwrap().to_owned(),
                k["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub(super) fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected
        .iter()
        .map(|(k, n)| ((*k).to_owned(), *n))
        .collect()
}
