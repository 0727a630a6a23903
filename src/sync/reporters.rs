//! Periodic statistics and device-health changes, queued on the `stats` and `health`
//! streams.

use std::collections::BTreeMap;
use std::time::Duration;

use customs_edge_protocol::uplink::{self, LineStatistics, Stream};
use rusqlite::params;
use tokio_util::sync::CancellationToken;

use crate::health::Health;
use crate::store::{Store, StoreError, outbox};

/// How often health is compared with what was last reported.
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// The reporters task.
#[derive(Clone)]
pub(crate) struct Reporters {
    pub(crate) store: Store,
    pub(crate) health: Health,
    /// Zero: no statistics.
    pub(crate) stats_interval: Duration,
}

impl Reporters {
    pub(crate) async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut health_tick = tokio::time::interval(HEALTH_EVERY);
        let stats_every = if self.stats_interval.is_zero() {
            Duration::from_secs(365 * 24 * 3600)
        } else {
            self.stats_interval
        };
        let mut stats_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + stats_every, stats_every);
        let mut reported: BTreeMap<String, String> = BTreeMap::new();
        let mut period_from = crate::store::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = health_tick.tick() => {
                    // Not written now: the changes are compared again at the next tick.
                    if let Err(e) = self.health_changes(&mut reported).await {
                        tracing::debug!(error = %e, "device health not written yet");
                    }
                }
                _ = stats_tick.tick(), if !self.stats_interval.is_zero() => {
                    // Statistics go with telemetry when the disk runs low; the next period
                    // that is written starts where the last written one ended.
                    if self.store.status().sheds(crate::store::Shed::Bulk) {
                        crate::metrics::record_shed("statistics");
                        continue;
                    }
                    let to = crate::store::now();
                    let from = period_from.clone();
                    let (f, t) = (from.clone(), to.clone());
                    match self.store.writer.write(move |tx| statistics(tx, &f, &t)).await {
                        Ok(()) => period_from = to,
                        Err(e) => tracing::debug!(error = %e, %from, "statistics not written yet"),
                    }
                }
            }
        }
    }

    async fn health_changes(&self, reported: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
        let mut changed = Vec::new();
        let mut now_reported = Vec::new();
        for (device, c) in self.health.snapshot() {
            let state = serde_json::to_value(c.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if reported.get(&device) != Some(&state) {
                now_reported.push((device.clone(), state.clone()));
                changed.push(uplink::DeviceHealth {
                    device,
                    state,
                    detail: c.detail,
                    at: c.since,
                });
            }
        }
        if !changed.is_empty() {
            self.store
                .writer
                .write(move |tx| {
                    for h in &changed {
                        outbox::enqueue(tx, Stream::Health, uplink::kind::DEVICE_HEALTH, h)?;
                    }
                    Ok(())
                })
                .await?;
        }
        reported.extend(now_reported);
        Ok(())
    }
}

/// Count the parcels decided in `(from, to]` per line and queue the statistics message.
fn statistics(tx: &rusqlite::Transaction<'_>, from: &str, to: &str) -> Result<(), StoreError> {
    let mut lines: BTreeMap<String, LineStatistics> = BTreeMap::new();
    let mut stmt = tx.prepare_cached(
        "SELECT line_id, lane_kind, count(*), sum(weight_mismatch) FROM parcels
         WHERE decided_at > ?1 AND decided_at <= ?2 GROUP BY line_id, lane_kind",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, i64>(2)? as u64,
            r.get::<_, i64>(3)? as u64,
        ))
    })?;
    for row in rows {
        let (line, kind, n, mismatches) = row?;
        let s = lines.entry(line.clone()).or_insert_with(|| LineStatistics {
            line,
            parcels: 0,
            release: 0,
            inspection: 0,
            exception: 0,
            weight_mismatch: 0,
        });
        s.parcels += n;
        s.weight_mismatch += mismatches;
        match kind.as_deref() {
            Some("release") => s.release += n,
            Some("inspection") => s.inspection += n,
            _ => s.exception += n,
        }
    }
    drop(stmt);
    let pending: i64 = tx.query_row(
        "SELECT coalesce(sum(pending_rows), 0) FROM outbox_streams",
        [],
        |r| r.get(0),
    )?;
    let body = uplink::Statistics {
        from: from.to_owned(),
        to: to.to_owned(),
        lines: lines.into_values().collect(),
        outbox_pending: pending as u64,
    };
    outbox::enqueue(tx, Stream::Stats, uplink::kind::STATISTICS, &body)?;
    Ok(())
}
