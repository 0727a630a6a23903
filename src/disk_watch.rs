//! The free-space watch on the data directory: every few seconds it looks at the file
//! system's free space and sets what is shed ([`Shed`]), raises and clears the
//! `disk_low` alarm, and keeps the `disk` health entry; it also turns the store's commit
//! state into the `store_commit_failed` alarm and the `store` health entry, so that both
//! show while the store cannot take an alarm.
//!
//! Shedding order, as free space falls (`[storage.disk]`):
//!
//! 1. below `warn_free_pct`: the `disk_low` alarm; nothing is shed;
//! 2. below `shed_bulk_free_pct`: PLC telemetry and statistics for the platform are no
//!    longer written (each counted in `customs_edge_shed_total`);
//! 3. below `shed_evidence_free_pct`: camera frames are no longer kept as evidence;
//! 4. the disk full: commits fail, the line fails closed (no lane command without a
//!    committed decision: the PLC's exception lane), gates hold their trucks, the
//!    `store_commit_failed` alarm is up and `/healthz` answers 503 naming the store, until
//!    a commit succeeds again.
//!
//! Decisions, gate passes, their readings, X-ray views and plate snapshots are never shed:
//! they are the records and the evidence of decisions.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::alarm_book::AlarmBook;
use crate::config::DiskWatchConfig;
use crate::health::{Health, State};
use crate::store::status::{DiskSpace, Shed, StoreHealth};
use crate::store::{Store, StoreStatus};

/// The health entry and alarm source of the data disk.
pub const DISK: &str = "disk";
/// The health entry and alarm source of the store's commits.
pub const STORE: &str = "store";
/// The alarm kind of a filling disk.
pub const DISK_LOW: &str = "disk_low";
/// The alarm kind of a store that cannot commit.
pub const COMMIT_FAILED: &str = "store_commit_failed";

/// Free space of the file system holding `dir`.
pub fn disk_space(dir: &Path) -> std::io::Result<DiskSpace> {
    let vfs = rustix::fs::statvfs(dir)?;
    Ok(DiskSpace {
        free_bytes: vfs.f_bavail.saturating_mul(vfs.f_frsize),
        total_bytes: vfs.f_blocks.saturating_mul(vfs.f_frsize),
    })
}

/// What `config` sheds at `free_pct` percent free.
pub fn shed_at(config: &DiskWatchConfig, free_pct: f64) -> Shed {
    if free_pct < config.shed_evidence_free_pct {
        Shed::Evidence
    } else if free_pct < config.shed_bulk_free_pct {
        Shed::Bulk
    } else {
        Shed::Nothing
    }
}

/// The watch task.
#[derive(Debug, Clone)]
pub struct DiskWatch {
    /// The data directory.
    pub dir: PathBuf,
    /// Its levels.
    pub config: DiskWatchConfig,
    /// Where the alarms go.
    pub alarms: AlarmBook,
    /// Where `disk` and `store` are reported.
    pub health: Health,
}

impl DiskWatch {
    /// Run until `shutdown`.
    pub async fn run(self, store: Store, shutdown: CancellationToken) -> anyhow::Result<()> {
        let status = store.status().clone();
        let mut commits = status.subscribe();
        let mut tick = tokio::time::interval(self.config.check_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.commit_state(&commits.borrow_and_update());
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = tick.tick() => self.look(&status),
                changed = commits.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let health = commits.borrow_and_update().clone();
                    self.commit_state(&health);
                }
            }
        }
    }

    fn look(&self, status: &StoreStatus) {
        status.settle();
        let disk = match disk_space(&self.dir) {
            Ok(disk) => disk,
            Err(e) => {
                self.health.set(
                    DISK,
                    State::Degraded,
                    format!("free space of {} unknown: {e}", self.dir.display()),
                );
                return;
            }
        };
        let free_pct = disk.free_pct();
        let shed = shed_at(&self.config, free_pct);
        let before = status.get().shed;
        status.set_disk(disk, shed);
        crate::metrics::set_disk(free_pct / 100.0, shed.level());
        let what = format!(
            "{:.1} % free ({} MiB of {} MiB) on {}",
            free_pct,
            disk.free_bytes >> 20,
            disk.total_bytes >> 20,
            self.dir.display()
        );
        if shed != before {
            let sheds = match shed {
                Shed::Nothing => "nothing is shed",
                Shed::Bulk => "telemetry and statistics are not written",
                Shed::Evidence => "telemetry, statistics and camera evidence are not written",
            };
            warn!(free_pct, ?shed, "disk space: {sheds}");
        }
        if free_pct < self.config.warn_free_pct {
            let detail = match shed {
                Shed::Nothing => format!("{what}; alarm below {} %", self.config.warn_free_pct),
                Shed::Bulk => format!("{what}; telemetry and statistics are not written"),
                Shed::Evidence => {
                    format!("{what}; telemetry, statistics and camera frames are not written")
                }
            };
            if self.alarms.raise(DISK, DISK_LOW, detail.clone()) {
                warn!(%detail, "disk low");
            }
            self.health.set(DISK, State::Degraded, detail);
        } else {
            if self.alarms.clear(DISK, DISK_LOW) {
                info!(%what, "disk has room again");
            }
            self.health.set(DISK, State::Ok, what);
        }
    }

    fn commit_state(&self, health: &StoreHealth) {
        let Some(failing) = &health.commit_failing else {
            if self.alarms.clear(STORE, COMMIT_FAILED) {
                info!("store commits again");
            }
            self.health.set(STORE, State::Ok, "committing");
            return;
        };
        let detail = format!(
            "commits fail since {}: {}; the line fails closed (exception lane) until a commit succeeds",
            crate::store::timestamp(failing.since),
            failing.error
        );
        self.alarms.raise(STORE, COMMIT_FAILED, detail.clone());
        self.health.set(STORE, State::Down, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_sheds_more() {
        let config = DiskWatchConfig::default();
        assert_eq!(shed_at(&config, 50.0), Shed::Nothing);
        assert_eq!(shed_at(&config, 4.0), Shed::Nothing, "warned only");
        assert_eq!(shed_at(&config, 1.5), Shed::Bulk);
        assert_eq!(shed_at(&config, 0.5), Shed::Evidence);
    }

    #[test]
    fn the_data_directorys_disk_has_a_size() {
        let dir = tempfile::tempdir().unwrap();
        let space = disk_space(dir.path()).unwrap();
        assert!(space.total_bytes > 0 && space.free_bytes <= space.total_bytes);
    }
}
