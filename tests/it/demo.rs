//! The main job as a person runs it: `customs-edge demo` from the built binary, with nothing
//! configured, shows parcels landing in lanes and stops cleanly on Ctrl-C (SIGINT).

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sorts_parcels_and_stops_cleanly_on_sigint() {
    let workdir = tempfile::tempdir().unwrap(); // runs from anywhere: the config is built in
    let mut child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .current_dir(workdir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    // Keep reading stdout to the end, as a terminal would, and hand over the console URL.
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut url_tx = Some(url_tx);
        let (mut console, mut password) = (None, None);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("console:") {
                console = Some(url.trim().to_owned());
            }
            if let Some(logins) = line.trim().strip_prefix("logins:") {
                password = logins.rsplit(' ').next().map(str::to_owned);
            }
            if let Some(url) = line.trim().strip_prefix("platform ledger:")
                && let Some(tx) = url_tx.take()
            {
                let _ = tx.send((
                    console.clone().unwrap_or_default(),
                    password.clone().unwrap_or_default(),
                    url.trim().to_owned(),
                ));
            }
        }
    });
    let (console, password, ledger) = tokio::time::timeout(Duration::from_secs(60), url_rx)
        .await
        .expect("the demo prints its URLs in time")
        .expect("the demo prints its console and platform URLs");

    // The console's reads need a login: the big screen's viewer account will do.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = http
        .post(format!("{console}api/login"))
        .json(&serde_json::json!({ "username": "viewer", "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the banner's login works");
    let page = http
        .get(&console)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("分拣线监控"),
        "the console page is served in Chinese"
    );

    let api = format!("{console}api/parcels?limit=50");
    let sorted = common::wait_for("demo parcels to be sorted", Duration::from_secs(90), || {
        let http = http.clone();
        let api = api.clone();
        async move {
            let parcels: Vec<serde_json::Value> =
                http.get(&api).send().await.ok()?.json().await.ok()?;
            let sorted: Vec<_> = parcels
                .into_iter()
                .filter(|p| p["outcome"] == "sorted")
                .collect();
            (sorted.len() >= 3).then_some(sorted)
        }
    })
    .await;
    for p in &sorted {
        assert_eq!(
            p["lane"], p["dropped_lane"],
            "decided and physical lane agree: {p}"
        );
        assert!(
            !p["reasons"].as_array().unwrap().is_empty(),
            "every decision says why: {p}"
        );
    }

    // The demo's own broker and platform simulator received the decisions.
    common::wait_for("decisions at the platform", Duration::from_secs(60), || {
        let http = http.clone();
        let ledger = ledger.clone();
        async move {
            let l: serde_json::Value = http.get(&ledger).send().await.ok()?.json().await.ok()?;
            let applied = l["sites"]["3511W001"]["streams"]["decisions"]["applied"].as_u64()?;
            (applied >= 3 && l["totals"]["applied_twice"] == 0).then_some(())
        }
    })
    .await;

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "the demo exits cleanly on SIGINT: {exit:?}");
}
