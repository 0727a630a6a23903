//! Every long-running task of the controller runs under a [`Supervisor`]: a task that
//! fails — returns an error, panics, or stops on its own — is started again after a pause
//! that doubles with each failure in a row ([`Backoff`]), and its failure is an alarm
//! (`controller:task:<name>`, kind `task_failed`), a health entry (`task:<name>`) and a
//! metric (`customs_edge_task_failures_total`). The alarm clears once the task has run
//! [`HEALTHY_AFTER`] without failing. Only the shutdown token ends the tasks.
//!
//! A task is a factory: called with a cancellation token (a child of shutdown, cancelled
//! when that run ends, so whatever it spawned stops with it) it returns the run's future.
//!
//! The control loops (each line, each gate lane) run on a runtime of their own
//! ([`Supervisor::spawn_control`]): worker threads that nothing else is scheduled on, so
//! the consoles' streams, the platform link's bulk work and video cannot hold back the
//! wakeup that takes a parcel's last input to its lane command. What they spawn runs there
//! too. They keep the process's CPU priority while the main runtime's threads run below it
//! ([`crate::cpu_priority`]).

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use customs_edge_devices::backoff::Backoff;

use crate::alarm_book::AlarmBook;
use crate::cpu_priority::ForegroundRuntime;
use crate::health::{Health, State};

/// How long a restarted task must run before its alarm clears and its pauses start over.
pub const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// The alarm kind of a failed task.
pub const ALARM_KIND: &str = "task_failed";

/// Pauses before a restart: doubling from 200 ms to at most 30 s.
fn restart_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
}

/// Runs the controller's tasks and restarts those that fail, until shutdown.
#[derive(Debug)]
pub struct Supervisor {
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
    health: Health,
    alarms: AlarmBook,
    backoff: Backoff,
    healthy_after: Duration,
    /// The control loops' runtime, made when the first one is spawned: a worker thread
    /// per core, as the main runtime has (on one thread, ten lines at 20 parcels/s each
    /// waited on each other: `scripts/bench-line.sh`).
    control: Option<ForegroundRuntime>,
}

/// What a supervised task needs besides its factory.
#[derive(Debug, Clone)]
struct Watch {
    name: String,
    shutdown: CancellationToken,
    health: Health,
    alarms: AlarmBook,
    backoff: Backoff,
    healthy_after: Duration,
    /// Where each run is spawned: the control runtime, or the caller's (`None`).
    runtime: Option<tokio::runtime::Handle>,
}

impl Supervisor {
    /// Tasks stop on `shutdown`; failures show in `health` and `alarms`.
    pub fn new(shutdown: CancellationToken, health: Health, alarms: AlarmBook) -> Self {
        Self {
            tasks: JoinSet::new(),
            shutdown,
            health,
            alarms,
            backoff: restart_backoff(),
            healthy_after: HEALTHY_AFTER,
            control: None,
        }
    }

    /// Restart pauses and the healthy time other than the defaults (tests).
    #[must_use]
    pub fn with_timing(mut self, backoff: Backoff, healthy_after: Duration) -> Self {
        self.backoff = backoff;
        self.healthy_after = healthy_after;
        self
    }

    /// The shutdown token the tasks run under.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Run the task `factory` makes, and make it again whenever it fails.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, factory: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.spawn_on(None, name.into(), factory);
    }

    /// [`Supervisor::spawn`] for a control loop: its runs go to the control runtime.
    pub fn spawn_control<F, Fut>(&mut self, name: impl Into<String>, factory: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let control = self
            .control
            .get_or_insert_with(|| ForegroundRuntime::start("control"));
        let handle = control.handle();
        self.spawn_on(Some(handle), name.into(), factory);
    }

    fn spawn_on<F, Fut>(
        &mut self,
        runtime: Option<tokio::runtime::Handle>,
        name: String,
        factory: F,
    ) where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let watch = Watch {
            name,
            shutdown: self.shutdown.clone(),
            health: self.health.clone(),
            alarms: self.alarms.clone(),
            backoff: self.backoff.clone(),
            healthy_after: self.healthy_after,
            runtime,
        };
        self.tasks.spawn(supervise(watch, factory));
    }

    /// Wait until shutdown, then give the tasks `drain` to stop and abort what is left.
    pub async fn run_until_shutdown(mut self, drain: Duration) {
        self.shutdown.cancelled().await;
        let stopped = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(drain, stopped).await.is_err() {
            warn!(timeout = ?drain, "tasks did not stop in time; aborting them");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

async fn supervise<F, Fut>(mut w: Watch, mut factory: F)
where
    F: FnMut(CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let alarm_source = format!("task:{}", w.name);
    let health_name = format!("task:{}", w.name);
    let mut failed_before = false;
    loop {
        let token = w.shutdown.child_token();
        let started = Instant::now();
        crate::metrics::set_task_up(&w.name, true);
        if failed_before {
            w.health.set(&health_name, State::Degraded, "restarted");
        }
        let run = factory(token.clone());
        let mut attempt = match &w.runtime {
            Some(control) => control.spawn(run),
            None => tokio::spawn(run),
        };
        let mut healthy = !failed_before;
        let outcome = loop {
            tokio::select! {
                joined = &mut attempt => break joined,
                () = tokio::time::sleep_until(started + w.healthy_after), if !healthy => {
                    healthy = true;
                    w.backoff.reset();
                    w.alarms.clear(&alarm_source, ALARM_KIND);
                    w.health.set(&health_name, State::Ok, "running again");
                    info!(task = %w.name, "task runs again");
                }
            }
        };
        token.cancel();
        if w.shutdown.is_cancelled() {
            if let Ok(Err(e)) = &outcome {
                warn!(task = %w.name, error = %e, "task ended with an error during shutdown");
            }
            return;
        }
        let why = match outcome {
            Ok(Ok(())) => "stopped on its own".to_owned(),
            Ok(Err(e)) => format!("{e:#}"),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_message(&*e.into_panic())),
            Err(e) => e.to_string(),
        };
        let delay = w.backoff.next_wait();
        error!(task = %w.name, error = %why, restart_in = ?delay, "controller task failed; restarting it");
        crate::metrics::record_task_failure(&w.name);
        crate::metrics::set_task_up(&w.name, false);
        w.health.set(
            &health_name,
            State::Down,
            format!("failed: {why}; restarting in {delay:?}"),
        );
        w.alarms.raise(
            &alarm_source,
            ALARM_KIND,
            format!("{} failed: {why}", w.name),
        );
        failed_before = true;
        tokio::select! {
            () = w.shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn until(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_failing_task_is_restarted_alarmed_and_cleared_once_it_runs_healthy() {
        let shutdown = CancellationToken::new();
        let (health, alarms) = (Health::default(), AlarmBook::default());
        let mut sup = Supervisor::new(shutdown.clone(), health.clone(), alarms.clone())
            .with_timing(
                Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
                Duration::from_millis(300),
            );
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        sup.spawn("flaky", move |token: CancellationToken| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match run {
                    0 => anyhow::bail!("store error"),
                    1 => panic!("boom"),
                    _ => {
                        token.cancelled().await;
                        Ok(())
                    }
                }
            }
        });
        let running = tokio::spawn(sup.run_until_shutdown(Duration::from_secs(1)));
        until("a third run", || runs.load(Ordering::SeqCst) == 3).await;
        let detail = alarms.views()[0].detail.clone();
        assert!(detail.contains("panicked: boom"), "{detail}");
        until("the alarm to clear", || {
            !alarms.is_open("task:flaky", ALARM_KIND)
        })
        .await;
        let entry = health.snapshot()["task:flaky"].clone();
        assert_eq!((entry.state, entry.failures), (State::Ok, 2));
        shutdown.cancel();
        running.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "shutdown ends it for good");
    }

    #[tokio::test]
    async fn a_control_loop_runs_on_the_control_threads_and_is_restarted_there() {
        let shutdown = CancellationToken::new();
        let mut sup = Supervisor::new(shutdown.clone(), Health::default(), AlarmBook::default())
            .with_timing(
                Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
                Duration::from_millis(300),
            );
        let threads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&threads);
        sup.spawn_control("line L1", move |token: CancellationToken| {
            let seen = Arc::clone(&seen);
            async move {
                let name = std::thread::current().name().map(str::to_owned);
                let first = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(name);
                    seen.len() == 1
                };
                assert!(!first, "a line loop fails");
                token.cancelled().await;
                Ok(())
            }
        });
        let running = tokio::spawn(sup.run_until_shutdown(Duration::from_secs(1)));
        until("a second run", || threads.lock().unwrap().len() == 2).await;
        for name in threads.lock().unwrap().iter() {
            assert_eq!(name.as_deref(), Some("control"), "{name:?}");
        }
        shutdown.cancel();
        running.await.unwrap();
    }
}
