//! `/healthz` tells an operator which subsystem is wrong.

use crate::common;

use std::path::Path;

use customs_edge::store::Store;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_the_unreachable_plc_and_answers_503() {
    let data = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens there now.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = common::test_config(data.path());
    config.lines[0].plc.address = dead.to_string();
    config.lines[0].scanners[0].address = dead.to_string();
    let shutdown = CancellationToken::new();
    let store = Store::open(Path::new(data.path())).unwrap();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let url = format!("http://{}/healthz", running.web_addr);

    let body = common::wait_for(
        "the PLC to be reported down",
        std::time::Duration::from_secs(30),
        || async {
            let res = reqwest::get(&url).await.ok()?;
            assert_eq!(
                res.status(),
                503,
                "not healthy while the PLC is unreachable"
            );
            let body: serde_json::Value = res.json().await.ok()?;
            (body["subsystems"]["line:L1:plc"]["state"] == "down").then_some(body)
        },
    )
    .await;
    assert_eq!(body["status"], "degraded");
    let detail = body["subsystems"]["line:L1:plc"]["detail"]
        .as_str()
        .unwrap();
    assert!(
        detail.contains(&dead.to_string()),
        "names the PLC address: {detail}"
    );
    assert_eq!(body["subsystems"]["store"]["state"], "ok");

    shutdown.cancel();
    running.wait().await.unwrap();
}
