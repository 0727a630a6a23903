//! The running site as one `Clone` handle: its lines, the sim id counter, run-time
//! faults, the ground-truth report over any of its lines, and its gate lanes' traffic.
//!
//! The HTTP API, the scenario player, the generators and [`RunningSim`](crate::RunningSim)
//! all act on the site through this handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::conveyor::assemble;
use crate::custody::Custody;
use crate::faults::{FaultRequest, FaultSource};
use crate::line::SharedLine;
use crate::parcel::{InjectError, NewParcel};
use crate::report::{Report, SiteReport};
use crate::vehicles::Traffic;

/// A `Clone` handle to the running site.
#[derive(Debug, Clone)]
pub struct Site {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    lines: Vec<SharedLine>,
    /// The truck gate lanes and their vehicles, when the site has gates.
    traffic: Option<Traffic>,
    /// What customs holds and what each bag carries: the gate judge's custody truth.
    custody: Custody,
    /// The next sim id; ids are unique across lines.
    next_id: AtomicU64,
    /// Fired when the scenario or the bounded load run is over.
    finished: CancellationToken,
    /// The site's shutdown: fault timers stop with it.
    shutdown: CancellationToken,
}

/// A request named a line the site does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no line {0:?}; the lines are {1}")]
pub struct UnknownLine(pub String, pub String);

/// Why a fault was not injected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// No such line.
    #[error(transparent)]
    UnknownLine(#[from] UnknownLine),
}

impl Site {
    /// A site of `lines`, stopping its timers on `shutdown`.
    pub fn new(lines: Vec<SharedLine>, shutdown: CancellationToken) -> Self {
        Self::with_traffic(lines, None, shutdown)
    }

    /// A site of `lines` and the gate lanes of `traffic`, stopping its timers on
    /// `shutdown`.
    pub fn with_traffic(
        lines: Vec<SharedLine>,
        traffic: Option<Traffic>,
        shutdown: CancellationToken,
    ) -> Self {
        let custody = Custody::new(lines.clone());
        if let Some(traffic) = &traffic {
            traffic.set_custody(custody.clone());
        }
        Self {
            inner: Arc::new(Inner {
                lines,
                traffic,
                custody,
                next_id: AtomicU64::new(1),
                finished: CancellationToken::new(),
                shutdown,
            }),
        }
    }

    /// The gate lanes' traffic, when the site has gates.
    pub fn traffic(&self) -> Option<&Traffic> {
        self.inner.traffic.as_ref()
    }

    /// The custody book: holds, and what the bags carry.
    pub fn custody(&self) -> &Custody {
        &self.inner.custody
    }

    /// Every line, in config order.
    pub fn lines(&self) -> &[SharedLine] {
        &self.inner.lines
    }

    fn line_ids(&self) -> String {
        let ids: Vec<&str> = self.inner.lines.iter().map(SharedLine::id).collect();
        ids.join(", ")
    }

    /// The line with id `id`, or the first line for `None`.
    pub fn line(&self, id: Option<&str>) -> Result<&SharedLine, UnknownLine> {
        let lines = &self.inner.lines;
        match id {
            None => lines.first(),
            Some(id) => lines.iter().find(|l| l.id() == id),
        }
        .ok_or_else(|| UnknownLine(id.unwrap_or_default().to_owned(), self.line_ids()))
    }

    /// Put a parcel in its line's feeder; returns its sim id and line id.
    pub fn inject(&self, parcel: NewParcel) -> Result<(u64, String), InjectError> {
        let line = self
            .line(parcel.line.as_deref())
            .map_err(|UnknownLine(id, ids)| InjectError::UnknownLine(id, ids))?;
        parcel.check()?;
        let next_id = &self.inner.next_id;
        // The id is taken under the line's lock, so ids increase along each line.
        let id = line.with(|c, now| {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            c.inject(now, id, parcel).map(|()| id)
        })?;
        Ok((id, line.id().to_owned()))
    }

    /// Start the fault `request` now on its line (or every line); it ends by itself after
    /// its duration. Returns the ids of the lines it hit. Needs a Tokio runtime.
    pub fn fault(
        &self,
        request: &FaultRequest,
        source: FaultSource,
    ) -> Result<Vec<String>, FaultError> {
        if let Some(problem) = request.problem() {
            return Err(FaultError::Invalid(problem));
        }
        let lines: Vec<SharedLine> = match &request.line {
            Some(id) => vec![self.line(Some(id))?.clone()],
            None => self.inner.lines.clone(),
        };
        let duration = Duration::from_millis(request.duration_ms);
        for line in &lines {
            let id = line.begin_fault(request.kind, source, request.duration_ms);
            let (line, shutdown) = (line.clone(), self.inner.shutdown.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(duration) => line.end_fault(id),
                }
            });
        }
        Ok(lines.iter().map(|l| l.id().to_owned()).collect())
    }

    /// Whether every parcel injected into any line has dropped.
    pub fn all_dropped(&self) -> bool {
        self.inner
            .lines
            .iter()
            .all(|l| l.with(|c, _| c.all_dropped()))
    }

    /// Mark the scenario or load run over.
    pub fn finish(&self) {
        if !self.inner.finished.is_cancelled() {
            info!("run finished");
            self.inner.finished.cancel();
        }
    }

    /// Fires when the scenario or the bounded load run is over.
    pub fn finished(&self) -> &CancellationToken {
        &self.inner.finished
    }

    /// The ground truth of one line (`Some(id)`) or of all; `with_parcels` = false leaves
    /// out the parcel and command lists.
    pub fn report(&self, line: Option<&str>, with_parcels: bool) -> Result<Report, UnknownLine> {
        let lines: Vec<&SharedLine> = match line {
            Some(id) => vec![self.line(Some(id))?],
            None => self.inner.lines.iter().collect(),
        };
        let parts = lines.iter().map(|l| l.part(with_parcels)).collect();
        let clock = self.inner.lines[0].clock();
        let finished = self.inner.finished.is_cancelled();
        Ok(assemble(clock.wall(clock.now()), finished, parts))
    }

    /// The whole ground truth: every line's, and the gate lanes' when the site has them.
    pub fn site_report(&self) -> SiteReport {
        SiteReport {
            lines: self
                .report(None, true)
                .expect("the whole site always exists"),
            gates: self.traffic().map(Traffic::report),
        }
    }
}
