//! `customs-edge doctor`: is this site ready to run? Every configured device, the broker,
//! the store and the host, checked the way the controller will use them, one row per
//! check (subject, check, ok/warn/fail, detail), so an integrator at a new site sees in
//! seconds what to fix and where in the config.
//!
//! - [`modbus`] — each line PLC, gate I/O and weighbridge: reachable, its blocks read and
//!   decode as the register map says (a wrong unit id or base is named).
//! - [`line`] — scanners accept connections, X-ray directories are readable; the plate
//!   listener and the web address can be bound.
//! - [`camera`] — each camera: ONVIF clock against ours, login (GetDeviceInformation),
//!   snapshot and stream reachable; its credentials can be read.
//! - [`broker`] — the platform broker: TCP, TLS against the configured CA, credentials,
//!   CONNACK.
//! - [`host`] — the store (opens, quick_check, schema version), disk space, permissions
//!   of the data directory and of secret files; [`clock`] — the system clock's NTP status.
//!
//! Every check runs at once with a timeout of its own, so a site with every device down
//! is diagnosed in about one timeout. Nothing is written to any device.

mod broker;
mod camera;
mod clock;
mod host;
mod line;
mod modbus;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

pub use camera::{CLOCK_FAIL, CLOCK_WARN};
pub use host::{DISK_FAIL_BYTES, DISK_FAIL_PCT, DISK_WARN_BYTES, DISK_WARN_PCT};

use crate::config::Config;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Works, but something deserves a look (or could not be checked).
    Warn,
    /// The controller will not work as configured.
    Fail,
}

impl Verdict {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// What was checked: `line L1 plc`, `camera CAM-K1`, `broker`, `store`, …
    pub subject: String,
    /// Which check: `reachable`, `status block`, `clock`, …
    pub check: String,
    /// How it came out.
    pub result: Verdict,
    /// What was found, and for a failure what to change (with the config path).
    pub detail: String,
}

impl Row {
    pub(crate) fn new(
        subject: &str,
        check: &str,
        result: Verdict,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.to_owned(),
            check: check.to_owned(),
            result,
            detail: detail.into(),
        }
    }

    pub(crate) fn ok(subject: &str, check: &str, detail: impl Into<String>) -> Self {
        Self::new(subject, check, Verdict::Ok, detail)
    }

    pub(crate) fn warn(subject: &str, check: &str, detail: impl Into<String>) -> Self {
        Self::new(subject, check, Verdict::Warn, detail)
    }

    pub(crate) fn fail(subject: &str, check: &str, detail: impl Into<String>) -> Self {
        Self::new(subject, check, Verdict::Fail, detail)
    }
}

/// How the checks run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Longest wait for one device's answer.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
        }
    }
}

type Probe = Pin<Box<dyn Future<Output = Vec<Row>> + Send>>;

/// Run every check `config` calls for; rows in config order.
pub async fn run(config: &Config, options: Options) -> Vec<Row> {
    let t = options.timeout;
    let mut probes: Vec<(String, Duration, Probe)> = Vec::new();
    let mut add = |subject: String, limit: Duration, probe: Probe| {
        probes.push((subject, limit, probe));
    };
    for (i, l) in config.lines.iter().enumerate() {
        add(
            format!("line {} plc", l.id),
            t * 3,
            Box::pin(modbus::plc(i, l.clone(), t)),
        );
        for (j, s) in l.scanners.iter().enumerate() {
            let subject = format!("line {} scanner {}", l.id, s.name);
            add(
                subject.clone(),
                t * 2,
                Box::pin(line::scanner(
                    subject,
                    format!("lines[{i}].scanners[{j}]"),
                    s.address.clone(),
                    t,
                )),
            );
        }
        for (j, s) in l.bag_scanners.iter().enumerate() {
            let subject = format!("line {} bag-label scanner {}", l.id, s.name);
            add(
                subject.clone(),
                t * 2,
                Box::pin(line::scanner(
                    subject,
                    format!("lines[{i}].bag_scanners[{j}]"),
                    s.address.clone(),
                    t,
                )),
            );
        }
        if let Some(x) = &l.xray {
            add(
                format!("line {} x-ray", l.id),
                t,
                Box::pin(line::xray_dir(
                    format!("line {} x-ray", l.id),
                    x.dir.clone(),
                )),
            );
        }
    }
    for (i, g) in config.gates.iter().enumerate() {
        add(
            format!("gate {} i/o", g.id),
            t * 3,
            Box::pin(modbus::gate_io(i, g.clone(), t)),
        );
        if g.weighbridge_address.is_some() {
            add(
                format!("gate {} weighbridge", g.id),
                t * 3,
                Box::pin(modbus::weighbridge(i, g.clone(), t)),
            );
        }
    }
    for (i, c) in config.cameras.iter().enumerate() {
        add(
            format!("camera {}", c.id),
            t * 4,
            Box::pin(camera::check(i, c.clone(), t)),
        );
    }
    if !config.gates.is_empty() {
        let listen = config.plate_events.listen.clone();
        add(
            "plate listener".into(),
            t,
            Box::pin(line::bindable(
                "plate listener",
                "plate_events.listen",
                listen,
            )),
        );
    }
    add(
        "web".into(),
        t,
        Box::pin(line::bindable(
            "web",
            "web.listen",
            config.web.listen.clone(),
        )),
    );
    if let Some(platform) = &config.platform {
        add(
            "broker".into(),
            t * 2,
            Box::pin(broker::check(platform.clone(), config.site.code.clone(), t)),
        );
    }
    for (subject, limit, probe) in host::probes(config) {
        add(subject, limit.max(t), probe);
    }
    let runs = probes
        .into_iter()
        .map(|(subject, limit, probe)| async move {
            match tokio::time::timeout(limit, probe).await {
                Ok(rows) => rows,
                Err(_) => vec![Row::fail(
                    &subject,
                    "answer",
                    format!("no answer within {limit:?}"),
                )],
            }
        });
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Whether every check passed (warnings allowed).
pub fn passed(rows: &[Row]) -> bool {
    rows.iter().all(|r| r.result != Verdict::Fail)
}

/// The rows as a table for people.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (ws, wc) = (
        width(|r| &r.subject, "SUBJECT"),
        width(|r| &r.check, "CHECK"),
    );
    let mut out = format!("{:ws$}  {:wc$}  RESULT  DETAIL\n", "SUBJECT", "CHECK");
    for r in rows {
        let _ = writeln!(
            out,
            "{:ws$}  {:wc$}  {:6}  {}",
            r.subject,
            r.check,
            r.result.as_str(),
            r.detail
        );
    }
    let count = |v| rows.iter().filter(|r| r.result == v).count();
    let _ = writeln!(
        out,
        "\n{} checks: {} ok, {} warn, {} fail",
        rows.len(),
        count(Verdict::Ok),
        count(Verdict::Warn),
        count(Verdict::Fail)
    );
    out
}

/// `doctor --config FILE [--json]`: exit 0 when nothing failed, 1 when something did, 2
/// when the config itself is not valid.
pub async fn run_cli(file: &std::path::Path, json: bool, options: Options) -> ExitCode {
    let config = match crate::config::load(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rows = run(&config, options).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialise")
        );
    } else {
        print!("{}", table(&rows));
    }
    if passed(&rows) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
