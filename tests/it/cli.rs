//! The command line as an integrator uses it: the real binary, real files.

use std::path::Path;
use std::process::{Command, Output};

fn customs_edge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(args)
        .output()
        .expect("run customs-edge")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_config_names_every_problem_with_its_path_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"
        [site]
        code = "3511W001"
        [[lines]]
        id = "L1"
        belt_colour = "green"          # unknown key
        plc.address = "192.168.10.20:502"
        [[lines.scanners]]
        name = "top"                   # address missing
        [[gates]]
        id = "01"
        direction = "out"
        io_address = "192.168.20.300:502"   # bad address
        "#,
    )
    .unwrap();
    let out = customs_edge(&["check-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&file.display().to_string()),
        "names the file: {err}"
    );
    assert!(
        err.contains("lines[0].belt_colour") && err.contains("unknown field"),
        "{err}"
    );
    assert!(
        err.contains("lines[0].scanners[0].address: required"),
        "{err}"
    );
    assert!(
        err.contains("gates[0].io_address") && err.contains("192.168.20.300:502"),
        "{err}"
    );
}

#[test]
fn check_config_accepts_the_shipped_configs() {
    for file in ["config/site.example.toml", "config/demo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let out = customs_edge(&["check-config", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
    }
}

#[test]
fn check_config_on_a_missing_file_says_so() {
    let out = customs_edge(&["check-config", "/nonexistent/site.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read config file /nonexistent/site.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn import_reports_bad_lines_by_number_and_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("lists.jsonl");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/manifests.example.jsonl"),
    )
    .unwrap();
    let mut lines: Vec<String> = example.lines().map(str::to_owned).collect();
    // line 3 of the file becomes garbage, and one more bad line goes at the end
    lines.insert(
        2,
        r#"{"logisticsNo": "SF1", "returnStatus": 800"#.to_owned(),
    );
    lines.push(r#"{"logisticsNo":"ZT350000000009","returnStatus":42}"#.to_owned());
    // and a line whose goods name is over its limit (250 characters)
    lines.push(format!(
        r#"{{"logisticsNo":"ZT350000000010","returnStatus":800,"goods":[{{"gnum":1,"itemName":"{}"}}]}}"#,
        "布".repeat(300)
    ));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let out = customs_edge(&[
        "import-manifests",
        file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some lines were rejected: {err}"
    );
    assert!(
        err.contains(&format!("{}:3: rejected", file.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:6: rejected: returnStatus 42", file.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:7: rejected: goods[0].itemName is 300 characters, at most 250",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("3 list(s) imported (3 new, 0 updated), 3 rejected"),
        "{err}"
    );

    let conn = rusqlite::Connection::open(data.join("customs-edge.db")).unwrap();
    let stored: Vec<String> = conn
        .prepare("SELECT logistics_no FROM declaration_lists ORDER BY logistics_no")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored,
        ["JD350000000003", "SF350000000001", "YT350000000002"]
    );
    let goods: i64 = conn
        .query_row("SELECT count(*) FROM declaration_goods", [], |r| r.get(0))
        .unwrap();
    assert_eq!(goods, 2);
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM rejected_inputs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 3, "bad lines are kept for inspection");
    let audited: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'import_manifests'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);

    // Importing again updates rather than duplicates.
    let out = customs_edge(&[
        "import-manifests",
        file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("(0 new, 3 updated)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_explains_every_command() {
    let out = customs_edge(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["run", "check-config", "demo", "import-manifests"] {
        assert!(text.contains(command), "{text}");
    }
    let out = customs_edge(&["demo", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--listen"));
}

#[test]
fn run_on_a_broken_config_exits_78_so_systemd_does_not_restart_it() {
    let out = customs_edge(&["run", "--config", "/nonexistent/site.toml"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/site.toml"),
        "{}",
        stderr(&out)
    );
}

/// The notify protocol as systemd speaks it: the test binds the datagram socket systemd
/// would, and hands its path to the controller in `NOTIFY_SOCKET` (only the child's
/// environment: no other test sees it).
#[test]
fn run_under_systemd_says_ready_pings_the_watchdog_and_says_stopping() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\ncode = \"3511W001\"\nname = \"t\"\n[storage]\ndata_dir = {:?}\n\
             [web]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "300000") // ping every 150 ms
        .env_remove("WATCHDOG_PID")
        .env_remove("JOURNAL_STREAM")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Every datagram the controller sends, one line per state, until `done` says enough.
    let mut seen: Vec<String> = Vec::new();
    let mut receive_until = |done: &dyn Fn(&[String]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = [0_u8; 4096];
        while !done(&seen) {
            assert!(Instant::now() < deadline, "{seen:?}");
            if let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.extend(text.lines().map(str::to_owned));
            }
        }
        seen.clone()
    };
    let pings = |s: &[String]| s.iter().filter(|l| *l == "WATCHDOG=1").count();
    let seen_now = receive_until(&|s| pings(s) >= 3);
    let ready = seen_now.iter().position(|l| l == "READY=1");
    let first_ping = seen_now.iter().position(|l| l == "WATCHDOG=1");
    assert!(ready.is_some() && ready < first_ping, "{seen_now:?}");
    assert!(
        seen_now
            .iter()
            .any(|l| l.starts_with("STATUS=running: 0 line(s)")),
        "{seen_now:?}"
    );

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    receive_until(&|s| s.iter().any(|l| l == "STOPPING=1"));
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Under systemd, stderr is the journal's stream and `JOURNAL_STREAM` names its device and
/// inode: logging then goes to the journal's socket (here there is none, and it says so on
/// stderr). A `JOURNAL_STREAM` naming another stream (inherited by a child whose stderr
/// was redirected) is not the journal.
#[test]
fn logs_go_to_the_journal_only_when_stderr_is_the_journal_stream() {
    use std::os::unix::fs::MetadataExt as _;

    let dir = tempfile::tempdir().unwrap();
    let run_with = |stream: &dyn Fn(&std::fs::Metadata) -> String| {
        let path = dir.path().join("stderr");
        let file = std::fs::File::create(&path).unwrap();
        let meta = file.metadata().unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
            .args(["run", "--config", "/nonexistent/site.toml"])
            .env("JOURNAL_STREAM", stream(&meta))
            .stderr(file)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(78));
        std::fs::read_to_string(&path).unwrap()
    };
    let journal_socket = Path::new("/run/systemd/journal/socket").exists();
    let ours = run_with(&|m| format!("{}:{}", m.dev(), m.ino()));
    if !journal_socket {
        assert!(ours.contains("cannot reach the journal's socket"), "{ours}");
    }
    let other = run_with(&|m| format!("{}:{}", m.dev(), m.ino() + 1));
    assert!(!other.contains("journal"), "{other}");
}
