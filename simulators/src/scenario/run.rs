//! Playing a scenario against the running site.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Scenario;
use crate::faults::FaultSource;
use crate::site::Site;

/// Time given to a just-attached controller for its first poll before the clock starts.
const SETTLE: Duration = Duration::from_millis(500);
/// How often the end condition is checked.
const CHECK: Duration = Duration::from_millis(20);

enum Step {
    Parcel(usize),
    Fault(usize),
    Hold(usize),
}

/// Sleep until `at`; false if `shutdown` fired first.
async fn sleep_until(at: Instant, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep_until(at) => true,
    }
}

/// Play `scenario` on `site`: inject its parcels and faults on time, then return at its
/// end (`duration_ms`, or once every parcel dropped and every fault ended, plus
/// `grace_ms`), or when `shutdown` fires.
pub async fn run(scenario: Scenario, site: Site, shutdown: CancellationToken) {
    let name = scenario
        .name
        .clone()
        .unwrap_or_else(|| "scenario".to_owned());
    if scenario.wait_for_clients {
        info!(scenario = name, "waiting for a controller on every line");
        while !site
            .lines()
            .iter()
            .all(crate::line::SharedLine::has_clients)
        {
            if !sleep_until(Instant::now() + Duration::from_millis(50), &shutdown).await {
                return;
            }
        }
        if !sleep_until(Instant::now() + SETTLE, &shutdown).await {
            return;
        }
    }
    let start = Instant::now();
    let end = scenario
        .duration_ms
        .map(|ms| start + Duration::from_millis(ms));
    info!(
        scenario = name,
        parcels = scenario.parcels.len(),
        faults = scenario.faults.len(),
        "scenario starts"
    );
    let mut steps: Vec<(u64, Step)> = scenario
        .parcels
        .iter()
        .enumerate()
        .map(|(i, p)| (p.at_ms, Step::Parcel(i)))
        .chain(
            scenario
                .faults
                .iter()
                .enumerate()
                .map(|(i, f)| (f.at_ms, Step::Fault(i))),
        )
        .chain(
            scenario
                .holds
                .iter()
                .enumerate()
                .map(|(i, h)| (h.at_ms, Step::Hold(i))),
        )
        .collect();
    // Stable: at the same time, parcels in file order, then faults, then holds.
    steps.sort_by_key(|(at, _)| *at);
    for (at_ms, step) in steps {
        let due = start + Duration::from_millis(at_ms);
        if end.is_some_and(|end| due >= end) {
            break;
        }
        if !sleep_until(due, &shutdown).await {
            return;
        }
        match step {
            Step::Parcel(i) => {
                if let Err(err) = site.inject(scenario.parcels[i].to_parcel()) {
                    warn!(scenario = name, parcel = i, %err, "scenario parcel refused");
                }
            }
            Step::Hold(i) => {
                let code = &scenario.holds[i].code;
                info!(scenario = name, code, "customs holds a parcel");
                site.custody().hold(code);
            }
            Step::Fault(i) => {
                let request = scenario.faults[i].to_request();
                if let Err(err) = site.fault(&request, FaultSource::Scenario) {
                    warn!(scenario = name, fault = i, %err, "scenario fault refused");
                }
            }
        }
    }
    if let Some(end) = end {
        sleep_until(end, &shutdown).await;
        return;
    }
    let faults_over = start + Duration::from_millis(scenario.last_event_ms());
    while !(site.all_dropped() && Instant::now() >= faults_over) {
        if !sleep_until(Instant::now() + CHECK, &shutdown).await {
            return;
        }
    }
    let grace = Duration::from_millis(scenario.grace_ms);
    sleep_until(Instant::now() + grace, &shutdown).await;
}
