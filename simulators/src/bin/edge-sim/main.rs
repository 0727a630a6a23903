//! `edge-sim`: run the simulated sorting lines (and gate lanes) until Ctrl-C/SIGTERM, or
//! until the scenario or load run ends; print the summary, write the ground truth, and
//! exit 1 when it shows a wrong lane or a wrong barrier verdict.

use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use customs_edge_simulators::report::SiteReport;
use customs_edge_simulators::vehicles::GateReport;
use customs_edge_simulators::{Report, RunningSim};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

mod args;

/// How long the parts get to stop after the end or Ctrl-C/SIGTERM.
const DRAIN: Duration = Duration::from_secs(5);
/// Wrong-lane parcels listed in the printed summary.
const LIST_WRONG: usize = 20;

/// Cancel `shutdown` on the first Ctrl-C or SIGTERM.
async fn signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    info!("stopping");
    shutdown.cancel();
    Ok(())
}

fn print_addresses(sim: &RunningSim, as_json: bool) {
    let mut out = std::io::stdout().lock();
    if as_json {
        let line = json!({ "http": sim.http, "lines": sim.lines, "gates": sim.gates });
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "HTTP API               http://{}", sim.http);
        for l in &sim.lines {
            let _ = writeln!(out, "{:<4} PLC (Modbus TCP)  {}", l.id, l.plc);
            let _ = writeln!(out, "{:<4} top scanner       {}", l.id, l.top);
            let _ = writeln!(out, "{:<4} side scanner      {}", l.id, l.side);
            if let Some(dir) = &l.xray_dir {
                let _ = writeln!(out, "{:<4} X-ray images      {}", l.id, dir.display());
            }
        }
        for g in &sim.gates {
            let _ = writeln!(out, "{:<4} gate I/O (Modbus) {}", g.id, g.io);
            if let Some(wb) = g.weighbridge {
                let _ = writeln!(out, "{:<4} weighbridge       {wb}", g.id);
            }
            if let Some(url) = &g.camera_url {
                let _ = writeln!(out, "{:<4} camera posts to   {url}", g.id);
            }
        }
    }
    let _ = out.flush();
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn print_summary(report: &Report) {
    let s = &report.summary;
    println!(
        "edge-sim: parcels={} dropped={} wrong_lane={} missed={} unfinished_expected={} \
         latency_p50_ms={} latency_p99_ms={} slack_p50_ms={} slack_min_ms={} faults={}",
        s.injected,
        s.dropped,
        s.wrong_lane,
        s.missed,
        s.unfinished_expected,
        ms(s.latency_ms.p50),
        ms(s.latency_ms.p99),
        ms(s.slack_ms.p50),
        ms(s.slack_ms.min),
        s.faults
    );
    for p in report.wrong_lane().take(LIST_WRONG) {
        println!(
            "  wrong lane: parcel {} on {} ({}): lane {:?}, expected {:?} (lane {:?}){}",
            p.id,
            p.line,
            p.code.as_deref().unwrap_or("no code"),
            p.lane,
            p.expected,
            p.expected_lane,
            if p.defaulted {
                ", no command in time"
            } else {
                ""
            }
        );
    }
}

fn print_gate_summary(gates: &GateReport) {
    let t = &gates.totals;
    println!(
        "edge-sim gates: vehicles={} left={} held={} wrong_verdict={} unfinished={} \
         latency_p50_ms={} latency_p99_ms={} tailgates={} closed_on_occupied_loop={} \
         custody_escapes={}",
        t.vehicles,
        t.left,
        t.held,
        t.wrong_verdict,
        t.vehicles - t.done,
        ms(t.latency_ms.p50),
        ms(t.latency_ms.p99),
        t.tailgates,
        t.closed_on_occupied_loop,
        t.custody_escapes
    );
    for v in gates.wrong_verdicts().take(LIST_WRONG) {
        println!(
            "  wrong verdict: vehicle {} {} on {}: entitled={} but {}",
            v.id,
            v.plate,
            v.lane,
            v.entitled,
            if v.left { "it left" } else { "it was held" }
        );
        for problem in &v.custody_problems {
            println!("    carrying: {problem}");
        }
    }
}

fn write_report(path: &Path, report: &SiteReport) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(report)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Run the site; `Ok(true)` when the ground truth is right.
async fn run(args: args::Args) -> anyhow::Result<bool> {
    let (as_json, report_file) = (args.print_addresses_json, args.report_file.clone());
    let config = args.into_config()?;
    let bounded = config.scenario.is_some()
        || config
            .generator
            .as_ref()
            .is_some_and(|g| g.duration.is_some());
    let shutdown = CancellationToken::new();
    let sim = customs_edge_simulators::start(config, shutdown.clone()).await?;
    print_addresses(&sim, as_json);
    let watcher = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(err) = signals(shutdown).await {
                warn!("{err:#}; stop with SIGKILL");
            }
        }
    });
    let site = sim.site().clone();
    let wait = sim.wait();
    tokio::pin!(wait);
    let result = tokio::select! {
        result = &mut wait => result,
        () = async {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = site.finished().cancelled() => {}
            }
        } => {
            shutdown.cancel();
            tokio::time::timeout(DRAIN, &mut wait).await.unwrap_or_else(|_| {
                warn!(after = ?DRAIN, "parts still running; exiting anyway");
                Ok(())
            })
        }
    };
    watcher.abort();
    let full = site.site_report();
    if let Some(path) = &report_file {
        write_report(path, &full)?;
        info!(file = %path.display(), "ground truth written");
    }
    result?;
    let report = &full.lines;
    print_summary(report);
    let finished = bounded && report.finished;
    let unfinished = finished && report.summary.unfinished_expected > 0;
    if let Some(gates) = &full.gates {
        print_gate_summary(gates);
    }
    let gates_right = full.gates.as_ref().is_none_or(|g| {
        let unfinished = finished && !g.finished;
        g.totals.wrong_verdict == 0 && g.totals.closed_on_occupied_loop == 0 && !unfinished
    });
    Ok(report.summary.wrong_lane == 0 && !unfinished && gates_right)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = args::Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("edge-sim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
