//! Scheduled backups inside the controller, from `[backup]`: each into
//! `<dir>/customs-edge-<UTC time>/`, evidence linked from the newest backup before it, the
//! newest `keep` kept. A backup that fails raises the `backup_failed` alarm (source
//! `backup`), cleared by the next one that succeeds; failed attempts are retried every
//! [`RETRY_AFTER`] until one does.
//!
//! When the next backup is due is a pure function of the schedule, the newest complete
//! backup on disk and the time ([`next_due`]), so a restart neither repeats nor skips one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{BackupError, MANIFEST_FILE, Manifest, Options};
use crate::config::{BackupConfig, BackupSchedule};
use crate::store::{Store, StoreError, alarms};

/// Names of scheduled backups start with this, then the UTC time.
pub const PREFIX: &str = "customs-edge-";
/// The alarm's source.
pub const ALARM_SOURCE: &str = "backup";
/// The alarm raised while scheduled backups fail.
pub const ALARM_FAILED: &str = "backup_failed";
/// Time between a failed attempt and the next.
pub const RETRY_AFTER: TimeDelta = TimeDelta::minutes(15);
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

/// When the next backup is due, given the newest complete one (`None`: there is none, so
/// now).
pub fn next_due(
    schedule: BackupSchedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(last) = last else { return now };
    let due = match schedule {
        BackupSchedule::Every(every) => last + every,
        BackupSchedule::DailyAt(at) => {
            let local = last.with_timezone(&crate::store::beijing());
            let mut day = local.date_naive();
            if local.time() >= at {
                day = day.succ_opt().unwrap_or(day);
            }
            day.and_time(at)
                .and_local_timezone(crate::store::beijing())
                .single()
                .map_or(now, |t| t.with_timezone(&Utc))
        }
    };
    due.max(now)
}

/// Complete scheduled backups in `dir` (with a manifest), oldest first.
pub fn completed(dir: &Path) -> Vec<(DateTime<Utc>, PathBuf)> {
    let mut found: Vec<_> = scheduled(dir)
        .into_iter()
        .filter(|(_, path)| path.join(MANIFEST_FILE).is_file())
        .collect();
    found.sort();
    found
}

/// Every directory in `dir` named like a scheduled backup, complete or not.
fn scheduled(dir: &Path) -> Vec<(DateTime<Utc>, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stamp = name.strip_prefix(PREFIX)?;
            let at = NaiveDateTime::parse_from_str(stamp, STAMP).ok()?.and_utc();
            e.path().is_dir().then(|| (at, e.path()))
        })
        .collect()
}

/// Take one scheduled backup now, then keep the newest `keep` (and clear away attempts
/// that never finished). Blocking.
pub fn run_once(
    config: &BackupConfig,
    data_dir: &Path,
    cancel: &CancellationToken,
) -> Result<(PathBuf, Manifest), BackupError> {
    std::fs::create_dir_all(&config.dir).map_err(BackupError::io(&config.dir, "create"))?;
    let previous = completed(&config.dir).pop().map(|(_, path)| path);
    let target = config
        .dir
        .join(format!("{PREFIX}{}", Utc::now().format(STAMP)));
    let options = Options {
        reuse: previous,
        cancel: cancel.clone(),
        ..Options::default()
    };
    let manifest = super::backup(data_dir, &target, &options, &mut |_| {}).inspect_err(|_| {
        // `backup` emptied it; an empty directory is no backup.
        let _ = std::fs::remove_dir(&target);
    })?;
    let done = completed(&config.dir);
    let excess = done.len().saturating_sub(config.keep as usize);
    let unfinished = scheduled(&config.dir)
        .into_iter()
        .filter(|(_, p)| !p.join(MANIFEST_FILE).is_file());
    for (_, old) in done.into_iter().take(excess).chain(unfinished) {
        if let Err(e) = std::fs::remove_dir_all(&old) {
            warn!(backup = %old.display(), error = %e, "an old backup could not be removed");
        }
    }
    Ok((target, manifest))
}

/// Record how a scheduled backup went: raise `backup_failed` (once while it lasts) or clear
/// it. Evidence the records need but the data directory lacked counts as a failure.
pub async fn record_outcome(
    store: &Store,
    outcome: &Result<(PathBuf, Manifest), BackupError>,
) -> Result<(), StoreError> {
    let problem = match outcome {
        Ok((_, m)) if m.evidence.unusable.is_empty() => None,
        Ok((path, m)) => Some(format!(
            "backup {} written, but {} evidence file(s) were missing or damaged in the data \
             directory (first: {} — {})",
            path.display(),
            m.evidence.unusable.len(),
            m.evidence.unusable[0].path,
            m.evidence.unusable[0].reason
        )),
        Err(e) => Some(format!("scheduled backup failed: {e}")),
    };
    store
        .writer
        .write(move |tx| {
            match problem {
                None => {
                    alarms::clear(tx, ALARM_SOURCE, ALARM_FAILED)?;
                }
                Some(detail) => {
                    let open = tx
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM alarms WHERE source = ?1 AND kind = ?2
                             AND cleared_at IS NULL)",
                        )?
                        .query_row([ALARM_SOURCE, ALARM_FAILED], |r| r.get::<_, bool>(0))?;
                    if !open {
                        alarms::raise(tx, ALARM_SOURCE, ALARM_FAILED, &detail, None)?;
                    }
                }
            }
            Ok(())
        })
        .await
}

/// Run scheduled backups until `shutdown`.
pub async fn run(
    config: BackupConfig,
    data_dir: PathBuf,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let schedule = config.schedule();
    let mut failed_at: Option<DateTime<Utc>> = None;
    loop {
        let dir = config.dir.clone();
        let last = tokio::task::spawn_blocking(move || completed(&dir).pop().map(|(at, _)| at))
            .await
            .unwrap_or(None);
        let now = Utc::now();
        let mut due = next_due(schedule, last, now);
        if let Some(failed) = failed_at {
            due = due.max(failed + RETRY_AFTER);
        }
        let wait = (due - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
        let (config2, data_dir2, cancel) = (config.clone(), data_dir.clone(), shutdown.clone());
        let outcome = tokio::task::spawn_blocking(move || run_once(&config2, &data_dir2, &cancel))
            .await
            // A panic in a backup is a failed backup (alarm, retry), never the end of
            // the controller.
            .unwrap_or_else(|e| {
                Err(BackupError::Io {
                    path: config.dir.clone(),
                    op: "running the backup",
                    source: std::io::Error::other(e.to_string()),
                })
            });
        match &outcome {
            Err(BackupError::Cancelled) => return Ok(()),
            Ok((path, m)) => {
                failed_at = None;
                info!(backup = %path.display(), files = m.evidence.files, "scheduled backup done");
            }
            Err(e) => {
                failed_at = Some(Utc::now());
                warn!(error = %e, retry_in = ?RETRY_AFTER, "scheduled backup failed");
            }
        }
        if let Err(e) = record_outcome(&store, &outcome).await {
            warn!(error = %e, "the backup alarm could not be recorded");
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
