//! Bulk load of declaration lists from a JSON-lines file.
//!
//! Lines are parsed and checked one by one; good ones are written in transactions of
//! [`BATCH`], bad ones are reported with their line number, kept in `rejected_inputs`, and
//! never stop the rest. The whole import is one entry in the audit log.

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::manifest::DeclarationList;
use crate::store::manifests::{self, Upserted};
use crate::store::{Store, append_audit, now, parcels};

/// Lists written per transaction.
pub const BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read (blank and `#` comment lines included).
    pub lines: usize,
    /// New lists.
    pub inserted: usize,
    /// Lists that replaced a stored one.
    pub updated: usize,
    /// (line number, why) for each rejected line.
    pub rejected: Vec<(usize, String)>,
}

/// Progress of a running import.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Lines read so far.
    pub lines: usize,
    /// Bytes read so far.
    pub bytes: u64,
    /// File size.
    pub total_bytes: u64,
    /// Lines rejected so far.
    pub rejected: usize,
}

/// Print progress to stderr (the CLI's callback).
pub fn print_progress(p: Progress) {
    let pct = if p.total_bytes == 0 {
        100.0
    } else {
        p.bytes as f64 * 100.0 / p.total_bytes as f64
    };
    eprintln!(
        "… {} lines read ({pct:.0}%), {} rejected",
        p.lines, p.rejected
    );
}

/// A rejected line, reported as it is found.
fn report_rejection(file: &Path, line_no: usize, reason: &str) {
    eprintln!("{}:{line_no}: rejected: {reason}", file.display());
}

/// Import `file` into `store`, calling `progress` about every two seconds.
pub async fn import_file(
    store: &Store,
    file: &Path,
    mut progress: impl FnMut(Progress),
) -> anyhow::Result<ImportReport> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let total_bytes = handle.metadata().map_or(0, |m| m.len());
    let mut reader = std::io::BufReader::new(handle);
    let source = format!("import:{}", file.display());
    let mut report = ImportReport::default();
    let mut batch: Vec<(usize, DeclarationList)> = Vec::with_capacity(BATCH);
    let mut bad: Vec<(usize, String, String)> = Vec::new();
    let mut buf = Vec::new();
    let mut bytes = 0u64;
    let mut last_progress = Instant::now();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", file.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        report.lines += 1;
        let line_no = report.lines;
        let rejection = match std::str::from_utf8(&buf) {
            Err(e) => Some((
                format!("not valid UTF-8 ({e})"),
                String::from_utf8_lossy(&buf).into_owned(),
            )),
            Ok(text) => {
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                match DeclarationList::from_json_line(text) {
                    Ok(list) => {
                        batch.push((line_no, list));
                        None
                    }
                    Err(reason) => Some((reason, text.to_owned())),
                }
            }
        };
        if let Some((reason, payload)) = rejection {
            report_rejection(file, line_no, &reason);
            report.rejected.push((line_no, reason.clone()));
            bad.push((line_no, reason, payload));
        }
        if batch.len() >= BATCH || bad.len() >= BATCH {
            flush(store, &source, &mut batch, &mut bad, &mut report).await?;
        }
        if last_progress.elapsed() >= Duration::from_secs(2) {
            last_progress = Instant::now();
            progress(Progress {
                lines: report.lines,
                bytes,
                total_bytes,
                rejected: report.rejected.len(),
            });
        }
    }
    flush(store, &source, &mut batch, &mut bad, &mut report).await?;
    let detail = serde_json::json!({
        "file": file.display().to_string(),
        "lines": report.lines,
        "inserted": report.inserted,
        "updated": report.updated,
        "rejected": report.rejected.len(),
    });
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let subject = file.display().to_string();
    store
        .writer
        .write(move |tx| append_audit(tx, &now(), &actor, "import_manifests", &subject, &detail))
        .await?;
    Ok(report)
}

async fn flush(
    store: &Store,
    source: &str,
    batch: &mut Vec<(usize, DeclarationList)>,
    bad: &mut Vec<(usize, String, String)>,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    let lists = std::mem::take(batch);
    let rejects = std::mem::take(bad);
    let source = source.to_owned();
    let outcomes = store
        .writer
        .write(move |tx| {
            let at = now();
            let mut outcomes = Vec::with_capacity(lists.len());
            for (line_no, list) in &lists {
                outcomes.push(manifests::upsert(
                    tx,
                    list,
                    &format!("{source}:{line_no}"),
                    &at,
                )?);
            }
            for (line_no, reason, payload) in &rejects {
                parcels::reject_input(tx, &at, &format!("{source}:{line_no}"), reason, payload)?;
            }
            Ok(outcomes)
        })
        .await?;
    for outcome in outcomes {
        match outcome {
            Upserted::Inserted => report.inserted += 1,
            Upserted::Updated => report.updated += 1,
        }
    }
    Ok(())
}
