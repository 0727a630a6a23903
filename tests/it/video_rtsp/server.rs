//! The RTSP server the capture tests run against: `tests/conformance/rtsp/serve.py` on
//! Debian's python with GStreamer's RTSP server, started on a port (any, or the one a
//! restarted camera had), stopped, killed or terminated as a camera would be.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The python that has `gi` (Debian's, not a virtualenv's).
const PYTHON: &str = "/usr/bin/python3";
/// How long the server may take to start (python, GStreamer's plugin registry on a
/// first run) on a busy machine.
const START: Duration = Duration::from_secs(60);
/// `python -c SEND_SIGNAL PID NAME` sends SIG<NAME> to PID.
const SEND_SIGNAL: &str =
    "import os, signal, sys; os.kill(int(sys.argv[1]), getattr(signal, 'SIG' + sys.argv[2]))";

/// A running `serve.py`; killed (and reaped) when dropped.
pub(super) struct RtspServer {
    child: Child,
    /// Held open: the server stops when it closes (the test process died).
    _stdin: ChildStdin,
    /// Where it serves, `rtsp://127.0.0.1:<port>/...`.
    pub(super) url: String,
    pub(super) port: u16,
    stderr: PathBuf,
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the tests are to be skipped.
pub(super) fn skipped() -> bool {
    let skip = std::env::var("CUSTOMS_EDGE_SKIP_RTSP").as_deref() == Ok("1");
    if skip {
        eprintln!(
            "SKIPPED: CUSTOMS_EDGE_SKIP_RTSP=1: capture is not tested against a real RTSP server"
        );
    }
    skip
}

impl RtspServer {
    /// Start the server on `port` (0: any free one), with a login when `auth` is
    /// `(user, password, "digest" | "basic")`; its stderr goes to a file in `dir`.
    pub(super) fn start(dir: &Path, port: u16, auth: Option<(&str, &str, &str)>) -> Self {
        assert!(
            Path::new(PYTHON).exists(),
            "{PYTHON} not found: install the Debian package python3 (scripts/setup.sh does), \
             or set CUSTOMS_EDGE_SKIP_RTSP=1 to skip the RTSP tests"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/rtsp/serve.py");
        let stderr = (0..100)
            .map(|n| dir.join(format!("serve-{n}.err")))
            .find(|p| !p.exists())
            .expect("a free name for the server's log");
        let mut command = Command::new(PYTHON);
        command.arg(&script).arg(port.to_string());
        if let Some((user, password, method)) = auth {
            command.args([user, password, method]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("the server's log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON} {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Self {
            child,
            _stdin: stdin,
            url: String::new(),
            port: 0,
            stderr,
        };
        let line = rx.recv_timeout(START).unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("READY ").map(str::to_owned) else {
            // Exited (a missing package: the script names it), or never became ready.
            let _ = server.child.kill();
            let status = server.child.wait();
            panic!(
                "the RTSP server (tests/conformance/rtsp/serve.py) did not start: {status:?}, \
                 stdout {line:?}\n{}\nIt needs the Debian packages python3-gi \
                 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
                 gstreamer1.0-plugins-ugly (scripts/setup.sh installs them); \
                 set CUSTOMS_EDGE_SKIP_RTSP=1 to skip the RTSP tests",
                server.log()
            );
        };
        server.port = url
            .strip_prefix("rtsp://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url:?}"));
        server.url = url;
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Send `signal` (`STOP`, `TERM`...), through the python it runs on (kill(1) is
    /// not on every machine).
    pub(super) fn signal(&self, signal: &str) {
        let sent = Command::new(PYTHON)
            .args(["-c", SEND_SIGNAL])
            .args([&self.child.id().to_string(), signal])
            .status()
            .expect("run python to send a signal");
        assert!(sent.success(), "SIG{signal} to the RTSP server");
    }

    /// Killed (SIGKILL), as a camera losing power.
    pub(super) fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGTERM, as a service manager stops it; how it exited.
    pub(super) fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the RTSP server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
