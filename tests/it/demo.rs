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

    // The simulated devices stand in for other machines: a busy box must not starve them
    // behind the controller's background work (the line then loses its tracking).
    let threads = thread_priorities(child.id());
    let main = threads
        .iter()
        .find(|t| t.0 == child.id())
        .expect("the main thread")
        .2;
    for name in ["demo-devices", "control"] {
        let of_name: Vec<_> = threads.iter().filter(|t| t.1 == name).collect();
        assert!(!of_name.is_empty(), "no {name} threads: {threads:?}");
        assert!(
            of_name.iter().all(|t| t.2 == main),
            "{name} threads run at the process's priority ({main}): {threads:?}"
        );
    }
    assert!(
        threads
            .iter()
            .any(|t| t.1 == "tokio-rt-worker" && t.2 > main),
        "the main runtime's threads run below the process's priority: {threads:?}"
    );

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

/// Each thread of process `pid`: its id, its name and its nice value (`/proc`).
fn thread_priorities(pid: u32) -> Vec<(u32, String, i32)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the demo's threads");
    let mut threads = Vec::new();
    for task in tasks.flatten() {
        // A thread that ended since the listing has no stat any more.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "tid (name) state ppid ...": the name may hold spaces and parentheses, so it is
        // what lies between the first "(" and the last ")"; nice is the 19th field.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let tid = stat[..open].trim().parse().expect("a thread id");
        let nice = stat[close + 1..]
            .split_whitespace()
            .nth(16)
            .and_then(|n| n.parse().ok())
            .expect("a nice value");
        threads.push((tid, stat[open + 1..close].to_owned(), nice));
    }
    threads
}

/// `--print-addresses-json`: one JSON line on stdout, every address in it live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_its_addresses_as_one_json_line_on_request() {
    let workdir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["demo", "--listen", "127.0.0.1:0", "--print-addresses-json"])
        .current_dir(workdir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok));
        for _ in lines {} // keep reading, as a terminal would
    });
    let line = tokio::time::timeout(Duration::from_secs(90), rx)
        .await
        .expect("the demo prints its addresses in time")
        .unwrap()
        .expect("a first line on stdout");
    let a: serde_json::Value = serde_json::from_str(&line).expect("the first line is JSON");

    let http = reqwest::Client::new();
    let console = a["console"].as_str().unwrap();
    assert!(console.starts_with("http://127.0.0.1:"), "{a}");
    let health = http
        .get(a["health"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!([200, 503].contains(&health.status().as_u16()));
    let report: serde_json::Value = http
        .get(a["simulator_report"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report["summary"].is_object(), "the simulator's report");
    let reachable = |addr: &serde_json::Value| {
        let addr = addr.as_str().expect("an address").to_owned();
        async move {
            tokio::net::TcpStream::connect(&addr)
                .await
                .unwrap_or_else(|e| panic!("{addr}: {e}"));
        }
    };
    reachable(&a["lines"][0]["plc"]).await;
    reachable(&a["lines"][0]["top"]).await;
    let gates = a["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 2, "{a}");
    for g in gates {
        reachable(&g["io"]).await;
        reachable(&g["weighbridge"]).await;
    }
    reachable(&a["plate_listener"]).await;
    assert_eq!(a["cameras"].as_array().unwrap().len(), 2);
    assert_eq!(a["logins"]["users"].as_array().unwrap().len(), 4);
    assert!(a["operator_token"].as_str().unwrap().len() >= 32);
    if let Some(ledger) = a["platform_ledger"].as_str() {
        assert!(
            a["broker"].as_str().unwrap().starts_with("mqtts://"),
            "the shipped site broker: {a}"
        );
        assert!(a["broker_tls"]["ca"].is_string(), "{a}");
        let l = http.get(ledger).send().await.unwrap();
        assert_eq!(l.status(), 200);
    } else {
        assert!(
            which_mosquitto().is_none(),
            "mosquitto is installed, yet no platform: {a}"
        );
    }

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "the demo exits cleanly on SIGINT: {exit:?}");
}

fn which_mosquitto() -> Option<std::path::PathBuf> {
    ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// A console address someone else holds: the demo stops at once, names the address, and
/// has started nothing (no store in its data directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_a_busy_port_fails_at_once_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["demo", "--listen", &addr, "--data"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the demo gives up at once")
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "names the address: {stderr}"
    );
    assert!(out.stdout.is_empty(), "no banner");
    assert!(
        !data.path().join("customs-edge.db").exists(),
        "nothing started: no store"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "fails fast: {:?}",
        started.elapsed()
    );
    drop(taken);
}
