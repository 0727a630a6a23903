//! The audit chain anchored outside the site: the periodic task that sends the chain's
//! head uplink when it has grown, the marking of anchors the platform acknowledged, and
//! the check of the local chain against an anchor (the last acknowledged one kept here,
//! or a file the platform exported) for `customs-edge audit verify`.
//!
//! Overrides and account changes send their anchor in their own transaction
//! (`store::anchors`), so that the platform's copy covers them as soon as they reach it.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge_protocol::downlink::Ack;
use customs_edge_protocol::signed::TrustedKeys;
use customs_edge_protocol::uplink::{AnchorExport, Stream, anchor_export_topic};
use rusqlite::{Connection, OptionalExtension as _};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::store::{Store, anchors};

/// Send the chain's head every `interval` when it has grown since the last anchor.
pub async fn run(
    store: Store,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        let sent = store
            .writer
            .write(|tx| anchors::enqueue_head(tx, anchors::INTERVAL, true))
            .await?;
        if let Some(seq) = sent {
            debug!(seq, "audit anchor queued");
        }
    }
}

/// An ack of the officer stream covers the anchors sent on it up to its sequence number.
/// A failure is only logged: the next ack, cumulative, covers them again.
pub async fn on_ack(store: &Store, ack: &Ack) {
    if ack.stream != Stream::Officer.as_str() {
        return;
    }
    let seq = ack.seq;
    if let Err(error) = store.writer.write(move |tx| anchors::acked(tx, seq)).await {
        warn!(%error, seq, "cannot mark audit anchors acknowledged; the next ack will");
    }
}

/// Where an anchor came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorPoint {
    /// The anchored entry.
    pub audit_seq: i64,
    /// Its hash as the anchor holds it.
    pub hash: String,
    /// Who holds it, in words.
    pub source: String,
}

/// Check the chain (already found intact) against an anchor: the entry it names must be
/// there with the hash it holds. `Err` says how the log differs from it.
pub fn check(conn: &Connection, anchor: &AnchorPoint) -> rusqlite::Result<Result<(), String>> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT hash FROM audit_log WHERE id = ?1",
            [anchor.audit_seq],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match stored {
        Some(h) if h == anchor.hash => Ok(()),
        Some(h) => Err(format!(
            "entry {} hashes to {} but {} holds {}: the log was rewritten up to that entry \
             and re-hashed",
            anchor.audit_seq,
            short(&h),
            anchor.source,
            short(&anchor.hash)
        )),
        None => {
            let entries: i64 =
                conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?;
            Err(format!(
                "the log has {entries} entries and no entry {}, which {} holds: entries were \
                 removed",
                anchor.audit_seq, anchor.source
            ))
        }
    })
}

/// The last anchor the platform acknowledged, as kept in the store; `None` also for a
/// store made before anchors existed.
pub fn last_acked(conn: &Connection) -> rusqlite::Result<Option<AnchorPoint>> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'audit_anchors'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    Ok(anchors::last_acked(conn)?.map(|a| AnchorPoint {
        audit_seq: a.audit_seq,
        hash: a.hash,
        source: format!(
            "the last anchor the platform acknowledged ({})",
            a.acked_at.unwrap_or_default()
        ),
    }))
}

/// Read an anchor file the platform exported. With `keys` its signature must verify for
/// `site`; without, it is read unchecked (the caller says so).
pub fn read_file(
    path: &Path,
    keys: Option<(&TrustedKeys, &str)>,
) -> anyhow::Result<(AnchorExport, bool)> {
    /// An unsigned export: the wrapper without a signature.
    #[derive(serde::Deserialize)]
    struct Wrapper {
        msg: AnchorExport,
    }
    let bytes = std::fs::read(path).with_context(|| format!("anchor file {}", path.display()))?;
    let export = match keys {
        Some((keys, site)) => {
            let opened = keys
                .open(
                    &anchor_export_topic(site),
                    &bytes,
                    crate::sync::signing::now_s(),
                )
                .map_err(|e| {
                    anyhow::anyhow!("anchor file {} is not authentic: {e}", path.display())
                })?;
            serde_json::from_slice::<AnchorExport>(opened.msg)
        }
        None => serde_json::from_slice::<Wrapper>(&bytes).map(|w| w.msg),
    }
    .with_context(|| format!("anchor file {} is not an exported anchor", path.display()))?;
    Ok((export, keys.is_some()))
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}
