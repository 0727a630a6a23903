//! Inspection results (查验结果): what an officer found on opening a parcel.
//!
//! A result is written with its audit entry and its `inspection_result` uplink message in
//! one transaction ([`record`]), so the platform hears of every result the site keeps, and
//! the audit log holds every result the platform hears of.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use customs_edge_protocol::uplink::{self, Stream};

use super::{StoreError, outbox};

/// Shortest findings text accepted, in characters (after trimming).
pub const MIN_FINDINGS_CHARS: usize = 2;
/// Longest findings text accepted, in characters.
pub const MAX_FINDINGS_CHARS: usize = 2000;

/// What the officer concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The goods match the declaration.
    Conform,
    /// The goods differ from the declaration (quantity, kind, value …).
    Discrepancy,
    /// Customs kept the goods.
    Seized,
    /// The parcel goes back to the sender.
    Returned,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 4] = [
        Self::Conform,
        Self::Discrepancy,
        Self::Seized,
        Self::Returned,
    ];

    /// Name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conform => "conform",
            Self::Discrepancy => "discrepancy",
            Self::Seized => "seized",
            Self::Returned => "returned",
        }
    }

    /// The outcome with this name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The findings as kept (trimmed), or why they cannot be.
pub fn check_findings(findings: &str) -> Result<&str, String> {
    let findings = findings.trim();
    let n = findings.chars().count();
    if n < MIN_FINDINGS_CHARS {
        return Err(format!(
            "findings must say what was found, in at least {MIN_FINDINGS_CHARS} characters"
        ));
    }
    if n > MAX_FINDINGS_CHARS {
        return Err(format!(
            "findings are {n} characters long; at most {MAX_FINDINGS_CHARS} are kept"
        ));
    }
    Ok(findings)
}

/// A result to record.
#[derive(Debug, Clone, Copy)]
pub struct NewInspection<'a> {
    /// The parcel opened.
    pub parcel_id: i64,
    /// What the officer concluded.
    pub outcome: Outcome,
    /// What was found, in the officer's words.
    pub findings: &'a str,
    /// The officer who opened it, as logged in.
    pub officer: &'a str,
}

/// An inspection result as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Inspection {
    /// Record id.
    pub id: i64,
    /// The parcel opened.
    pub parcel_id: i64,
    /// The parcel's waybill, if it was read.
    pub logistics_no: Option<String>,
    /// `conform`, `discrepancy`, `seized` or `returned`.
    pub result: String,
    /// What was found.
    pub findings: String,
    /// The officer who opened it, as logged in.
    pub officer: String,
    /// When it was recorded (RFC 3339 UTC).
    pub at: String,
}

/// Record an inspection result with its audit entry and its uplink message, in the
/// caller's transaction. `NotFound` for an unknown parcel, `Invalid` for findings that
/// [`check_findings`] refuses; nothing is written then.
pub fn record(tx: &Transaction<'_>, new: &NewInspection<'_>) -> Result<Inspection, StoreError> {
    let findings = check_findings(new.findings).map_err(StoreError::Invalid)?;
    let logistics_no: Option<String> = tx
        .prepare_cached("SELECT logistics_no FROM parcels WHERE id = ?1")?
        .query_row([new.parcel_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("parcel {}", new.parcel_id)))?;
    let at = super::now();
    let result = new.outcome.as_str();
    tx.prepare_cached(
        "INSERT INTO inspection_results (parcel_id, result, findings, officer, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![new.parcel_id, result, findings, new.officer, at])?;
    let id = tx.last_insert_rowid();
    super::append_audit(
        tx,
        &at,
        new.officer,
        uplink::kind::INSPECTION_RESULT,
        &format!("parcel:{}", new.parcel_id),
        &serde_json::json!({
            "result_id": id,
            "result": result,
            "findings": findings,
            "logistics_no": logistics_no,
        }),
    )?;
    let body = uplink::InspectionResult {
        result_id: id,
        parcel_id: Some(new.parcel_id),
        logistics_no: logistics_no.clone(),
        officer: new.officer.to_owned(),
        result: result.to_owned(),
        note: Some(findings.to_owned()),
        at: at.clone(),
    };
    outbox::enqueue(tx, Stream::Officer, uplink::kind::INSPECTION_RESULT, &body)?;
    Ok(Inspection {
        id,
        parcel_id: new.parcel_id,
        logistics_no,
        result: result.to_owned(),
        findings: findings.to_owned(),
        officer: new.officer.to_owned(),
        at,
    })
}

/// Record a result once: when the parcel's newest result is this officer's with the same
/// outcome and findings (a second click, a resend after a lost answer), that one is
/// returned with `false` and nothing is written; otherwise [`record`] and `true`. A
/// different result is a new entry: the parcel's results are its history of edits.
pub fn record_once(
    tx: &Transaction<'_>,
    new: &NewInspection<'_>,
) -> Result<(Inspection, bool), StoreError> {
    let findings = check_findings(new.findings).map_err(StoreError::Invalid)?;
    let latest = for_parcel(tx, new.parcel_id)?.pop();
    if let Some(last) = latest
        && last.officer == new.officer
        && last.result == new.outcome.as_str()
        && last.findings == findings
    {
        return Ok((last, false));
    }
    record(tx, new).map(|kept| (kept, true))
}

/// The results recorded for a parcel, oldest first.
pub fn for_parcel(conn: &Connection, parcel_id: i64) -> Result<Vec<Inspection>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, i.parcel_id, p.logistics_no, i.result, i.findings, i.officer, i.at
         FROM inspection_results i JOIN parcels p ON p.id = i.parcel_id
         WHERE i.parcel_id = ?1 ORDER BY i.id",
    )?;
    let rows = stmt.query_map([parcel_id], |r| {
        Ok(Inspection {
            id: r.get(0)?,
            parcel_id: r.get(1)?,
            logistics_no: r.get(2)?,
            result: r.get(3)?,
            findings: r.get(4)?,
            officer: r.get(5)?,
            at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, parcels};

    async fn store_with_parcel(platform: bool) -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store
            .writer
            .write(move |tx| {
                outbox::configure(tx, platform, 1 << 20)?;
                let id = parcels::insert_entry(tx, "L1", 7, "2026-11-27T10:00:00.000Z", 300)?;
                tx.execute(
                    "UPDATE parcels SET logistics_no = 'SF1', lane_kind = 'inspection' WHERE id = ?1",
                    [id],
                )?;
                Ok(id)
            })
            .await
            .unwrap();
        (dir, store, id)
    }

    #[tokio::test]
    async fn a_result_is_kept_with_its_audit_entry_and_its_uplink_message() {
        let (_dir, store, id) = store_with_parcel(true).await;
        let kept = store
            .writer
            .write(move |tx| {
                record(
                    tx,
                    &NewInspection {
                        parcel_id: id,
                        outcome: Outcome::Discrepancy,
                        findings: "  3 phones, 2 declared  ",
                        officer: "officer.li",
                    },
                )
            })
            .await
            .unwrap();
        assert_eq!(
            kept.findings, "3 phones, 2 declared",
            "findings are trimmed"
        );
        assert_eq!(kept.logistics_no.as_deref(), Some("SF1"));
        let (listed, audit, outbox): (Vec<Inspection>, (String, String, String), String) = store
            .reader
            .read(move |c| {
                let audit = c.query_row(
                    "SELECT actor, action, subject FROM audit_log ORDER BY id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                let body = c.query_row(
                    "SELECT body FROM outbox WHERE stream = 'officer' AND kind = 'inspection_result'",
                    [],
                    |r| r.get(0),
                )?;
                Ok((for_parcel(c, id)?, audit, body))
            })
            .await
            .unwrap();
        assert_eq!(listed, vec![kept.clone()]);
        assert_eq!(
            audit,
            (
                "officer.li".to_owned(),
                "inspection_result".to_owned(),
                format!("parcel:{id}")
            )
        );
        let body: uplink::InspectionResult = serde_json::from_str(&outbox).unwrap();
        assert_eq!(body.result_id, kept.id);
        assert_eq!(body.result, "discrepancy");
        assert_eq!(body.logistics_no.as_deref(), Some("SF1"));
        assert_eq!(body.note.as_deref(), Some("3 phones, 2 declared"));
    }

    #[tokio::test]
    async fn an_unknown_parcel_or_empty_findings_write_nothing() {
        let (_dir, store, id) = store_with_parcel(true).await;
        let unknown = store
            .writer
            .write(move |tx| {
                record(
                    tx,
                    &NewInspection {
                        parcel_id: id + 100,
                        outcome: Outcome::Conform,
                        findings: "as declared",
                        officer: "officer.li",
                    },
                )
            })
            .await
            .unwrap_err();
        assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown}");
        let short = store
            .writer
            .write(move |tx| {
                record(
                    tx,
                    &NewInspection {
                        parcel_id: id,
                        outcome: Outcome::Conform,
                        findings: " x ",
                        officer: "officer.li",
                    },
                )
            })
            .await
            .unwrap_err();
        assert!(matches!(short, StoreError::Invalid(_)), "{short}");
        let counts: (i64, i64, i64) = store
            .reader
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT count(*) FROM inspection_results), (SELECT count(*) FROM audit_log),
                        (SELECT count(*) FROM outbox)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(counts, (0, 0, 0));
    }

    #[test]
    fn findings_are_between_two_and_two_thousand_characters() {
        assert!(check_findings("").is_err());
        assert!(check_findings(" 好 ").is_err());
        assert_eq!(check_findings(" 无异常 "), Ok("无异常"));
        assert!(check_findings(&"查".repeat(MAX_FINDINGS_CHARS)).is_ok());
        assert!(check_findings(&"查".repeat(MAX_FINDINGS_CHARS + 1)).is_err());
        assert_eq!(Outcome::parse("seized"), Some(Outcome::Seized));
        assert_eq!(Outcome::parse("nonconform"), None);
    }
}
