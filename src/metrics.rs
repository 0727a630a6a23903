//! Prometheus metrics, served at `GET /metrics` by the web server (no listener of its own).
//!
//! One process-wide recorder (the `metrics` facade is global), installed on first use.
//! Counters and histograms are recorded where things happen, through the functions below;
//! gauges that mirror state (outbox depth, subsystem health) are refreshed on each scrape.
//!
//! | metric | kind | labels | recorded by |
//! |---|---|---|---|
//! | `customs_edge_parcels_entered_total` | counter | line | [`record_parcel_entered`] |
//! | `customs_edge_parcels_decided_total` | counter | line, lane | [`record_decision`] |
//! | `customs_edge_decision_latency_seconds` | histogram | line | [`record_decision`] |
//! | `customs_edge_decision_stage_seconds` | histogram | line, stage (read, log, command) | [`record_decision_stage`] |
//! | `customs_edge_store_queue_wait_seconds` | histogram | queue (control, bulk) | [`StoreWriterTimings`] |
//! | `customs_edge_store_batch_seconds` | histogram | part (run, commit) | [`StoreWriterTimings`] |
//! | `customs_edge_gate_verdicts_total` | counter | gate, verdict | [`record_gate_verdict`] |
//! | `customs_edge_camera_fps`, `_streaming` | gauge | camera | [`set_camera`] |
//! | `customs_edge_camera_frames_total`, `_drops_total`, `_reconnects_total` | counter | camera | [`set_camera`] |
//! | `customs_edge_outbox_pending_messages` / `_bytes` | gauge | stream | scrape |
//! | `customs_edge_subsystem_state` | gauge (1 for the current state) | subsystem, state | scrape |
//! | `customs_edge_subsystem_failures_total`, `_recoveries_total` | counter | subsystem | scrape |
//! | `customs_edge_http_requests_total` | counter | route, method, status | web layer |
//! | `customs_edge_logins_total` | counter | outcome | login |
//! | `customs_edge_connections_open` | gauge | listener | [`set_connections_open`] |
//! | `customs_edge_connections_refused_total` | counter | listener, reason | [`record_connection_refused`] |
//! | `customs_edge_connections_timed_out_total` | counter | listener, phase | [`record_connection_timeout`] |
//! | `customs_edge_tls_handshake_failures_total` | counter | listener, reason | [`record_tls_failure`] |
//! | `customs_edge_plate_auth_failures_total` | counter | camera, outcome | [`record_plate_auth_failure`] |
//! | `customs_edge_task_failures_total` | counter | task | [`record_task_failure`] |
//! | `customs_edge_task_up` | gauge | task | [`set_task_up`] |
//! | `customs_edge_store_commit_failures_total` | counter | | [`record_commit_failure`] |
//! | `customs_edge_decisions_not_committed_total` | counter | line | [`record_decision_not_committed`] |
//! | `customs_edge_late_holds_total` | counter | line, outcome | [`record_late_hold`] |
//! | `customs_edge_bag_scans_total` | counter | line, outcome | [`record_bag_scan`] |
//! | `customs_edge_disk_free_ratio` | gauge | | [`set_disk`] |
//! | `customs_edge_disk_shed_level` | gauge | | [`set_disk`] |
//! | `customs_edge_shed_total` | counter | what | [`record_shed`] |
//! | `customs_edge_log_lines_dropped_total` | counter | | scrape ([`crate::runtime::log_lines_dropped`]) |

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

mod catalogue;

use crate::health::{Component, State};
use crate::store::outbox::StreamState;

/// Seconds: steps of a millisecond up to the decision's 5 ms target (where its tail is read),
/// then up to one that missed a 5 s lane-assignment timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// How often histograms are folded (the exporter's upkeep) when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder's handle; installs the recorder on the first call.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            // The decision's latency and its parts.
            .set_buckets_for_metric(
                Matcher::Prefix("customs_edge_decision_".into()),
                LATENCY_BUCKETS,
            )
            .and_then(|b| {
                // The store writer's waits and batches, which the decisions' commits wait on.
                b.set_buckets_for_metric(Matcher::Prefix("customs_edge_store_".into()), LATENCY_BUCKETS)
            })
            .expect("latency buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty");
        }
        catalogue::describe();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// A parcel entered line `line` (photo-eye): line throughput is its rate.
pub fn record_parcel_entered(line: &str) {
    handle();
    counter!("customs_edge_parcels_entered_total", "line" => line.to_owned()).increment(1);
}

/// Line `line_id` decided `lane_kind` (release, inspection, exception) in `latency`.
pub fn record_decision(line_id: &str, lane_kind: &str, latency: Duration) {
    handle();
    counter!("customs_edge_parcels_decided_total", "line" => line_id.to_owned(), "lane" => lane_kind.to_owned())
        .increment(1);
    histogram!("customs_edge_decision_latency_seconds", "line" => line_id.to_owned())
        .record(latency.as_secs_f64());
}

/// One part of a lane decision of line `line_id` (`read`, `log` or `command`) took
/// `took`: where the decision's time goes on a busy box.
pub fn record_decision_stage(line_id: &str, stage: &'static str, took: Duration) {
    handle();
    histogram!("customs_edge_decision_stage_seconds", "line" => line_id.to_owned(), "stage" => stage)
        .record(took.as_secs_f64());
}

/// The store writer's histograms, looked up once by its thread.
pub struct StoreWriterTimings {
    wait_control: metrics::Histogram,
    wait_bulk: metrics::Histogram,
    run: metrics::Histogram,
    commit: metrics::Histogram,
}

impl Default for StoreWriterTimings {
    /// The histograms' handles (the recorder installed first).
    fn default() -> Self {
        handle();
        let wait = |queue: &'static str| histogram!("customs_edge_store_queue_wait_seconds", "queue" => queue);
        let batch =
            |part: &'static str| histogram!("customs_edge_store_batch_seconds", "part" => part);
        Self {
            wait_control: wait("control"),
            wait_bulk: wait("bulk"),
            run: batch("run"),
            commit: batch("commit"),
        }
    }
}

impl StoreWriterTimings {
    /// An awaited write of the control queue (or the bulk one) waited `took` for its batch.
    pub fn waited(&self, control: bool, took: Duration) {
        let h = if control {
            &self.wait_control
        } else {
            &self.wait_bulk
        };
        h.record(took.as_secs_f64());
    }

    /// A batch's operations ran for `run`, its commit took `commit`.
    pub fn batch(&self, run: Duration, commit: Duration) {
        self.run.record(run.as_secs_f64());
        self.commit.record(commit.as_secs_f64());
    }
}

/// Gate `gate` reached `verdict` (e.g. release, refuse, hold, override).
pub fn record_gate_verdict(gate: &str, verdict: &str) {
    handle();
    counter!("customs_edge_gate_verdicts_total", "gate" => gate.to_owned(), "verdict" => verdict.to_owned())
        .increment(1);
}

/// What one camera's capture has done so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct CameraCounts {
    /// Frames per second now (0 when it is down).
    pub fps: f64,
    /// Frames captured since the start.
    pub frames: u64,
    /// Frames lost (bad or skipped) since the start.
    pub drops: u64,
    /// Times the stream was opened again.
    pub reconnects: u64,
    /// Whether it is streaming now.
    pub streaming: bool,
}

/// Camera `camera`'s capture counters, as its stats hold them now.
pub fn set_camera(camera: &str, c: CameraCounts) {
    handle();
    let id = camera.to_owned();
    gauge!("customs_edge_camera_fps", "camera" => id.clone()).set(c.fps);
    gauge!("customs_edge_camera_streaming", "camera" => id.clone())
        .set(f64::from(u8::from(c.streaming)));
    counter!("customs_edge_camera_frames_total", "camera" => id.clone()).absolute(c.frames);
    counter!("customs_edge_camera_drops_total", "camera" => id.clone()).absolute(c.drops);
    counter!("customs_edge_camera_reconnects_total", "camera" => id).absolute(c.reconnects);
}

/// One HTTP request answered.
pub fn record_http(route: &str, method: &str, status: u16) {
    handle();
    counter!(
        "customs_edge_http_requests_total",
        "route" => route.to_owned(),
        "method" => method.to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
}

/// One login attempt and how it ended (ok, wrong_password, locked, rate_limited, …).
pub fn record_login(outcome: &'static str) {
    handle();
    counter!("customs_edge_logins_total", "outcome" => outcome).increment(1);
}

/// Connections open on `listener` now.
pub fn set_connections_open(listener: &'static str, open: usize) {
    handle();
    gauge!("customs_edge_connections_open", "listener" => listener).set(open as f64);
}

/// A connection to `listener` closed at accept, for `reason` (`total`, `per_ip`,
/// `out_of_files`).
pub fn record_connection_refused(listener: &'static str, reason: &'static str) {
    handle();
    counter!("customs_edge_connections_refused_total", "listener" => listener, "reason" => reason)
        .increment(1);
}

/// A connection to `listener` closed, or a request body cut, in `phase` (`head`, `idle`,
/// `body`) for taking too long.
pub fn record_connection_timeout(listener: &'static str, phase: &'static str) {
    handle();
    counter!("customs_edge_connections_timed_out_total", "listener" => listener, "phase" => phase)
        .increment(1);
}

/// A TLS handshake on `listener` failed for `reason` (`handshake`, `timeout`).
pub fn record_tls_failure(listener: &'static str, reason: &'static str) {
    handle();
    counter!("customs_edge_tls_handshake_failures_total", "listener" => listener, "reason" => reason)
        .increment(1);
}

/// A post by plate camera `camera` (a configured id) was refused at authentication.
pub fn record_plate_auth_failure(camera: &str, outcome: &'static str) {
    handle();
    counter!("customs_edge_plate_auth_failures_total", "camera" => camera.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Task `task` failed (an error, a panic, or it stopped on its own) and will be restarted.
pub fn record_task_failure(task: &str) {
    handle();
    counter!("customs_edge_task_failures_total", "task" => task.to_owned()).increment(1);
}

/// Whether task `task` runs now.
pub fn set_task_up(task: &str, up: bool) {
    handle();
    gauge!("customs_edge_task_up", "task" => task.to_owned()).set(f64::from(u8::from(up)));
}

/// A store batch failed to commit.
pub fn record_commit_failure() {
    handle();
    counter!("customs_edge_store_commit_failures_total").increment(1);
}

/// Line `line` decided a lane it could not commit (so commanded none).
pub fn record_decision_not_committed(line: &str) {
    handle();
    counter!("customs_edge_decisions_not_committed_total", "line" => line.to_owned()).increment(1);
}

/// A hold came after a release decision on `line`: `recommanded` or `too_late`.
pub fn record_late_hold(line: &str, outcome: &str) {
    handle();
    counter!("customs_edge_late_holds_total", "line" => line.to_owned(), "outcome" => outcome.to_owned())
        .increment(1);
}

/// A label was scanned at `line`'s bag-label scanner, with `outcome`.
pub fn record_bag_scan(line: &str, outcome: &'static str) {
    handle();
    counter!("customs_edge_bag_scans_total", "line" => line.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// The data disk's free fraction and the shed level it puts the controller at.
pub fn set_disk(free_ratio: f64, shed_level: u8) {
    handle();
    gauge!("customs_edge_disk_free_ratio").set(free_ratio);
    gauge!("customs_edge_disk_shed_level").set(f64::from(shed_level));
}

/// One write of `what` left out for want of disk.
pub fn record_shed(what: &'static str) {
    handle();
    counter!("customs_edge_shed_total", "what" => what).increment(1);
}

const STATES: [(State, &str); 4] = [
    (State::Starting, "starting"),
    (State::Ok, "ok"),
    (State::Degraded, "degraded"),
    (State::Down, "down"),
];

/// Refresh the gauges that mirror state, then render everything in the Prometheus text
/// format.
pub fn render(outbox: &[StreamState], health: &BTreeMap<String, Component>) -> String {
    let handle = handle();
    for s in outbox {
        gauge!("customs_edge_outbox_pending_messages", "stream" => s.stream.clone())
            .set(s.pending_rows as f64);
        gauge!("customs_edge_outbox_pending_bytes", "stream" => s.stream.clone())
            .set(s.pending_bytes as f64);
    }
    for (name, component) in health {
        for (state, label) in STATES {
            gauge!("customs_edge_subsystem_state", "subsystem" => name.clone(), "state" => label)
                .set(if component.state == state { 1.0 } else { 0.0 });
        }
        // Mirrored as counters: they only grow while the process runs.
        counter!("customs_edge_subsystem_failures_total", "subsystem" => name.clone())
            .absolute(component.failures);
        counter!("customs_edge_subsystem_recoveries_total", "subsystem" => name.clone())
            .absolute(component.recoveries);
    }
    counter!("customs_edge_log_lines_dropped_total").absolute(crate::runtime::log_lines_dropped());
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_metrics_render_in_prometheus_text() {
        record_gate_verdict("K7", "release");
        record_decision("L9", "inspection", Duration::from_millis(12));
        record_decision_stage("L9", "log", Duration::from_millis(4));
        let mut health = BTreeMap::new();
        health.insert(
            "line L9".to_owned(),
            Component {
                state: State::Degraded,
                detail: String::new(),
                since: String::new(),
                last_ok: None,
                failures: 3,
                recoveries: 2,
            },
        );
        let text = render(&[], &health);
        assert!(
            text.contains(r#"customs_edge_gate_verdicts_total{gate="K7",verdict="release"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE customs_edge_decision_latency_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"customs_edge_decision_latency_seconds_bucket{line="L9",le="0.025"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"customs_edge_decision_stage_seconds_bucket{line="L9",stage="log",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"customs_edge_subsystem_state{subsystem="line L9",state="degraded"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"customs_edge_subsystem_failures_total{subsystem="line L9"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"customs_edge_subsystem_recoveries_total{subsystem="line L9"} 2"#),
            "{text}"
        );
    }
}
