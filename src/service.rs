//! The controller as a systemd service (`Type=notify`): readiness, status lines, stopping,
//! and the watchdog.
//!
//! - `READY=1` once every listener is bound ([`crate::daemon::start`] returned), with a
//!   `STATUS=` line saying what runs; `STOPPING=1` when shutdown begins.
//! - `WATCHDOG=1` every `WATCHDOG_USEC / 2`, only while every critical loop is making
//!   progress ([`watchdog`]).
//!
//! Without `NOTIFY_SOCKET` in the environment (not started by systemd: a terminal, the
//! tests, the demo) every call here does nothing; the loops' pulses are still beaten, at
//! the cost of one atomic store each.

pub mod watchdog;

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

pub use watchdog::{Pulse, Watchdog};

/// A sorting line may go this long without finishing a loop iteration before it counts
/// as stalled, or 20 polls when they are slower. An iteration is one poll, scan or X-ray
/// view, each bounded by the PLC's request timeout and one store write.
pub const LINE_STALL_AFTER: Duration = Duration::from_secs(10);
/// A gate lane, likewise (its view is published after every poll).
pub const LANE_STALL_AFTER: Duration = Duration::from_secs(10);
/// The store writer: one batch of at most 512 writes; idle, it beats every second.
pub const WRITER_STALL_AFTER: Duration = Duration::from_secs(20);

/// How long a loop polling every `poll` may go without progress.
pub fn stall_after(floor: Duration, poll: Duration) -> Duration {
    floor.max(poll * 20)
}

/// Whether a service manager listens (`NOTIFY_SOCKET` is set).
pub fn managed() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

/// Send `states` to the service manager; a failure is logged, never fatal.
fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// Tell the service manager what the controller is doing (`STATUS=`).
pub fn status(text: &str) {
    notify(&[NotifyState::Status(text)]);
}

/// Tell the service manager the controller is ready, with `running` as its status. When it
/// is managed, returns the task that keeps it informed until `shutdown`: watchdog pings
/// while `watchdog` finds every loop fresh, then `STOPPING=1`. The caller runs it with the
/// controller's tasks, so it is drained (and `STOPPING=1` sent) before the process exits.
pub fn ready(
    running: String,
    watchdog: Watchdog,
    shutdown: &CancellationToken,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    notify(&[NotifyState::Ready, NotifyState::Status(&running)]);
    if !managed() {
        return None;
    }
    let shutdown = shutdown.clone();
    let period = sd_notify::watchdog_enabled().map(|timeout| timeout / 2);
    tracing::info!(
        loops = watchdog.len(),
        ping_every = ?period,
        "ready; the service manager is told"
    );
    Some(async move {
        match period {
            Some(period) => {
                let send = move |ping| match ping {
                    watchdog::Ping::Alive => notify(&[NotifyState::Watchdog]),
                    watchdog::Ping::Stalled(loops) => status(&format!(
                        "stalled: {} not making progress; watchdog pings withheld",
                        loops.join(", ")
                    )),
                    watchdog::Ping::Recovered => status(&running),
                };
                watchdog::ping_loop(watchdog, period, send, shutdown).await;
            }
            None => shutdown.cancelled().await,
        }
        notify(&[
            NotifyState::Stopping,
            NotifyState::Status("stopping: finishing current work"),
        ]);
    })
}
