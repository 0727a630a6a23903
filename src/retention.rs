//! The evidence purge: on a timer, evidence past its retention period, or above the disk
//! quota oldest first, is forgotten and its files deleted — never evidence a record still
//! depends on (see [`crate::store::purge`]).

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::store::Store;
use crate::store::purge::{self, Policy};

/// Rows removed per write transaction.
const BATCH: u32 = 500;

/// When and what to purge.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The data directory evidence paths are relative to.
    pub data_dir: PathBuf,
    /// Keep evidence this many days.
    pub days: u32,
    /// Keep the evidence on disk below this many bytes (`None`: no quota).
    pub quota_bytes: Option<u64>,
    /// How often to look.
    pub every: Duration,
}

/// What one purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Evidence rows removed.
    pub rows: u64,
    /// Bytes of evidence they held.
    pub bytes: u64,
    /// Files that could not be deleted (left on disk, logged).
    pub undeleted: u64,
}

impl Retention {
    /// Purge until nothing more may go.
    pub async fn purge_now(&self, store: &Store) -> Result<PurgeReport, crate::store::StoreError> {
        let policy = Policy {
            older_than: Some(i64::from(self.days) * 86_400),
            quota_bytes: self.quota_bytes,
            batch: BATCH,
        };
        let mut report = PurgeReport::default();
        loop {
            let now = chrono::Utc::now().timestamp();
            let gone = store
                .writer
                .write(move |tx| purge::purge(tx, &policy, now))
                .await?;
            if gone.is_empty() {
                break;
            }
            for p in &gone {
                report.rows += 1;
                report.bytes += p.bytes;
                for rel in std::iter::once(&p.path).chain(p.thumb.as_ref()) {
                    let path = self.data_dir.join(rel);
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            report.undeleted += 1;
                            warn!(path = %path.display(), error = %e, "purged evidence file could not be deleted");
                        }
                    }
                }
            }
            if gone.len() < BATCH as usize {
                break;
            }
        }
        Ok(report)
    }

    /// Purge every `every` until `shutdown`.
    pub async fn run(self, store: Store, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = tick.tick() => {}
            }
            match self.purge_now(&store).await {
                Ok(r) if r.rows > 0 => {
                    info!(
                        rows = r.rows,
                        bytes = r.bytes,
                        undeleted = r.undeleted,
                        "evidence purged"
                    );
                }
                Ok(_) => {}
                Err(e) => warn!(error = %e, "evidence purge failed; trying again later"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{EvidenceKind, EvidenceStore};
    use crate::store::evidence_rows::{self, Origin};

    #[tokio::test]
    async fn purged_evidence_leaves_the_disk_and_protected_evidence_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let kept = EvidenceStore::new(dir.path());
        let free = kept
            .keep_bytes(
                b"not an image 1",
                std::path::Path::new("a.bin"),
                EvidenceKind::CameraFrame,
            )
            .unwrap();
        let held = kept
            .keep_bytes(
                b"not an image 2",
                std::path::Path::new("b.bin"),
                EvidenceKind::CameraFrame,
            )
            .unwrap();
        let (free2, held2) = (free.clone(), held.clone());
        store
            .writer
            .write(move |tx| {
                evidence_rows::insert(tx, &free2, Origin::default(), "2020-01-01T00:00:00Z")?;
                let id = evidence_rows::insert(tx, &held2, Origin::default(), "2020-01-01T00:00:00Z")?;
                // A parcel still waiting for its decision depends on it.
                tx.execute(
                    "INSERT INTO parcels (line_id, tracking_no, entered_at) VALUES ('L1', 1, '2020-01-01T00:00:00Z')",
                    [],
                )?;
                let parcel = tx.last_insert_rowid();
                evidence_rows::link(tx, id, evidence_rows::RECORD_PARCEL, parcel, None)?;
                Ok(())
            })
            .await
            .unwrap();
        let retention = Retention {
            data_dir: dir.path().to_owned(),
            days: 90,
            quota_bytes: None,
            every: Duration::from_secs(3600),
        };
        let report = retention.purge_now(&store).await.unwrap();
        assert_eq!(report.rows, 1);
        assert_eq!(report.undeleted, 0);
        assert!(!free.path.exists(), "the purged file is deleted");
        assert!(held.path.exists(), "the protected file stays");
        let again = retention.purge_now(&store).await.unwrap();
        assert_eq!(again.rows, 0, "nothing more may go");
    }
}
